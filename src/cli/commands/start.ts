import { parse } from '../args.js';
import { UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { SERVE_OPTIONS, startFromValues, untilStopped } from './serve.js';

/**
 * `npm start`: starts the policy decision service and lists the profiles it loaded. The reference
 * authorization server (DESIGN.md) is not built yet, so only the PDP starts; this says so.
 */
export const start: Command = {
  name: 'start',
  summary: 'Start the decision service on 127.0.0.1:8181 and list the loaded profiles (the reference AS is not built yet)',
  usage: `fapi-policy start [serve options]

What \`npm start\` runs: the policy decision service (see fapi-policy serve --help for every option),
then the list of loaded profiles and their digests. The reference authorization server is not
implemented yet; only the decision service starts.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, SERVE_OPTIONS);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const pdp = await startFromValues(values, io);
    const profiles = pdp.registry.current.ids.map((id) => pdp.registry.current.profiles.get(id)!);
    const idWidth = Math.max(0, ...profiles.map((p) => p.id.length));
    const versionWidth = Math.max(0, ...profiles.map((p) => p.version.length));
    io.out('Loaded profiles:');
    for (const p of profiles) {
      io.out(`  ${p.id.padEnd(idWidth)}  ${p.version.padEnd(versionWidth)}  ${String(p.rules.length).padStart(3)} rules  ${p.digest.slice(0, 19)}…`);
    }
    for (const error of pdp.startup.errors) io.out(`  FAILED: ${error}`);
    io.out(`Decision service: ${pdp.url} (POST /v1/decide, POST /access/v1/evaluation[s], GET /health/ready)`);
    io.out('Reference authorization server: not implemented yet; only the decision service runs.');
    return untilStopped(pdp, io);
  },
};
