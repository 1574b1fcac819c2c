/**
 * The end of an authorization: a grant and a code for the approved request, and the answer to the
 * client's redirect URI, success and error alike, in the response mode the request asked for:
 * parameters in the query or fragment of a 303 (FAPI 2.0 SP §5.3.2.2-10/-11) or an auto-posted form
 * (OAuth 2.0 Form Post), always with iss (RFC 9207); or one signed `response` JWT (JARM) carrying
 * them, iss inside. A hybrid request (`code id_token`, FAPI 1.0) gets an ID token with c_hash and
 * s_hash as its detached signature. What is sent is the profile's to accept first
 * (`authorization_response` stage). The redirect URI keeps its own query.
 */
import { createHash } from 'node:crypto';
import { errorDescriptionText } from '../../engine/oauth-errors.js';
import type { RegisteredClient } from '../clients.js';
import { OAuthError } from '../errors.js';
import { enforce, type Exchange } from '../exchange.js';
import { authorizationResponseFacts } from '../facts/responses.js';
import { sendRedirect } from '../respond.js';
import type { User } from '../users.js';
import { escapeHtml, sendPage } from '../views.js';
import { randomCredential } from './credentials.js';
import { issueIdToken, signingAlg, type IssuedIdToken } from './id-token.js';

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
  acr?: string;
  sub: string;
  auth_time: number;
  issued_at: number;
  authorization_details?: unknown;
}

export const GRANT_TTL_SECONDS = 90 * 86_400;

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function optional(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** The approved request: its parameters, and the key a code from it is bound to (dpop_jkt, or the PAR proof's). */
export interface ApprovedRequest {
  params: Record<string, unknown>;
  dpopJkt?: string;
}

/** Records the grant the user approved and a code for it; returns the code. */
async function issueCode(x: Exchange, client: RegisteredClient, request: ApprovedRequest, user: User, authTime: number): Promise<string> {
  const p = request.params;
  const grant: Grant = {
    grant_id: randomCredential(), client_id: client.client_id, sub: user.sub, scope: str(p.scope) ?? '', created_at: x.now,
    ...(p.authorization_details !== undefined ? { authorization_details: p.authorization_details } : {}),
  };
  const code = randomCredential();
  const record: CodeRecord = {
    client_id: client.client_id, grant_id: grant.grant_id, scope: grant.scope, sub: user.sub, auth_time: authTime, issued_at: x.now,
    ...optional({
      redirect_uri: str(p.redirect_uri), code_challenge: str(p.code_challenge), code_challenge_method: str(p.code_challenge_method),
      dpop_jkt: request.dpopJkt, nonce: str(p.nonce), acr: requestedAcr(x, p),
    }),
    ...(p.authorization_details !== undefined ? { authorization_details: p.authorization_details } : {}),
  };
  const lifetime = (x.profile.settings.lifetimes as { authorization_code: number }).authorization_code;
  await x.ctx.store.set('grant', grant.grant_id, grant, GRANT_TTL_SECONDS);
  await x.ctx.store.set('code', code, record, lifetime + CODE_GRACE_SECONDS);
  return code;
}

interface AcrRequest {
  values: string[];
  essential: boolean;
}

/** What the request asks of acr: acr_values (voluntary), or the acr claim of the claims parameter (OIDC Core §5.5.1.1). */
function acrRequest(p: Record<string, unknown>): AcrRequest | undefined {
  let claim: { essential?: unknown; value?: unknown; values?: unknown } | undefined;
  try {
    claim = typeof p.claims === 'string' ? (JSON.parse(p.claims) as { id_token?: { acr?: typeof claim } }).id_token?.acr ?? undefined : undefined;
  } catch {
    claim = undefined;
  }
  if (claim && typeof claim === 'object') {
    const values = [claim.value, ...(Array.isArray(claim.values) ? claim.values : [])].filter((v): v is string => typeof v === 'string');
    return { values, essential: claim.essential === true };
  }
  const values = str(p.acr_values)?.split(' ').filter(Boolean);
  return values?.length ? { values, essential: false } : undefined;
}

/**
 * The acr the ID token states: the first requested value the login satisfies; asked voluntarily
 * for one it does not, the login's own; asked as essential for none it satisfies, a refusal.
 */
function requestedAcr(x: Exchange, p: Record<string, unknown>): string | undefined {
  const asked = acrRequest(p);
  if (!asked) return undefined;
  const supported = x.ctx.config.acrValues;
  const met = asked.values.find((v) => supported.includes(v));
  if (met) return met;
  if (asked.essential) throw new OAuthError('unmet_authentication_requirements', `the login here satisfies acr ${supported.join(', ')}, not the essential ${asked.values.join(', ').slice(0, 200)}`);
  return supported[0];
}

/**
 * The response modes this server implements for `code` and `code id_token`: the profile's
 * response_modes setting says which of them a request may use.
 */
export const IMPLEMENTED_RESPONSE_MODES = ['query', 'fragment', 'form_post', 'jwt', 'query.jwt', 'fragment.jwt', 'form_post.jwt'] as const;
export type ResponseMode = (typeof IMPLEMENTED_RESPONSE_MODES)[number];

/**
 * The response mode of a request: the one it asks for, else the default of its response type
 * (query for code, fragment when an ID token travels in the front channel; OAuth 2.0 Multiple
 * Response Types §5, JARM §2.3.4 for `jwt`).
 */
function responseModeOf(params: Record<string, unknown>): ResponseMode {
  const hybrid = str(params.response_type)?.split(' ').includes('id_token') ?? false;
  const asked = (IMPLEMENTED_RESPONSE_MODES as readonly string[]).includes(str(params.response_mode) ?? '') ? (params.response_mode as ResponseMode) : undefined;
  if (asked === 'jwt') return hybrid ? 'fragment.jwt' : 'query.jwt';
  return asked ?? (hybrid ? 'fragment' : 'query');
}

/** The success response: the code, the state, and in a hybrid response the ID token signing both. */
export async function answerWithCode(x: Exchange, client: RegisteredClient, request: ApprovedRequest, user: User, authTime: number): Promise<void> {
  const p = request.params;
  const code = await issueCode(x, client, request, user, authTime);
  const state = str(p.state);
  const hybrid = str(p.response_type)?.split(' ').includes('id_token') ?? false;
  const idToken = hybrid
    ? await issueIdToken(x, client, {
      // The front channel carries no personal claims (FAPI 1.0 Part 2 §5.2.2.1-6): those come from the token endpoint.
      sub: user.sub, scope: 'openid', code, auth_time: authTime,
      ...optional({ nonce: str(p.nonce), state, acr: requestedAcr(x, p) }),
    })
    : undefined;
  await respondToClient(x, client, p, { code, state, id_token: idToken?.compact }, idToken);
}

/** An error sent to the client's redirect URI (RFC 6749 §4.1.2.1), in the request's response mode. */
export async function redirectError(x: Exchange, client: RegisteredClient, params: Record<string, unknown>, error: OAuthError): Promise<void> {
  await respondToClient(x, client, params, { error: error.error, error_description: errorDescriptionText(error.description, 300), state: str(params.state) });
}

/** FAPI 2.0 SP §5.3.2.2-11: the user agent is redirected with 303. */
const REDIRECT_STATUS = 303;

/** Sends the answer to the client, once the profile accepts what would be sent. */
async function respondToClient(x: Exchange, client: RegisteredClient, params: Record<string, unknown>, body: Record<string, string | undefined>, idToken?: IssuedIdToken): Promise<void> {
  const redirectUri = str(params.redirect_uri);
  if (!redirectUri) throw new OAuthError('server_error', 'the request has no redirect_uri to answer to', 500);
  const mode = responseModeOf(params);
  const plain = { ...optional(body), iss: x.ctx.config.issuer };
  const jarm = mode.endsWith('.jwt') ? await jarmResponse(x, client, plain) : undefined;
  const sent = jarm ? { response: jarm.compact } : plain;
  x.res.setHeader('Cache-Control', 'no-store');
  const formPost = mode.startsWith('form_post');
  // For JARM the iss judged is the one inside the response JWT (RFC 9207 §2.4).
  enforce(x, 'authorization_response', authorizationResponseFacts(x, formPost ? 200 : REDIRECT_STATUS, mode, { ...sent, iss: plain.iss }, Object.keys(sent), {
    ...(idToken ? { idToken } : {}), ...(jarm ? { responseJwtHeader: jarm.header } : {}),
  }));
  if (formPost) return postForm(x, redirectUri, sent);
  const separator = mode.startsWith('fragment') ? '#' : redirectUri.includes('?') ? '&' : '?';
  sendRedirect(x.res, `${redirectUri}${separator}${new URLSearchParams(sent).toString()}`, REDIRECT_STATUS);
}

/** JARM §2.1: the parameters as claims of a JWT signed for the client, with iss, aud and exp. */
async function jarmResponse(x: Exchange, client: RegisteredClient, claims: Record<string, string>): Promise<{ compact: string; header: Record<string, unknown> }> {
  const allowed = (x.profile.settings.signing_algs as { authorization_response: string[] }).authorization_response;
  const alg = signingAlg(x, client.metadata.authorization_signed_response_alg, allowed);
  const keys = x.ctx.keys();
  if (!alg || !keys.has(alg)) throw new OAuthError('server_error', 'the server has no key to sign authorization responses with', 500);
  const lifetime = (x.profile.settings.jarm as { max_lifetime: number }).max_lifetime;
  return keys.sign(alg, { ...claims, aud: client.client_id, exp: x.now + lifetime });
}

/** OAuth 2.0 Form Post Response Mode: a page that posts the parameters to the redirect URI at once. */
function postForm(x: Exchange, redirectUri: string, params: Record<string, string>): void {
  const script = 'document.forms[0].submit()';
  const hash = createHash('sha256').update(script).digest('base64');
  const inputs = Object.entries(params).map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
  sendPage(x.res, 200, `<!doctype html><html><head><title>Submit</title></head><body><form method="post" action="${escapeHtml(redirectUri)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form><script>${script}</script></body></html>`,
    redirectUri, `'sha256-${hash}'`);
}
