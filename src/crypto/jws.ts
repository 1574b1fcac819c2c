/**
 * The one JWS verifier of the server. A JWT from a client (assertion, DPoP proof, request object)
 * is first decoded without trust, so the facts can describe it even when it fails; its signature
 * is then verified only with an algorithm from the profile's allow-list and only with keys that
 * could have made it. What the JWT claims is for the engine to judge; here it is only parsed.
 */
import { compactVerify, type JWK } from 'jose';
import { jwkThumbprint, KeyCache } from './jwk.js';

/** Client JWTs are small; anything larger is refused before it is decoded. */
const JWT_MAX_CHARS = 16 * 1024;

export class JwtFormatError extends Error {
  override name = 'JwtFormatError';
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

/** The MAC algorithms of RFC 7518 §3.1: a JWT made with a shared secret, not a private key. */
const MAC_ALGORITHMS: ReadonlySet<unknown> = new Set(['HS256', 'HS384', 'HS512']);

export function isMacAlgorithm(alg: unknown): boolean {
  return MAC_ALGORITHMS.has(alg);
}

const SEGMENT = /^[A-Za-z0-9_-]*$/;

/** Parses a compact JWS without verifying it: three base64url parts, a JSON object header and payload. */
export function decodeJwt(compact: string, maxChars = JWT_MAX_CHARS): DecodedJwt {
  if (compact.length > maxChars) throw new JwtFormatError(`the JWT is longer than ${maxChars} characters`);
  const parts = compact.split('.');
  if (parts.length !== 3) throw new JwtFormatError(parts.length === 5 ? 'an encrypted JWT (JWE) is not accepted here' : 'not a compact JWS (three dot-separated parts)');
  const [header, payload] = parts.map(part) as [Record<string, unknown>, Record<string, unknown>];
  return { header, claims: payload };
}

function part(segment: string, index: number): Record<string, unknown> | string {
  if (!SEGMENT.test(segment)) throw new JwtFormatError('the JWT is not base64url encoded');
  if (index === 2) return segment;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new JwtFormatError(`the JWT ${index === 0 ? 'header' : 'payload'} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new JwtFormatError(`the JWT ${index === 0 ? 'header' : 'payload'} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Key types that can make a signature with each JWS algorithm family. */
function keyTypeFor(alg: string): string | undefined {
  if (/^(PS|RS)\d{3}$/.test(alg)) return 'RSA';
  if (/^ES(256|384|512|256K)$/.test(alg)) return 'EC';
  if (alg === 'EdDSA' || alg === 'Ed25519' || alg === 'Ed448') return 'OKP';
  return undefined;
}

export class JwsVerifier {
  constructor(private readonly keys = new KeyCache()) {}

  /**
   * True when the signature verifies with one of the candidate public keys under the header's
   * algorithm, and that algorithm is in `algorithms`. A `kid` in the header narrows the candidates
   * to keys with that kid. Never throws for a bad token or key: the answer is just false.
   */
  async verify(compact: string, header: Record<string, unknown>, candidates: readonly JWK[], algorithms: readonly string[]): Promise<boolean> {
    const alg = header.alg;
    if (typeof alg !== 'string' || !algorithms.includes(alg)) return false;
    const kty = keyTypeFor(alg);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;
    // Keys are imported by their public members only; whether a key may carry others is for the rules.
    const usable = candidates.filter((k) => k.kty === kty && (kid === undefined || k.kid === kid) && (k.use === undefined || k.use === 'sig'));
    for (const jwk of usable.slice(0, 20)) {
      try {
        const key = await this.keys.import(jwk, alg);
        await compactVerify(compact, key, { algorithms: [alg] });
        return true;
      } catch {
        // try the next candidate
      }
    }
    return false;
  }

  /** The thumbprint of a header `jwk` (DPoP), or undefined when it is not a usable public key. */
  static thumbprintOf(jwk: unknown): string | undefined {
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) return undefined;
    try {
      return jwkThumbprint(jwk as JWK);
    } catch {
      return undefined;
    }
  }
}
