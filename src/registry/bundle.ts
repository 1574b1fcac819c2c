/**
 * Signed profile bundles. A bundle is one JWS in compact serialization whose payload is the
 * manifest itself, file contents included:
 *
 *   header  {"alg": "PS256"|"ES256"|"EdDSA", "kid": "<key id>", "typ": "fapi-policy-bundle+jws"}
 *   payload {"version": 1, "iss": "<issuer>", "revision": <n>, "iat": <seconds>,
 *            "files": [{"name": "fapi2-security.yaml", "sha256": "<hex>", "size": <bytes>, "content": "<yaml text>"}]}
 *
 * The signature covers every byte of every file, so tampering with any of them fails verification;
 * each file's sha256 and size are checked as well, so a manifest that lies about its files fails too.
 * Verification is never optional: there is no trust-nothing-accept-everything mode.
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { readFile, stat } from 'node:fs/promises';
import { basename, relative, resolve, sep } from 'node:path';
import { CompactSign, compactVerify, decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { measureKey } from '../crypto/jwk.js';
import { findProfileFiles, readDocuments } from '../profile/files.js';
import type { DocumentInput } from '../profile/load.js';
import { YAML_LIMITS } from '../profile/source.js';

export const BUNDLE_ALGORITHMS = ['PS256', 'ES256', 'EdDSA'] as const;
export type BundleAlgorithm = (typeof BUNDLE_ALGORITHMS)[number];
export const BUNDLE_TYP = 'fapi-policy-bundle+jws';

export const BUNDLE_LIMITS = {
  maxBytes: 16 * 1024 * 1024,
  maxFiles: 1000,
  maxFileBytes: YAML_LIMITS.maxBytes,
  maxTrustBytes: 256 * 1024,
  maxTrustKeys: 100,
  /** Issue times further ahead than this are refused (seconds). */
  futureSkew: 300,
} as const;

export type BundleErrorCode =
  | 'too_large' | 'malformed' | 'unsigned' | 'algorithm' | 'crit' | 'kid' | 'header' | 'untrusted_key'
  | 'signature' | 'manifest' | 'hash' | 'issuer' | 'rollback' | 'trust' | 'input';

export class BundleError extends Error {
  override name = 'BundleError';
  constructor(readonly code: BundleErrorCode, message: string) {
    super(message);
  }
}

export interface BundleFile {
  name: string;
  sha256: string;
  size: number;
  content: string;
}

export interface BundleManifest {
  version: 1;
  iss: string;
  revision: number;
  iat: number;
  files: BundleFile[];
}

export interface VerifiedBundle {
  alg: BundleAlgorithm;
  kid: string;
  manifest: BundleManifest;
  /** sha256 of the signed payload: two bundles with the same digest carry the same files. */
  digest: string;
}

export interface TrustSet {
  keys: readonly JWK[];
}

export interface VerifyOptions {
  /** Refuse revisions lower than this one (rollback protection). */
  minRevision?: number;
  /** Refuse bundles from any other issuer. */
  issuer?: string;
  /** Seconds since the epoch (tests). */
  now?: number;
}

export interface SignOptions {
  key: JWK;
  kid: string;
  revision: number;
  issuer: string;
  alg?: string;
  /** Issue time, seconds since the epoch (default: now). */
  iat?: number;
}

/** Relative POSIX path of a YAML file; no dot segments, no absolute paths. */
const FILE_NAME = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\/){0,8}[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}\.ya?ml$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

// ---------------------------------------------------------------------------------------------
// Keys

/** The one algorithm a key may sign bundles with, from its type and curve. */
export function algorithmForKey(jwk: JWK): BundleAlgorithm {
  let alg: BundleAlgorithm;
  if (jwk.kty === 'RSA') {
    // The modulus's own length: leading zero bytes would otherwise pass a 1024-bit key as 2048.
    if (measureKey(jwk).bits < 2048) throw new BundleError('untrusted_key', `RSA key${kidOf(jwk)} is shorter than 2048 bits`);
    alg = 'PS256';
  } else if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') alg = 'EdDSA';
  else throw new BundleError('untrusted_key', `key${kidOf(jwk)} (kty ${String(jwk.kty)}${jwk.crv ? `, crv ${jwk.crv}` : ''}) cannot sign bundles; use RSA (PS256), EC P-256 (ES256) or Ed25519 (EdDSA)`);
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new BundleError('untrusted_key', `key${kidOf(jwk)} is declared for ${jwk.alg}; bundles accept only ${alg} for this key type`);
  }
  return alg;
}

const kidOf = (jwk: JWK) => (typeof jwk.kid === 'string' ? ` '${jwk.kid}'` : '');

/** A trust set is a JWKS of public keys, each with a unique kid. Private members are refused. */
export function parseTrust(text: string, source: string): TrustSet {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new BundleError('trust', `${source}: not JSON: ${(e as Error).message}`);
  }
  const keys = (data as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new BundleError('trust', `${source}: a trust set is a JWKS: {"keys": [...]}`);
  if (keys.length === 0) throw new BundleError('trust', `${source}: the trust set has no keys; bundles cannot be verified`);
  if (keys.length > BUNDLE_LIMITS.maxTrustKeys) throw new BundleError('trust', `${source}: more than ${BUNDLE_LIMITS.maxTrustKeys} keys`);
  const seen = new Set<string>();
  keys.forEach((key: unknown, i) => {
    if (!key || typeof key !== 'object' || Array.isArray(key)) throw new BundleError('trust', `${source}: keys[${i}] is not a JWK`);
    const jwk = key as JWK;
    if (typeof jwk.kid !== 'string' || !jwk.kid) throw new BundleError('trust', `${source}: keys[${i}] has no kid`);
    if (seen.has(jwk.kid)) throw new BundleError('trust', `${source}: kid '${jwk.kid}' appears twice`);
    seen.add(jwk.kid);
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      throw new BundleError('trust', `${source}: key '${jwk.kid}' contains private key material; a trust set holds public keys only`);
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') throw new BundleError('trust', `${source}: key '${jwk.kid}' is not a signing key (use ${jwk.use})`);
    algorithmForKey(jwk);
  });
  return { keys: keys as JWK[] };
}

export async function readTrust(path: string): Promise<TrustSet> {
  return parseTrust(await readBounded(path, BUNDLE_LIMITS.maxTrustBytes, 'trust'), path);
}

/** A fresh signing key and its public JWKS, for `fapi-policy bundle keygen`. */
export async function generateSigningKey(alg: BundleAlgorithm, kid: string): Promise<{ privateJwk: JWK; publicJwks: TrustSet }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const meta = { kid, alg, use: 'sig' };
  return { privateJwk: { ...(await exportJWK(privateKey)), ...meta }, publicJwks: { keys: [{ ...(await exportJWK(publicKey)), ...meta }] } };
}

// ---------------------------------------------------------------------------------------------
// Signing

export async function signBundle(files: ReadonlyArray<{ name: string; content: string }>, options: SignOptions): Promise<string> {
  const { key, kid, revision, issuer } = options;
  if (typeof key.d !== 'string') throw new BundleError('input', 'the signing key is not a private key (no "d")');
  if (!kid) throw new BundleError('input', 'a kid is required');
  if (key.kid !== undefined && key.kid !== kid) throw new BundleError('input', `--kid '${kid}' differs from the key's own kid '${key.kid}'`);
  const alg = algorithmForKey(key);
  if (options.alg !== undefined && options.alg !== alg) throw new BundleError('algorithm', `this key signs with ${alg}, not ${options.alg}`);
  if (!Number.isSafeInteger(revision) || revision < 0) throw new BundleError('input', 'the revision must be a non-negative integer');
  if (!issuer || issuer.length > 256) throw new BundleError('input', 'the issuer must be 1 to 256 characters');
  const manifest: BundleManifest = {
    version: 1,
    iss: issuer,
    revision,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    files: files.map((f) => ({ name: f.name, sha256: sha256Hex(f.content), size: Buffer.byteLength(f.content), content: f.content })),
  };
  checkFiles(manifest.files);
  const payload = Buffer.from(JSON.stringify(manifest), 'utf8');
  const jws = await new CompactSign(payload).setProtectedHeader({ alg, kid, typ: BUNDLE_TYP }).sign(await importJWK(key, alg));
  if (jws.length > BUNDLE_LIMITS.maxBytes) throw new BundleError('too_large', `the bundle would be larger than ${BUNDLE_LIMITS.maxBytes} bytes`);
  return jws;
}

/** The YAML files under the given directories (names relative to each) and files (base names). */
export async function collectBundleFiles(paths: readonly string[]): Promise<Array<{ name: string; content: string }>> {
  const out: Array<{ name: string; content: string }> = [];
  for (const p of paths) {
    const root = resolve(p);
    const isDir = (await stat(root)).isDirectory();
    const files = await findProfileFiles([root]);
    const docs = await readDocuments(files);
    for (const d of docs) out.push({ name: isDir ? relative(root, d.file).split(sep).join('/') : basename(d.file), content: d.text });
  }
  checkFiles(out.map((f) => ({ ...f, size: Buffer.byteLength(f.content) })));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Verification

export async function verifyBundle(jws: string, trust: TrustSet, options: VerifyOptions = {}): Promise<VerifiedBundle> {
  if (!trust.keys.length) throw new BundleError('trust', 'the trust set has no keys; bundles cannot be verified');
  if (jws.length > BUNDLE_LIMITS.maxBytes) throw new BundleError('too_large', `bundle is larger than ${BUNDLE_LIMITS.maxBytes} bytes`);
  const compact = jws.trim();
  if (!COMPACT.test(compact)) throw new BundleError('malformed', 'a bundle is a JWS in compact serialization (header.payload.signature)');
  const { alg, kid } = checkHeader(compact);
  const key = trust.keys.find((k) => k.kid === kid);
  if (!key) throw new BundleError('untrusted_key', `bundle is signed with kid '${kid}', which is not in the trust set`);
  if (algorithmForKey(key) !== alg) throw new BundleError('untrusted_key', `trusted key '${kid}' does not sign with ${alg}`);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(compact, await importJWK(publicPart(key), alg), { algorithms: [alg] }));
  } catch {
    throw new BundleError('signature', `bundle signature does not verify with trusted key '${kid}'`);
  }
  const manifest = parseManifest(payload, options.now ?? Math.floor(Date.now() / 1000));
  if (options.issuer !== undefined && manifest.iss !== options.issuer) {
    throw new BundleError('issuer', `bundle issuer '${manifest.iss}' is not the expected '${options.issuer}'`);
  }
  if (options.minRevision !== undefined && manifest.revision < options.minRevision) {
    throw new BundleError('rollback', `bundle revision ${manifest.revision} is lower than the loaded revision ${options.minRevision} (rollback refused)`);
  }
  return { alg, kid, manifest, digest: 'sha256:' + sha256Hex(payload) };
}

/** Only alg, kid and typ are accepted: anything else (crit, jku, x5u, embedded jwk, b64) is refused. */
function checkHeader(compact: string): { alg: BundleAlgorithm; kid: string } {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(compact) as Record<string, unknown>;
  } catch {
    throw new BundleError('malformed', 'the bundle header is not valid base64url JSON');
  }
  const signature = compact.slice(compact.lastIndexOf('.') + 1);
  if (header.alg === undefined || header.alg === 'none' || signature === '') throw new BundleError('unsigned', 'bundle is not signed');
  if (!(BUNDLE_ALGORITHMS as readonly unknown[]).includes(header.alg)) {
    throw new BundleError('algorithm', `bundle algorithm ${JSON.stringify(header.alg)} is not allowed (allowed: ${BUNDLE_ALGORITHMS.join(', ')})`);
  }
  if ('crit' in header) throw new BundleError('crit', 'bundle header has "crit": no critical extensions are understood');
  if (typeof header.kid !== 'string' || !header.kid) throw new BundleError('kid', 'bundle header has no kid');
  if (header.typ !== BUNDLE_TYP) throw new BundleError('header', `bundle header typ must be "${BUNDLE_TYP}"`);
  const extra = Object.keys(header).filter((k) => k !== 'alg' && k !== 'kid' && k !== 'typ');
  if (extra.length) throw new BundleError('header', `bundle header has unexpected member(s): ${extra.join(', ')}`);
  return { alg: header.alg as BundleAlgorithm, kid: header.kid };
}

function publicPart(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const m of PRIVATE_MEMBERS) delete copy[m];
  return copy as JWK;
}

function parseManifest(payload: Uint8Array, now: number): BundleManifest {
  const bad = (message: string) => new BundleError('manifest', `bundle manifest: ${message}`);
  if (!isUtf8(payload)) throw bad('not UTF-8');
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw bad('not an object');
  const m = data as Record<string, unknown>;
  const extra = Object.keys(m).filter((k) => !['version', 'iss', 'revision', 'iat', 'files'].includes(k));
  if (extra.length) throw bad(`unexpected member(s): ${extra.join(', ')}`);
  if (m.version !== 1) throw bad('version must be 1');
  if (typeof m.iss !== 'string' || !m.iss || m.iss.length > 256) throw bad('iss must be a string of 1 to 256 characters');
  if (!Number.isSafeInteger(m.revision) || (m.revision as number) < 0) throw bad('revision must be a non-negative integer');
  if (!Number.isSafeInteger(m.iat)) throw bad('iat must be an integer (seconds since the epoch)');
  if ((m.iat as number) > now + BUNDLE_LIMITS.futureSkew) throw bad('iat is in the future');
  if (!Array.isArray(m.files)) throw bad('files must be an array');
  m.files.forEach((f: unknown, i) => {
    if (!f || typeof f !== 'object' || Array.isArray(f)) throw bad(`files[${i}] is not an object`);
    const e = f as Record<string, unknown>;
    const keys = Object.keys(e).sort().join(',');
    if (keys !== 'content,name,sha256,size') throw bad(`files[${i}] must have exactly name, sha256, size and content`);
    if (typeof e.name !== 'string' || typeof e.content !== 'string' || typeof e.sha256 !== 'string' || !Number.isSafeInteger(e.size)) {
      throw bad(`files[${i}] has members of the wrong type`);
    }
  });
  checkFiles(m.files as BundleFile[]);
  return m as unknown as BundleManifest;
}

function checkFiles(files: ReadonlyArray<Pick<BundleFile, 'name' | 'content' | 'size'> & { sha256?: string }>): void {
  if (files.length === 0) throw new BundleError('manifest', 'bundle manifest: no files');
  if (files.length > BUNDLE_LIMITS.maxFiles) throw new BundleError('manifest', `bundle manifest: more than ${BUNDLE_LIMITS.maxFiles} files`);
  const names = new Set<string>();
  for (const f of files) {
    if (!FILE_NAME.test(f.name)) throw new BundleError('manifest', `bundle manifest: file name '${f.name.slice(0, 80)}' is not a relative .yaml path`);
    if (names.has(f.name)) throw new BundleError('manifest', `bundle manifest: file '${f.name}' appears twice`);
    names.add(f.name);
    const bytes = Buffer.byteLength(f.content);
    if (bytes > BUNDLE_LIMITS.maxFileBytes) throw new BundleError('manifest', `bundle manifest: file '${f.name}' is larger than ${BUNDLE_LIMITS.maxFileBytes} bytes`);
    if (bytes !== f.size) throw new BundleError('hash', `bundle manifest: file '${f.name}' is ${bytes} bytes, not the ${f.size} its entry says`);
    if (f.sha256 !== undefined && (!HEX_SHA256.test(f.sha256) || f.sha256 !== sha256Hex(f.content))) {
      throw new BundleError('hash', `bundle manifest: sha256 of file '${f.name}' does not match its content`);
    }
  }
}

/** The bundle's files as loader input; names sit under the bundle's location so diagnostics point there. */
export function bundleDocuments(bundle: VerifiedBundle, location: string): DocumentInput[] {
  return bundle.manifest.files.map((f) => ({ file: `${location}/${f.name}`, text: f.content }));
}

/** Reads a file, refusing it when larger than `max` bytes. */
export async function readBounded(path: string, max: number, code: BundleErrorCode): Promise<string> {
  const info = await stat(path);
  if (info.size > max) throw new BundleError(code === 'trust' ? 'trust' : 'too_large', `${path} is larger than ${max} bytes`);
  return (await readFile(path)).toString('utf8');
}
