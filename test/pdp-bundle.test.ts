import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CompactSign, generateKeyPair, generateSecret, exportJWK, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import {
  BundleError, collectBundleFiles, generateSigningKey, parseTrust, signBundle, verifyBundle, BUNDLE_TYP, type BundleAlgorithm, type TrustSet,
} from '../src/registry/bundle.js';
import type { PdpServer } from '../src/pdp/server.js';
import { MINI_BASE_TEXT, parFacts, post, profileDir, request, startTestPdp, tempDir, until } from './pdp-helpers.js';

const keys = {} as Record<BundleAlgorithm, { privateJwk: JWK; publicJwks: TrustSet }>;
let trust: TrustSet;
let files: Array<{ name: string; content: string }>;
const servers: PdpServer[] = [];

beforeAll(async () => {
  for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) keys[alg] = await generateSigningKey(alg, `k-${alg}`);
  trust = { keys: Object.values(keys).flatMap((k) => k.publicJwks.keys) };
  files = await collectBundleFiles([profileDir()]);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const sign = (revision: number, alg: BundleAlgorithm = 'ES256', content = files) =>
  signBundle(content, { key: keys[alg].privateJwk, kid: `k-${alg}`, revision, issuer: 'https://regulator.example' });

async function refusal(promise: Promise<unknown>): Promise<BundleError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof BundleError) return e;
    throw e;
  }
  throw new Error('the bundle was accepted');
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parts = (jws: string) => jws.split('.') as [string, string, string];

/** Signs an arbitrary header and payload with the ES256 test key (or another key). */
async function rawSign(header: Record<string, unknown>, payload: unknown, key: JWK = keys.ES256.privateJwk, alg = 'ES256', crit?: Record<string, boolean>) {
  return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg, ...header }).sign(await importJWK(key, alg), crit ? { crit } : undefined);
}


describe('bundle sign and verify', () => {
  for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) {
    it(`round-trips with ${alg}: issuer, revision, issue time, every file with its sha256`, async () => {
      const jws = await sign(3, alg);
      const b = await verifyBundle(jws, trust);
      expect(b).toMatchObject({ alg, kid: `k-${alg}` });
      expect(b.manifest).toMatchObject({ version: 1, iss: 'https://regulator.example', revision: 3 });
      expect(Math.abs(b.manifest.iat - Date.now() / 1000)).toBeLessThan(60);
      expect(b.manifest.files).toEqual([{ name: 'mini-base.yaml', sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: Buffer.byteLength(MINI_BASE_TEXT), content: MINI_BASE_TEXT }]);
    });
  }

  it('keeps directory structure in file names', async () => {
    const dir = profileDir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'ecosystems'));
    writeFileSync(join(dir, 'ecosystems', 'x.yaml'), 'id: x\n');
    expect((await collectBundleFiles([dir])).map((f) => f.name)).toEqual(['ecosystems/x.yaml', 'mini-base.yaml']);
  });
});

describe('bundle refusals', () => {
  it('refuses an unsigned bundle (alg none, or no signature)', async () => {
    const jws = await sign(1);
    const [, payload] = parts(jws);
    expect((await refusal(verifyBundle(`${b64({ alg: 'none', kid: 'k-ES256', typ: BUNDLE_TYP })}.${payload}.`, trust))).code).toBe('unsigned');
    expect((await refusal(verifyBundle(`${parts(jws)[0]}.${payload}.`, trust))).code).toBe('unsigned');
    expect((await refusal(verifyBundle(Buffer.from(JSON.stringify({ files })).toString('base64url'), trust))).code).toBe('malformed');
  });

  it('refuses a bundle with any byte of a file changed', async () => {
    const jws = await sign(1);
    const [header, payload, signature] = parts(jws);
    const m = JSON.parse(Buffer.from(payload, 'base64url').toString());
    m.files[0].content = m.files[0].content.replace('S256', 'plain');
    const e1 = await refusal(verifyBundle(`${header}.${b64(m)}.${signature}`, trust));
    expect(e1.code).toBe('signature');
    // Even with the manifest hash recomputed, the signature no longer matches.
    const { createHash } = await import('node:crypto');
    m.files[0].sha256 = createHash('sha256').update(m.files[0].content).digest('hex');
    m.files[0].size = Buffer.byteLength(m.files[0].content);
    expect((await refusal(verifyBundle(`${header}.${b64(m)}.${signature}`, trust))).code).toBe('signature');
    // A flipped signature byte.
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect((await refusal(verifyBundle(`${header}.${payload}.${flipped}`, trust))).code).toBe('signature');
  });

  it('refuses a signed manifest whose hashes do not match its files', async () => {
    const m = JSON.parse(Buffer.from(parts(await sign(1))[1], 'base64url').toString());
    m.files[0].sha256 = '0'.repeat(64);
    const jws = await rawSign({ kid: 'k-ES256', typ: BUNDLE_TYP }, m);
    expect((await refusal(verifyBundle(jws, trust))).code).toBe('hash');
  });

  it('refuses a signature by a key not in the trust set', async () => {
    const stranger = await generateSigningKey('ES256', 'k-stranger');
    const unknownKid = await signBundle(files, { key: stranger.privateJwk, kid: 'k-stranger', revision: 1, issuer: 'x' });
    const e = await refusal(verifyBundle(unknownKid, trust));
    expect(e.code).toBe('untrusted_key');
    expect(e.message).toMatch(/kid 'k-stranger', which is not in the trust set/);
    // A known kid on the wrong key: the signature does not verify.
    const impostor = await signBundle(files, { key: { ...stranger.privateJwk, kid: 'k-ES256' }, kid: 'k-ES256', revision: 1, issuer: 'x' });
    expect((await refusal(verifyBundle(impostor, trust))).code).toBe('signature');
  });

  it('refuses algorithms outside PS256, ES256, EdDSA', async () => {
    const payload = JSON.parse(Buffer.from(parts(await sign(1))[1], 'base64url').toString());
    const secret = await generateSecret('HS256', { extractable: true });
    const hs = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'HS256', kid: 'k-ES256', typ: BUNDLE_TYP }).sign(secret);
    expect((await refusal(verifyBundle(hs, trust))).code).toBe('algorithm');
    const rsa = await generateKeyPair('RS256', { extractable: true });
    const rs = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'RS256', kid: 'k-PS256', typ: BUNDLE_TYP }).sign(rsa.privateKey);
    const e = await refusal(verifyBundle(rs, trust));
    expect(e.code).toBe('algorithm');
    expect(e.message).toMatch(/"RS256" is not allowed \(allowed: PS256, ES256, EdDSA\)/);
    const ec384 = await generateKeyPair('ES384', { extractable: true });
    const es384 = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES384', kid: 'k-ES256', typ: BUNDLE_TYP }).sign(ec384.privateKey);
    expect((await refusal(verifyBundle(es384, trust))).code).toBe('algorithm');
    // The trust key's own type decides: an ES256 header naming the PS256 key is refused.
    const mismatch = await rawSign({ kid: 'k-PS256', typ: BUNDLE_TYP }, payload);
    expect((await refusal(verifyBundle(mismatch, trust))).code).toBe('untrusted_key');
  });

  it('refuses crit, a missing kid, a wrong typ and unexpected header members', async () => {
    const payload = JSON.parse(Buffer.from(parts(await sign(1))[1], 'base64url').toString());
    const crit = await rawSign({ kid: 'k-ES256', typ: BUNDLE_TYP, crit: ['exp'], exp: 1 }, payload, undefined, 'ES256', { exp: true });
    expect((await refusal(verifyBundle(crit, trust))).code).toBe('crit');
    expect((await refusal(verifyBundle(await rawSign({ typ: BUNDLE_TYP }, payload), trust))).code).toBe('kid');
    expect((await refusal(verifyBundle(await rawSign({ kid: 'k-ES256', typ: 'JWT' }, payload), trust))).code).toBe('header');
    const jwk = await exportJWK((await generateKeyPair('ES256')).publicKey);
    expect((await refusal(verifyBundle(await rawSign({ kid: 'k-ES256', typ: BUNDLE_TYP, jwk }, payload), trust))).code).toBe('header');
  });

  it('refuses a revision lower than the one loaded (rollback)', async () => {
    const e = await refusal(verifyBundle(await sign(4), trust, { minRevision: 5 }));
    expect(e.code).toBe('rollback');
    expect(e.message).toMatch(/revision 4 is lower than the loaded revision 5/);
    await expect(verifyBundle(await sign(5), trust, { minRevision: 5 })).resolves.toBeTruthy();
  });

  it('refuses another issuer when one is expected, and bad manifests', async () => {
    expect((await refusal(verifyBundle(await sign(1), trust, { issuer: 'https://other.example' }))).code).toBe('issuer');
    const base = JSON.parse(Buffer.from(parts(await sign(1))[1], 'base64url').toString());
    const cases: Array<Record<string, unknown>> = [
      { ...base, files: [{ ...base.files[0], name: '../etc/passwd.yaml' }] },
      { ...base, files: [] },
      { ...base, revision: -1 },
      { ...base, iat: Math.floor(Date.now() / 1000) + 3600 },
      { ...base, extra: true },
      { ...base, files: [base.files[0], base.files[0]] },
    ];
    for (const m of cases) expect((await refusal(verifyBundle(await rawSign({ kid: 'k-ES256', typ: BUNDLE_TYP }, m), trust))).code).toBe('manifest');
  });

  it('requires a trust set of public keys; there is no accept-anything mode', async () => {
    expect((await refusal(verifyBundle(await sign(1), { keys: [] }))).code).toBe('trust');
    expect(() => parseTrust('{"keys": []}', 't.json')).toThrow(/no keys/);
    expect(() => parseTrust(JSON.stringify({ keys: [keys.ES256.privateJwk] }), 't.json')).toThrow(/private key material/);
    expect(() => parseTrust(JSON.stringify({ keys: [{ ...keys.ES256.publicJwks.keys[0], kid: undefined }] }), 't.json')).toThrow(/no kid/);
    await expect(startTestPdp({ bundles: ['/nonexistent.jws'] })).rejects.toThrow(/needs --trust/);
  });
});

describe('the service loads bundles', () => {
  async function startWith(bundles: string[], extra: Record<string, unknown> = {}) {
    const pdp = await startTestPdp({ bundles, trust, ...extra });
    servers.push(pdp);
    return pdp;
  }
  const readyOf = async (pdp: PdpServer) => (await request(`${pdp.url}/health/ready`)).json() as {
    ready: boolean; sources: Array<{ revision?: number; ok: boolean; active: boolean; last_error?: string; kid?: string; issuer?: string; etag?: string }>;
  };

  it('from a file: decides with the bundled profiles and reports revision, kid and issuer', async () => {
    const file = join(tempDir(), 'bundle.jws');
    writeFileSync(file, await sign(2));
    const pdp = await startWith([file]);
    const r = await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() });
    expect(r.json()).toMatchObject({ decision: 'allow' });
    expect(await readyOf(pdp)).toMatchObject({ ready: true, sources: [{ revision: 2, kid: 'k-ES256', issuer: 'https://regulator.example', ok: true }] });

    // Rollback: an older revision is refused and revision 2 stays active.
    writeFileSync(file, await sign(1));
    expect((await pdp.reload()).ok).toBe(false);
    let ready = await readyOf(pdp);
    expect(ready.sources[0]).toMatchObject({ revision: 2, ok: false, active: true, last_error: expect.stringMatching(/rollback refused/) });
    expect(ready.ready).toBe(true);

    // The same revision with other content is refused too.
    writeFileSync(file, await sign(2, 'ES256', [{ name: 'mini-base.yaml', content: MINI_BASE_TEXT.replace('Keep the nonce short.', 'Short nonce.') }]));
    expect((await pdp.reload()).errors.join()).toMatch(/revision 2 is already loaded with different content/);

    // Tampering is refused; a higher, valid revision is accepted.
    const tampered = (await sign(3)).replace(/\.(.)/, (_m, c: string) => `.${c === 'e' ? 'f' : 'e'}`);
    writeFileSync(file, tampered);
    expect((await pdp.reload()).ok).toBe(false);
    expect((await readyOf(pdp)).sources[0]?.revision).toBe(2);
    writeFileSync(file, await sign(3, 'EdDSA'));
    expect((await pdp.reload()).ok).toBe(true);
    ready = await readyOf(pdp);
    expect(ready.sources[0]).toMatchObject({ revision: 3, kid: 'k-EdDSA', ok: true });
  });

  it('does not make a revision that verifies but fails to compile the loaded one', async () => {
    const file = join(tempDir(), 'bundle.jws');
    writeFileSync(file, await sign(1));
    const pdp = await startWith([file]);
    const good = pdp.registry.current.profiles.get('mini-base')?.digest;
    writeFileSync(file, await sign(2, 'ES256', [{ name: 'mini-base.yaml', content: MINI_BASE_TEXT.replace('severity: error', 'severity: fatal') }]));
    expect((await pdp.reload()).ok).toBe(false);
    expect(pdp.registry.current.profiles.get('mini-base')?.digest).toBe(good);
    const ready = await readyOf(pdp);
    expect(ready.sources[0]).toMatchObject({ revision: 1, ok: false, active: true, last_error: expect.stringMatching(/not activated/) });
    expect((await request(`${pdp.url}/metrics`)).text).toMatch(/^fapi_policy_pdp_bundle_revision\{[^}]*\} 1$/m);

    // The publisher fixes the files under the same revision number: accepted, since 2 never loaded.
    writeFileSync(file, await sign(2, 'ES256', [{ name: 'mini-base.yaml', content: MINI_BASE_TEXT.replace('Keep the nonce short.', 'Short nonce.') }]));
    expect((await pdp.reload()).ok).toBe(true);
    expect(await readyOf(pdp)).toMatchObject({ ready: true, sources: [{ revision: 2, ok: true }] });
    expect(pdp.registry.current.profiles.get('mini-base')?.digest).not.toBe(good);
  });

  it('refuses a bundle URL with credentials, and never shows a URL query in a source error', async () => {
    await expect(startWith(['http://user:s3cretPass@127.0.0.1:1/b.jws'])).rejects.toThrow(/carries credentials/);
    await expect(startWith(['http://user:s3cretPass@127.0.0.1:1/b.jws'])).rejects.not.toThrow(/s3cretPass/);
    const failing: typeof fetch = async (input) => {
      throw new Error(`connect ECONNREFUSED while fetching ${String(input)}`);
    };
    const pdp = await startWith(['http://127.0.0.1:1/b.jws?token=abc123'], { fetch: failing });
    const text = (await request(`${pdp.url}/health/ready`)).text;
    expect(text).toMatch(/ECONNREFUSED while fetching http:\/\/127\.0\.0\.1:1\/b\.jws/);
    expect(text).not.toContain('abc123');
  });

  it('is not ready when a configured bundle never verified', async () => {
    const file = join(tempDir(), 'bundle.jws');
    const stranger = await generateSigningKey('ES256', 'k-stranger');
    writeFileSync(file, await signBundle(files, { key: stranger.privateJwk, kid: 'k-stranger', revision: 1, issuer: 'x' }));
    const pdp = await startWith([file]);
    const r = await request(`${pdp.url}/health/ready`);
    expect(r.status).toBe(503);
    expect(r.json()).toMatchObject({ ready: false, sources: [{ active: false, ok: false, last_error: expect.stringMatching(/not in the trust set/) }] });
    expect((await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() })).status).toBe(404);
  });

  describe('from a URL, polled with ETag / If-None-Match', () => {
    let origin: Server;
    let url: string;
    let body = '';
    const seen: Array<{ inm?: string; status: number }> = [];

    beforeAll(async () => {
      body = await sign(1);
      origin = createServer((req, res) => {
        const etag = `"${Buffer.from(body).subarray(-16).toString('hex')}"`;
        const inm = req.headers['if-none-match'];
        if (inm === etag) {
          seen.push({ inm, status: 304 });
          res.writeHead(304, { ETag: etag }).end();
          return;
        }
        seen.push({ inm, status: 200 });
        res.writeHead(200, { 'Content-Type': 'application/jose', ETag: etag }).end(body);
      });
      await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/bundles/profiles.jws?sig=secret`;
    });
    afterAll(() => new Promise<void>((r) => origin.close(() => r())));

    it('loads, revalidates with If-None-Match, picks up a new revision and refuses a rollback', async () => {
      const pdp = await startWith([url], { pollSeconds: 0.1 });
      let ready = await readyOf(pdp);
      expect(ready).toMatchObject({ ready: true, sources: [{ revision: 1, ok: true, etag: expect.any(String) }] });
      expect(JSON.stringify(ready)).not.toContain('sig=secret');
      await until(() => seen.some((s) => s.status === 304));
      expect(seen[0]?.inm).toBeUndefined();

      body = await sign(2, 'PS256');
      await until(async () => (await readyOf(pdp)).sources[0]?.revision === 2);

      body = await sign(1);
      await until(async () => (await readyOf(pdp)).sources[0]?.ok === false);
      ready = await readyOf(pdp);
      expect(ready.sources[0]).toMatchObject({ revision: 2, active: true, last_error: expect.stringMatching(/rollback/) });
      expect(ready.ready).toBe(true);
      expect((await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts() })).status).toBe(200);
    });
  });
});

describe('fapi-policy bundle (CLI)', () => {
  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), readStdin: async () => '' });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  it('keygen, sign and verify; a tampered bundle exits 1, usage errors exit 2', async () => {
    const dir = tempDir();
    const key = join(dir, 'signer.jwk');
    const jwks = join(dir, 'trust.json');
    const out = join(dir, 'bundle.jws');
    expect((await cli('bundle', 'keygen', '--kid', 'reg-1', '--alg', 'EdDSA', '-o', key, '--jwks', jwks)).code).toBe(0);
    expect((await cli('bundle', 'keygen', '--kid', 'reg-1', '-o', key, '--jwks', jwks)).code).toBe(2);
    const signed = await cli('bundle', 'sign', '--key', key, '--kid', 'reg-1', '--revision', '7', '--issuer', 'https://reg.example', profileDir(), '-o', out);
    expect(signed).toMatchObject({ code: 0, out: expect.stringMatching(/signed 1 file\(s\) as revision 7/) });
    const verified = await cli('bundle', 'verify', '--trust', jwks, out);
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/verified: revision 7 from https:\/\/reg\.example, issued .*, signed by reg-1 \(EdDSA\)\n {2}mini-base\.yaml {2}sha256:[0-9a-f]{64}/);
    const json = JSON.parse((await cli('bundle', 'verify', '--trust', jwks, '--json', out)).out);
    expect(json).toMatchObject({ verified: true, revision: 7, kid: 'reg-1', alg: 'EdDSA' });

    writeFileSync(out, readFileSync(out, 'utf8').replace(/\.(.)/, (_m, c: string) => `.${c === 'e' ? 'f' : 'e'}`));
    const bad = await cli('bundle', 'verify', '--trust', jwks, out);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^REFUSED \(signature\)/);
    expect((await cli('bundle', 'verify', '--trust', jwks, '--min-revision', '8', join(dir, 'missing.jws'))).code).toBe(2);
    expect((await cli('bundle', 'verify', out)).err).toMatch(/needs --trust/);
    expect((await cli('bundle', 'sign', '--key', key, '--kid', 'reg-1', profileDir(), '-o', out)).err).toMatch(/needs --revision/);
    expect((await cli('bundle', 'frobnicate')).code).toBe(2);
  });
});
