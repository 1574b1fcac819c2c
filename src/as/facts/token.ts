/** Facts of the `token` stage: a token request after client authentication, with the grant it redeems. */
import { createHash } from 'node:crypto';
import { authenticatedRequest, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { Params } from '../http.js';
import type { CodeRecord } from '../steps/authorization-response.js';
import { CLIENT_AUTH_PARAMS } from '../steps/authenticate-client.js';

export interface SenderConstraint {
  method: 'dpop' | 'mtls';
  dpop_jkt?: string;
  mtls_thumbprint?: string;
}

/** RFC 7636 §4.6: the verifier transformed by the challenge's method equals the challenge. */
export function pkceVerified(code: CodeRecord, verifier: string | undefined): boolean {
  if (verifier === undefined || code.code_challenge === undefined) return false;
  const method = code.code_challenge_method ?? 'plain';
  const transformed = method === 'S256' ? createHash('sha256').update(verifier, 'ascii').digest('base64url') : method === 'plain' ? verifier : undefined;
  return transformed === code.code_challenge;
}

export function codeFacts(code: CodeRecord, replayed: boolean, verifier: string | undefined): Record<string, unknown> {
  return {
    issued_at: code.issued_at,
    redeemed_before: replayed,
    client_id: code.client_id,
    ...(code.redirect_uri !== undefined ? { redirect_uri: code.redirect_uri } : {}),
    ...(code.code_challenge_method !== undefined ? { code_challenge_method: code.code_challenge_method } : {}),
    ...(code.code_challenge !== undefined ? { code_challenge: code.code_challenge } : {}),
    pkce_verified: pkceVerified(code, verifier),
    ...(code.dpop_jkt !== undefined ? { dpop_jkt: code.dpop_jkt } : {}),
  };
}

/** What the token request redeems, as the AS recorded it: a code or a refresh token. */
export interface Redeemed {
  code?: Record<string, unknown>;
  refresh_token?: Record<string, unknown>;
}

export function tokenFacts(
  x: Exchange, client: RegisteredClient, form: Params, redeemed: Redeemed, binding: SenderConstraint | undefined,
): Record<string, unknown> {
  const params = Object.fromEntries(Object.entries(form).filter(([k]) => !CLIENT_AUTH_PARAMS.has(k)));
  return {
    ...authenticatedRequest(x, client),
    params,
    ...(redeemed.code ? { code: redeemed.code } : {}),
    ...(redeemed.refresh_token ? { refresh_token: redeemed.refresh_token } : {}),
    ...(binding ? { sender_constraint: binding } : {}),
  };
}
