import { MIN_TOKEN_LENGTH, TOKEN, type AuthProtect } from '../../pdp/auth.js';
import { BundleError } from '../../registry/bundle.js';
import type { Registry } from '../../registry/registry.js';
import { isLoopback } from '../../net/loopback.js';
import { DEFAULT_LIMITS, type Limits } from '../../pdp/limits.js';
import { DEFAULT_HOST, DEFAULT_PORT, startPdp, type PdpOptions, type PdpServer } from '../../pdp/server.js';
import { parse, type Options } from '../args.js';
import { EXIT, UsageError, type Io } from '../context.js';
import { flag, integer, readFlagFile, secretsFrom, sourcesFrom, SOURCE_OPTIONS, SOURCE_USAGE, type Values } from '../server-options.js';
import type { Command } from './command.js';

/** The decision service's own flags; under `start` the address and TLS ones take a `pdp-` prefix. */
export function pdpOptions(prefix = ''): Options {
  return {
    [`${prefix}host`]: { type: 'string' },
    [`${prefix}port`]: { type: 'string' },
    [`${prefix}tls-cert`]: { type: 'string' },
    [`${prefix}tls-key`]: { type: 'string' },
    [`${prefix}tls-ca`]: { type: 'string' },
    'token-file': { type: 'string' },
    'auth-protect': { type: 'string' },
    'decision-log': { type: 'string' },
    'max-body': { type: 'string' },
    'max-depth': { type: 'string' },
    'max-batch': { type: 'string' },
    'request-timeout': { type: 'string' },
    'max-connections': { type: 'string' },
    'public-url': { type: 'string' },
  };
}

const SERVE_OPTIONS: Options = { ...SOURCE_OPTIONS, ...pdpOptions() };

const SERVE_USAGE = `fapi-policy serve [options]

Starts the policy decision service (native API and OpenID AuthZEN 1.0) on http://127.0.0.1:8181.

  --host <addr>              listen address (env FAPI_POLICY_PDP_HOST; default ${DEFAULT_HOST})
  --port <n>                 listen port, 0 = any free port (env FAPI_POLICY_PDP_PORT; default ${DEFAULT_PORT})
${SOURCE_USAGE}
  --tls-cert <pem> --tls-key <pem>   serve HTTPS (env FAPI_POLICY_PDP_TLS_CERT, FAPI_POLICY_PDP_TLS_KEY)
  --tls-ca <pem>             accept client certificates issued by this CA as authentication (mTLS)
                             (env FAPI_POLICY_PDP_TLS_CA)
  --token-file <file>        bearer tokens callers must present, one per line
                             (env FAPI_POLICY_PDP_TOKEN, comma-separated)
  --auth-protect all|explain all: every API call needs credentials (default); explain: only explanations do
  --decision-log <target>    stdout (default), stderr, off, or a file (env FAPI_POLICY_PDP_DECISION_LOG)
  --max-body <bytes>         request body limit (default ${DEFAULT_LIMITS.maxBodyBytes})
  --max-depth <n>            JSON nesting limit (default ${DEFAULT_LIMITS.maxDepth})
  --max-batch <n>            evaluations per AuthZEN batch (default ${DEFAULT_LIMITS.maxBatch})
  --request-timeout <ms>     time to receive a whole request (default ${DEFAULT_LIMITS.requestTimeoutMs})
  --max-connections <n>      open connections at once; more are closed (default ${DEFAULT_LIMITS.maxConnections})
  --public-url <url>         base URL published in /.well-known/authzen-configuration

SIGHUP (or a change on disk) reloads every source and swaps the set atomically; a broken edit keeps
the last good set and shows on /health/ready. SIGINT/SIGTERM stop the service.`;

export const serve: Command = {
  name: 'serve',
  summary: 'Start the policy decision service (native API + OpenID AuthZEN) on 127.0.0.1:8181',
  usage: SERVE_USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, SERVE_OPTIONS);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const pdp = await startFromValues(values as Values, io);
    return untilStopped([pdp.registry], [pdp], io);
  },
};

/**
 * Builds the service options from flags and environment, starts it, and reports where it listens.
 * With a registry (under `start`) the service shares it; its own flags then carry `prefix`.
 */
export async function startFromValues(values: Values, io: Io, env: NodeJS.ProcessEnv = process.env, shared?: { registry: Registry; prefix: string }): Promise<PdpServer> {
  const options = await optionsFrom(values, env, shared?.prefix ?? '');
  if (shared) options.registry = shared.registry;
  else Object.assign(options, await sourcesFrom(values, env));
  let pdp: PdpServer;
  try {
    pdp = await startPdp(options);
  } catch (e) {
    if (e instanceof BundleError) throw new UsageError(e.message);
    throw e;
  }
  const { startup } = pdp;
  for (const error of startup.errors) io.err(`error: ${error}`);
  io.err(`fapi-policy PDP listening on ${pdp.url} (profiles: ${pdp.registry.current.ids.join(', ') || 'none'}; ${pdp.registry.readiness().ready ? 'ready' : 'NOT ready, see /health/ready'})`);
  if (!isLoopback(options.host ?? DEFAULT_HOST) && !options.tokens?.length && !options.tls?.ca) {
    io.err('warning: listening beyond loopback without caller authentication (set FAPI_POLICY_PDP_TOKEN or --tls-ca)');
  }
  return pdp;
}

/** Anything a command serves until it is told to stop. */
export interface Stoppable {
  close(): Promise<void>;
}

/** Serves until SIGINT or SIGTERM; SIGHUP reloads every registry (and whatever `onHangup` adds). */
export function untilStopped(registries: readonly Registry[], servers: readonly Stoppable[], io: Io, onHangup?: () => void): Promise<number> {
  const uninstall = registries.map((r) => r.installSignalHandler());
  if (onHangup) process.on('SIGHUP', onHangup);
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      for (const u of uninstall) u();
      if (onHangup) process.off('SIGHUP', onHangup);
      io.err(`${signal}: stopping`);
      void Promise.all([...servers.map((s) => s.close()), ...registries.map((r) => r.close())]).then(() => resolve(EXIT.ok));
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

async function optionsFrom(values: Values, env: NodeJS.ProcessEnv, prefix: string): Promise<PdpOptions> {
  const str = (name: string, envName?: string) => flag(values, env, name, envName);
  const protect = (str('auth-protect') ?? 'all') as AuthProtect;
  if (protect !== 'all' && protect !== 'explain') throw new UsageError('--auth-protect must be all or explain');
  return {
    host: str(`${prefix}host`, 'FAPI_POLICY_PDP_HOST') ?? DEFAULT_HOST,
    port: integer(str(`${prefix}port`, 'FAPI_POLICY_PDP_PORT'), `--${prefix}port`, 0, 65_535) ?? DEFAULT_PORT,
    tls: await tlsFrom(prefix, str(`${prefix}tls-cert`, 'FAPI_POLICY_PDP_TLS_CERT'), str(`${prefix}tls-key`, 'FAPI_POLICY_PDP_TLS_KEY'), str(`${prefix}tls-ca`, 'FAPI_POLICY_PDP_TLS_CA')),
    tokens: await tokensFrom(str('token-file'), env.FAPI_POLICY_PDP_TOKEN),
    authProtect: protect,
    limits: limitsFrom(values),
    decisionLog: str('decision-log', 'FAPI_POLICY_PDP_DECISION_LOG') ?? 'stdout',
    publicUrl: publicUrl(str('public-url')),
  };
}

function limitsFrom(values: Values): Partial<Limits> {
  const limits: Partial<Limits> = {};
  const set = (key: keyof Limits, flag: string, min: number, max: number) => {
    const n = integer(values[flag] as string | undefined, `--${flag}`, min, max);
    if (n !== undefined) limits[key] = n;
  };
  set('maxBodyBytes', 'max-body', 1024, 64 * 1024 * 1024);
  set('maxDepth', 'max-depth', 8, 1024);
  set('maxBatch', 'max-batch', 1, 10_000);
  set('requestTimeoutMs', 'request-timeout', 100, 600_000);
  set('maxConnections', 'max-connections', 1, 1_000_000);
  return limits;
}

async function tlsFrom(prefix: string, cert?: string, key?: string, ca?: string): Promise<PdpOptions['tls']> {
  if (!cert && !key && !ca) return undefined;
  if (!cert || !key) throw new UsageError(`HTTPS needs both --${prefix}tls-cert and --${prefix}tls-key`);
  return {
    cert: await readFlagFile(cert, `--${prefix}tls-cert`), key: await readFlagFile(key, `--${prefix}tls-key`),
    ...(ca ? { ca: await readFlagFile(ca, `--${prefix}tls-ca`) } : {}),
  };
}

/** Tokens come from a file or the environment, never from argv (visible to every local user). */
async function tokensFrom(file: string | undefined, fromEnv: string | undefined): Promise<string[]> {
  const tokens = await secretsFrom(file, fromEnv, '--token-file');
  const weak = tokens.find((t) => t.length < MIN_TOKEN_LENGTH || !TOKEN.test(t));
  if (weak !== undefined) throw new UsageError(`bearer tokens must be at least ${MIN_TOKEN_LENGTH} characters of the RFC 6750 token alphabet`);
  return tokens;
}

function publicUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash) throw new Error();
  } catch {
    throw new UsageError('--public-url must be an http(s) URL without query or fragment');
  }
  return value;
}
