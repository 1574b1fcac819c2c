import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { DEFAULT_AS_HOST, DEFAULT_AS_PORT, DEFAULT_DATA_DIR, DEFAULT_PROFILE, type AsOptions } from '../../as/options.js';
import { startAs, type AsServer } from '../../as/server.js';
import { createOpsLog } from '../../log/ops.js';
import { createRegistry } from '../../registry/create.js';
import type { Registry } from '../../registry/registry.js';
import { parse, type Options } from '../args.js';
import { UsageError, type Io } from '../context.js';
import { dataDirFrom, flag, integer, secretsFrom, sourcesFrom, SOURCE_OPTIONS, SOURCE_USAGE, type Values } from '../server-options.js';
import type { Command } from './command.js';
import { untilStopped } from './serve.js';

export const AS_OPTIONS: Options = {
  host: { type: 'string' },
  port: { type: 'string' },
  issuer: { type: 'string' },
  'data-dir': { type: 'string' },
  profile: { type: 'string' },
  'shadow-profile': { type: 'string' },
  'metrics-token-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'client-ca': { type: 'string' },
  'trust-proxy-cert-header': { type: 'boolean' },
  dev: { type: 'boolean' },
  'initial-access-token-file': { type: 'string' },
  registration: { type: 'string' },
  store: { type: 'string' },
  users: { type: 'string' },
  'access-token-lifetime': { type: 'string' },
  'request-uri-lifetime': { type: 'string' },
  'acr-values': { type: 'string' },
  log: { type: 'string' },
  'log-level': { type: 'string' },
};

export const AS_USAGE_OPTIONS = `  --host <addr>              listen address (env FAPI_POLICY_AS_HOST; default ${DEFAULT_AS_HOST})
  --port <n>                 listen port, 0 = any free port (env FAPI_POLICY_AS_PORT; default ${DEFAULT_AS_PORT})
  --issuer <https-url>       issuer identifier (env FAPI_POLICY_ISSUER; default https://localhost:<port>)
  --data-dir <dir>           TLS certificate, signing keys, store, demo users, bundle rollback floor
                             (env FAPI_POLICY_DATA_DIR; default ./${DEFAULT_DATA_DIR})
  --profile <id>             the profile of clients that name none (env FAPI_POLICY_PROFILE; default ${DEFAULT_PROFILE})
  --shadow-profile <id>      report-only profile: every decision is also evaluated under it, and what it
                             would refuse is logged and counted in /metrics, never enforced (for clients
                             without a fapi_shadow_profile of their own; env FAPI_POLICY_SHADOW_PROFILE)
  --metrics-token-file <file>  tokens that may read GET /metrics, one per line (env
                             FAPI_POLICY_AS_METRICS_TOKEN, comma-separated); without one, /metrics answers
                             loopback callers only
  --tls-cert <pem> --tls-key <pem>   the server certificate (env FAPI_POLICY_AS_TLS_CERT, _KEY; default:
                             self-signed into the data directory on first start)
  --client-ca <pem>          CAs that issue tls_client_auth client certificates (env FAPI_POLICY_CLIENT_CA)
  --trust-proxy-cert-header  take the client certificate from the RFC 9440 Client-Cert header set by a
                             TLS-terminating proxy in front (never otherwise)
  --dev                      development mode: open registration, automatic consent by the first demo
                             user; refused unless the listen address is loopback
  --initial-access-token-file <file>  tokens that allow registration, one per line (env
                             FAPI_POLICY_INITIAL_ACCESS_TOKEN, comma-separated)
  --registration open|token  who may register: anyone, or holders of an initial access token (default:
                             open on a loopback-only listener or with --dev, token otherwise)
  --store sqlite|memory      durable store in the data directory (default) or memory
  --users <file>             demo users (default <data-dir>/users.json, written on first start)
  --access-token-lifetime <s>  preferred access-token lifetime (default 600; the profile may shorten it)
  --request-uri-lifetime <s> preferred request_uri lifetime (default 60; the profile may shorten it)
  --acr-values <a,b>         acr values the login satisfies, preferred first (default urn:mace:incommon:iap:silver)
  --log <target> --log-level <level>  operational log: stderr (default), stdout, off or a file; info`;

const AS_USAGE = `fapi-policy as [options]

Starts the reference authorization server alone on https://localhost:${DEFAULT_AS_PORT}; \`start\` runs it
beside the decision service. Every decision is taken by the loaded profiles: each client by its own
(fapi_profile at registration, else --profile), and also, report only, by its shadow profile
(fapi_shadow_profile, else --shadow-profile); see fapi-policy shadow report.

${AS_USAGE_OPTIONS}
${SOURCE_USAGE}

SIGHUP reloads the profiles and the signing keys; a profile set the server cannot serve (its
discovery metadata refused by the default profile, say) is refused and the last good set stays.`;

async function asOptionsFrom(values: Values, env: NodeJS.ProcessEnv): Promise<AsOptions & { log: Logger }> {
  const str = (name: string, envName?: string) => flag(values, env, name, envName);
  const cert = str('tls-cert', 'FAPI_POLICY_AS_TLS_CERT');
  const key = str('tls-key', 'FAPI_POLICY_AS_TLS_KEY');
  if (!cert !== !key) throw new UsageError('the server certificate needs both --tls-cert and --tls-key');
  const store = str('store') ?? 'sqlite';
  if (store !== 'sqlite' && store !== 'memory') throw new UsageError('--store must be sqlite or memory');
  const level = str('log-level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new UsageError('--log-level must be fatal, error, warn, info, debug, trace or silent');
  const log = createOpsLog(str('log') ?? 'stderr', 'fapi-policy-as', { sync: false, level });
  const registration = str('registration');
  if (registration !== undefined && registration !== 'open' && registration !== 'token') throw new UsageError('--registration must be open or token');
  const tokens = await secretsFrom(str('initial-access-token-file'), env.FAPI_POLICY_INITIAL_ACCESS_TOKEN, '--initial-access-token-file');
  if (tokens.some((t) => t.length < 16)) throw new UsageError('initial access tokens must be at least 16 characters');
  const metricsTokens = await secretsFrom(str('metrics-token-file'), env.FAPI_POLICY_AS_METRICS_TOKEN, '--metrics-token-file');
  if (metricsTokens.some((t) => t.length < 16)) throw new UsageError('metrics tokens must be at least 16 characters');
  const shadow = str('shadow-profile', 'FAPI_POLICY_SHADOW_PROFILE');
  return {
    host: str('host', 'FAPI_POLICY_AS_HOST') ?? DEFAULT_AS_HOST,
    port: integer(str('port', 'FAPI_POLICY_AS_PORT'), '--port', 0, 65_535) ?? DEFAULT_AS_PORT,
    ...(str('issuer', 'FAPI_POLICY_ISSUER') ? { issuer: str('issuer', 'FAPI_POLICY_ISSUER') } : {}),
    dataDir: dataDirFrom(values, env),
    profile: str('profile', 'FAPI_POLICY_PROFILE') ?? DEFAULT_PROFILE,
    ...(shadow ? { shadowProfile: shadow } : {}),
    metricsTokens,
    ...(cert && key ? { tls: { cert, key } } : {}),
    ...(str('client-ca', 'FAPI_POLICY_CLIENT_CA') ? { clientCa: str('client-ca', 'FAPI_POLICY_CLIENT_CA') } : {}),
    trustProxyCertHeader: values['trust-proxy-cert-header'] === true,
    dev: values.dev === true,
    initialAccessTokens: tokens,
    ...(registration ? { registration: registration as 'open' | 'token' } : {}),
    store,
    ...(str('users') ? { usersFile: str('users') } : {}),
    log,
  };
}

export interface StartedAs {
  as: AsServer;
  registry: Registry;
}

/** The registry over the source flags, and the authorization server on it. */
export async function startAsFromValues(values: Values, io: Io, env: NodeJS.ProcessEnv = process.env): Promise<StartedAs> {
  const options = await asOptionsFrom(values, env);
  const registry = createRegistry(await sourcesFrom(values, env, options.dataDir), options.log);
  const startup = await registry.start();
  for (const error of startup.errors) io.err(`error: ${error}`);
  try {
    const as = await startAs({
      ...options, profiles: registry,
      ...(values['access-token-lifetime'] !== undefined ? { accessTokenLifetime: integer(values['access-token-lifetime'] as string, '--access-token-lifetime', 1, 86_400) } : {}),
      ...(values['request-uri-lifetime'] !== undefined ? { requestUriLifetime: integer(values['request-uri-lifetime'] as string, '--request-uri-lifetime', 5, 3600) } : {}),
      ...(values['acr-values'] !== undefined ? { acrValues: acrValues(values['acr-values'] as string) } : {}),
    });
    return { as, registry };
  } catch (e) {
    await registry.close();
    throw new UsageError((e as Error).message);
  }
}

export function describeAs(as: AsServer): string {
  const c = as.ctx.config;
  return `Authorization server: ${c.issuer} (listening on ${as.url}; default profile ${c.defaultProfile}; ` +
    `${c.shadowProfile ? `shadow profile ${c.shadowProfile} (report only, GET /metrics); ` : ''}` +
    `${c.dev ? 'DEVELOPMENT MODE: automatic consent' : 'login and consent page'}; registration ${c.openRegistration ? 'open (loopback)' : 'with an initial access token'})`;
}

export const as: Command = {
  name: 'as',
  summary: 'Start the reference authorization server alone on https://localhost:8443',
  usage: AS_USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { ...SOURCE_OPTIONS, ...AS_OPTIONS });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    const { as: server, registry } = await startAsFromValues(values as Values, io);
    io.out(describeAs(server));
    return untilStopped([registry], [server], io, () => void server.reloadKeys());
  },
};

/** A comma-separated list of acr values: printable, no spaces (they are space-separated on the wire). */
function acrValues(text: string): string[] {
  const list = text.split(',').map((v) => v.trim()).filter(Boolean);
  if (list.length === 0 || list.length > 20 || list.some((v) => !/^[\x21-\x7e]{1,256}$/.test(v))) {
    throw new UsageError('--acr-values takes 1 to 20 comma-separated values of printable characters without spaces');
  }
  return list;
}
