/**
 * A hand-made FAPI client for negative tests: it signs whatever assertion or DPoP proof a test
 * asks for (wrong aud, stale iat, another key…), so each refusal can be provoked precisely.
 */
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import { exportJWK, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { TestAs } from './helpers.js';
import { trustingFetch } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import type { Identity } from './pki.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const b64 = (bytes = 32) => randomBytes(bytes).toString('base64url');
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };

export interface KeyPair {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function keyPair(alg: 'ES256' | 'PS256' | 'RS256' = 'ES256'): Promise<KeyPair> {
  const params = alg === 'ES256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: alg === 'PS256' ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  const pair = (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicJwk: await exportJWK(pair.publicKey) };
}

export interface Response {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

export class RawClient {
  readonly fetch: typeof fetch;
  clientId = '';
  constructor(readonly as: TestAs, readonly signing: KeyPair, readonly tls?: Identity, readonly alg = 'ES256', readonly now: () => number = () => Math.floor(Date.now() / 1000)) {
    this.fetch = trustingFetch(as.certificate, tls ? { cert: tls.cert, key: tls.key } : undefined);
  }

  url(path: string): string {
    return `${this.as.issuer}${path}`;
  }

  async request(path: string, init: RequestInit & { form?: Record<string, string> } = {}): Promise<Response> {
    const { form, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (form) headers.set('Content-Type', 'application/x-www-form-urlencoded');
    const res = await this.fetch(path.startsWith('https:') ? path : this.url(path), { ...rest, headers, redirect: 'manual', ...(form ? { method: rest.method ?? 'POST', body: new URLSearchParams(form).toString() } : {}) });
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, json, text };
  }

  async register(metadata: Record<string, unknown>): Promise<Response> {
    const res = await this.request('/register', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: this.alg, scope: 'openid accounts',
      jwks: { keys: [{ ...this.signing.publicJwk, kid: 'k1', alg: this.alg, use: 'sig' }] }, dpop_bound_access_tokens: true,
      ...metadata,
    }) });
    if (res.status === 201) this.clientId = res.json.client_id as string;
    return res;
  }

  /** A client assertion; claims and header members given here replace the defaults (undefined removes). */
  async assertion(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key = this.signing.privateKey): Promise<string> {
    const now = this.now();
    const payload = strip({ iss: this.clientId, sub: this.clientId, aud: this.as.issuer, iat: now, nbf: now, exp: now + 60, jti: b64(16), ...claims });
    return new SignJWT(payload as JWTPayload).setProtectedHeader(strip({ alg: this.alg, kid: 'k1', ...header }) as never).sign(key);
  }

  async authForm(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<Record<string, string>> {
    return { client_assertion_type: JWT_BEARER, client_assertion: await this.assertion(claims, header) };
  }
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** A DPoP proof (RFC 9449 §4.2); claims and header members given replace the defaults. */
export async function dpopProof(key: KeyPair, htm: string, htu: string, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, now = Math.floor(Date.now() / 1000)): Promise<string> {
  const payload = strip({ jti: b64(16), htm, htu, iat: now, ...claims });
  return new SignJWT(payload as JWTPayload).setProtectedHeader(strip({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...header }) as never).sign(key.privateKey);
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = b64(32);
  return { verifier, challenge: s256(verifier) };
}
