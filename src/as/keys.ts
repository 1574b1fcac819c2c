/**
 * The AS's own signing keys: one active key per JWS algorithm the loaded profiles allow for what
 * the AS signs (ID tokens, JARM responses, introspection responses), kept in the data directory
 * (keys.json, mode 0600), published at jwks_uri, and rotated by `fapi-policy keys rotate`: the
 * new key signs at once, the old one stays published (retired) until it is removed, so tokens it
 * signed still verify.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { jwkThumbprint, measureKey, type KeyMeasurement } from '../crypto/jwk.js';

export type KeyStatus = 'active' | 'retired';

interface StoredKey {
  kid: string;
  alg: string;
  status: KeyStatus;
  created_at: string;
  /** The private JWK. */
  jwk: JWK;
}

interface KeyFile {
  version: 1;
  keys: StoredKey[];
}

const KEYS_FILE = 'keys.json';

/** Algorithms the AS can make keys for; anything else in a profile is reported, not guessed at. */
const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
const KEY_MAKERS: Readonly<Record<string, (rsaBits: number) => KeyObject>> = {
  PS256: rsa, PS384: rsa, PS512: rsa, RS256: rsa, RS384: rsa, RS512: rsa,
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
  ES384: () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
  ES512: () => generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey,
  EdDSA: () => generateKeyPairSync('ed25519').privateKey,
  Ed25519: () => generateKeyPairSync('ed25519').privateKey,
};

export function canMakeKey(alg: string): boolean {
  return Object.hasOwn(KEY_MAKERS, alg);
}

function makeKey(alg: string, rsaBits: number): StoredKey {
  const maker = KEY_MAKERS[alg];
  if (!maker) throw new Error(`cannot make a signing key for ${alg}`);
  const jwk = maker(rsaBits).export({ format: 'jwk' }) as JWK;
  const kid = jwkThumbprint(jwk);
  return { kid: `${alg}-${kid.slice(0, 16)}`, alg, status: 'active', created_at: new Date().toISOString(), jwk: { ...jwk, alg, use: 'sig' } };
}

function publicJwk(key: StoredKey): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key.jwk;
  return { ...pub, kid: key.kid, alg: key.alg, use: 'sig' };
}

/** The key file of a data directory: read, changed and written whole (atomically, by rename). */
export class KeyFileStore {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, KEYS_FILE);
  }

  read(): StoredKey[] {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const data = JSON.parse(text) as KeyFile;
    if (data.version !== 1 || !Array.isArray(data.keys)) throw new Error(`${this.path}: not a fapi-policy key file`);
    return data.keys;
  }

  write(keys: StoredKey[]): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: 1, keys } satisfies KeyFile, null, 2), { mode: 0o600 });
    renameSync(tmp, this.path);
  }

  mtimeMs(): number {
    try {
      return statSync(this.path).mtimeMs;
    } catch {
      return 0;
    }
  }

  /** Adds an active key for every algorithm that has none; returns the algorithms it made keys for. */
  ensure(algs: readonly string[], rsaBits: number): string[] {
    const keys = this.read();
    const made = algs.filter((alg) => canMakeKey(alg) && !keys.some((k) => k.alg === alg && k.status === 'active'));
    if (made.length) this.write([...keys, ...made.map((alg) => makeKey(alg, rsaBits))]);
    return made;
  }

  /** New active keys for the given algorithms (default: every algorithm with an active key); the old ones retire. */
  rotate(rsaBits: number, only?: readonly string[]): StoredKey[] {
    const keys = this.read();
    const algs = [...new Set(keys.filter((k) => k.status === 'active' && (!only || only.includes(k.alg))).map((k) => k.alg))];
    for (const k of keys) if (algs.includes(k.alg)) k.status = 'retired';
    const fresh = algs.map((alg) => makeKey(alg, rsaBits));
    this.write([...keys, ...fresh]);
    return fresh;
  }

  /** Removes a retired key (an active key must be rotated out first). */
  remove(kid: string): void {
    const keys = this.read();
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`no key with kid '${kid}'`);
    if (key.status === 'active') throw new Error(`key '${kid}' is active; rotate it first`);
    this.write(keys.filter((k) => k !== key));
  }

  list(): Array<{ kid: string; alg: string; status: KeyStatus; created_at: string; size: KeyMeasurement }> {
    return this.read().map((k) => ({ kid: k.kid, alg: k.alg, status: k.status, created_at: k.created_at, size: measureKey(k.jwk) }));
  }
}

export interface SigningKey {
  kid: string;
  alg: string;
  key: CryptoKey;
}

/** The keys as the running server uses them: imported once, replaced whole when the file changes. */
export class SigningKeys {
  private constructor(
    private readonly active: ReadonlyMap<string, SigningKey>,
    readonly jwks: { keys: JWK[] },
    readonly measurements: ReadonlyArray<KeyMeasurement & { alg: string; status: KeyStatus }>,
  ) {}

  static async load(file: KeyFileStore): Promise<SigningKeys> {
    const stored = file.read();
    const active = new Map<string, SigningKey>();
    for (const k of stored.filter((s) => s.status === 'active')) {
      active.set(k.alg, { kid: k.kid, alg: k.alg, key: (await importJWK(k.jwk, k.alg)) as CryptoKey });
    }
    const measurements = stored.map((k) => ({ ...measureKey(k.jwk), kid: k.kid, alg: k.alg, status: k.status }));
    return new SigningKeys(active, { keys: stored.map(publicJwk) }, measurements);
  }

  has(alg: string): boolean {
    return this.active.has(alg);
  }

  /** The active key for `alg`, for what is signed other than a JWT (HTTP message signatures). */
  keyFor(alg: string): SigningKey | undefined {
    return this.active.get(alg);
  }

  /**
   * Signs a JWT with the active key for `alg`; `typ` names the media type where a spec gives one.
   * Returns the header it signed with too: the facts of what the server sends describe that header.
   */
  async sign(alg: string, payload: JWTPayload, typ?: string): Promise<{ compact: string; header: Record<string, string> }> {
    const key = this.active.get(alg);
    if (!key) throw new Error(`no active signing key for ${alg}`);
    const header = { alg, kid: key.kid, ...(typ ? { typ } : {}) };
    return { compact: await new SignJWT(payload).setProtectedHeader(header).sign(key.key), header };
  }
}
