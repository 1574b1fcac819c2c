/**
 * One OAuth error type for the whole server, mapped to HTTP in one place (`sendOAuthError`).
 * A refusal by the profile becomes an OAuthError carrying the error code the violated rule
 * declares and a description naming the rule id and clause, so a client developer learns why
 * without reading server logs.
 */
import type { Response } from 'express';
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

/**
 * RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E: no quote, no backslash, ASCII
 * only. Clauses carry '§', so the text is transliterated rather than rejected.
 */
export function descriptionText(text: string, max = 600): string {
  const clean = text.replace(/§/g, '').replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, (c) => (c === '"' ? "'" : '?'));
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/** The refusal of a deny decision: the first violation's rule, clause and message, and its declared error. */
export function refusal(decision: Decision): OAuthError {
  const first = decision.violations[0];
  const declared = decision as { error?: unknown; status?: unknown };
  const error = typeof declared.error === 'string' ? declared.error : 'invalid_request';
  const status = typeof declared.status === 'number' ? declared.status : 400;
  if (!first) return new OAuthError(error, 'the request was refused by the profile', status);
  const more = decision.violations.length > 1 ? ` (and ${decision.violations.length - 1} more: ${decision.violations.slice(1, 4).map((v) => v.rule).join(', ')})` : '';
  return new OAuthError(error, `${first.rule} [${first.clause}]: ${first.message}${more}`, status, {}, { rule: first.rule, clause: first.clause });
}

/** Back-channel errors: JSON body (RFC 6749 §5.2), no caching. */
export function sendOAuthError(res: Response, e: OAuthError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(e.status);
  for (const [name, value] of Object.entries(e.headers)) res.setHeader(name, value);
  res.setHeader('Cache-Control', 'no-store');
  res.json({ error: e.error, error_description: descriptionText(e.description) });
}

/**
 * Resource-server errors (RFC 6750 §3, RFC 9449 §7.1): the code goes into WWW-Authenticate for
 * each scheme the resource accepts; the body repeats it as JSON.
 */
export function resourceChallenge(e: OAuthError, schemes: readonly string[], dpopAlgs: readonly string[]): OAuthError {
  const params = `error="${e.error}", error_description="${descriptionText(e.description, 300)}"`;
  const challenge = schemes.map((s) => (s === 'DPoP' ? `DPoP ${params}, algs="${dpopAlgs.join(' ')}"` : `Bearer ${params}`)).join(', ');
  return e.withHeaders({ 'WWW-Authenticate': challenge });
}
