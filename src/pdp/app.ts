/**
 * The Express app: every endpoint except the decision path. Profiles, metadata, health, metrics,
 * the AuthZEN configuration and the OpenAPI document. All answers are JSON (metrics: Prometheus text).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import openapi from '../../schemas/openapi.json' with { type: 'json' };
import { configuration } from './authzen.js';
import type { PdpContext } from './context.js';
import { printable, quote } from '../engine/text.js';
import { HttpError, badRequest, methodNotAllowed, notFound, sendError, toHttpError } from './errors.js';
import { requestIdOf } from './front.js';

const PROFILE_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export function createApp(ctx: PdpContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const id = requestIdOf(req);
    if (id) res.setHeader('X-Request-ID', id);
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const open = express.Router();
  open.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  open.get('/health/ready', (_req, res) => {
    const report = ctx.registry.readiness();
    res.status(report.ready ? 200 : 503).json(report);
  });
  open.get('/.well-known/authzen-configuration', (_req, res) => {
    res.json(configuration(ctx.baseUrl));
  });
  open.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });

  const guarded = express.Router();
  guarded.use(['/v1/profiles', '/metrics'], (req, _res, next) => {
    ctx.auth.requireCaller(req);
    next();
  });
  guarded.get('/v1/profiles', (_req, res) => {
    const snapshot = ctx.registry.current;
    const profiles = snapshot.ids.map((id) => {
      const p = snapshot.profiles.get(id)!;
      const { title, extends: chain } = p.toJSON() as { title: string; extends: string[] };
      return { id, title, version: p.version, digest: p.digest, extends: chain, rules: p.rules.length, waivers: p.waivers.length };
    });
    res.json({ generation: snapshot.generation, loaded_at: snapshot.loadedAt || null, profiles });
  });
  guarded.get('/v1/profiles/:id', (req, res) => {
    const profile = profileOf(ctx, req);
    const etag = `"${profile.digest}"`;
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.json(profile.toJSON());
  });
  guarded.get('/v1/profiles/:id/metadata', (req, res) => {
    const profile = profileOf(ctx, req);
    res.json(profile.metadata(issuerOf(req.query.issuer)));
  });
  guarded.get('/metrics', (_req, res) => {
    const ready = ctx.registry.readiness();
    const body = ctx.metrics.render({
      profiles: ctx.registry.current.ids.length,
      generation: ready.generation,
      ready: ready.ready,
      sources: ready.sources,
      logDropped: ctx.decisionLog.dropped(),
    });
    res.type('text/plain; version=0.0.4; charset=utf-8').send(body);
  });

  app.use(open, guarded);
  app.all(['/health', '/health/ready', '/.well-known/authzen-configuration', '/openapi.json', '/v1/profiles', '/v1/profiles/:id', '/v1/profiles/:id/metadata', '/metrics'], () => {
    throw methodNotAllowed('GET, HEAD');
  });
  app.use((req) => {
    throw notFound(`no route ${req.method} ${quote(req.path)}`);
  });
  app.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    void next;
    const error = fromExpress(err);
    if (error.status >= 500) ctx.log.error({ path: printable(req.path, 64) }, `request failed: ${(err as Error)?.message ?? String(err)}`);
    ctx.metrics.requestError(error.status);
    sendError(res, error, 'native');
  });
  return app;
}

function profileOf(ctx: PdpContext, req: Request) {
  const id = String(req.params.id);
  const profile = PROFILE_ID.test(id) ? ctx.registry.current.profiles.get(id) : undefined;
  if (!profile) throw new HttpError(404, 'unknown_profile', `unknown profile ${quote(id)} (loaded: ${ctx.registry.current.ids.join(', ') || 'none'})`);
  return profile;
}

/**
 * RFC 8414 §2: an https URL without query or fragment, not even an empty one. The value is
 * returned as given, so it is checked as written: the URL parser would drop surrounding spaces,
 * tabs and line breaks and supply a missing '//'.
 */
const ISSUER_TEXT = /^https:\/\/[\x21-\x7e]+$/;

function issuerOf(value: unknown): string {
  if (typeof value !== 'string' || !value) throw badRequest('query parameter issuer is required (an https URL)', '/issuer');
  if (value.length > 2048 || !ISSUER_TEXT.test(value) || value.includes('?') || value.includes('#')) {
    throw badRequest('issuer must be an https URL without query or fragment (RFC 8414 §2)', '/issuer');
  }
  if (!URL.canParse(value)) throw badRequest(`issuer ${quote(value)} is not a URL`, '/issuer');
  return value;
}

/** Express and its body-less parsers raise errors with a `status`; anything else is internal. */
function fromExpress(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const status = (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, 'invalid_request', 'malformed request');
  return toHttpError(err);
}
