/** Facts of the `token` stage: a token request after client authentication, with the grant it redeems. */
import { verifierMatches } from '../../crypto/pkce.js';
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

/** Whether the token request's code_verifier matches the challenge stored with the code. */
function pkceVerified(code: CodeRecord, verifier: string | undefined): boolean {
  if (verifier === undefined || code.code_challenge === undefined) return false;
  return verifierMatches(verifier, code.code_challenge, code.code_challenge_method);
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
