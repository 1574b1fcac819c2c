/**
 * Every error the decision service answers with, mapped to HTTP in one place. The native API answers
 * `{error, message, path?}` as JSON; the AuthZEN endpoints answer the plain error message string its
 * HTTPS binding prescribes. Request values reach messages only through engine/text (quote,
 * printable); sendError passes every message through printable once more, so no message, whoever
 * wrote it, can put a control character, a line break or a bidi override into a response.
 */
import type { ServerResponse } from 'node:http';
import { printable } from '../engine/text.js';

export type ErrorCode =
  | 'invalid_request' | 'invalid_json' | 'unsupported_media_type' | 'payload_too_large' | 'unauthorized'
  | 'not_found' | 'unknown_profile' | 'unknown_stage' | 'invalid_facts' | 'method_not_allowed' | 'header_fields_too_large'
  | 'internal_error';

export type ErrorStyle = 'native' | 'authzen';

export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** JSON pointer of the offending member, when there is one. */
    readonly path?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, path?: string) => new HttpError(400, 'invalid_request', message, path);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const methodNotAllowed = (allow: string) =>
  new HttpError(405, 'method_not_allowed', `method not allowed; use ${allow}`, undefined, { Allow: allow });
export const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="fapi-policy"' });

/** Anything that is not an HttpError is a bug: the caller learns only that it was internal. */
export function toHttpError(error: unknown): HttpError {
  return error instanceof HttpError ? error : new HttpError(500, 'internal_error', 'internal error');
}

/** Longest message sent (a list of loaded profiles is the longest part of any). */
export const MESSAGE_MAX = 1024;

export function sendError(res: ServerResponse, error: HttpError, style: ErrorStyle, extraHeaders?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message = printable(error.message, MESSAGE_MAX);
  const body = style === 'native'
    ? JSON.stringify({ error: error.code, message, ...(error.path !== undefined ? { path: error.path } : {}) })
    : message;
  const headers: Record<string, string | number> = {
    'Content-Type': style === 'native' ? 'application/json' : 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...error.headers,
    ...extraHeaders,
  };
  // A body we refused to read must not be parsed as the next request on this connection.
  if (error.status === 413 || error.status === 408 || error.status === 431) headers.Connection = 'close';
  res.writeHead(error.status, headers);
  res.end(body);
}
