/** Signing keys: made on first start, rotated by `fapi-policy keys rotate`, picked up by a running server. */
import { decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { KeyFileStore } from '../../src/as/keys.js';
import { startTestAs, tempDir } from './helpers.js';
import { registerClient, runFlow } from './flow.js';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t), readStdin: async () => '' } };
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('signing keys', () => {
  it('are one per algorithm the profiles allow for what the server signs, each with a unique kid, private parts never published', async () => {
    const dataDir = tempDir();
    const as = await startTestAs({ dataDir });
    try {
      const jwks = as.ctx.keys().jwks.keys;
      type Signed = { id_token: string[]; authorization_response: string[]; introspection_response: string[] };
      const allowed = new Set([...as.snapshot.profiles.values()].flatMap((p) => {
        const algs = p.settings.signing_algs as Signed;
        return [...algs.id_token, ...algs.authorization_response, ...algs.introspection_response];
      }));
      expect(jwks.map((k) => k.alg).sort()).toEqual([...allowed].sort());
      expect(new Set(jwks.map((k) => k.kid)).size).toBe(jwks.length);
      for (const k of jwks) expect(Object.keys(k).filter((m) => ['d', 'p', 'q', 'dp', 'dq', 'qi'].includes(m))).toEqual([]);
      expect(as.ctx.keys().measurements.find((m) => m.alg === 'PS256')?.bits).toBeGreaterThanOrEqual(2048);
    } finally {
      await as.close();
    }
  });

  it('rotate: the new key signs, the old stays published until removed', async () => {
    const dataDir = tempDir();
    const as = await startTestAs({ dataDir, keyPollMs: 50 });
    try {
      const c = await registerClient(as, { auth: 'private_key_jwt', binding: 'dpop', metadata: { id_token_signed_response_alg: 'ES256' } });
      const before = decodeProtectedHeader((await runFlow(as, c)).tokens.id_token!).kid;
      const run = io();
      expect(await main(['keys', 'rotate', '--data-dir', dataDir, '--alg', 'ES256'], run.io)).toBe(0);
      expect(run.out[0]).toMatch(/^ES256: new active key ES256-/);
      const fresh = new KeyFileStore(dataDir).list().find((k) => k.alg === 'ES256' && k.status === 'active')!.kid;
      await until(async () => as.ctx.keys().jwks.keys.map((k) => k.kid), (kids) => kids.includes(fresh));
      const published = as.ctx.keys().jwks.keys.map((k) => k.kid);
      expect(published).toContain(before);
      expect(published).toContain(fresh);
      const after = decodeProtectedHeader((await runFlow(as, c)).tokens.id_token!).kid;
      expect(after).toBe(fresh);
      expect(await main(['keys', 'remove', '--data-dir', dataDir, fresh], io().io)).toBe(2); // active: refused
      expect(await main(['keys', 'remove', '--data-dir', dataDir, before!], io().io)).toBe(0);
      await until(async () => as.ctx.keys().jwks.keys.map((k) => k.kid), (kids) => !kids.includes(before!));
      expect(as.ctx.keys().jwks.keys.map((k) => k.kid)).not.toContain(before);
    } finally {
      await as.close();
    }
  });

  it('keys with a bad action or no data is a usage error', async () => {
    expect(await main(['keys', 'spin'], io().io)).toBe(2);
    expect(await main(['keys', 'rotate', '--data-dir', tempDir()], io().io)).toBe(2);
  });
});
