/**
 * Decision-service benchmark: the PDP (a child process running `fapi-policy serve`) against a bare
 * node:http server (another child) that parses the same JSON body and answers a fixed decision, and,
 * for scale, Express 5 doing the same with its default JSON body parsing. autocannon drives each on
 * loopback at 1, 8 and 32 connections, the servers interleaved round by round and each row the
 * median of its rounds; then the PDP again while its profiles reload every second, which must not
 * fail a single request. Last, what a hostile body costs: 1 MiB of '[' against a valid AuthZEN body of
 * the same size, and valid decisions beside connections sending the hostile one. With taskset the
 * servers share one CPU and the load generator has another.
 *
 *   npm run bench:pdp                 (builds first)
 *   node dist/bench/pdp.js [--duration 3] [--rounds 3] [--connections 1,8,32] [--profile mini-base]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import express from 'express';
import { loadProfiles } from '../src/index.js';
import { cpuMicros, fmt, median, pinDriver, pinning, serverCommand } from './measure.js';

interface AutocannonResult {
  requests: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (options: Record<string, unknown>, done: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MINI_BASE = join(ROOT, 'test', 'fixtures', 'profiles', 'mini-base.yaml');
const CONNECTIONS = [1, 8, 32] as const;
const MAX_SAMPLES = 4_000_000;

// ---------------------------------------------------------------------------------------------
// The bare baseline, run as a child process: `node dist/bench/pdp.js --bare`

const FIXED = JSON.stringify({
  decision_id: '00000000-0000-4000-8000-000000000000', decision: 'allow',
  profile: { id: 'bench', version: '1', digest: 'sha256:' + '0'.repeat(64) }, stage: 'par', violations: [], warnings: [],
});

function listening(server: Server): void {
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }) + '\n');
  });
}

function runBare(): void {
  listening(createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(FIXED) });
      res.end(FIXED);
    });
  }));
}

/** For scale: Express 5 with its default JSON body parsing, answering the same fixed decision. */
function runExpress(): void {
  const app = express();
  app.post('/v1/decide', express.json({ limit: '1mb' }), (_req, res) => {
    res.type('application/json').send(FIXED);
  });
  listening(createServer(app));
}

// ---------------------------------------------------------------------------------------------
// The driver

interface Workload {
  profileId: string;
  files: string[];
  facts: Record<string, unknown>;
}

/** fapi2-security with its own PAR fixture when the shipped profiles load cleanly, else the mini fixture profile. */
async function workload(wanted: string | undefined): Promise<Workload> {
  const mini: Workload = {
    profileId: 'mini-base',
    files: [MINI_BASE],
    facts: {
      time: 1767225600, issuer: 'https://as.example', client_authenticated: true,
      params: { client_id: 'c1', response_type: 'code', redirect_uri: 'https://client.example/cb', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' },
    },
  };
  if (wanted === 'mini-base') return mini;
  const id = wanted ?? 'fapi2-security';
  try {
    const set = await loadProfiles([join(ROOT, 'profiles')], { tests: true });
    const profile = set.get(id);
    const fixture = set.suites.find((s) => s.profile === id)?.fixtures.par;
    const file = set.files.get(id);
    if (!profile || !fixture || !file || profile.evaluate('par', fixture).profile.id !== id || !set.ok) throw new Error('unavailable');
    const chain = [id, ...(profile.toJSON().extends as string[])].map((p) => set.files.get(p)!).filter(Boolean);
    return { profileId: id, files: chain, facts: fixture };
  } catch {
    if (wanted) throw new Error(`profile '${wanted}' or its PAR fixture is not available`);
    return mini;
  }
}

/** Servers on one CPU, this driver (and autocannon) on another. */
const PIN = pinning();

function spawnChild(args: string[], ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const [command, argv] = serverCommand(PIN, args);
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    const onData = (c: Buffer) => {
      seen += c.toString();
      const match = ready.exec(seen);
      if (match) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, match });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${seen}`)));
    setTimeout(() => reject(new Error(`timed out starting ${args.join(' ')}`)), 20_000).unref();
  });
}

interface Run {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  /** Server CPU time per answered request, in µs (Linux only, else NaN). */
  cpuUs: number;
}

function drive(url: string, body: string, connections: number, seconds: number, pid?: number, during?: () => void): Promise<Run> {
  const samples = new Float64Array(MAX_SAMPLES);
  let n = 0;
  const cpu0 = cpuMicros(pid);
  return new Promise((resolve, reject) => {
    const instance = autocannon({
      url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections, duration: seconds, pipelining: 1,
    }, (err, result) => {
      if (err) return reject(err);
      const sorted = samples.subarray(0, n).sort();
      const at = (q: number) => (n ? (sorted[Math.min(n - 1, Math.floor(q * n))] as number) : NaN);
      resolve({
        rps: result.requests.average, p50: at(0.5), p99: at(0.99), failed: result.errors + result.timeouts + result.non2xx,
        cpuUs: (cpuMicros(pid) - cpu0) / Math.max(1, n),
      });
    });
    instance.on('response', (_c, _s, _b, ms) => {
      if (n < MAX_SAMPLES) samples[n++] = ms;
    });
    during?.();
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/** The median of each figure over the rounds; failures are summed. */
function summarize(runs: Run[]): Run {
  const of = (k: keyof Run) => median(runs.map((r) => r[k]));
  return { rps: of('rps'), p50: of('p50'), p99: of('p99'), cpuUs: of('cpuUs'), failed: runs.reduce((s, r) => s + r.failed, 0) };
}

interface Target {
  name: string;
  url: string;
  pid: number | undefined;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { bare: { type: 'boolean' }, express: { type: 'boolean' }, duration: { type: 'string' }, rounds: { type: 'string' }, profile: { type: 'string' }, connections: { type: 'string' } } });
  if (values.bare) return runBare();
  if (values.express) return runExpress();
  pinDriver(PIN);
  const seconds = Number(values.duration ?? 3);
  const rounds = Math.max(1, Math.min(15, Number(values.rounds ?? 3)));
  const work = await workload(values.profile);
  const dir = mkdtempSync(join(tmpdir(), 'fapi-bench-'));
  for (const f of work.files) copyFileSync(f, join(dir, f.split('/').pop()!));
  const body = JSON.stringify({ profile: work.profileId, stage: 'par', facts: work.facts });

  const serve = (log: string) => spawnChild([CLI, 'serve', '--port', '0', '--profiles', dir, '--no-watch', '--decision-log', log], /listening on (http:\/\/[^ ]+)/);
  const pdp = await serve(join(dir, 'decisions.log'));
  const quiet = await serve('off');
  const bare = await spawnChild([fileURLToPath(import.meta.url), '--bare'], /\{"port":(\d+)\}/);
  const framework = await spawnChild([fileURLToPath(import.meta.url), '--express'], /\{"port":(\d+)\}/);
  const targets: Target[] = [
    { name: 'bare node:http', url: `http://127.0.0.1:${bare.match[1]}`, pid: bare.child.pid },
    { name: 'PDP, decision log on (default)', url: pdp.match[1] as string, pid: pdp.child.pid },
    { name: 'PDP, decision log off', url: quiet.match[1] as string, pid: quiet.child.pid },
    { name: 'Express 5, fixed decision', url: `http://127.0.0.1:${framework.match[1]}`, pid: framework.child.pid },
  ];
  const probe = await (await fetch(`${targets[1]!.url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).json() as { decision: string };

  console.log(`fapi-policy PDP benchmark — node ${process.version}, loopback, autocannon; ${PIN ? `servers pinned to CPU ${PIN.server}, load generator to CPU ${PIN.driver}` : 'not pinned (no taskset or one CPU)'}`);
  console.log(`workload: POST /v1/decide, profile ${work.profileId}, stage par (${body.length} bytes, decision: ${probe.decision}); decision log to a file`);
  console.log(`each row: the median of ${rounds} rounds of ${seconds}s (servers interleaved round by round, 1s warm-up each); CPU = server CPU time per request\n`);
  console.log('server                          | conns |   req/s | p50 ms | p99 ms | CPU µs/req | vs bare | failed');
  console.log('------------------------------- | ----- | ------- | ------ | ------ | ---------- | ------- | ------');
  try {
    const connections = values.connections ? values.connections.split(',').map(Number).filter((n) => n >= 1 && n <= 256) : CONNECTIONS;
    for (const c of connections) {
      const runs = new Map<Target, Run[]>(targets.map((t) => [t, []]));
      for (const t of targets) await drive(`${t.url}/v1/decide`, body, c, 1);
      for (let r = 0; r < rounds; r++) {
        for (const t of targets) runs.get(t)!.push(await drive(`${t.url}/v1/decide`, body, c, seconds, t.pid));
      }
      const bareRps = summarize(runs.get(targets[0]!)!).rps;
      for (const t of targets) {
        const s = summarize(runs.get(t)!);
        console.log([
          t.name.padEnd(31), String(c).padStart(5), fmt(s.rps).padStart(7), fmt(s.p50, 3).padStart(6), fmt(s.p99, 3).padStart(6),
          fmt(s.cpuUs, 1).padStart(10), `${fmt((s.rps / bareRps) * 100, 1)}%`.padStart(7), String(s.failed).padStart(6),
        ].join(' | '));
        if (s.failed > 0) process.exitCode = 1;
      }
    }
    await reloadScenario(targets[1]!, body, dir, work, pdp.child, Math.max(10, seconds * 2));
    await hostileBodyScenario(targets[2]!, body, work, seconds);
  } finally {
    for (const child of [pdp.child, quiet.child, bare.child, framework.child]) child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** 8 connections while the profile file changes and SIGHUP reloads every second. */
async function reloadScenario(target: Target, body: string, dir: string, work: Workload, child: ChildProcess, seconds: number): Promise<void> {
  const url = target.url;
  const file = join(dir, work.files[0]!.split('/').pop()!);
  const original = readFileSync(file, 'utf8');
  const before = await metric(url, 'fapi_policy_pdp_reloads_total');
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = await drive(`${url}/v1/decide`, body, 8, seconds, target.pid, () => {
    timer = setInterval(() => {
      tick++;
      writeFileSync(file, `${original}\n# bench reload ${tick}\n`);
      child.kill('SIGHUP');
    }, 1000);
  });
  clearInterval(timer);
  const reloads = (await metric(url, 'fapi_policy_pdp_reloads_total')) - before;
  const failures = await metric(url, 'fapi_policy_pdp_reload_failures_total');
  console.log(`\nreload scenario: 8 connections for ${seconds}s, profile rewritten + SIGHUP every second`);
  console.log(`  ${fmt(run.rps)} req/s, p50 ${fmt(run.p50, 3)} ms, p99 ${fmt(run.p99, 3)} ms; ${reloads} reloads (${failures} failed); failed requests: ${run.failed}`);
  if (run.failed > 0) process.exitCode = 1;
}

/** The service's default body limit: the largest body a caller can send. */
const HOSTILE_SIZE = 1024 * 1024;

/**
 * A valid AuthZEN evaluation of the workload, padded to exactly `size` bytes with a context member
 * that is not a fact (ignored, but parsed): an array of short strings, then one string to fill up.
 */
function paddedEvaluation(work: Workload, size: number): string {
  const { client, ...context } = work.facts as { client?: { client_id?: string } } & Record<string, unknown>;
  const make = (padding: string[]) => JSON.stringify({
    subject: { type: 'client', id: client?.client_id ?? 'client', properties: client ?? {} },
    action: { name: 'par' }, resource: { type: 'fapi_profile', id: work.profileId }, context: { ...context, padding },
  });
  const padding = Array.from({ length: Math.floor((size - make([]).length) / 17) - 1 }, () => 'x'.repeat(14));
  padding.push('x'.repeat(size - make([...padding, '']).length));
  return make(padding);
}

/**
 * The nesting check runs before JSON.parse, so a deep body should cost no more than a valid body of
 * the same size (it used to cost a full parse of a megabyte of arrays, and hundreds of megabytes).
 */
async function hostileBodyScenario(target: Target, smallBody: string, work: Workload, seconds: number): Promise<void> {
  const url = `${target.url}/access/v1/evaluation`;
  const valid = paddedEvaluation(work, HOSTILE_SIZE);
  const deep = '['.repeat(HOSTILE_SIZE);
  const probe = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: valid });
  const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: deep });
  console.log(`
hostile body: ${fmt(HOSTILE_SIZE)} bytes of '[' (answered ${refused.status}) against a valid evaluation of the same size (answered ${probe.status}); PDP, log off, 4 connections, ${seconds}s each`);
  console.log('body                 |   req/s | p50 ms | p99 ms | CPU µs/req | server RSS MiB');
  for (const [name, body] of [['valid, same size', valid], ["1 MiB of '['", deep]] as const) {
    const run = await drive(url, body, 4, seconds, target.pid);
    console.log([name.padEnd(20), fmt(run.rps).padStart(7), fmt(run.p50, 3).padStart(6), fmt(run.p99, 3).padStart(6), fmt(run.cpuUs, 1).padStart(10), fmt(rssMiB(target.pid), 0).padStart(14)].join(' | '));
  }
  let beside: Run | undefined;
  const small = drive(`${target.url}/v1/decide`, smallBody, 8, seconds, target.pid).then((r) => (beside = r));
  await Promise.all([small, drive(url, deep, 4, seconds)]);
  console.log(`valid ${smallBody.length}-byte decisions on 8 connections while 4 others send the deep body: ${fmt(beside!.rps)} req/s, p50 ${fmt(beside!.p50, 3)} ms, p99 ${fmt(beside!.p99, 3)} ms, failed ${beside!.failed}`);
  if (beside!.failed > 0) process.exitCode = 1;
}

/** Resident memory of a process in MiB (Linux only, else NaN). */
function rssMiB(pid: number | undefined): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb) / 1024;
  } catch {
    return NaN;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
