/**
 * One OAuth error type for the whole server, mapped to HTTP in one place (`sendOAuthError`).
 * A refusal by the profile becomes an OAuthError carrying the error code the violated rule
 * declares and a description naming the rule id and clause, so a client developer learns why
 * without reading server logs.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from './respond.js';
import { errorDescriptionText, oauthErrorResponse } from '../engine/oauth-errors.js';
import type { Decision, Violation } from '../engine/types.js';

export class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly error: string,
    readonly description: string,
    readonly status = 400,
    /** Extra response headers (WWW-Authenticate, DPoP-Nonce, Allow). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** The rule that refused, when a profile did. */
    readonly rule?: Pick<Violation, 'rule' | 'clause'>,
  ) {
    super(description);
  }

  withHeaders(headers: Record<string, string>): OAuthError {
    return new OAuthError(this.error, this.description, this.status, { ...this.headers, ...headers }, this.rule);
  }
}

export const invalidRequest = (description: string) => new OAuthError('invalid_request', description);
export const invalidClient = (description: string) => new OAuthError('invalid_client', description, 401);
export const serverError = (description: string) => new OAuthError('server_error', description, 500);

/** The refusal of a deny decision: the code and status its first violation declares, the rule and clause in the text. */
export function refusal(decision: Decision): OAuthError {
  const response = oauthErrorResponse(decision);
  const first = decision.violations[0];
  if (!response || !first) return serverError('the profile refused without naming a rule');
  return new OAuthError(response.error, response.error_description, response.status, {}, { rule: first.rule, clause: first.clause });
}

/** Back-channel errors: JSON body (RFC 6749 §5.2), no caching. */
export function sendOAuthError(res: ServerResponse, e: OAuthError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, e.status, { error: e.error, error_description: errorDescriptionText(e.description) });
}

/**
 * Resource-server errors (RFC 6750 §3, RFC 9449 §7.1): the code goes into WWW-Authenticate for
 * each scheme the resource accepts; the body repeats it as JSON.
 */
export function resourceChallenge(e: OAuthError, schemes: readonly string[], dpopAlgs: readonly string[]): OAuthError {
  const params = `error="${e.error}", error_description="${errorDescriptionText(e.description, 300)}"`;
  const challenge = schemes.map((s) => (s === 'DPoP' ? `DPoP ${params}, algs="${dpopAlgs.join(' ')}"` : `Bearer ${params}`)).join(', ');
  return e.withHeaders({ 'WWW-Authenticate': challenge });
}
