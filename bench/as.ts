/**
 * Authorization-server benchmark: our reference AS (in-memory store, and once more with the
 * default durable SQLite store) against oidc-provider 9 set up the same way for each FAPI family
 * (bench/as-peer.ts), each a child process on loopback HTTPS. This process is the load generator
 * (bench/as-client.ts, bench/as-signed.ts): concurrent users, keep-alive, fresh client assertions
 * and DPoP proofs on every request, a fresh request object on every signed flow. Scenarios: FAPI
 * 2.0 full flows (PAR + authorization + token + resource), PAR requests, client_credentials tokens,
 * FAPI 1.0 Advanced flows (request object by value + JARM, mTLS-bound tokens) and FAPI 2.0 Message
 * Signing flows (request object at PAR + JARM, DPoP). The servers are alternated round by round and each row is
 * the median of its rounds; the figure that matters is operations per second of server CPU time
 * (utime + stime of the server process over the round). With taskset the servers run on one CPU
 * and the generator on another.
 *
 *   npm run bench:as                  (builds first)
 *   node dist/bench/as.js [--duration 5] [--rounds 3] [--concurrency 16] [--scenarios flow,par,cc,fapi1adv,ms]
 *                         [--servers ours-memory,peer,ours-sqlite] (ours-quiet: memory store, request log off;
 *                         ours-shadow: memory store, shadow profile fapi2-message-signing)
 *   node dist/bench/as.js --profile [--servers ours-memory|ours-sqlite|peer] [--scenarios flow|par|cc|fapi1adv|ms] [--duration 10]
 *                         (CPU profile of one server under one scenario: top self-time functions by area)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { JWK } from 'jose';
import pino from 'pino';
import { startAs } from '../src/as/server.js';
import { loadProfiles } from '../src/index.js';
import { es256Key, FapiClient, REDIRECT_URI, type Es256Key, type Target } from './as-client.js';
import { clientPki, SignedClient, SIGNED_METADATA } from './as-signed.js';
import { cpuMicros, fmt, median, pinDriver, pinning, serverCommand } from './measure.js';
import { printProfile, type CpuProfile } from './cpu-profile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const PIN = pinning();
const MAX_SAMPLES = 1_000_000;
const MAX_FAILURES = 200;

type ServerKey = 'ours-memory' | 'ours-sqlite' | 'peer' | 'ours-quiet' | 'ours-shadow';
const SERVERS: Record<ServerKey, string> = {
  'ours-memory': 'fapi-policy AS, memory store',
  peer: 'oidc-provider 9, memory adapter',
  'ours-sqlite': 'fapi-policy AS, SQLite (default)',
  // Not run by default: what the request log costs.
  'ours-quiet': 'fapi-policy AS, memory, log off',
  // Not run by default: what shadow mode costs (every decision evaluated twice; unsigned PARs logged as findings).
  'ours-shadow': 'fapi-policy AS, memory, shadow fapi2-message-signing',
};
const DEFAULT_SERVERS: ServerKey[] = ['ours-memory', 'peer', 'ours-sqlite'];

/** The generator's clients of one server, one per FAPI family (each its own client_id and connections). */
interface Clients {
  fapi2: FapiClient;
  fapi1adv: SignedClient;
  ms: SignedClient;
}
type Family = keyof Clients;

type ScenarioKey = 'flow' | 'par' | 'cc' | 'fapi1adv' | 'ms';
const SCENARIOS: Record<ScenarioKey, { label: string; run: (c: Clients) => Promise<unknown> }> = {
  flow: { label: 'full flow', run: (c) => c.fapi2.flow() },
  par: { label: 'PAR', run: (c) => c.fapi2.par() },
  cc: { label: 'client_credentials', run: (c) => c.fapi2.clientCredentials() },
  fapi1adv: { label: 'FAPI 1.0 Adv flow', run: (c) => c.fapi1adv.fapi1Flow() },
  ms: { label: 'FAPI 2.0 MS flow', run: (c) => c.ms.messageSigningFlow() },
};

/** What our AS's clients register beyond the FAPI 2.0 defaults (bench/as-client.ts); the peer's static clients match. */
const REGISTRATION: Record<Family, Record<string, unknown>> = {
  fapi2: {},
  fapi1adv: { ...SIGNED_METADATA, fapi_profile: 'fapi1-advanced' },
  ms: { ...SIGNED_METADATA, fapi_profile: 'fapi2-message-signing' },
};

// ---------------------------------------------------------------------------------------------
// The servers, each run as a child process: `node dist/bench/as.js --serve <key>`

interface Ready {
  port: number;
  issuer: string;
  certificate: string;
  endpoints: Pick<Target, 'par' | 'authorization' | 'token' | 'resource' | 'jwks'>;
  /** The peer's static clients; our AS registers its clients instead. */
  clientIds?: Record<Family, string>;
}

type ChildMessage = { ready: Ready } | { profile: string } | { error: string };

function send(message: ChildMessage): void {
  process.send?.(message);
}

async function serveOurs(store: 'memory' | 'sqlite', quiet: boolean, clientCa: string | undefined, shadowProfile?: string): Promise<() => Promise<void>> {
  const set = await loadProfiles([join(ROOT, 'profiles')], { strict: true });
  const snapshot = { generation: 1, profiles: new Map(set.profiles), ids: set.ids() };
  const dataDir = mkdtempSync(join(tmpdir(), 'fapi-bench-as-'));
  // The AS as `fapi-policy as --dev` runs it: its default logging (pino, info, to stderr) included.
  const as = await startAs({ host: '127.0.0.1', port: 0, dev: true, store, dataDir, clientCa, profiles: { current: snapshot }, ...(quiet ? { log: pino({ level: 'silent' }) } : {}), ...(shadowProfile ? { shadowProfile } : {}) });
  const urls = as.ctx.config.urls;
  send({ ready: { port: as.port, issuer: as.issuer, certificate: as.certificate, endpoints: { par: urls.par, authorization: urls.authorization, token: urls.token, resource: urls.accounts, jwks: urls.jwks } } });
  return async () => {
    await as.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
}

async function servePeer(clientJwk: JWK): Promise<() => Promise<void>> {
  // Imported here only: oidc-provider stays out of our AS's process and the generator's.
  const { PEER_CLIENT_IDS, startPeer } = await import('./as-peer.js');
  const peer = await startPeer({ redirectUri: REDIRECT_URI, jwk: clientJwk });
  const at = (path: string) => `${peer.issuer}${path}`;
  send({ ready: { port: peer.port, issuer: peer.issuer, certificate: peer.certificate, clientIds: PEER_CLIENT_IDS, endpoints: { par: at('/request'), authorization: at('/auth'), token: at('/token'), resource: at('/me'), jwks: at('/jwks') } } });
  return () => new Promise((resolve) => {
    peer.server.close(() => resolve());
    peer.server.closeAllConnections();
  });
}

/** In-process CPU profiling on request, so start-up never appears in the profile. */
function profilerControl(): void {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result)));
  });
  process.on('message', (message: { profile?: 'start' | 'stop'; file?: string }) => {
    if (message.profile === 'start') {
      void post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 250 })).then(() => post('Profiler.start'));
    } else if (message.profile === 'stop' && message.file) {
      const file = message.file;
      void post('Profiler.stop').then((result) => {
        writeFileSync(file, JSON.stringify((result as { profile: CpuProfile }).profile));
        send({ profile: file });
      });
    }
  });
}

async function serve(key: ServerKey, clientJwk: string | undefined, clientCa: string | undefined): Promise<void> {
  const stop = key === 'peer' ? await servePeer(JSON.parse(clientJwk ?? '{}') as JWK) : await serveOurs(key === 'ours-sqlite' ? 'sqlite' : 'memory', key === 'ours-quiet', clientCa, key === 'ours-shadow' ? 'fapi2-message-signing' : undefined);
  profilerControl();
  const quit = () => void stop().finally(() => process.exit(0));
  process.on('SIGTERM', quit);
  process.on('disconnect', quit);
}

// ---------------------------------------------------------------------------------------------
// The generator

interface Server {
  key: ServerKey;
  child: ChildProcess;
  clients: Clients;
}

/** What every server is told about the generator's clients: their signing key (public), and the CA of their TLS certificate. */
interface Credentials {
  signing: Es256Key;
  tls: { cert: string; key: string };
  caFile: string;
}

function credentials(dir: string): Credentials {
  const { caPem, tls } = clientPki();
  const caFile = join(dir, 'client-ca.pem');
  writeFileSync(caFile, caPem);
  return { signing: es256Key('k1'), tls, caFile };
}

function startServer(key: ServerKey, logFile: string, creds: Credentials): Promise<{ child: ChildProcess; ready: Ready }> {
  return new Promise((resolve, reject) => {
    const log = openSync(logFile, 'a');
    const [command, argv] = serverCommand(PIN, [SELF, '--serve', key, '--client-jwk', JSON.stringify(creds.signing.publicJwk), '--client-ca', creds.caFile]);
    const child = spawn(command, argv, { stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    const timer = setTimeout(() => reject(new Error(`${key} did not start within 60 s (see ${logFile})`)), 60_000);
    child.on('message', (m: ChildMessage) => {
      if ('ready' in m) {
        clearTimeout(timer);
        resolve({ child, ready: m.ready });
      }
    });
    child.on('exit', (code) => reject(new Error(`${key} exited with ${code} (see ${logFile})`)));
  });
}

/**
 * Starts a server and makes the generator's clients of it: every client signs with the same key;
 * the FAPI 2.0 and Message Signing clients bind tokens with DPoP, the FAPI 1.0 Advanced client
 * with its TLS certificate. The peer's clients are static; ours register.
 */
async function launch(key: ServerKey, dir: string, concurrency: number, creds: Credentials): Promise<Server> {
  const { child, ready } = await startServer(key, join(dir, `${key}.log`), creds);
  const target: Target = { name: key, origin: `https://127.0.0.1:${ready.port}`, issuer: ready.issuer, certificate: ready.certificate, ...ready.endpoints };
  const ids = ready.clientIds;
  const clients: Clients = {
    fapi2: new FapiClient(target, ids?.fapi2 ?? '', { signing: creds.signing, dpop: es256Key() }, concurrency),
    fapi1adv: new SignedClient(target, ids?.fapi1adv ?? '', { signing: creds.signing, tls: creds.tls }, concurrency),
    ms: new SignedClient(target, ids?.ms ?? '', { signing: creds.signing, dpop: es256Key() }, concurrency),
  };
  const server = { key, child, clients };
  try {
    if (!ids) for (const family of Object.keys(clients) as Family[]) await clients[family].register(REGISTRATION[family]);
  } catch (e) {
    await stop(server);
    throw e;
  }
  return server;
}

interface Run {
  ops: number;
  p50: number;
  p99: number;
  /** Server CPU time per operation, µs. */
  cpuUs: number;
  /** Operations per second of server CPU time. */
  perCpuSecond: number;
  /** Share of one CPU the server and the generator used over the round. */
  serverBusy: number;
  generatorBusy: number;
  failed: number;
  error?: string;
}

async function drive(server: Server, scenario: ScenarioKey, concurrency: number, seconds: number): Promise<Run> {
  const run = SCENARIOS[scenario].run;
  const latencies = new Float64Array(MAX_SAMPLES);
  let n = 0;
  let failed = 0;
  let error: string | undefined;
  const cpu0 = cpuMicros(server.child.pid);
  const gen0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline && failed < MAX_FAILURES) {
      const start = performance.now();
      try {
        await run(server.clients);
        if (n < MAX_SAMPLES) latencies[n++] = performance.now() - start;
      } catch (e) {
        failed++;
        error ??= (e as Error).message;
      }
    }
  }));
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = cpuMicros(server.child.pid) - cpu0;
  const gen = process.cpuUsage(gen0);
  const sorted = latencies.subarray(0, n).sort();
  const at = (q: number) => (n ? (sorted[Math.min(n - 1, Math.floor(q * n))] as number) : NaN);
  return {
    ops: n / (wallUs / 1e6), p50: at(0.5), p99: at(0.99), cpuUs: cpu / Math.max(1, n), perCpuSecond: n / (cpu / 1e6),
    serverBusy: cpu / wallUs, generatorBusy: (gen.user + gen.system) / wallUs, failed, ...(error ? { error } : {}),
  };
}

function summarize(runs: Run[]): Run {
  const of = (k: keyof Omit<Run, 'error'>) => median(runs.map((r) => r[k]));
  const error = runs.find((r) => r.error)?.error;
  return {
    ops: of('ops'), p50: of('p50'), p99: of('p99'), cpuUs: of('cpuUs'), perCpuSecond: of('perCpuSecond'),
    serverBusy: of('serverBusy'), generatorBusy: of('generatorBusy'), failed: runs.reduce((s, r) => s + r.failed, 0), ...(error ? { error } : {}),
  };
}

const HEADER = 'scenario           | server                           |   ops/s | p50 ms | p99 ms | CPU ms/op | ops/CPU-s | vs peer | server CPU | gen CPU | failed';
const RULE = '------------------ | -------------------------------- | ------- | ------ | ------ | --------- | --------- | ------- | ---------- | ------- | ------';

function row(scenario: ScenarioKey, key: ServerKey, s: Run, peer: Run | undefined): string {
  const ratio = peer ? `${fmt(s.perCpuSecond / peer.perCpuSecond, 2)}×` : '—';
  return [
    SCENARIOS[scenario].label.padEnd(18), SERVERS[key].padEnd(32), fmt(s.ops).padStart(7), fmt(s.p50, 2).padStart(6), fmt(s.p99, 2).padStart(6),
    fmt(s.cpuUs / 1000, 3).padStart(9), fmt(s.perCpuSecond).padStart(9), ratio.padStart(7), `${fmt(s.serverBusy * 100)} %`.padStart(10),
    `${fmt(s.generatorBusy * 100)} %`.padStart(7), String(s.failed).padStart(6),
  ].join(' | ');
}

function list<T extends string>(value: string | undefined, all: readonly T[]): T[] {
  if (!value) return [...all];
  const picked = value.split(',').map((v) => v.trim());
  const unknown = picked.filter((v) => !all.includes(v as T));
  if (unknown.length) throw new Error(`unknown: ${unknown.join(', ')} (choose from ${all.join(', ')})`);
  return picked as T[];
}

async function compare(servers: Server[], scenarios: ScenarioKey[], o: { seconds: number; rounds: number; concurrency: number }): Promise<void> {
  console.log(HEADER);
  console.log(RULE);
  for (const scenario of scenarios) {
    const runs = new Map<Server, Run[]>(servers.map((s) => [s, []]));
    // A failure in the warm-up counts too: it is reported with the rounds', never dropped.
    const warmUps = new Map<Server, Run>();
    for (const s of servers) warmUps.set(s, await drive(s, scenario, o.concurrency, Math.min(2, o.seconds)));
    for (let r = 0; r < o.rounds; r++) {
      // Alternate the servers and rotate who goes first, so no server always follows the same one.
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + r) % servers.length]!;
        runs.get(s)!.push(await drive(s, scenario, o.concurrency, o.seconds));
      }
    }
    const peer = servers.find((s) => s.key === 'peer');
    const peerRun = peer ? summarize(runs.get(peer)!) : undefined;
    for (const s of servers) {
      const summary = summarize(runs.get(s)!);
      const warmUp = warmUps.get(s)!;
      const failed = summary.failed + warmUp.failed;
      console.log(row(scenario, s.key, { ...summary, failed }, s.key === 'peer' ? undefined : peerRun));
      if (failed > 0) {
        const message = `${SCENARIOS[scenario].label} on ${SERVERS[s.key]}: ${failed} operations failed (${warmUp.failed} in the warm-up); first: ${summary.error ?? warmUp.error}`;
        console.log(`  FAILED ${message}`);
        console.error(`bench:as: FAILED ${message}`);
        process.exitCode = 1;
      }
    }
  }
}

async function profile(key: ServerKey, dir: string, seconds: number, concurrency: number, scenario: ScenarioKey): Promise<void> {
  const server = await launch(key, dir, concurrency, credentials(dir));
  try {
    const warmUp = await drive(server, scenario, concurrency, 2);
    // Outside the scratch directory, so it can be opened in DevTools afterwards.
    const file = join(tmpdir(), `fapi-bench-as-${key}.cpuprofile`);
    server.child.send({ profile: 'start' });
    await new Promise((r) => setTimeout(r, 200));
    const run = await drive(server, scenario, concurrency, seconds);
    const written = new Promise<string>((resolve) => server.child.on('message', (m: ChildMessage) => 'profile' in m && resolve(m.profile)));
    server.child.send({ profile: 'stop', file });
    printProfile(await written, `${SERVERS[key]} under ${scenario}: ${fmt(run.ops)} ops/s, ${fmt(run.cpuUs / 1000, 3)} ms server CPU per op, ${run.failed} failed; profile: ${file}`);
    if (run.failed + warmUp.failed > 0) {
      console.error(`bench:as: FAILED ${run.failed + warmUp.failed} ${scenario} operations on ${SERVERS[key]} (${warmUp.failed} in the warm-up); first: ${warmUp.error ?? run.error}`);
      process.exitCode = 1;
    }
  } finally {
    await stop(server);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' }, 'client-jwk': { type: 'string' }, 'client-ca': { type: 'string' }, profile: { type: 'boolean' },
      duration: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' }, scenarios: { type: 'string' }, servers: { type: 'string' },
    },
    allowPositionals: false,
  });
  const keys = Object.keys(SERVERS) as ServerKey[];
  if (values.serve) return serve(list(values.serve, keys)[0]!, values['client-jwk'], values['client-ca']);
  pinDriver(PIN);
  const seconds = Math.max(1, Math.min(60, Number(values.duration ?? (values.profile ? 10 : 5))));
  const rounds = Math.max(1, Math.min(15, Number(values.rounds ?? 3)));
  const concurrency = Math.max(1, Math.min(256, Number(values.concurrency ?? 16)));
  const dir = mkdtempSync(join(tmpdir(), 'fapi-bench-as-'));
  const header = `node ${process.version}, loopback HTTPS, ${PIN ? `servers pinned to CPU ${PIN.server}, load generator to CPU ${PIN.driver}` : 'not pinned (no taskset or one CPU)'}`;
  try {
    if (values.profile) {
      const scenario = list(values.scenarios ?? 'flow', Object.keys(SCENARIOS) as ScenarioKey[])[0]!;
      console.log(`fapi-policy AS profile — ${header}, ${concurrency} concurrent users, ${scenario}, for ${seconds}s\n`);
      return await profile(list(values.servers ?? 'ours-memory', keys)[0]!, dir, seconds, concurrency, scenario);
    }
    const scenarios = list(values.scenarios, Object.keys(SCENARIOS) as ScenarioKey[]);
    const servers: Server[] = [];
    const creds = credentials(dir);
    try {
      for (const key of values.servers ? list(values.servers, keys) : DEFAULT_SERVERS) servers.push(await launch(key, dir, concurrency, creds));
      for (const s of servers) for (const scenario of scenarios) await SCENARIOS[scenario].run(s.clients);
      console.log(`fapi-policy AS benchmark — ${header}`);
      console.log(`${concurrency} concurrent users, keep-alive; private_key_jwt (ES256), a fresh assertion and DPoP proof on every request, a fresh request object on every signed flow`);
      console.log('full flow (FAPI 2.0) = PAR + authorization (auto login and consent, 303 with the code) + token (code, PKCE S256) + one resource call (DPoP with ath): 4 round trips on both servers');
      console.log('FAPI 1.0 Adv flow = authorization with a request object by value (JARM, response_mode=jwt) + token + resource, tokens bound to the client\'s TLS certificate: 3 round trips');
      console.log('FAPI 2.0 MS flow = PAR with a request object (PKCE S256) + authorization (JARM) + token + resource, DPoP: 4 round trips; every JARM response verified (jose, the JWKS cached)');
      console.log('resource: our GET /api/accounts, the peer\'s userinfo (GET /me); client_credentials: scope accounts');
      console.log(`each row: the median of ${rounds} rounds of ${seconds}s (servers alternated round by round, a warm-up each); CPU = the server process's utime + stime; vs peer = ops/CPU-s ratio\n`);
      await compare(servers, scenarios, { seconds, rounds, concurrency });
    } catch (e) {
      process.exitCode = 1; // keeps the server logs
      throw e;
    } finally {
      await Promise.all(servers.map(stop));
    }
  } finally {
    if (process.exitCode) console.error(`server logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Closes the client's connections and ends the server, waiting (at most 10 s) for it to exit. */
async function stop(server: Server): Promise<void> {
  await Promise.all(Object.values(server.clients).map((c: FapiClient) => c.close()));
  if (server.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
