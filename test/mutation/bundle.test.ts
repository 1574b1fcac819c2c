/**
 * Bundle verification (src/registry/bundle.ts) check by check, in-process: the trust set, the
 * key rules, the JWS header, the manifest and its limits. Each case pins one check so that
 * deleting or weakening it fails a test (issue 13); pdp-bundle.test.ts covers the service and CLI.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  algorithmForKey, BUNDLE_LIMITS, BUNDLE_TYP, BundleError, bundleDocuments, collectBundleFiles, generateSigningKey, parseTrust,
  readBounded, readTrust, signBundle, verifyBundle, type BundleAlgorithm, type BundleErrorCode, type TrustSet, type VerifiedBundle,
} from '../../src/registry/bundle.js';
import { tempDir } from '../pdp-helpers.js';

const ISSUER = 'https://regulator.example';
const MiB = 1024 * 1024;
const keys = {} as Record<BundleAlgorithm, { privateJwk: JWK; publicJwks: TrustSet }>;
let trust: TrustSet;
let es256: JWK;

/**
 * The shared keys are made with jose directly, not with generateSigningKey: under the mutation
 * run's vitest runner a failing hook fails no test, so a mutant of generateSigningKey (or of
 * signBundle) reached from a hook would survive unseen. Those functions run inside tests only.
 */
async function testKey(alg: BundleAlgorithm) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const meta = { kid: `k-${alg}`, alg, use: 'sig' };
  return { privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwks: { keys: [{ ...(await exportJWK(publicKey)), ...meta }] } };
}

beforeAll(async () => {
  for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) keys[alg] = await testKey(alg);
  trust = { keys: Object.values(keys).flatMap((k) => k.publicJwks.keys) };
  es256 = keys.ES256.publicJwks.keys[0] as JWK;
});

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');
const entry = (name: string, content: string) => ({ name, sha256: sha256(content), size: Buffer.byteLength(content), content });
const FILE = entry('a.yaml', 'id: a\n');
const manifest = (over: Record<string, unknown> = {}) => ({ version: 1, iss: ISSUER, revision: 1, iat: 1_700_000_000, files: [FILE], ...over });
const NOW = 1_700_000_000;

/** Any header and payload (an object, or raw bytes), signed with a trusted key. */
async function rawSign(header: Record<string, unknown>, payload: unknown, alg: BundleAlgorithm = 'ES256'): Promise<string> {
  const bytes = payload instanceof Uint8Array ? payload : Buffer.from(JSON.stringify(payload));
  return new CompactSign(bytes).setProtectedHeader({ alg, kid: `k-${alg}`, typ: BUNDLE_TYP, ...header }).sign(await importJWK(keys[alg].privateJwk, alg));
}

const sign = (files: Array<{ name: string; content: string }>, over: Partial<Parameters<typeof signBundle>[1]> = {}) =>
  signBundle(files, { key: keys.ES256.privateJwk, kid: 'k-ES256', revision: 1, issuer: ISSUER, iat: NOW, ...over });

async function refusal(promise: Promise<unknown>): Promise<{ code: BundleErrorCode; message: string }> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof BundleError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

function refusedNow(fn: () => unknown): { code: BundleErrorCode; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof BundleError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('accepted');
}

const verifyManifest = async (m: unknown, options = {}) => verifyBundle(await rawSign({}, m), trust, { now: NOW, ...options });
const manifestRefusal = async (m: unknown) => refusal(verifyManifest(m));

/** A public JWK made by node:crypto, for key types and sizes jose will not generate. */
function publicJwk(type: 'rsa' | 'ec' | 'ed448' | 'x25519', options: { modulusLength?: number; namedCurve?: string } = {}): JWK {
  const { publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 })
    : type === 'ec' ? generateKeyPairSync('ec', { namedCurve: options.namedCurve ?? 'P-256' })
    : type === 'ed448' ? generateKeyPairSync('ed448') : generateKeyPairSync('x25519');
  return publicKey.export({ format: 'jwk' }) as JWK;
}

describe('algorithmForKey', () => {
  it('gives each accepted key type its one algorithm', () => {
    expect(algorithmForKey(keys.PS256.publicJwks.keys[0] as JWK)).toBe('PS256');
    expect(algorithmForKey(es256)).toBe('ES256');
    expect(algorithmForKey(keys.EdDSA.publicJwks.keys[0] as JWK)).toBe('EdDSA');
    const { alg: _, ...undeclared } = es256;
    expect(algorithmForKey(undeclared)).toBe('ES256');
  });

  it('refuses RSA keys under 2048 bits, and an RSA key without a modulus', () => {
    expect(refusedNow(() => algorithmForKey({ ...publicJwk('rsa', { modulusLength: 1024 }), kid: 'small' }))).toEqual({
      code: 'untrusted_key', message: "RSA key 'small' is shorter than 2048 bits",
    });
    expect(refusedNow(() => algorithmForKey(publicJwk('rsa', { modulusLength: 2040 }))).message).toBe('RSA key is shorter than 2048 bits');
    expect(refusedNow(() => algorithmForKey({ kty: 'RSA', e: 'AQAB', kid: 'no-n' })).message).toBe("RSA key 'no-n' is shorter than 2048 bits");
    expect(refusedNow(() => algorithmForKey({ kty: 'RSA', n: 7 as unknown as string, e: 'AQAB' })).code).toBe('untrusted_key');
    // A 1024-bit modulus padded with leading zero bytes to 256 bytes is still 1024 bits.
    const small = publicJwk('rsa', { modulusLength: 1024 });
    const padded = Buffer.concat([Buffer.alloc(128), Buffer.from(small.n as string, 'base64url')]).toString('base64url');
    expect(refusedNow(() => algorithmForKey({ ...small, n: padded })).message).toBe('RSA key is shorter than 2048 bits');
  });

  it('refuses keys on other curves and of other types', () => {
    const advice = 'cannot sign bundles; use RSA (PS256), EC P-256 (ES256) or Ed25519 (EdDSA)';
    const cases: Array<[JWK, string]> = [
      [{ ...publicJwk('ec', { namedCurve: 'P-384' }), kid: 'p384' }, `key 'p384' (kty EC, crv P-384) ${advice}`],
      [publicJwk('ec', { namedCurve: 'secp256k1' }), `key (kty EC, crv secp256k1) ${advice}`],
      [publicJwk('ed448'), `key (kty OKP, crv Ed448) ${advice}`],
      [publicJwk('x25519'), `key (kty OKP, crv X25519) ${advice}`],
      [{ kty: 'oct', kid: 'hmac' }, `key 'hmac' (kty oct) ${advice}`],
      [{ kty: 'OKP', kid: 7 as unknown as string }, `key (kty OKP) ${advice}`],
      [{ ...es256, kty: 'OKP' }, `key 'k-ES256' (kty OKP, crv P-256) ${advice}`],
      [{ ...keys.EdDSA.publicJwks.keys[0], kty: 'EC', alg: undefined }, `key 'k-EdDSA' (kty EC, crv Ed25519) ${advice}`],
    ];
    for (const [jwk, message] of cases) expect(refusedNow(() => algorithmForKey(jwk)), message).toEqual({ code: 'untrusted_key', message });
  });

  it('refuses a key declared for another algorithm', () => {
    expect(refusedNow(() => algorithmForKey({ ...es256, alg: 'ES384' }))).toEqual({
      code: 'untrusted_key', message: "key 'k-ES256' is declared for ES384; bundles accept only ES256 for this key type",
    });
    expect(refusedNow(() => algorithmForKey({ ...keys.PS256.publicJwks.keys[0], alg: 'RS256' })).message).toMatch(/declared for RS256; bundles accept only PS256/);
    expect(refusedNow(() => algorithmForKey({ ...keys.EdDSA.publicJwks.keys[0], alg: 'Ed25519' })).message).toMatch(/declared for Ed25519; bundles accept only EdDSA/);
  });
});

describe('parseTrust', () => {
  const parse = (value: unknown) => parseTrust(typeof value === 'string' ? value : JSON.stringify(value), 't.json');
  const trustError = (value: unknown) => refusedNow(() => parse(value));

  it('accepts a JWKS of public signing keys, returning its keys', () => {
    const jwks = { keys: trust.keys.map((k, i) => (i === 0 ? k : { ...k, use: undefined })) };
    expect(parse(jwks)).toEqual({ keys: JSON.parse(JSON.stringify(jwks.keys)) });
  });

  it('refuses text that is not JSON', () => {
    const e = trustError('{"keys": [');
    expect(e.code).toBe('trust');
    expect(e.message).toMatch(/^t\.json: not JSON: /);
  });

  it('refuses malformed JWKS shapes', () => {
    for (const shape of [{}, null, [], 'keys', 7, { keys: {} }, { keys: 'k' }, { keys: null }]) {
      expect(trustError(JSON.stringify(shape)), JSON.stringify(shape)).toEqual({ code: 'trust', message: 't.json: a trust set is a JWKS: {"keys": [...]}' });
    }
    expect(trustError({ keys: [] })).toEqual({ code: 'trust', message: 't.json: the trust set has no keys; bundles cannot be verified' });
    for (const key of [null, 'k', 7, [es256], true]) {
      expect(trustError({ keys: [es256, key] }), JSON.stringify(key)).toEqual({
        code: 'trust', message: 't.json: keys[1] is not a JWK',
      });
    }
  });

  it('holds at most 100 keys', () => {
    const many = (n: number) => ({ keys: Array.from({ length: n }, (_, i) => ({ ...es256, kid: `k${i}` })) });
    expect(parse(many(100)).keys).toHaveLength(100);
    expect(trustError(many(101))).toEqual({ code: 'trust', message: 't.json: more than 100 keys' });
  });

  it('requires a non-empty string kid on every key, each kid once', () => {
    for (const kid of [undefined, '', 7, null, ['k']]) {
      expect(trustError({ keys: [{ ...es256, kid }] }), JSON.stringify(kid)).toEqual({ code: 'trust', message: 't.json: keys[0] has no kid' });
    }
    expect(trustError({ keys: [es256, { ...keys.EdDSA.publicJwks.keys[0], kid: 'k-ES256' }] })).toEqual({
      code: 'trust', message: "t.json: kid 'k-ES256' appears twice",
    });
  });

  it('refuses every private key member', () => {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
      expect(trustError({ keys: [{ ...es256, [member]: 'AAAA' }] }), member).toEqual({
        code: 'trust', message: "t.json: key 'k-ES256' contains private key material; a trust set holds public keys only",
      });
    }
  });

  it("refuses a key whose use is not 'sig'", () => {
    expect(trustError({ keys: [{ ...es256, use: 'enc' }] })).toEqual({ code: 'trust', message: "t.json: key 'k-ES256' is not a signing key (use enc)" });
    expect(trustError({ keys: [{ ...es256, use: '' }] }).code).toBe('trust');
  });

  it('refuses keys that cannot sign bundles', () => {
    expect(trustError({ keys: [{ ...publicJwk('rsa', { modulusLength: 1024 }), kid: 'small' }] })).toEqual({
      code: 'untrusted_key', message: "RSA key 'small' is shorter than 2048 bits",
    });
    expect(trustError({ keys: [{ ...publicJwk('ec', { namedCurve: 'P-384' }), kid: 'p384' }] }).code).toBe('untrusted_key');
    expect(trustError({ keys: [{ ...es256, alg: 'EdDSA' }] }).code).toBe('untrusted_key');
  });
});

describe('reading trust and bundle files', () => {
  it('reads a trust set from a file, refusing one over 256 KiB', async () => {
    const dir = tempDir();
    const good = join(dir, 'trust.json');
    writeFileSync(good, JSON.stringify({ keys: [es256] }));
    expect((await readTrust(good)).keys).toEqual([es256]);
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ keys: [es256], pad: 'x'.repeat(BUNDLE_LIMITS.maxTrustBytes) }));
    expect(await refusal(readTrust(big))).toEqual({ code: 'trust', message: `${big} is larger than 262144 bytes` });
  });

  it('reads a bounded file: at the limit it is read, one byte over it is too large', async () => {
    const file = join(tempDir(), 'b.jws');
    writeFileSync(file, 'abcd');
    expect(await readBounded(file, 4, 'too_large')).toBe('abcd');
    expect(await refusal(readBounded(file, 3, 'too_large'))).toEqual({ code: 'too_large', message: `${file} is larger than 3 bytes` });
    expect((await refusal(readBounded(file, 3, 'input'))).code).toBe('too_large');
  });

  it('collects a directory by relative paths and a single file by its base name, and refuses a name a bundle cannot carry', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'one.yaml'), 'id: one\n');
    expect(await collectBundleFiles([join(dir, 'one.yaml')])).toEqual([{ name: 'one.yaml', content: 'id: one\n' }]);
    mkdirSync(join(dir, 'tree', 'eco'), { recursive: true });
    writeFileSync(join(dir, 'tree', 'eco', 'x.yaml'), 'id: x\n');
    writeFileSync(join(dir, 'tree', 'base.yaml'), 'id: base\n');
    expect((await collectBundleFiles([join(dir, 'tree'), join(dir, 'one.yaml')])).map((f) => f.name)).toEqual(['base.yaml', 'eco/x.yaml', 'one.yaml']);
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'bad name.yaml'), 'id: x\n');
    expect(await refusal(collectBundleFiles([join(dir, 'sub')]))).toEqual({ code: 'manifest', message: "bundle manifest: file name 'bad name.yaml' is not a relative .yaml path" });
  });

  it('names bundle documents under the bundle location', () => {
    const bundle = { manifest: manifest({ files: [FILE, entry('sub/b.yml', 'x')] }) } as unknown as VerifiedBundle;
    expect(bundleDocuments(bundle, 'https://reg.example/b.jws')).toEqual([
      { file: 'https://reg.example/b.jws/a.yaml', text: 'id: a\n' },
      { file: 'https://reg.example/b.jws/sub/b.yml', text: 'x' },
    ]);
  });
});

describe('generateSigningKey', () => {
  // Generated here, not in beforeAll: the mutation run only sees code that runs inside a test.
  it('makes a private signing JWK and its public JWKS, named and pinned to the algorithm', async () => {
    for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) {
      const { privateJwk, publicJwks } = await generateSigningKey(alg, `fresh-${alg}`);
      expect(privateJwk).toMatchObject({ kid: `fresh-${alg}`, alg, use: 'sig', d: expect.any(String) });
      expect(publicJwks).toEqual({ keys: [{ ...privateJwk, d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined }] });
      expect(parseTrust(JSON.stringify(publicJwks), 'x').keys).toHaveLength(1);
      const jws = await signBundle([{ name: 'a.yaml', content: 'x' }], { key: privateJwk, kid: `fresh-${alg}`, revision: 1, issuer: ISSUER });
      expect((await verifyBundle(jws, publicJwks)).alg).toBe(alg);
    }
    expect((await generateSigningKey('EdDSA', 'e')).privateJwk.crv).toBe('Ed25519');
    expect((await generateSigningKey('ES256', 'e')).privateJwk.crv).toBe('P-256');
  });
});

describe('BundleError', () => {
  it('names itself and carries its code', () => {
    const e = new BundleError('hash', 'bad');
    expect([e.name, e.code, e.message, e instanceof Error]).toEqual(['BundleError', 'hash', 'bad', true]);
  });
});

describe('signBundle', () => {
  it('signs a manifest of every file with its hash and size', async () => {
    const jws = await sign([{ name: 'a.yaml', content: 'id: a\n' }, { name: 'e.yaml', content: 'x: é\n' }], { revision: 0, iat: 5 });
    const [header, payload] = jws.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toEqual({ alg: 'ES256', kid: 'k-ES256', typ: BUNDLE_TYP });
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString())).toEqual({
      version: 1, iss: ISSUER, revision: 0, iat: 5, files: [FILE, entry('e.yaml', 'x: é\n')],
    });
    expect(entry('e.yaml', 'x: é\n').size).toBe(6);
  });

  it('stamps the current time unless told otherwise', async () => {
    const jws = await signBundle([{ name: 'a.yaml', content: 'x' }], { key: keys.ES256.privateJwk, kid: 'k-ES256', revision: 1, issuer: ISSUER });
    const iat = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()).iat as number;
    expect(Number.isInteger(iat)).toBe(true);
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(60);
  });

  it('refuses a public key, a missing or conflicting kid, and an algorithm the key does not sign with', async () => {
    const files = [{ name: 'a.yaml', content: 'x' }];
    expect(await refusal(sign(files, { key: es256 }))).toEqual({ code: 'input', message: 'the signing key is not a private key (no "d")' });
    expect(await refusal(sign(files, { kid: '' }))).toEqual({ code: 'input', message: 'a kid is required' });
    expect(await refusal(sign(files, { kid: 'other' }))).toEqual({ code: 'input', message: "--kid 'other' differs from the key's own kid 'k-ES256'" });
    const { kid: _, ...unnamed } = keys.ES256.privateJwk;
    await expect(sign(files, { key: unnamed, kid: 'chosen' })).resolves.toMatch(/^ey/);
    expect(await refusal(sign(files, { alg: 'PS256' }))).toEqual({ code: 'algorithm', message: 'this key signs with ES256, not PS256' });
    await expect(sign(files, { alg: 'ES256' })).resolves.toMatch(/^ey/);
    expect((await refusal(sign(files, { key: { ...keys.ES256.privateJwk, alg: 'ES512' } }))).code).toBe('untrusted_key');
  });

  it('refuses a revision that is not a non-negative integer and an issuer outside 1 to 256 characters', async () => {
    const files = [{ name: 'a.yaml', content: 'x' }];
    for (const revision of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(await refusal(sign(files, { revision })), String(revision)).toEqual({ code: 'input', message: 'the revision must be a non-negative integer' });
    }
    for (const issuer of ['', 'i'.repeat(257)]) {
      expect(await refusal(sign(files, { issuer })), issuer).toEqual({ code: 'input', message: 'the issuer must be 1 to 256 characters' });
    }
    await expect(sign(files, { issuer: 'i'.repeat(256) })).resolves.toMatch(/^ey/);
  });

  it('checks the files it signs', async () => {
    expect(await refusal(sign([]))).toEqual({ code: 'manifest', message: 'bundle manifest: no files' });
    expect((await refusal(sign([{ name: '../a.yaml', content: 'x' }]))).code).toBe('manifest');
  });
});

describe('verifyBundle: the envelope', () => {
  it('returns the algorithm, kid, manifest and the digest of the signed payload', async () => {
    for (const alg of ['ES256', 'PS256', 'EdDSA'] as const) {
      const jws = await rawSign({}, manifest(), alg);
      const b = await verifyBundle(jws, trust, { now: NOW });
      expect(b).toEqual({ alg, kid: `k-${alg}`, manifest: manifest(), digest: `sha256:${sha256(Buffer.from(jws.split('.')[1] as string, 'base64url'))}` });
    }
  });

  it('refuses to verify against an empty trust set', async () => {
    expect(await refusal(verifyBundle(await rawSign({}, manifest()), { keys: [] }))).toEqual({
      code: 'trust', message: 'the trust set has no keys; bundles cannot be verified',
    });
  });

  it('accepts surrounding whitespace (a file ending in a newline)', async () => {
    const jws = await rawSign({}, manifest());
    expect((await verifyBundle(`\n ${jws}\n`, trust, { now: NOW })).manifest.revision).toBe(1);
  });

  it('refuses anything but one compact JWS', async () => {
    const jws = await rawSign({}, manifest());
    const [h, p, s] = jws.split('.') as [string, string, string];
    for (const text of [`${h}.${p}`, `${jws}.${s}`, `${h}.${p} .${s}`, `${h}.${p}.${s}=`, '', `${h}..${s}`]) {
      expect(await refusal(verifyBundle(text, trust)), text.slice(0, 20)).toEqual({
        code: 'malformed', message: 'a bundle is a JWS in compact serialization (header.payload.signature)',
      });
    }
    expect(await refusal(verifyBundle(`AAAA.${p}.${s}`, trust))).toEqual({ code: 'malformed', message: 'the bundle header is not valid base64url JSON' });
    expect((await refusal(verifyBundle(`${Buffer.from('[1]').toString('base64url')}.${p}.${s}`, trust))).code).toBe('malformed');
  });

  it('refuses a text over 16 MiB before parsing it, and parses one of exactly 16 MiB', async () => {
    expect(await refusal(verifyBundle('a'.repeat(BUNDLE_LIMITS.maxBytes + 1), trust))).toEqual({ code: 'too_large', message: 'bundle is larger than 16777216 bytes' });
    expect((await refusal(verifyBundle('a'.repeat(BUNDLE_LIMITS.maxBytes), trust))).code).toBe('malformed');
  });
});

describe('verifyBundle: the header', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  it('refuses an unsigned bundle: no alg, alg none, or an empty signature', async () => {
    const [, p, s] = (await rawSign({}, manifest())).split('.') as [string, string, string];
    for (const header of [{ kid: 'k-ES256', typ: BUNDLE_TYP }, { alg: 'none', kid: 'k-ES256', typ: BUNDLE_TYP }]) {
      expect(await refusal(verifyBundle(`${b64(header)}.${p}.${s}`, trust)), JSON.stringify(header)).toEqual({ code: 'unsigned', message: 'bundle is not signed' });
    }
    expect(await refusal(verifyBundle(`${b64({ alg: 'ES256', kid: 'k-ES256', typ: BUNDLE_TYP })}.${p}.`, trust))).toEqual({ code: 'unsigned', message: 'bundle is not signed' });
  });

  it('refuses an algorithm outside PS256, ES256 and EdDSA', async () => {
    const [, p, s] = (await rawSign({}, manifest())).split('.') as [string, string, string];
    for (const alg of ['RS256', 'HS256', 'ES384', 7]) {
      expect(await refusal(verifyBundle(`${b64({ alg, kid: 'k-ES256', typ: BUNDLE_TYP })}.${p}.${s}`, trust))).toEqual({
        code: 'algorithm', message: `bundle algorithm ${JSON.stringify(alg)} is not allowed (allowed: PS256, ES256, EdDSA)`,
      });
    }
  });

  it('refuses crit, a missing or non-string kid, another typ and any other member', async () => {
    const [, p, s] = (await rawSign({}, manifest())).split('.') as [string, string, string];
    const header = (over: Record<string, unknown>) => `${b64({ alg: 'ES256', kid: 'k-ES256', typ: BUNDLE_TYP, ...over })}.${p}.${s}`;
    expect(await refusal(verifyBundle(header({ crit: ['b64'], b64: false }), trust))).toEqual({ code: 'crit', message: 'bundle header has "crit": no critical extensions are understood' });
    for (const kid of [undefined, '', 7, ['k-ES256']]) {
      expect(await refusal(verifyBundle(header({ kid }), trust)), JSON.stringify(kid)).toEqual({ code: 'kid', message: 'bundle header has no kid' });
    }
    for (const typ of [undefined, 'JWT', 'FAPI-POLICY-BUNDLE+JWS']) {
      expect(await refusal(verifyBundle(header({ typ }), trust))).toEqual({ code: 'header', message: `bundle header typ must be "${BUNDLE_TYP}"` });
    }
    expect(await refusal(verifyBundle(header({ jwk: es256, x5u: 'https://x.example' }), trust))).toEqual({ code: 'header', message: 'bundle header has unexpected member(s): jwk, x5u' });
  });
});

describe('verifyBundle: the key', () => {
  it('refuses a kid that is not in the trust set', async () => {
    expect(await refusal(verifyBundle(await rawSign({ kid: 'k-other' }, manifest()), trust))).toEqual({
      code: 'untrusted_key', message: "bundle is signed with kid 'k-other', which is not in the trust set",
    });
  });

  it("refuses a header algorithm that is not the trusted key's", async () => {
    const jws = await rawSign({ kid: 'k-PS256' }, manifest());
    expect(await refusal(verifyBundle(jws, trust))).toEqual({ code: 'untrusted_key', message: "trusted key 'k-PS256' does not sign with ES256" });
  });

  it('refuses a trusted key that cannot sign bundles, however the trust set was built', async () => {
    const jws = await rawSign({}, manifest());
    expect((await refusal(verifyBundle(jws, { keys: [{ ...es256, alg: 'ES384' }] }))).code).toBe('untrusted_key');
    expect((await refusal(verifyBundle(jws, { keys: [{ ...es256, crv: 'P-384' }] }))).code).toBe('untrusted_key');
  });

  it('verifies with the public part of a trusted key only', async () => {
    const jws = await rawSign({}, manifest());
    expect((await verifyBundle(jws, { keys: [keys.ES256.privateJwk] }, { now: NOW })).kid).toBe('k-ES256');
  });

  it('refuses a signature that does not verify, naming the key', async () => {
    const impostor = { ...keys.EdDSA.publicJwks.keys[0], kid: 'k-EdDSA' } as JWK;
    const other = await generateSigningKey('EdDSA', 'k-EdDSA');
    const jws = await new CompactSign(Buffer.from(JSON.stringify(manifest()))).setProtectedHeader({ alg: 'EdDSA', kid: 'k-EdDSA', typ: BUNDLE_TYP }).sign(await importJWK(other.privateJwk, 'EdDSA'));
    expect(await refusal(verifyBundle(jws, { keys: [impostor] }))).toEqual({ code: 'signature', message: "bundle signature does not verify with trusted key 'k-EdDSA'" });
  });
});

describe('verifyBundle: issuer, revision and issue time', () => {
  it('accepts a bundle whose issuer is the expected one, and refuses any other', async () => {
    expect((await verifyManifest(manifest(), { issuer: ISSUER })).manifest.iss).toBe(ISSUER);
    expect(await refusal(verifyManifest(manifest(), { issuer: 'https://other.example' }))).toEqual({
      code: 'issuer', message: `bundle issuer '${ISSUER}' is not the expected 'https://other.example'`,
    });
    expect((await refusal(verifyManifest(manifest(), { issuer: '' }))).code).toBe('issuer');
  });

  it('accepts the loaded revision or a later one and refuses an earlier one', async () => {
    expect((await verifyManifest(manifest({ revision: 5 }), { minRevision: 5 })).manifest.revision).toBe(5);
    expect((await verifyManifest(manifest({ revision: 6 }), { minRevision: 5 })).manifest.revision).toBe(6);
    expect(await refusal(verifyManifest(manifest({ revision: 4 }), { minRevision: 5 }))).toEqual({
      code: 'rollback', message: 'bundle revision 4 is lower than the loaded revision 5 (rollback refused)',
    });
  });

  it('allows five minutes of clock skew on the issue time, and no more', async () => {
    expect((await verifyManifest(manifest({ iat: NOW + 300 }))).manifest.iat).toBe(NOW + 300);
    expect(await refusal(verifyManifest(manifest({ iat: NOW + 301 })))).toEqual({ code: 'manifest', message: 'bundle manifest: iat is in the future' });
    // Without `now`, the clock decides: a bundle issued in 2033 is from the future today.
    const future = 2_000_000_000;
    expect((await refusal(verifyBundle(await rawSign({}, manifest({ iat: future })), trust))).code).toBe('manifest');
    expect((await verifyBundle(await rawSign({}, manifest({ iat: future })), trust, { now: future })).manifest.iat).toBe(future);
  });
});

describe('verifyBundle: the manifest', () => {
  const bad = (message: string) => ({ code: 'manifest', message: `bundle manifest: ${message}` });

  it('refuses a payload that is not UTF-8 JSON of an object', async () => {
    expect(await manifestRefusal(new Uint8Array([0x7b, 0xff, 0x7d]))).toEqual(bad('not UTF-8'));
    expect(await manifestRefusal(Buffer.from('{"version": 1,'))).toEqual(bad('not JSON'));
    for (const value of [null, [], 7, 'm', true]) expect(await manifestRefusal(value), JSON.stringify(value)).toEqual(bad('not an object'));
  });

  it('refuses members other than version, iss, revision, iat and files', async () => {
    expect(await manifestRefusal(manifest({ kid: 'x', exp: 1 }))).toEqual(bad('unexpected member(s): kid, exp'));
  });

  it('checks version, iss, revision and iat', async () => {
    const { version: _v, ...noVersion } = manifest();
    for (const m of [manifest({ version: 2 }), manifest({ version: '1' }), noVersion]) expect(await manifestRefusal(m)).toEqual(bad('version must be 1'));
    for (const iss of ['', 'i'.repeat(257), 7, null]) expect(await manifestRefusal(manifest({ iss })), JSON.stringify(iss)).toEqual(bad('iss must be a string of 1 to 256 characters'));
    expect((await verifyManifest(manifest({ iss: 'i'.repeat(256) }))).manifest.iss).toHaveLength(256);
    for (const revision of [-1, 1.5, '1', null, 2 ** 53]) {
      expect(await manifestRefusal(manifest({ revision })), JSON.stringify(revision)).toEqual(bad('revision must be a non-negative integer'));
    }
    expect((await verifyManifest(manifest({ revision: 0 }))).manifest.revision).toBe(0);
    for (const iat of [1.5, '1', null]) expect(await manifestRefusal(manifest({ iat })), JSON.stringify(iat)).toEqual(bad('iat must be an integer (seconds since the epoch)'));
  });

  it('refuses files that are not a list of objects', async () => {
    for (const files of [{}, 'a.yaml', null]) expect(await manifestRefusal(manifest({ files })), JSON.stringify(files)).toEqual(bad('files must be an array'));
    expect(await manifestRefusal(manifest({ files: [] }))).toEqual(bad('no files'));
    for (const f of [null, 'a.yaml', [FILE], 7]) expect(await manifestRefusal(manifest({ files: [FILE, f] })), JSON.stringify(f)).toEqual(bad('files[1] is not an object'));
  });

  it('requires exactly name, sha256, size and content in each entry, of the right types', async () => {
    const { sha256: _s, ...noHash } = FILE;
    for (const f of [noHash, { ...FILE, mode: 420 }, { name: 'a.yaml', content: 'x' }]) {
      expect(await manifestRefusal(manifest({ files: [f] })), JSON.stringify(f)).toEqual(bad('files[0] must have exactly name, sha256, size and content'));
    }
    for (const f of [{ ...FILE, name: 7 }, { ...FILE, content: ['x'] }, { ...FILE, sha256: null }, { ...FILE, size: '6' }, { ...FILE, size: 6.5 }]) {
      expect(await manifestRefusal(manifest({ files: [f] })), JSON.stringify(f)).toEqual(bad('files[0] has members of the wrong type'));
    }
  });

  it('refuses file names that are not relative .yaml paths, and names used twice', async () => {
    for (const name of ['../a.yaml', '/a.yaml', 'a.json', '.a.yaml', 'a/../b.yaml', 'a\\b.yaml', 'a b.yaml', `${'d/'.repeat(9)}a.yaml`]) {
      expect(await manifestRefusal(manifest({ files: [entry(name, 'x')] })), name).toEqual(bad(`file name '${name}' is not a relative .yaml path`));
    }
    const long = `${'n'.repeat(200)}.yaml`;
    expect(await manifestRefusal(manifest({ files: [entry(long, 'x')] }))).toEqual(bad(`file name '${'n'.repeat(80)}' is not a relative .yaml path`));
    expect((await verifyManifest(manifest({ files: [entry(`${'d/'.repeat(8)}a.yml`, 'x')] }))).manifest.files).toHaveLength(1);
    expect(await manifestRefusal(manifest({ files: [FILE, entry('b.yaml', 'y'), FILE] }))).toEqual(bad("file 'a.yaml' appears twice"));
  });

  it('refuses a size that disagrees with the content, counting bytes', async () => {
    expect(await manifestRefusal(manifest({ files: [{ ...FILE, size: FILE.size + 1 }] }))).toEqual({
      code: 'hash', message: "bundle manifest: file 'a.yaml' is 6 bytes, not the 7 its entry says",
    });
    const accented = entry('e.yaml', 'é');
    expect(await manifestRefusal(manifest({ files: [{ ...accented, size: 1 }] }))).toEqual({ code: 'hash', message: "bundle manifest: file 'e.yaml' is 2 bytes, not the 1 its entry says" });
    expect((await verifyManifest(manifest({ files: [accented] }))).manifest.files[0]?.size).toBe(2);
  });

  it('refuses a sha256 that is not the content\'s, in lower-case hex', async () => {
    const message = "bundle manifest: sha256 of file 'a.yaml' does not match its content";
    for (const hash of ['0'.repeat(64), FILE.sha256.toUpperCase(), FILE.sha256.slice(0, 63), `${FILE.sha256}0`, sha256('id: b\n')]) {
      expect(await manifestRefusal(manifest({ files: [{ ...FILE, sha256: hash }] })), hash).toEqual({ code: 'hash', message });
    }
  });
});

describe('bundle limits', () => {
  const small = (n: number) => Array.from({ length: n }, (_, i) => entry(`f${i}.yaml`, `n: ${i}\n`));

  it('carries at most 1,000 files', async () => {
    expect((await verifyManifest(manifest({ files: small(1000) }))).manifest.files).toHaveLength(1000);
    expect(await manifestRefusal(manifest({ files: small(1001) }))).toEqual({ code: 'manifest', message: 'bundle manifest: more than 1000 files' });
    expect((await refusal(sign(small(1001)))).message).toBe('bundle manifest: more than 1000 files');
  });

  it('carries files of at most 1 MiB, counted in bytes', async () => {
    const limit = BUNDLE_LIMITS.maxFileBytes;
    expect(limit).toBe(MiB);
    expect((await verifyManifest(manifest({ files: [entry('big.yaml', 'a'.repeat(limit))] }))).manifest.files[0]?.size).toBe(limit);
    expect(await manifestRefusal(manifest({ files: [entry('big.yaml', 'a'.repeat(limit + 1))] }))).toEqual({
      code: 'manifest', message: `bundle manifest: file 'big.yaml' is larger than ${limit} bytes`,
    });
    expect((await manifestRefusal(manifest({ files: [entry('big.yaml', 'é'.repeat(limit / 2 + 1))] }))).message).toMatch(/is larger than/);
  });

  it('signs a bundle of exactly 16 MiB, verifies it, and refuses to sign one byte more', async () => {
    // Eleven full files and one that pads the compact JWS to exactly maxBytes characters. Base64url
    // cannot make every length, so the kid (part of the header) is chosen to make this one possible.
    const { kid: _, ...unnamed } = keys.ES256.privateJwk;
    const signAs = (kid: string, files: Array<{ name: string; content: string }>) => sign(files, { key: unnamed, kid });
    let kid = '';
    let envelope = 0;
    for (const candidate of ['k-a', 'k-ab', 'k-abc']) {
      const [h, , s] = (await signAs(candidate, [FILE])).split('.') as [string, string, string];
      envelope = h.length + s.length + 2;
      kid = candidate;
      if ((BUNDLE_LIMITS.maxBytes - envelope) % 4 !== 1) break;
    }
    const full = Array.from({ length: 11 }, (_, i) => ({ name: `f${i}.yaml`, content: 'a'.repeat(MiB) }));
    const withPad = (n: number) => [...full, { name: 'pad.yaml', content: 'b'.repeat(n) }];
    const payloadOf = (jws: string) => Buffer.from(jws.split('.')[1] as string, 'base64url').length;
    const wanted = Math.floor(((BUNDLE_LIMITS.maxBytes - envelope) * 3) / 4);
    const pad = 1_000_000 + wanted - payloadOf(await signAs(kid, withPad(1_000_000)));
    const exact = await signAs(kid, withPad(pad));
    expect(exact.length).toBe(BUNDLE_LIMITS.maxBytes);
    expect((await verifyBundle(exact, { keys: [{ ...es256, kid }] }, { now: NOW })).manifest.files).toHaveLength(12);
    expect(await refusal(signAs(kid, withPad(pad + 1)))).toEqual({ code: 'too_large', message: 'the bundle would be larger than 16777216 bytes' });
  });
});
