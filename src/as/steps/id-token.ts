/**
 * ID tokens (OpenID Connect Core §2): signed with the client's registered algorithm, else the first
 * its profile allows that the server has a key for; in a hybrid response also the detached signature
 * of FAPI 1.0 (c_hash, s_hash; OIDC Core §3.3.2.11); encrypted to the client when it registered
 * id_token_encrypted_response_alg (OIDC Core §10.2), with an algorithm its profile allows.
 */
import { createHash } from 'node:crypto';
import { CompactEncrypt, importJWK, type JWK } from 'jose';
import { clientKeys, type RegisteredClient } from '../clients.js';
import { OAuthError } from '../errors.js';
import type { Exchange } from '../exchange.js';

/** The signing algorithm of an AS-signed object: the client's registered one, else the profile's first the server can make. */
export function signingAlg(x: Exchange, registered: unknown, allowed: readonly string[]): string | undefined {
  if (typeof registered === 'string') return registered;
  const keys = x.ctx.keys();
  return allowed.find((alg) => keys.has(alg));
}

function idTokenAlg(x: Exchange, client: RegisteredClient): string | undefined {
  return signingAlg(x, client.metadata.id_token_signed_response_alg, (x.profile.settings.signing_algs as { id_token: string[] }).id_token);
}

/** The hash of OIDC Core §3.3.2.11 (at_hash, c_hash, s_hash): the left half of the digest the alg uses. */
function halfHash(value: string, alg: string): string {
  const bits = /(384)$/.test(alg) ? 'sha384' : /(512)$/.test(alg) || alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : 'sha256';
  const digest = createHash(bits).update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenClaims {
  sub: string;
  nonce?: string;
  auth_time?: number;
  acr?: string;
  /** Hybrid responses: the code and state this ID token travels with (their hashes are added). */
  code?: string;
  state?: string;
  /** Claims from the user record, by scope (profile, email). */
  scope: string;
}

/** An ID token as sent, and as the profile judges it: the signed JWT, with the JWE header when it is encrypted. */
export interface IssuedIdToken {
  compact: string;
  /** The server made the signature, so it counts as verified. */
  facts: { header: Record<string, unknown>; claims: Record<string, unknown>; signature_verified: true; jwe_header?: Record<string, string> };
}

/** ID tokens live as long as the client's profile says (settings.lifetimes.id_token), front channel or back. */
export async function issueIdToken(x: Exchange, client: RegisteredClient, claims: IdTokenClaims): Promise<IssuedIdToken> {
  const lifetime = (x.profile.settings.lifetimes as { id_token: number }).id_token;
  const alg = idTokenAlg(x, client);
  // One key set for the whole token: a rotation in between must not leave half of it behind.
  const keys = x.ctx.keys();
  if (!alg || !keys.has(alg)) throw new OAuthError('server_error', `the server has no key to sign ID tokens with ${alg ?? 'any algorithm the profile allows'}`, 500);
  const user = x.ctx.users.bySub(claims.sub);
  const scopes = new Set(claims.scope.split(' '));
  const payload = {
    iss: x.ctx.config.issuer, sub: claims.sub, aud: client.client_id, iat: x.now, exp: x.now + lifetime,
    ...(claims.auth_time !== undefined ? { auth_time: claims.auth_time } : {}),
    ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
    ...(claims.acr !== undefined ? { acr: claims.acr } : {}),
    ...(claims.code !== undefined ? { c_hash: halfHash(claims.code, alg) } : {}),
    ...(claims.state !== undefined ? { s_hash: halfHash(claims.state, alg) } : {}),
    ...(user && scopes.has('profile') ? { name: user.name } : {}),
    ...(user && scopes.has('email') ? { email: user.email } : {}),
  };
  const { compact: signed, header } = await keys.sign(alg, payload);
  const facts = { header, claims: payload, signature_verified: true as const };
  const encrypted = await encryptForClient(client, signed);
  return { compact: encrypted?.compact ?? signed, facts: encrypted ? { ...facts, jwe_header: encrypted.header } : facts };
}

/**
 * A nested JWT (signed, then encrypted) when the client registered ID token encryption; the key is
 * the client's encryption key for that algorithm (use "enc", or an alg that names it). Whether the
 * algorithms are allowed is the profile's question, asked of the response before it goes out.
 */
async function encryptForClient(client: RegisteredClient, signed: string): Promise<{ compact: string; header: Record<string, string> } | undefined> {
  const alg = client.metadata.id_token_encrypted_response_alg;
  if (typeof alg !== 'string') return undefined;
  // OIDC Registration §2: the content encryption defaults to A128CBC-HS256 when only alg is registered.
  const enc = typeof client.metadata.id_token_encrypted_response_enc === 'string' ? client.metadata.id_token_encrypted_response_enc : 'A128CBC-HS256';
  const jwk = (clientKeys(client) as JWK[]).find((k) => k.use === 'enc' || k.alg === alg);
  if (!jwk) throw new OAuthError('server_error', 'the client registered ID token encryption but no encryption key', 500);
  try {
    const key = await importJWK({ ...jwk, alg }, alg);
    const header = { alg, enc, cty: 'JWT', ...(jwk.kid ? { kid: jwk.kid } : {}) };
    return { compact: await new CompactEncrypt(new TextEncoder().encode(signed)).setProtectedHeader(header).encrypt(key), header };
  } catch (e) {
    throw new OAuthError('server_error', `ID token encryption with ${alg}/${enc} to the client's key failed: ${(e as Error).message.slice(0, 100)}`, 500);
  }
}
