/**
 * The end of an authorization: a grant and a code for the approved request, and the answer to the
 * client's redirect URI — a 303 (FAPI 2.0 SP §5.3.2.2-10/-11) carrying iss (RFC 9207) on success
 * and on error alike. The redirect URI keeps its own query; parameters are appended to it.
 */
import type { RegisteredClient } from '../clients.js';
import { enforce, type Exchange } from '../exchange.js';
import { authorizationResponseFacts } from '../facts/responses.js';
import { errorDescriptionText } from '../../engine/oauth-errors.js';
import type { OAuthError } from '../errors.js';
import { sendRedirect } from '../respond.js';
import type { User } from '../users.js';
import { randomCredential } from './credentials.js';
import type { PushedRequest } from './pushed-requests.js';

/** How long past its lifetime a code is remembered, so a replay is recognised (and its grant revoked). */
const CODE_GRACE_SECONDS = 600;

export interface Grant {
  grant_id: string;
  client_id: string;
  sub: string;
  scope: string;
  authorization_details?: unknown;
  created_at: number;
}

export interface CodeRecord {
  client_id: string;
  grant_id: string;
  redirect_uri?: string;
  code_challenge?: string;
  code_challenge_method?: string;
  dpop_jkt?: string;
  scope: string;
  nonce?: string;
  sub: string;
  auth_time: number;
  issued_at: number;
  authorization_details?: unknown;
}

export const GRANT_TTL_SECONDS = 90 * 86_400;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Records the grant the user approved and a code for it; returns the code. */
export async function issueCode(x: Exchange, client: RegisteredClient, pushed: PushedRequest, user: User, authTime: number): Promise<string> {
  const p = pushed.params;
  const grant: Grant = {
    grant_id: randomCredential(), client_id: client.client_id, sub: user.sub, scope: str(p.scope) ?? '', created_at: x.now,
    ...(p.authorization_details !== undefined ? { authorization_details: p.authorization_details } : {}),
  };
  const code = randomCredential();
  const record: CodeRecord = {
    client_id: client.client_id, grant_id: grant.grant_id, scope: grant.scope, sub: user.sub, auth_time: authTime, issued_at: x.now,
    ...optional({
      redirect_uri: str(p.redirect_uri), code_challenge: str(p.code_challenge), code_challenge_method: str(p.code_challenge_method),
      dpop_jkt: pushed.dpop_jkt, nonce: str(p.nonce),
    }),
    ...(p.authorization_details !== undefined ? { authorization_details: p.authorization_details } : {}),
  };
  const lifetime = (x.profile.settings.lifetimes as { authorization_code: number }).authorization_code;
  await x.ctx.store.set('grant', grant.grant_id, grant, GRANT_TTL_SECONDS);
  await x.ctx.store.set('code', code, record, lifetime + CODE_GRACE_SECONDS);
  return code;
}

function optional(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/**
 * The response modes this server implements for `code`. The profile's response_modes setting
 * says what is allowed; the server offers (and advertises) the part of it that it implements.
 */
export const IMPLEMENTED_RESPONSE_MODES = ['query', 'fragment'] as const;
export type ResponseMode = (typeof IMPLEMENTED_RESPONSE_MODES)[number];

/** The response mode the request asked for; query when it named none (RFC 6749 for `code`). */
export function responseModeOf(params: Record<string, unknown>): ResponseMode {
  return params.response_mode === 'fragment' ? 'fragment' : 'query';
}

/** FAPI 2.0 SP §5.3.2.2-11: the user agent is redirected with 303. */
const REDIRECT_STATUS = 303;

/**
 * Sends the authorization response to the client, once the profile accepts it
 * (`authorization_response` stage): a 303 with the parameters in the query or fragment.
 */
export function respondToClient(x: Exchange, redirectUri: string, mode: ResponseMode, params: Record<string, string | undefined>): void {
  const all = { ...optional(params), iss: x.ctx.config.issuer };
  x.res.setHeader('Cache-Control', 'no-store');
  enforce(x, 'authorization_response', authorizationResponseFacts(x, REDIRECT_STATUS, mode, all));
  const separator = mode === 'fragment' ? '#' : redirectUri.includes('?') ? '&' : '?';
  sendRedirect(x.res, `${redirectUri}${separator}${new URLSearchParams(all).toString()}`, REDIRECT_STATUS);
}

/** An error sent to the client's redirect URI (RFC 6749 §4.1.2.1), with state and iss. */
export function redirectError(x: Exchange, redirectUri: string, params: Record<string, unknown>, error: OAuthError): void {
  respondToClient(x, redirectUri, responseModeOf(params), {
    error: error.error,
    error_description: errorDescriptionText(error.description, 300),
    state: str(params.state),
  });
}
