import { readFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { delimiter } from 'node:path';
import { MIN_TOKEN_LENGTH, TOKEN, type AuthProtect } from '../../pdp/auth.js';
import { BundleError, readTrust } from '../../pdp/bundle.js';
import { DEFAULT_LIMITS, type Limits } from '../../pdp/limits.js';
import { DEFAULT_HOST, DEFAULT_PORT, startPdp, type PdpOptions, type PdpServer } from '../../pdp/server.js';
import { parse, type Options } from '../args.js';
import { EXIT, UsageError, profileDirs, type Io } from '../context.js';
import type { Command } from './command.js';

export const SERVE_OPTIONS: Options = {
  host: { type: 'string' },
  port: { type: 'string' },
  bundle: { type: 'string', multiple: true },
  trust: { type: 'string' },
  'bundle-issuer': { type: 'string' },
  poll: { type: 'string' },
  'no-watch': { type: 'boolean' },
  'disk-check': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
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

export const SERVE_USAGE = `fapi-policy serve [options]

Starts the policy decision service (native API and OpenID AuthZEN 1.0) on http://127.0.0.1:8181.

  --host <addr>              listen address (env FAPI_POLICY_PDP_HOST; default ${DEFAULT_HOST})
  --port <n>                 listen port, 0 = any free port (env FAPI_POLICY_PDP_PORT; default ${DEFAULT_PORT})
  --profiles <dir|file>      profile source, repeatable (env FAPI_POLICY_PROFILES, '${delimiter}'-separated;
                             default ./profiles, else the bundled profiles; none when --bundle is given)
  --bundle <path|url>        signed profile bundle (file or http(s) URL), repeatable; needs --trust
  --trust <jwks.json>        public keys bundles must be signed with (env FAPI_POLICY_PDP_TRUST)
  --bundle-issuer <iss>      refuse bundles from any other issuer
  --poll <seconds>           poll bundle URLs with If-None-Match (default 30; 0 = never)
  --no-watch                 do not watch profile directories and bundle files for changes
  --disk-check <seconds>     compare profile files on disk with the active ones (default 5; 0 = never);
                             with the watch on, a change it missed is reloaded
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

export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export const serve: Command = {
  name: 'serve',
  summary: 'Start the policy decision service (native API + OpenID AuthZEN) on 127.0.0.1:8181',
  usage: SERVE_USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, SERVE_OPTIONS);
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const pdp = await startFromValues(values as Values, io);
    return untilStopped(pdp, io);
  },
};

/** Builds the service options from flags and environment, starts it, and reports where it listens. */
export async function startFromValues(values: Values, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<PdpServer> {
  const options = await optionsFrom(values, env);
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

/** Only addresses, not names that merely start like one (`127.example.com`), count as loopback. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIPv4(host) && host.startsWith('127.');
}

/** Serves until SIGINT or SIGTERM; SIGHUP reloads. */
export function untilStopped(pdp: PdpServer, io: Io): Promise<number> {
  const uninstall = pdp.registry.installSignalHandler();
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      uninstall();
      io.err(`${signal}: stopping`);
      void pdp.close().then(() => resolve(EXIT.ok));
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

async function optionsFrom(values: Values, env: NodeJS.ProcessEnv): Promise<PdpOptions> {
  const str = (name: string, envName?: string) => (values[name] as string | undefined) ?? (envName ? env[envName] || undefined : undefined);
  const bundles = (values.bundle as string[] | undefined) ?? [];
  const given = (values.profiles as string[] | undefined) ?? env.FAPI_POLICY_PROFILES?.split(delimiter).filter(Boolean);
  const profiles = given?.length ? profileDirs(given) : bundles.length ? [] : profileDirs(undefined);
  const trustPath = str('trust', 'FAPI_POLICY_PDP_TRUST');
  if (bundles.length && !trustPath) throw new UsageError('--bundle needs --trust <jwks.json>: bundles are always verified');
  const protect = (str('auth-protect') ?? 'all') as AuthProtect;
  if (protect !== 'all' && protect !== 'explain') throw new UsageError('--auth-protect must be all or explain');
  const poll = integer(str('poll'), '--poll', 0, 86_400);
  return {
    host: str('host', 'FAPI_POLICY_PDP_HOST') ?? DEFAULT_HOST,
    port: integer(str('port', 'FAPI_POLICY_PDP_PORT'), '--port', 0, 65_535) ?? DEFAULT_PORT,
    profiles,
    bundles,
    trust: trustPath ? await loadTrust(trustPath) : undefined,
    bundleIssuer: str('bundle-issuer'),
    pollSeconds: poll ?? 30,
    watch: !values['no-watch'],
    checkSeconds: integer(str('disk-check'), '--disk-check', 0, 86_400) ?? 5,
    tls: await tlsFrom(str('tls-cert', 'FAPI_POLICY_PDP_TLS_CERT'), str('tls-key', 'FAPI_POLICY_PDP_TLS_KEY'), str('tls-ca', 'FAPI_POLICY_PDP_TLS_CA')),
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

function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

async function loadTrust(path: string) {
  try {
    return await readTrust(path);
  } catch (e) {
    throw new UsageError(e instanceof BundleError ? e.message : `cannot read --trust ${path}: ${(e as Error).message}`);
  }
}

async function tlsFrom(cert?: string, key?: string, ca?: string): Promise<PdpOptions['tls']> {
  if (!cert && !key && !ca) return undefined;
  if (!cert || !key) throw new UsageError('HTTPS needs both --tls-cert and --tls-key');
  const read = async (path: string, flag: string) => {
    try {
      return await readFile(path);
    } catch (e) {
      throw new UsageError(`cannot read ${flag} ${path}: ${(e as Error).message}`);
    }
  };
  return { cert: await read(cert, '--tls-cert'), key: await read(key, '--tls-key'), ...(ca ? { ca: await read(ca, '--tls-ca') } : {}) };
}

/** Tokens come from a file or the environment, never from argv (visible to every local user). */
async function tokensFrom(file: string | undefined, fromEnv: string | undefined): Promise<string[]> {
  let text = fromEnv?.split(',').join('\n') ?? '';
  if (file) {
    try {
      text += '\n' + (await readFile(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`cannot read --token-file ${file}: ${(e as Error).message}`);
    }
  }
  const tokens = text.split('\n').map((t) => t.trim()).filter(Boolean);
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
