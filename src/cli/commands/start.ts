import { parse } from '../args.js';
import { UsageError, type Io } from '../context.js';
import { SOURCE_OPTIONS, SOURCE_USAGE, type Values } from '../server-options.js';
import type { Command } from './command.js';
import { AS_OPTIONS, AS_USAGE_OPTIONS, describeAs, startAsFromValues } from './as.js';
import { pdpOptions, startFromValues, untilStopped } from './serve.js';

/**
 * `npm start`: the reference authorization server and the decision service in one process, on one
 * profile registry, so an edit to a profile changes what both decide from the next request on.
 */
export const start: Command = {
  name: 'start',
  summary: 'Start the reference AS (https://localhost:8443) and the decision service (127.0.0.1:8181)',
  usage: `fapi-policy start [options]

What \`npm start\` runs: the reference authorization server and, beside it, the policy decision
service, both over one set of profiles (reloaded together). Then the list of loaded profiles.

Authorization server (see fapi-policy as --help):
${AS_USAGE_OPTIONS}

Decision service (see fapi-policy serve --help; its address and TLS flags take a pdp- prefix here):
  --pdp-host <addr> --pdp-port <n>   default 127.0.0.1:8181 (env FAPI_POLICY_PDP_HOST, _PORT)
  --pdp-tls-cert, --pdp-tls-key, --pdp-tls-ca, --token-file, --auth-protect, --decision-log,
  --max-body, --max-depth, --max-batch, --request-timeout, --max-connections, --public-url

Profile sources (shared):
${SOURCE_USAGE}`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { ...SOURCE_OPTIONS, ...AS_OPTIONS, ...pdpOptions('pdp-') });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { as, registry } = await startAsFromValues(values as Values, io);
    let pdp;
    try {
      pdp = await startFromValues(values as Values, io, process.env, { registry, prefix: 'pdp-' });
    } catch (e) {
      await as.close();
      await registry.close();
      throw e;
    }
    const profiles = registry.current.ids.map((id) => registry.current.profiles.get(id)!);
    const idWidth = Math.max(0, ...profiles.map((p) => p.id.length));
    const versionWidth = Math.max(0, ...profiles.map((p) => p.version.length));
    io.out('Loaded profiles:');
    for (const p of profiles) {
      io.out(`  ${p.id.padEnd(idWidth)}  ${p.version.padEnd(versionWidth)}  ${String(p.rules.length).padStart(3)} rules  ${p.digest.slice(0, 19)}…`);
    }
    io.out(describeAs(as));
    io.out(`Decision service: ${pdp.url} (POST /v1/decide, POST /access/v1/evaluation[s], GET /health/ready)`);
    return untilStopped([registry], [as, pdp], io, () => void as.reloadKeys());
  },
};
