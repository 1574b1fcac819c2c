/**
 * Bounds on what a caller can make the service do: body size, JSON nesting, batch length, time.
 * The body reader is our own so the decision path pays neither a framework nor a stream pipeline.
 */
import type { IncomingMessage } from 'node:http';
import { quote } from '../engine/text.js';
import { HttpError, badRequest } from './errors.js';
import { readBody as readRequestBody, undecodedCoding } from '../net/body.js';

export interface Limits {
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Deepest JSON nesting accepted in a request body. */
  maxDepth: number;
  /** Most evaluations in one AuthZEN batch. */
  maxBatch: number;
  /** Time allowed to receive a whole request. */
  requestTimeoutMs: number;
  /**
   * Open connections at once; more are closed on arrival. With the body and time limits this bounds
   * what slow uploads can hold: at most this many bodies of maxBodyBytes, each for requestTimeoutMs.
   */
  maxConnections: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxBodyBytes: 1024 * 1024,
  maxDepth: 64,
  maxBatch: 100,
  requestTimeoutMs: 10_000,
  maxConnections: 1024,
});

const tooLarge = (max: number) => new HttpError(413, 'payload_too_large', `request body is larger than ${max} bytes`);

/** Only JSON is accepted, and only UTF-8 JSON (RFC 8259 §8.1). */
export function requireJson(req: IncomingMessage): void {
  const type = req.headers['content-type'];
  if (type === 'application/json') return;
  if (!type) throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  const [media, ...params] = type.split(';');
  if (media?.trim().toLowerCase() !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v?.trim().replace(/"/g, '').toLowerCase() !== 'utf-8') {
      throw new HttpError(415, 'unsupported_media_type', 'JSON must be encoded as UTF-8');
    }
  }
}

/**
 * The body must arrive as its bytes: a coding this service does not decode would be parsed as if
 * it were the JSON. Node removes `chunked` and nothing else, so any other transfer coding (`gzip,
 * chunked`) and any content coding but `identity` is refused with 415 and `Accept-Encoding:
 * identity` (RFC 9110 §8.4.1, §15.5.16; the issue asked for 415 where RFC 9112 §6.1 suggests 501
 * for a transfer coding, so that one answer covers every coding that is not decoded).
 */
export function requireIdentityCoding(req: IncomingMessage): void {
  const coded = undecodedCoding(req);
  if (coded === undefined) return;
  throw new HttpError(415, 'unsupported_media_type', `content coding ${quote(coded)} is not supported; send the JSON body uncoded`, undefined, { 'Accept-Encoding': 'identity' });
}

/** The whole body (src/net/body.ts), its problems as this service's errors. */
export function readBody(req: IncomingMessage, max: number, done: (error: HttpError | null, body?: Buffer) => void): void {
  readRequestBody(req, max, (problem, body) => {
    if (problem === 'too_large') done(tooLarge(max));
    else if (problem === 'unreadable') done(badRequest('the request body could not be read'));
    else done(null, body);
  });
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * At most this many header fields per request. Node's own cap (server.maxHeadersCount) drops the
 * fields past it silently, so a valid Authorization or Content-Type sent late would be lost and the
 * caller told the wrong thing; the server's cap is set higher and this check answers 431 instead.
 */
export const MAX_HEADER_FIELDS = 100;

export function requireHeaderCount(req: IncomingMessage): void {
  if (req.rawHeaders.length > 2 * MAX_HEADER_FIELDS) {
    throw new HttpError(431, 'header_fields_too_large', `more than ${MAX_HEADER_FIELDS} header fields`);
  }
}
