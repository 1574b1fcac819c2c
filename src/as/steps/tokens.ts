/**
 * Tokens the AS issues: opaque access and refresh tokens (256 random bits, recorded in the store,
 * so they can be revoked and introspected) and ID tokens (signed JWTs). Lifetimes and algorithms
 * come from the client's profile; the server's own preferences only ever shorten a lifetime.
 */
import type { RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import { credentialHash, randomCredential } from './credentials.js';
import { issueIdToken, type IssuedIdToken } from './id-token.js';
import { GRANT_TTL_SECONDS } from './authorization-response.js';
import type { SenderConstraint } from '../facts/token.js';

/** The grants this server implements (RFC 6749 §4.1, §4.4, §6). Which of them a client may use is its profile's to say. */
export const IMPLEMENTED_GRANT_TYPES: readonly string[] = ['authorization_code', 'refresh_token', 'client_credentials'];

export interface Confirmation {
  jkt?: string;
  'x5t#S256'?: string;
}

export interface AccessTokenRecord {
  client_id: string;
  sub?: string;
  scope: string;
  grant_id?: string;
  cnf?: Confirmation;
  token_type: 'DPoP' | 'Bearer';
  issued_at: number;
  expires_at: number;
  authorization_details?: unknown;
}

export interface RefreshTokenRecord {
  client_id: string;
  grant_id: string;
  sub: string;
  scope: string;
  issued_at: number;
  expires_at: number;
  auth_time?: number;
  authorization_details?: unknown;
}

/** What a token response is made from: the grant's subject and scope. */
export interface TokenBasis {
  sub?: string;
  scope: string;
  grant_id?: string;
  auth_time?: number;
  nonce?: string;
  acr?: string;
  authorization_details?: unknown;
}

export interface IssuedTokens {
  access_token: string;
  token_type: 'DPoP' | 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  authorization_details?: unknown;
}

interface Lifetimes {
  access_token: number;
  access_token_min: number;
  bearer_access_token: number;
}

/** The access-token lifetime: the server's preference within the profile's bounds (bearer tokens have their own cap). */
export function accessTokenLifetime(x: Exchange, bound: boolean): number {
  const l = x.profile.settings.lifetimes as Lifetimes;
  const max = bound ? l.access_token : Math.min(l.access_token, l.bearer_access_token);
  return Math.max(Math.min(x.ctx.config.accessTokenLifetime, max), Math.min(l.access_token_min, max));
}

function confirmationOf(binding: SenderConstraint | undefined): Confirmation | undefined {
  if (binding?.method === 'dpop' && binding.dpop_jkt) return { jkt: binding.dpop_jkt };
  if (binding?.method === 'mtls' && binding.mtls_thumbprint) return { 'x5t#S256': binding.mtls_thumbprint };
  return undefined;
}

export interface Minted {
  response: IssuedTokens;
  /** What the access token is bound to. */
  cnf: Confirmation | undefined;
  /** The ID token issued, for the response's facts. */
  idToken?: IssuedIdToken;
  /** Persists the tokens: called only once the response is allowed to go out. */
  save(): Promise<void>;
}

export async function mintTokens(x: Exchange, client: RegisteredClient, basis: TokenBasis, binding: SenderConstraint | undefined, options: { refreshToken: boolean; idToken: boolean }): Promise<Minted> {
  const cnf = confirmationOf(binding);
  const lifetime = accessTokenLifetime(x, cnf !== undefined);
  const accessToken = randomCredential();
  const tokenType = binding?.method === 'dpop' ? 'DPoP' : 'Bearer';
  const access: AccessTokenRecord = {
    client_id: client.client_id, scope: basis.scope, token_type: tokenType, issued_at: x.now, expires_at: x.now + lifetime,
    ...(basis.sub ? { sub: basis.sub } : {}), ...(basis.grant_id ? { grant_id: basis.grant_id } : {}), ...(cnf ? { cnf } : {}),
    ...(basis.authorization_details !== undefined ? { authorization_details: basis.authorization_details } : {}),
  };
  const response: IssuedTokens = { access_token: accessToken, token_type: tokenType, expires_in: lifetime, ...(basis.scope ? { scope: basis.scope } : {}) };
  if (basis.authorization_details !== undefined) response.authorization_details = basis.authorization_details;
  let refresh: [string, RefreshTokenRecord] | undefined;
  if (options.refreshToken && basis.grant_id && basis.sub) {
    const token = randomCredential();
    const ttl = Math.min(x.ctx.config.refreshTokenLifetime, GRANT_TTL_SECONDS);
    refresh = [token, {
      client_id: client.client_id, grant_id: basis.grant_id, sub: basis.sub, scope: basis.scope, issued_at: x.now, expires_at: x.now + ttl,
      ...(basis.auth_time !== undefined ? { auth_time: basis.auth_time } : {}),
      ...(basis.authorization_details !== undefined ? { authorization_details: basis.authorization_details } : {}),
    }];
    response.refresh_token = token;
  }
  let idToken: IssuedIdToken | undefined;
  if (options.idToken && basis.sub) {
    idToken = await issueIdToken(x, client, {
      sub: basis.sub, scope: basis.scope,
      ...(basis.nonce !== undefined ? { nonce: basis.nonce } : {}), ...(basis.auth_time !== undefined ? { auth_time: basis.auth_time } : {}),
      ...(basis.acr !== undefined ? { acr: basis.acr } : {}),
    });
    response.id_token = idToken.compact;
  }
  return {
    response,
    cnf,
    ...(idToken ? { idToken } : {}),
    save: async () => {
      await x.ctx.store.set('access_token', credentialHash(accessToken), access, lifetime + 300);
      if (refresh) await x.ctx.store.set('refresh_token', credentialHash(refresh[0]), refresh[1], refresh[1].expires_at - x.now);
    },
  };
}

/** A presented access token's record, if it is one the AS issued (expired ones included, for the facts). */
export function findAccessToken(x: Exchange, token: string): Promise<AccessTokenRecord | undefined> {
  return x.ctx.store.get<AccessTokenRecord>('access_token', credentialHash(token));
}

export function findRefreshToken(x: Exchange, token: string): Promise<RefreshTokenRecord | undefined> {
  return x.ctx.store.get<RefreshTokenRecord>('refresh_token', credentialHash(token));
}

/** Whether the grant a token came from still stands (a replayed code or a revocation ends it). */
export async function grantActive(x: Exchange, grantId: string | undefined): Promise<boolean> {
  return grantId === undefined || (await x.ctx.store.get('grant', grantId)) !== undefined;
}
