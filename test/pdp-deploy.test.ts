/**
 * Profile deploys against a running service, each method several times in a row: the file watch
 * alone (disk check off) must pick every one up, and /health/ready must then show the files on disk
 * as the active ones. Then the safety net: with no watch at all, the periodic disk check reloads;
 * and staleness is visible while a change is not active. Every wait polls with a deadline (these
 * run beside other suites on a loaded machine), never a fixed sleep.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startFromValues } from '../src/cli/commands/serve.js';
import { generateSigningKey, signBundle } from '../src/registry/bundle.js';
import type { PdpOptions, PdpServer } from '../src/pdp/server.js';
import type { SourceStatus } from '../src/registry/sources.js';
import { DirectoryWatches } from '../src/registry/watch.js';
import { LineSink, MINI_BASE_TEXT, parFacts, post, profileDir, request, startTestPdp, tempDir, until } from './pdp-helpers.js';

const ROUNDS = 4;
const DEADLINE_MS = 15_000;

const servers: PdpServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Watch on, disk check off unless asked: what is picked up here, the watch picked up. */
async function start(options: Partial<PdpOptions>): Promise<PdpServer> {
  const pdp = await startTestPdp({ watch: true, checkSeconds: 0, settleMs: 150, ...options });
  servers.push(pdp);
  return pdp;
}

/** A valid mini-base whose PKCE message names the version, so a decision shows which one serves. */
const variant = (n: number) => MINI_BASE_TEXT.replace('Use an allowed PKCE method.', `Use an allowed PKCE method (v${n}).`);

async function served(pdp: PdpServer): Promise<string> {
  const r = await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts({ code_challenge_method: 'plain' }) });
  return r.status === 200 ? ((r.json() as { violations: Array<{ message: string }> }).violations[0]?.message ?? '') : `HTTP ${r.status}`;
}

async function sources(pdp: PdpServer): Promise<SourceStatus[]> {
  return ((await request(`${pdp.url}/health/ready`)).json() as { sources: SourceStatus[] }).sources;
}

/** Decisions come from version n, and the source reports the files on disk as the active ones. */
async function expectServing(pdp: PdpServer, n: number): Promise<void> {
  const wanted = `Use an allowed PKCE method (v${n}).`;
  await until(async () => (await served(pdp)) === wanted, DEADLINE_MS);
  const [source] = await sources(pdp);
  expect(source).toMatchObject({ ok: true, active: true, stale: false, disk_digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
  expect(source!.active_digest).toBe(source!.disk_digest);
}

const profileIds = async (pdp: PdpServer) => ((await request(`${pdp.url}/v1/profiles`)).json() as { profiles: Array<{ id: string }> }).profiles.map((p) => p.id);

/** A second profile (an overlay of mini-base), to add and delete. */
const extra = (id: string) => `id: ${id}\ntitle: Extra ${id}\nversion: "1"\nspec: https://example.com/spec\nextends: mini-base\nsettings: {}\nrules: []\n`;

describe('every deploy method, several times in a row, picked up by the watch alone', () => {
  it('writes in place', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir] });
    for (let n = 1; n <= ROUNDS; n++) {
      writeFileSync(join(dir, 'mini-base.yaml'), variant(n));
      await expectServing(pdp, n);
    }
  });

  it('renames a temporary file into place (the atomic deploy), then also writes in place', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir] });
    for (let n = 1; n <= ROUNDS; n++) {
      writeFileSync(join(dir, 'mini-base.yaml.tmp'), variant(n));
      renameSync(join(dir, 'mini-base.yaml.tmp'), join(dir, 'mini-base.yaml'));
      await expectServing(pdp, n);
    }
    writeFileSync(join(dir, 'mini-base.yaml'), variant(ROUNDS + 1));
    await expectServing(pdp, ROUNDS + 1);
  });

  it("saves as an editor does: the old file moved to a backup, the new one written, the backup removed", async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir] });
    const file = join(dir, 'mini-base.yaml');
    for (let n = 1; n <= ROUNDS; n++) {
      renameSync(file, `${file}~`);
      writeFileSync(file, variant(n));
      unlinkSync(`${file}~`);
      await expectServing(pdp, n);
    }
  });

  it('adds and deletes files, in the directory and in a new subdirectory', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir] });
    for (let n = 1; n <= ROUNDS; n++) {
      const sub = join(dir, `team-${n}`);
      writeFileSync(join(dir, `extra-${n}.yaml`), extra(`extra-${n}`));
      mkdirSync(sub);
      writeFileSync(join(sub, `nested-${n}.yaml`), extra(`nested-${n}`));
      await until(async () => (await profileIds(pdp)).includes(`nested-${n}`) && (await profileIds(pdp)).includes(`extra-${n}`), DEADLINE_MS);
      unlinkSync(join(dir, `extra-${n}.yaml`));
      rmSync(sub, { recursive: true });
      await until(async () => (await profileIds(pdp)).join() === 'mini-base', DEADLINE_MS);
      expect((await sources(pdp))[0]).toMatchObject({ ok: true, stale: false, files: 1 });
    }
  });

  it('follows a Kubernetes ConfigMap update: files are symlinks through ..data, which is flipped to a new directory', async () => {
    const dir = tempDir();
    const flip = configMap(dir, { 'mini-base.yaml': MINI_BASE_TEXT });
    const pdp = await start({ profiles: [dir] });
    for (let n = 1; n <= ROUNDS; n++) {
      flip({ 'mini-base.yaml': variant(n) });
      await expectServing(pdp, n);
    }
  });

  it('follows a profile directory that is itself a symlink, flipped to another release', async () => {
    const base = tempDir();
    const release = (n: number) => {
      const dir = join(base, `release-${n}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'mini-base.yaml'), n === 0 ? MINI_BASE_TEXT : variant(n));
      return dir;
    };
    symlinkSync(release(0), join(base, 'current'));
    const pdp = await start({ profiles: [join(base, 'current')] });
    for (let n = 1; n <= ROUNDS; n++) {
      symlinkSync(release(n), join(base, 'current.new'));
      renameSync(join(base, 'current.new'), join(base, 'current'));
      rmSync(join(base, `release-${n - 1}`), { recursive: true });
      console.log('flip', n, await served(pdp));
      await expectServing(pdp, n);
      console.log('flipped', n, await served(pdp), (pdp.registry as any).watches.directories());
      // The new release is watched too: an in-place fix inside it is picked up.
      writeFileSync(join(base, `release-${n}`, 'mini-base.yaml'), variant(n + 100));
      await expectServing(pdp, n + 100);
    }
  });

  it('follows a single-file source replaced by rename', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [join(dir, 'mini-base.yaml')] });
    for (let n = 1; n <= ROUNDS; n++) {
      writeFileSync(join(dir, 'next'), variant(n));
      renameSync(join(dir, 'next'), join(dir, 'mini-base.yaml'));
      await expectServing(pdp, n);
    }
  });

  describe('a signed bundle file', () => {
    let key: Awaited<ReturnType<typeof generateSigningKey>>;
    beforeAll(async () => {
      key = await generateSigningKey('ES256', 'deploy');
    });
    const bundle = (n: number) => signBundle([{ name: 'mini-base.yaml', content: n === 0 ? MINI_BASE_TEXT : variant(n) }], { key: key.privateJwk, kid: 'deploy', revision: n + 1, issuer: 'https://regulator.example' });

    it('replaced by rename, and written in place', async () => {
      const dir = tempDir();
      writeFileSync(join(dir, 'bundle.jws'), await bundle(0));
      const pdp = await start({ profiles: [], bundles: [join(dir, 'bundle.jws')], trust: key.publicJwks });
      for (let n = 1; n <= ROUNDS; n++) {
        const jws = await bundle(n);
        if (n % 2) {
          writeFileSync(join(dir, 'bundle.jws.tmp'), jws);
          renameSync(join(dir, 'bundle.jws.tmp'), join(dir, 'bundle.jws'));
        } else {
          writeFileSync(join(dir, 'bundle.jws'), jws);
        }
        await expectServing(pdp, n);
        expect((await sources(pdp))[0]).toMatchObject({ kind: 'bundle-file', revision: n + 1 });
      }
    });

    it('mounted from a ConfigMap (a symlink through ..data, flipped)', async () => {
      const dir = tempDir();
      const flip = configMap(dir, { 'bundle.jws': await bundle(0) });
      const pdp = await start({ profiles: [], bundles: [join(dir, 'bundle.jws')], trust: key.publicJwks });
      for (let n = 1; n <= ROUNDS; n++) {
        flip({ 'bundle.jws': await bundle(n) });
        await expectServing(pdp, n);
      }
    });
  });
});

/**
 * A directory laid out as the kubelet lays out a ConfigMap volume: `..<stamp>/<files>`, `..data` a
 * symlink to the current stamp, each file a symlink through `..data`. The returned function updates
 * it as the kubelet does: a new stamp directory, `..data_tmp` pointing to it renamed over `..data`,
 * the old stamp removed.
 */
function configMap(dir: string, files: Record<string, string>): (next: Record<string, string>) => void {
  let stamp = 0;
  const write = (content: Record<string, string>) => {
    const name = `..stamp_${++stamp}`;
    mkdirSync(join(dir, name));
    for (const [file, text] of Object.entries(content)) writeFileSync(join(dir, name, file), text);
    return name;
  };
  symlinkSync(write(files), join(dir, '..data'));
  for (const file of Object.keys(files)) symlinkSync(join('..data', file), join(dir, file));
  return (next) => {
    const previous = `..stamp_${stamp}`;
    symlinkSync(write(next), join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, previous), { recursive: true });
  };
}

describe('the periodic disk check', () => {
  it('reloads what the watch did not report (here: no watch could be set at all), and says so', async () => {
    const sync = vi.spyOn(DirectoryWatches.prototype, 'sync').mockResolvedValue(0);
    const log = new LineSink();
    try {
      const dir = profileDir();
      const pdp = await start({ profiles: [dir], checkSeconds: 1, opsLog: log });
      for (let n = 1; n <= 3; n++) {
        writeFileSync(join(dir, 'mini-base.yaml.tmp'), variant(n));
        renameSync(join(dir, 'mini-base.yaml.tmp'), join(dir, 'mini-base.yaml'));
        await expectServing(pdp, n);
      }
      expect(log.records().filter((r) => String(r.msg).includes('the file watch did not report')).length).toBeGreaterThanOrEqual(3);
      expect(pdp.registry.readiness().last_reload).toMatchObject({ reason: 'disk check', ok: true });
    } finally {
      sync.mockRestore();
    }
  });

  it('shows a change that is not active as stale, in /health/ready and /metrics, until it is', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir], watch: false, checkSeconds: 1 });
    const before = (await sources(pdp))[0]!;
    expect(before).toMatchObject({ stale: false, disk_digest: before.active_digest });
    writeFileSync(join(dir, 'mini-base.yaml'), variant(1));
    await until(async () => (await sources(pdp))[0]!.stale === true, DEADLINE_MS);
    const stale = (await sources(pdp))[0]!;
    expect(stale.active_digest).toBe(before.active_digest);
    expect(stale.disk_digest).not.toBe(before.disk_digest);
    const metrics = (await request(`${pdp.url}/metrics`)).text;
    expect(metrics).toContain(`fapi_policy_pdp_source_stale{source="${dir}"} 1`);
    expect(metrics).toContain(`fapi_policy_pdp_source_digest_info{source="${dir}",disk="${stale.disk_digest}",active="${stale.active_digest}"} 1`);
    expect(await served(pdp)).toBe('Use an allowed PKCE method.');

    await pdp.reload();
    const fresh = (await sources(pdp))[0]!;
    expect(fresh).toMatchObject({ stale: false, active_digest: stale.disk_digest, disk_digest: stale.disk_digest });
    expect((await request(`${pdp.url}/metrics`)).text).toContain(`fapi_policy_pdp_source_stale{source="${dir}"} 0`);
  });

  it('keeps a broken edit visible as stale without reloading it again at every check', async () => {
    const dir = profileDir();
    const pdp = await start({ profiles: [dir], checkSeconds: 1 });
    writeFileSync(join(dir, 'mini-base.yaml'), MINI_BASE_TEXT.replace('severity: error', 'severity: fatal'));
    await until(() => pdp.registry.readiness().last_reload?.ok === false, DEADLINE_MS);
    const reloadsTotal = async () => /^fapi_policy_pdp_reloads_total (\d+)$/m.exec((await request(`${pdp.url}/metrics`)).text)?.[1];
    const reloads = await reloadsTotal();
    const first = (await sources(pdp))[0]!;
    expect(first).toMatchObject({ ok: false, stale: true });
    // More disk checks pass (one at least 1.5 s later); none reloads the same broken files again.
    await until(async () => Date.parse((await sources(pdp))[0]!.disk_checked_at!) > Date.parse(first.disk_checked_at!) + 1500, DEADLINE_MS);
    expect(await reloadsTotal()).toBe(reloads);
    expect(await served(pdp)).toBe('Use an allowed PKCE method.');
    expect((await request(`${pdp.url}/health/ready`)).status).toBe(200);
  });

  it('is set from the command line: serve --disk-check <seconds>, refused out of range', async () => {
    const io = { out: () => {}, err: () => {}, readStdin: async () => '' };
    const dir = profileDir();
    const served = await startFromValues({ port: '0', profiles: [dir], 'no-watch': true, 'disk-check': '1', 'decision-log': 'off' }, io, {});
    servers.push(served);
    writeFileSync(join(dir, 'mini-base.yaml'), variant(1));
    await until(async () => (await sources(served))[0]!.stale === true, DEADLINE_MS);
    await expect(startFromValues({ port: '0', profiles: [dir], 'disk-check': 'soon' }, io, {})).rejects.toThrow(/--disk-check must be an integer from 0 to 86400/);
  });
});
