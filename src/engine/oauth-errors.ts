/**
 * The OAuth error a refusal maps to, and the HTTP status that error is answered with. One table:
 * the profile schema's `error` enum must list exactly its codes (a test keeps the two together).
 *
 * Status follows the specification that registers each code. Only the DPoP codes depend on who
 * answers: an authorization server sends them in a 400 JSON error (RFC 9449 §5, §8), a resource
 * server in a 401 with a WWW-Authenticate challenge (RFC 9449 §7.1, §9). RFC 6749 §5.2 lets an
 * authorization server answer invalid_client with 400 when the client did not use the
 * Authorization header; 401 is given here because it is correct in every case.
 */
import type { Decision, Facts, Stage } from './types.js';

/** Who answers the refusal: the authorization server (every stage but resource) or a resource server. */
export type ServerRole = 'authorization_server' | 'resource_server';

interface ErrorEntry {
  /** The status an authorization server answers with. */
  status: number;
  /** The status a resource server answers with, where it differs. */
  resourceStatus?: number;
  /** Where the code is registered. */
  defined: string;
}

export const OAUTH_ERRORS = {
  invalid_request: { status: 400, defined: 'RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1' },
  invalid_client: { status: 401, defined: 'RFC 6749 §5.2' },
  invalid_grant: { status: 400, defined: 'RFC 6749 §5.2' },
  unauthorized_client: { status: 400, defined: 'RFC 6749 §4.1.2.1, §5.2' },
  unsupported_grant_type: { status: 400, defined: 'RFC 6749 §5.2' },
  unsupported_response_type: { status: 400, defined: 'RFC 6749 §4.1.2.1' },
  invalid_scope: { status: 400, defined: 'RFC 6749 §4.1.2.1, §5.2' },
  access_denied: { status: 403, defined: 'RFC 6749 §4.1.2.1' },
  server_error: { status: 500, defined: 'RFC 6749 §4.1.2.1' },
  temporarily_unavailable: { status: 503, defined: 'RFC 6749 §4.1.2.1' },
  invalid_token: { status: 401, defined: 'RFC 6750 §3.1' },
  insufficient_scope: { status: 403, defined: 'RFC 6750 §3.1' },
  invalid_redirect_uri: { status: 400, defined: 'RFC 7591 §3.2.2' },
  invalid_client_metadata: { status: 400, defined: 'RFC 7591 §3.2.2' },
  invalid_software_statement: { status: 400, defined: 'RFC 7591 §3.2.2' },
  unapproved_software_statement: { status: 400, defined: 'RFC 7591 §3.2.2' },
  invalid_request_object: { status: 400, defined: 'OpenID Connect Core §3.1.2.6; RFC 9101 §6.3' },
  invalid_request_uri: { status: 400, defined: 'OpenID Connect Core §3.1.2.6; RFC 9101 §7' },
  request_not_supported: { status: 400, defined: 'OpenID Connect Core §3.1.2.6' },
  request_uri_not_supported: { status: 400, defined: 'OpenID Connect Core §3.1.2.6' },
  invalid_dpop_proof: { status: 400, resourceStatus: 401, defined: 'RFC 9449 §5, §7.1' },
  use_dpop_nonce: { status: 400, resourceStatus: 401, defined: 'RFC 9449 §8, §9' },
  invalid_target: { status: 400, defined: 'RFC 8707 §2' },
  invalid_authorization_details: { status: 400, defined: 'RFC 9396 §5' },
  // No registry holds a code for a refused HTTP message signature; FAPI 2.0 MS §5.6.1.2-3 asks for 401.
  invalid_signature: { status: 400, resourceStatus: 401, defined: 'FAPI 2.0 MS §5.6.1.2-3 (this project\'s code; RFC 9421 registers none)' },
} as const satisfies Record<string, ErrorEntry>;

export type OAuthError = keyof typeof OAUTH_ERRORS;

export const OAUTH_ERROR_CODES = Object.freeze(Object.keys(OAUTH_ERRORS)) as readonly OAuthError[];

export function isOAuthError(value: unknown): value is OAuthError {
  return typeof value === 'string' && Object.hasOwn(OAUTH_ERRORS, value);
}

/**
 * The error of a rule that names none. Discovery checks the AS's own document, so a refusal there
 * is the server's fault; every other stage describes a request from a client (or resource server).
 */
export const STAGE_ERRORS: Readonly<Record<Stage, OAuthError>> = Object.freeze({
  discovery: 'server_error',
  registration: 'invalid_client_metadata',
  par: 'invalid_request',
  authorization: 'invalid_request',
  request_object: 'invalid_request_object',
  token: 'invalid_request',
  client_auth: 'invalid_client',
  dpop: 'invalid_dpop_proof',
  tls: 'invalid_request',
  resource: 'invalid_token',
  introspection: 'invalid_request',
  // What the server itself sends or is configured with: a refusal there is the server's fault.
  authorization_response: 'server_error',
  token_response: 'server_error',
  server: 'server_error',
});

/** The HTTP status `error` is answered with by a server in `role`. */
export function oauthStatus(error: OAuthError, role: ServerRole = 'authorization_server'): number {
  const entry: ErrorEntry = OAUTH_ERRORS[error];
  return role === 'resource_server' ? (entry.resourceStatus ?? entry.status) : entry.status;
}

/**
 * Who answers at a stage. A DPoP proof is checked by both servers; its facts say where
 * (`endpoint: "resource"`), and without that the authorization server is assumed.
 */
export function roleOf(stage: Stage, facts: Facts): ServerRole {
  if (stage === 'resource') return 'resource_server';
  return stage === 'dpop' && facts.endpoint === 'resource' ? 'resource_server' : 'authorization_server';
}

export interface OAuthErrorResponse {
  status: number;
  error: OAuthError;
  /** Names the rule and clause that refused, so a client developer learns why without server logs. */
  error_description: string;
}

/**
 * What a server answers for a deny: the refusal's code and status, and an error_description made of
 * the first violation's rule, clause and message, in the characters RFC 6749 §5.2 allows there
 * (printable ASCII without '"' and '\'), at most `max` characters.
 */
export function oauthErrorResponse(decision: Decision, max = 500): OAuthErrorResponse | undefined {
  const first = decision.violations[0];
  if (decision.decision !== 'deny' || !first || decision.error === undefined || decision.status === undefined) return undefined;
  const others = decision.violations.slice(1).map((v) => v.rule);
  const also = others.length ? ` (also refused by: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''})` : '';
  return { status: decision.status, error: decision.error, error_description: errorDescriptionText(`${first.rule} (${first.clause}): ${first.message}${also}`, max) };
}

/** Text as an error_description may carry it (RFC 6749 §5.2: printable ASCII without '"' and '\\'). */
export function errorDescriptionText(text: string, max = 500): string {
  const clean = text.replace(/§/g, 'section ').replace(/…/g, '...').replace(/"/g, "'").replace(/\\/g, '/').replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
