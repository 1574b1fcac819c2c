import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { PdpServer } from '../src/pdp/server.js';
import { MINI_BASE_TEXT, evaluation, parFacts, post, profileDir, request, startTestPdp, until } from './pdp-helpers.js';

const servers: PdpServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(dir: string, watch = false) {
  const pdp = await startTestPdp({ profiles: [dir], watch });
  servers.push(pdp);
  return pdp;
}

const digestOf = (pdp: PdpServer) => pdp.registry.current.profiles.get('mini-base')?.digest;
/** A different but valid mini-base: only a message changes, so the digest does. */
const variant = (n: number) => MINI_BASE_TEXT.replace('Use an allowed PKCE method.', `Use an allowed PKCE method (v${n}).`);
/** A schema error on a known line: severity must be error or warning. */
const BROKEN = MINI_BASE_TEXT.replace('severity: error', 'severity: fatal');
const BROKEN_LINE = MINI_BASE_TEXT.split('\n').findIndex((l) => l.includes('severity: error')) + 1;

async function decideDigest(pdp: PdpServer): Promise<string> {
  const r = await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() });
  expect(r.status).toBe(200);
  return (r.json() as { profile: { digest: string } }).profile.digest;
}

describe('hot reload', () => {
  it('picks up a good edit on disk (file watch) and decisions name the new digest', async () => {
    const dir = profileDir();
    const pdp = await start(dir, true);
    const before = digestOf(pdp)!;
    writeFileSync(join(dir, 'mini-base.yaml'), variant(1));
    await until(() => digestOf(pdp) !== before);
    expect(await decideDigest(pdp)).toBe(digestOf(pdp));
    expect(pdp.registry.current.generation).toBeGreaterThanOrEqual(2);
    const deny = (await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts({ code_challenge_method: 'plain' }) })).json() as { violations: Array<{ message: string }> };
    expect(deny.violations[0]?.message).toBe('Use an allowed PKCE method (v1).');
  });

  it('does not compile a file that is still being written (a truncated profile is valid YAML with fewer rules)', async () => {
    const dir = profileDir();
    const pdp = await start(dir, true);
    const before = digestOf(pdp)!;
    const rulesNow = () => pdp.registry.current.profiles.get('mini-base')?.rules.length;
    const fullRules = rulesNow();
    const lines = variant(9).split('\n');
    const truncated = lines.slice(0, lines.findIndex((l) => l.includes('- id: MINI-NONCE'))).join('\n') + '\n';
    const file = join(dir, 'mini-base.yaml');
    const counts = new Set<number | undefined>();
    const watching = setInterval(() => counts.add(rulesNow()), 10);
    try {
      writeFileSync(file, truncated);
      await new Promise((r) => setTimeout(r, 500));
      writeFileSync(file, variant(9));
      await until(() => digestOf(pdp) !== before, 8000);
    } finally {
      clearInterval(watching);
    }
    counts.add(rulesNow());
    expect([...counts]).toEqual([fullRules]);
    expect(pdp.registry.current.generation).toBe(2);
  });

  it('keeps the last good set on a broken edit and shows file:line:col on /health/ready', async () => {
    const dir = profileDir();
    const pdp = await start(dir, true);
    const good = digestOf(pdp)!;
    writeFileSync(join(dir, 'mini-base.yaml'), BROKEN);
    await until(async () => ((await request(`${pdp.url}/health/ready`)).json() as { last_reload: { ok: boolean } }).last_reload.ok === false);
    const ready = await request(`${pdp.url}/health/ready`);
    expect(ready.status).toBe(200);
    const report = ready.json() as { ready: boolean; last_reload: { ok: boolean; swapped: boolean; errors: string[] } };
    expect(report.ready).toBe(true);
    expect(report.last_reload.swapped).toBe(false);
    expect(report.last_reload.errors.join('\n')).toMatch(new RegExp(`mini-base\\.yaml:${BROKEN_LINE}:\\d+: `));
    expect(digestOf(pdp)).toBe(good);
    expect(await decideDigest(pdp)).toBe(good);
    const metrics = (await request(`${pdp.url}/metrics`)).text;
    expect(metrics).toMatch(/^fapi_policy_pdp_reload_failures_total [1-9]\d*$/m);

    writeFileSync(join(dir, 'mini-base.yaml'), variant(2));
    await until(() => digestOf(pdp) !== good);
    expect(((await request(`${pdp.url}/health/ready`)).json() as { last_reload: { ok: boolean } }).last_reload.ok).toBe(true);
  });

  it('reloads through the exported trigger (what SIGHUP calls)', async () => {
    const dir = profileDir();
    const pdp = await start(dir);
    const before = digestOf(pdp);
    writeFileSync(join(dir, 'mini-base.yaml'), variant(3));
    expect(digestOf(pdp)).toBe(before);
    const report = await pdp.reload();
    expect(report).toMatchObject({ ok: true, swapped: true, reason: 'reload' });
    expect(digestOf(pdp)).not.toBe(before);
  });

  it('coalesces triggers that arrive while a reload waits', async () => {
    const pdp = await start(profileDir());
    const generation = pdp.registry.current.generation;
    const reports = await Promise.all(Array.from({ length: 6 }, () => pdp.reload()));
    expect(new Set(reports.map((r) => r.generation)).size).toBeLessThanOrEqual(2);
    expect(pdp.registry.current.generation - generation).toBeLessThanOrEqual(2);
  });

  it('keeps the last good set when a directory disappears, and says so', async () => {
    const dir = profileDir();
    const pdp = await start(dir);
    const good = digestOf(pdp);
    rmSync(dir, { recursive: true });
    const report = await pdp.reload();
    expect(report.ok).toBe(false);
    expect(digestOf(pdp)).toBe(good);
    const ready = (await request(`${pdp.url}/health/ready`)).json() as { sources: Array<{ ok: boolean; active: boolean; last_error: string }> };
    expect(ready.sources[0]).toMatchObject({ ok: false, active: true, last_error: expect.stringMatching(/ENOENT/) });
  });

  it('starts not ready on a broken set and becomes ready once it is fixed', async () => {
    const dir = profileDir();
    writeFileSync(join(dir, 'mini-base.yaml'), BROKEN);
    const pdp = await start(dir);
    const ready = await request(`${pdp.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ ready: false, generation: 0, last_reload: { ok: false } });
    expect((await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() })).status).toBe(404);
    writeFileSync(join(dir, 'mini-base.yaml'), MINI_BASE_TEXT);
    await pdp.reload();
    expect((await request(`${pdp.url}/health/ready`)).status).toBe(200);
  });

  it('never shows a half-loaded set: every answer under constant reloading comes from one whole set', async () => {
    const dir = profileDir();
    const pdp = await start(dir);
    const digests = new Set<string>([digestOf(pdp)!]);
    let reloading = true;
    const reloader = (async () => {
      for (let i = 0; i < 15 && reloading; i++) {
        writeFileSync(join(dir, 'mini-base.yaml'), variant(i % 2));
        await pdp.reload();
        digests.add(digestOf(pdp)!);
      }
    })();
    const batches: Array<Promise<void>> = [];
    for (let i = 0; i < 60; i++) {
      batches.push((async () => {
        const r = await post(`${pdp.url}/access/v1/evaluations`, { ...evaluation(), evaluations: [{}, {}, {}, {}] });
        expect(r.status).toBe(200);
        const items = (r.json() as { evaluations: Array<{ decision: boolean; context: { profile: { digest: string } } }> }).evaluations;
        expect(items.every((e) => e.decision)).toBe(true);
        expect(new Set(items.map((e) => e.context.profile.digest)).size).toBe(1);
      })());
    }
    await Promise.all(batches);
    reloading = false;
    await reloader;
    expect(pdp.registry.current.generation).toBeGreaterThan(2);
    expect(digests.size).toBeGreaterThanOrEqual(2);
  });
});

describe('SIGHUP (the CLI as a child process)', () => {
  const BIN = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');
  let child: ReturnType<typeof spawn> | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('reloads on SIGHUP and stops cleanly on SIGTERM', async () => {
    const dir = profileDir();
    child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--profiles', dir, '--no-watch', '--decision-log', 'off'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stderr), 10_000);
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
    const profile = async () => ((await request(`${url}/v1/profiles/mini-base`)).json() as { digest: string }).digest;
    const before = await profile();
    writeFileSync(join(dir, 'mini-base.yaml'), variant(7));
    child.kill('SIGHUP');
    await until(async () => (await profile()) !== before, 10_000);
    expect(stderr).toMatch(/"reason":"SIGHUP"/);
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('decision log to stdout (the CLI as a child process)', () => {
  const BIN = join(import.meta.dirname, '..', 'dist', 'src', 'cli', 'main.js');

  it('keeps serving when the reader of stdout goes away (EPIPE), dropping and counting lines', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--profiles', profileDir(), '--no-watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let stderr = '';
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      let stdout = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      await until(() => /listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stderr), 10_000);
      const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr)![1]!;
      const decide = () => post(`${url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() });
      expect((await decide()).status).toBe(200);
      await until(() => stdout.includes('"decision_id"'), 5000);
      child.stdout!.destroy();
      for (let i = 0; i < 3; i++) {
        expect((await decide()).status).toBe(200);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(child.exitCode).toBeNull();
      const dropped = /^fapi_policy_pdp_decision_log_dropped_total (\d+)$/m.exec((await request(`${url}/metrics`)).text);
      expect(Number(dropped?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
