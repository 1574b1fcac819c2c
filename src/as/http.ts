/**
 * Reading requests: bounded bodies, the media types each endpoint takes, and the parameter rules
 * of RFC 6749 §3.1 (no parameter twice). Nothing here decides policy; a malformed request is an
 * invalid_request before any fact is built.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { invalidRequest, OAuthError } from './errors.js';
import { readBody as readRequestBody, undecodedCoding } from '../net/body.js';
import { credentialHash } from './steps/credentials.js';

const FORM_MAX_BYTES = 64 * 1024;
export const JSON_MAX_BYTES = 64 * 1024;

export type Params = Record<string, string>;

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The raw body (src/net/body.ts), refused past `max` bytes and while it carries a coding not decoded here. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const coding = undecodedCoding(req);
  if (coding !== undefined) return Promise.reject(new OAuthError('invalid_request', `content coding ${safeName(coding)} is not supported`, 415, { 'Accept-Encoding': 'identity' }));
  return new Promise((resolve, reject) => readRequestBody(req, max, (problem, body) => {
    if (problem === 'too_large') reject(new OAuthError('invalid_request', `request body is larger than ${max} bytes`, 413));
    else if (problem === 'unreadable') reject(invalidRequest('the request body could not be read'));
    else resolve(body as Buffer);
  }));
}

/**
 * Parameters from a query string or form body: each at most once (RFC 6749 §3.1), UTF-8, at most
 * 100 of them. Parameters sent without a value are treated as omitted (§3.1 as well).
 */
function parseParams(text: string, where: string): Params {
  const params: Params = Object.create(null) as Params;
  let count = 0;
  for (const [name, value] of new URLSearchParams(text)) {
    if (++count > 100) throw invalidRequest(`more than 100 ${where} parameters`);
    if (Object.hasOwn(params, name)) throw invalidRequest(`parameter ${safeName(name)} is included more than once (RFC 6749 section 3.1)`);
    if (value !== '') params[name] = value;
  }
  return params;
}

const safeName = (name: string) => `'${name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64)}'`;

/** 415 unless the request's media type is `type` (parameters such as charset aside). */
export function requireMediaType(req: IncomingMessage, type: string, message = `Content-Type must be ${type}`): void {
  if (mediaType(req) !== type) throw new OAuthError('invalid_request', message, 415);
}

/** JSON text as a value; invalid_request when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidRequest('the request body is not valid JSON');
  }
}

/** An application/x-www-form-urlencoded body, as the back-channel endpoints take. */
export async function readForm(req: IncomingMessage, options: { anyMethod?: boolean } = {}): Promise<Params> {
  if (req.method !== 'POST' && !options.anyMethod) throw new OAuthError('invalid_request', 'use POST', 405, { Allow: 'POST' });
  if (options.anyMethod && req.method !== 'POST' && !req.headers['content-type']) return Object.create(null) as Params;
  requireMediaType(req, 'application/x-www-form-urlencoded');
  const body = await readBody(req, FORM_MAX_BYTES);
  return parseParams(body.toString('utf8'), 'form');
}

/** A JSON object body (dynamic client registration). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  requireMediaType(req, 'application/json');
  const value = parseJson((await readBody(req, JSON_MAX_BYTES)).toString('utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidRequest('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** The query string of a request, parsed with the same rules as a form. */
export function queryParams(req: IncomingMessage): Params {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return q < 0 ? (Object.create(null) as Params) : parseParams(url.slice(q + 1), 'query');
}

/** The Authorization header split into its scheme (as sent) and credentials. */
export function authorizationHeader(req: IncomingMessage): { scheme: string; credentials: string } | undefined {
  const value = req.headers.authorization;
  if (!value) return undefined;
  const space = value.indexOf(' ');
  if (space <= 0) return { scheme: value, credentials: '' };
  return { scheme: value.slice(0, space), credentials: value.slice(space + 1).trim() };
}

/** The bearer token of the Authorization header (RFC 6750 §2.1), when that is how the request authenticates. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = authorizationHeader(req);
  return header && header.scheme.toLowerCase() === 'bearer' ? header.credentials : undefined;
}

/** Compares credential hashes, so the comparison takes the same time whatever the lengths. */
export function sameHash(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Whether a presented token is one of the configured ones (initial access tokens, metrics tokens). */
export function isOneOf(token: string | undefined, known: readonly string[]): boolean {
  if (!token) return false;
  const presented = credentialHash(token);
  return known.some((t) => sameHash(credentialHash(t), presented));
}

/** The path of a request without its query. */
export function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The one path segment after `prefix/` (a client_id, an interaction id), or '' when there is none. */
export function segmentAfter(req: IncomingMessage, prefix: string): string {
  const path = pathOf(req);
  if (!path.startsWith(`${prefix}/`)) return '';
  const rest = path.slice(prefix.length + 1);
  return rest.includes('/') ? '' : decodeURIComponent(rest);
}
