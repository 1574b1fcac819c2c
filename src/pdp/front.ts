/**
 * The decision path: a node:http handler that takes POST /v1/decide and /access/v1/evaluation(s)
 * itself — its own bounded body reader and JSON.parse, no middleware chain — and hands every other
 * request to the Express app. Measured: Express's JSON pipeline costs several times the decision.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { handleEvaluation, handleEvaluations } from './authzen.js';
import type { PdpContext, RequestMeta } from './context.js';
import { printable } from '../engine/text.js';
import { handleDecide } from './decide.js';
import { methodNotAllowed, sendError, toHttpError, type ErrorStyle } from './errors.js';
import { parseJson } from './json.js';
import { isPlainObject, readBody, requireHeaderCount, requireIdentityCoding, requireJson } from './limits.js';

interface DecisionRoute {
  api: 'native' | 'authzen';
  style: ErrorStyle;
  /** The native API also takes `explain` in the body. */
  bodyExplain: boolean;
  /** Returns the response body: a value to serialize, or JSON text already serialized. */
  handle: (ctx: PdpContext, body: unknown, explain: boolean, meta: RequestMeta) => unknown;
}

const DECISION_ROUTES: ReadonlyMap<string, DecisionRoute> = new Map<string, DecisionRoute>([
  ['/v1/decide', { api: 'native', style: 'native', bodyExplain: true, handle: handleDecide }],
  ['/access/v1/evaluation', { api: 'authzen', style: 'authzen', bodyExplain: false, handle: handleEvaluation }],
  ['/access/v1/evaluations', { api: 'authzen', style: 'authzen', bodyExplain: false, handle: handleEvaluations }],
]);

/**
 * X-Request-ID is echoed (AuthZEN, request identification) when it is printable ASCII of a sane
 * length: anything else could not be written back as a header value or into a log line safely.
 */
const REQUEST_ID = /^[\x20-\x7e]{1,256}$/;

export function requestIdOf(req: IncomingMessage): string | undefined {
  const id = req.headers['x-request-id'];
  return typeof id === 'string' && REQUEST_ID.test(id) ? id : undefined;
}

export function createFront(ctx: PdpContext, fallback: RequestListener): RequestListener {
  return (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = DECISION_ROUTES.get(q < 0 ? url : url.slice(0, q));
    try {
      requireHeaderCount(req);
    } catch (e) {
      const error = toHttpError(e);
      ctx.metrics.requestError(error.status);
      sendError(res, error, route?.style ?? 'native', requestHeaders(req));
      return;
    }
    if (route) serveDecision(ctx, route, req, res, q < 0 ? '' : url.slice(q + 1));
    else fallback(req, res);
  };
}

/** Method, credentials, media type and coding are checked before a byte of the body is read. */
function serveDecision(ctx: PdpContext, route: DecisionRoute, req: IncomingMessage, res: ServerResponse, query: string): void {
  const started = performance.now();
  const requestId = requestIdOf(req);
  let authenticated: boolean;
  try {
    if (req.method !== 'POST') throw methodNotAllowed('POST');
    authenticated = ctx.auth.requireCaller(req);
    requireJson(req);
    requireIdentityCoding(req);
  } catch (e) {
    fail(ctx, route, req, res, e, requestId, started);
    return;
  }
  readBody(req, ctx.limits.maxBodyBytes, (error, body) => {
    try {
      if (error) throw error;
      answer(ctx, route, res, parseJson(body as Buffer, ctx.limits.maxDepth), query, authenticated, requestId);
      ctx.metrics.observe(route.api, (performance.now() - started) / 1000);
    } catch (e) {
      fail(ctx, route, req, res, e, requestId, started);
    }
  });
}

function answer(ctx: PdpContext, route: DecisionRoute, res: ServerResponse, body: unknown, query: string, authenticated: boolean, requestId?: string): void {
  const explain = queryExplain(query) || (route.bodyExplain && isPlainObject(body) && body.explain === true);
  if (explain) ctx.auth.requireExplain(authenticated);
  const out = route.handle(ctx, body, explain, requestId ? { requestId } : {});
  const payload = typeof out === 'string' ? out : JSON.stringify(out);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  };
  if (requestId) headers['X-Request-ID'] = requestId;
  res.writeHead(200, headers);
  res.end(payload);
}

function fail(ctx: PdpContext, route: DecisionRoute, req: IncomingMessage, res: ServerResponse, e: unknown, requestId: string | undefined, started: number): void {
  const error = toHttpError(e);
  if (error.status >= 500) ctx.log.error({ path: printable(req.url ?? '', 64) }, `decision request failed: ${(e as Error)?.message ?? String(e)}`);
  ctx.metrics.requestError(error.status);
  sendError(res, error, route.style, requestHeaders(req, requestId));
  ctx.metrics.observe(route.api, (performance.now() - started) / 1000);
}

/** Headers of an error answer: the echoed X-Request-ID, and close when the body was not read. */
function requestHeaders(req: IncomingMessage, requestId = requestIdOf(req)): Record<string, string> {
  const extra: Record<string, string> = requestId ? { 'X-Request-ID': requestId } : {};
  // An unread body must not be parsed as the next request on this connection.
  if (!req.complete) extra.Connection = 'close';
  return extra;
}

function queryExplain(query: string): boolean {
  if (!query) return false;
  const value = new URLSearchParams(query).get('explain');
  return value === '' || value === 'true' || value === '1';
}
