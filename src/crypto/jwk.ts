/**
 * JSON Web Keys as the AS handles them: thumbprints (RFC 7638), the measurements the facts carry
 * (type and size, for the key-size rules), and imported keys cached by thumbprint so a client's or
 * a DPoP key is imported once, not on every request.
 */
import { createHash } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';

/** The members RFC 7638 §3.2 hashes, per key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  RSA: ['e', 'kty', 'n'],
  OKP: ['crv', 'kty', 'x'],
  oct: ['k', 'kty'],
};

export class JwkError extends Error {
  override name = 'JwkError';
}

/** base64url SHA-256 JWK thumbprint (RFC 7638), synchronous. */
export function jwkThumbprint(jwk: JWK): string {
  const members = typeof jwk.kty === 'string' ? THUMBPRINT_MEMBERS[jwk.kty] : undefined;
  if (!members) throw new JwkError('unsupported or missing kty');
  const parts = members.map((m) => {
    const value = (jwk as Record<string, unknown>)[m];
    if (typeof value !== 'string') throw new JwkError(`JWK member ${m} is missing`);
    return `${JSON.stringify(m)}:${JSON.stringify(value)}`;
  });
  return createHash('sha256').update(`{${parts.join(',')}}`).digest('base64url');
}

const CURVE_BITS: Readonly<Record<string, number>> = {
  'P-256': 256, 'P-384': 384, 'P-521': 521, secp256k1: 256, Ed25519: 256, Ed448: 448, X25519: 256, X448: 448,
};

/** What the facts' `key` carries: type and size in bits (RSA: modulus; EC/OKP: curve). */
export interface KeyMeasurement {
  kty: 'RSA' | 'EC' | 'OKP' | 'oct';
  bits: number;
  crv?: string;
  kid?: string;
  alg?: string;
  use?: string;
}

export function measureKey(jwk: JWK): KeyMeasurement {
  // jose types kty as an open string union, which an equality check does not narrow.
  const kty = jwk.kty as string | undefined;
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP' && kty !== 'oct') throw new JwkError('unsupported or missing kty');
  const out: KeyMeasurement = { kty, bits: bitsOf(jwk) };
  for (const m of ['crv', 'kid', 'alg', 'use'] as const) {
    const v = jwk[m];
    if (typeof v === 'string') out[m] = v.slice(0, m === 'kid' ? 256 : 32);
  }
  return out;
}

function bitsOf(jwk: JWK): number {
  if (jwk.kty === 'RSA') {
    const n = typeof jwk.n === 'string' ? Buffer.from(jwk.n, 'base64url') : Buffer.alloc(0);
    let start = 0;
    while (start < n.length && n[start] === 0) start++;
    const top = n[start];
    return top === undefined ? 0 : (n.length - start - 1) * 8 + (32 - Math.clz32(top));
  }
  if (jwk.kty === 'oct') return typeof jwk.k === 'string' ? Buffer.from(jwk.k, 'base64url').length * 8 : 0;
  return (typeof jwk.crv === 'string' ? CURVE_BITS[jwk.crv] : undefined) ?? 0;
}

/** Private members of each key type (RFC 7518 §6): a public JWK must carry none of them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function isPublicJwk(jwk: JWK): boolean {
  return !PRIVATE_MEMBERS.some((m) => m in jwk);
}

/**
 * Imported public keys, by thumbprint and algorithm. Bounded: when full, the oldest entries go
 * (a Map iterates in insertion order), so a flood of one-off DPoP keys cannot grow it.
 */
export class KeyCache {
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  constructor(private readonly max = 10_000) {}

  import(jwk: JWK, alg: string, thumbprint = jwkThumbprint(jwk)): Promise<CryptoKey> {
    const id = `${alg}:${thumbprint}`;
    let key = this.keys.get(id);
    if (!key) {
      if (this.keys.size >= this.max) this.keys.delete(this.keys.keys().next().value as string);
      key = importJWK(publicJwk(jwk), alg) as Promise<CryptoKey>;
      // A key that failed to import is not remembered: the failure is the caller's answer once.
      key.catch(() => this.keys.delete(id));
      this.keys.set(id, key);
    }
    return key;
  }

  get size(): number {
    return this.keys.size;
  }
}

/** Only the public members: a key imported for verification never carries private parts. */
function publicJwk(jwk: JWK): JWK {
  const members = THUMBPRINT_MEMBERS[jwk.kty as string] ?? [];
  return Object.fromEntries(members.map((m) => [m, (jwk as Record<string, unknown>)[m]])) as JWK;
}
