import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino from 'pino';
import type { RegisteredClient } from '../../as/clients.js';
import { judgeRegistration, withJudgedMetadata, type Judgement } from '../../as/client-registration.js';
import type { ProfileSnapshot } from '../../as/context.js';
import { OAuthError } from '../../as/errors.js';
import { readServedRecord, type ServedRecord } from '../../as/served-record.js';
import { checkIssuer, DEFAULT_AS_PORT, DEFAULT_DATA_DIR, DEFAULT_PROFILE } from '../../as/options.js';
import { createRegistry } from '../../registry/create.js';
import { SqliteStore } from '../../store/sqlite.js';
import { parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../context.js';
import { alignedTable, json } from '../output.js';
import { dataDirFrom, flag, integer, SOURCE_OPTIONS, SOURCE_USAGE, sourcesFrom, type Values } from '../server-options.js';
import type { Command } from './command.js';

const USAGE = `fapi-policy clients <list|move> [options]

The authorization server's registered clients, in its SQLite store (<data-dir>/store.sqlite). Both
work while the server runs: it reads a client's record on every request, so the request after a
move is decided by the new profile. A server on --store memory shares no state with this command:
move its clients with an RFC 7592 update (PUT /register/<client_id>) instead.

  list                        client_id, profile (- = the server default), shadow profile, client
                              authentication method and name of each client
  move <client_id>            judge the client's registered metadata by the registration stage of the
                              target profile (what POST /register does) and, only if it is accepted,
                              record the new fapi_profile / fapi_shadow_profile; otherwise print each
                              violated rule with its clause and exit 1
    --profile <id>            the target profile (default: the client's current one)
    --shadow-profile <id>     also set its report-only profile (fapi_shadow_profile)
    --no-shadow               remove its report-only profile
    --dry-run                 judge only; record nothing
    --default-profile <id>    the server's --profile, for a client that names none
                              (env FAPI_POLICY_PROFILE; default ${DEFAULT_PROFILE})
    --issuer <https-url>      the server's issuer (env FAPI_POLICY_ISSUER; default https://localhost:${DEFAULT_AS_PORT})

  --data-dir <dir>            the server's data directory (env FAPI_POLICY_DATA_DIR; default ./${DEFAULT_DATA_DIR})
  --store sqlite              the only store another process can reach (memory is refused)
  --limit <n>                 list at most n clients (default 1000)
${SOURCE_USAGE}

Profiles are loaded from the same sources the server uses (give it the same --profiles or --bundle).
A move and an RFC 7592 update of the same client at the same moment: the later write wins.`;

const OPTIONS = {
  ...SOURCE_OPTIONS,
  'data-dir': { type: 'string' },
  store: { type: 'string' },
  limit: { type: 'string' },
  profile: { type: 'string' },
  'shadow-profile': { type: 'string' },
  'no-shadow': { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  'default-profile': { type: 'string' },
  issuer: { type: 'string' },
} as const;

export const clients: Command = {
  name: 'clients',
  summary: 'List the AS\'s clients; move a client to another profile (judged as at registration)',
  usage: USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, OPTIONS);
    const [action, ...rest] = positionals;
    const v = values as Values;
    switch (action) {
      case 'list':
        if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
        return withStore(v, (store) => list(store, v, io));
      case 'move':
        if (rest.length !== 1) throw new UsageError('clients move takes one client_id');
        return withStore(v, (store) => move(store, rest[0] as string, v, io));
      default:
        throw new UsageError(action ? `unknown clients action '${action}' (list, move)` : 'clients needs an action: list or move');
    }
  },
};

/** The server's SQLite store; never a new one (a typo in --data-dir must not look like an empty server). */
async function withStore(values: Values, work: (store: SqliteStore) => Promise<number>): Promise<number> {
  const kind = flag(values, process.env, 'store') ?? 'sqlite';
  if (kind === 'memory') throw new UsageError('a --store memory server keeps its clients inside its own process: move them with an RFC 7592 update (PUT /register/<client_id>), or run the server with --store sqlite');
  if (kind !== 'sqlite') throw new UsageError('--store must be sqlite');
  const file = join(dataDirFrom(values, process.env), 'store.sqlite');
  if (!existsSync(file)) throw new UsageError(`no store at ${file}: start the server once with this --data-dir`);
  const store = new SqliteStore(file, { sweepSeconds: 0 });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function list(store: SqliteStore, values: Values, io: Io): Promise<number> {
  const limit = integer(values.limit as string | undefined, '--limit', 1, 1_000_000) ?? 1000;
  const found = await store.list<RegisteredClient>('client', limit + 1);
  const shown = found.slice(0, limit).map((r) => r.value);
  if (values.json) {
    io.out(json(shown.map((c) => ({ client_id: c.client_id, client_id_issued_at: c.client_id_issued_at, ...summary(c) })), true));
  } else {
    const rows = shown.map((c) => {
      const s = summary(c);
      return [c.client_id, s.fapi_profile ?? '-', s.fapi_shadow_profile ?? '-', s.token_endpoint_auth_method ?? '-', s.client_name ?? ''];
    });
    for (const line of alignedTable(['client_id', 'profile', 'shadow', 'auth method', 'name'], rows)) io.out(line);
  }
  if (found.length > limit) io.err(`more than ${limit} clients; showing the first ${limit} (--limit)`);
  return EXIT.ok;
}

function summary(c: RegisteredClient) {
  const m = c.metadata;
  return { fapi_profile: m.fapi_profile, fapi_shadow_profile: m.fapi_shadow_profile, token_endpoint_auth_method: m.token_endpoint_auth_method, client_name: m.client_name };
}

async function move(store: SqliteStore, clientId: string, values: Values, io: Io): Promise<number> {
  if (values['shadow-profile'] !== undefined && values['no-shadow']) throw new UsageError('give --shadow-profile or --no-shadow, not both');
  if (values.profile === undefined && values['shadow-profile'] === undefined && !values['no-shadow']) {
    throw new UsageError('clients move needs --profile, --shadow-profile or --no-shadow');
  }
  const client = await store.get<RegisteredClient>('client', clientId);
  if (!client) throw new UsageError(`no client '${clientId.slice(0, 64)}' in the store`);
  const metadata: Record<string, unknown> = { ...client.metadata };
  if (values.profile !== undefined) metadata.fapi_profile = values.profile;
  if (values['shadow-profile'] !== undefined) metadata.fapi_shadow_profile = values['shadow-profile'];
  if (values['no-shadow']) delete metadata.fapi_shadow_profile;

  const judged = await judge(metadata, values);
  const { decision } = judged;
  const moved = decision.decision === 'allow' && !values['dry-run'];
  if (moved) await store.set('client', clientId, withJudgedMetadata(client, judged), 0);
  const from = { fapi_profile: client.metadata.fapi_profile, fapi_shadow_profile: client.metadata.fapi_shadow_profile };
  const to = { fapi_profile: judged.metadata.fapi_profile, fapi_shadow_profile: judged.metadata.fapi_shadow_profile };
  if (values.json) {
    io.out(json({ client_id: clientId, decision: decision.decision, moved, profile: judged.profile.id, from, to, violations: decision.violations, warnings: decision.warnings }, true));
  } else {
    for (const v of decision.violations) io.out(`refused: ${v.rule} [${v.clause}]: ${v.message}`);
    for (const w of decision.warnings) io.out(`warning: ${w.rule} [${w.clause}]: ${w.message}`);
    const change = `fapi_profile ${from.fapi_profile ?? '(default)'} -> ${to.fapi_profile ?? '(default)'}, fapi_shadow_profile ${from.fapi_shadow_profile ?? '(none)'} -> ${to.fapi_shadow_profile ?? '(none)'}`;
    if (decision.decision === 'deny') io.out(`not moved: client ${clientId} is refused by the registration stage of ${judged.profile.id} (${change})`);
    else io.out(`${moved ? 'moved' : 'would move (dry run)'}: client ${clientId}: ${change}`);
  }
  return decision.decision === 'allow' ? EXIT.ok : EXIT.deny;
}

/** Which profiles the server left out when it last judged its set (undefined: it never recorded one). */
function servedRecord(values: Values): ServedRecord | undefined {
  const dataDir = dataDirFrom(values, process.env);
  try {
    return readServedRecord(dataDir);
  } catch (e) {
    throw new UsageError(`the server's record of the profiles it serves cannot be read: ${(e as Error).message}`);
  }
}

/** The registration judgement (the endpoint's own), evaluated under the profiles the server loads. */
async function judge(metadata: Record<string, unknown>, values: Values): Promise<Judgement> {
  const registry = createRegistry(await sourcesFrom({ ...values, 'no-watch': true, poll: '0', 'disk-check': '0' }, process.env), pino({ enabled: false }));
  try {
    const startup = await registry.start();
    const snapshot: ProfileSnapshot = registry.current;
    for (const member of ['fapi_profile', 'fapi_shadow_profile'] as const) {
      const id = metadata[member];
      if (typeof id === 'string' && !snapshot.profiles.has(id)) {
        throw new UsageError(`${member} '${id}' is not loaded from these sources (loaded: ${snapshot.ids.join(', ') || 'none'})${startup.errors.length ? `\n${startup.errors.join('\n')}` : ''}`);
      }
    }
    const record = servedRecord(values);
    const setting = {
      snapshot,
      ...(record ? { notServed: (id: string) => (Object.hasOwn(record.excluded, id) ? record.excluded[id]?.join('; ') : undefined) } : {}),
      defaultProfile: flag(values, process.env, 'default-profile', 'FAPI_POLICY_PROFILE') ?? DEFAULT_PROFILE,
      issuer: checkIssuer(flag(values, process.env, 'issuer', 'FAPI_POLICY_ISSUER') ?? `https://localhost:${DEFAULT_AS_PORT}`),
      now: Math.floor(Date.now() / 1000),
    };
    return await judgeRegistration(metadata, setting, (profile, facts) => profile.evaluate('registration', facts));
  } catch (e) {
    if (e instanceof OAuthError) throw new UsageError(`the client's metadata cannot be judged: ${e.error}: ${e.description}`);
    throw e;
  } finally {
    await registry.close();
  }
}
