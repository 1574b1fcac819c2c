/**
 * The authorization server's routes. The back-channel endpoints a FAPI flow hits on every
 * exchange (PAR, token, the resource, userinfo, introspection, revocation) are routed by a lean
 * node:http front, as the decision service's decision path is: Express costs more per request
 * than the decision itself (bench:as). Express routes the rest: discovery, keys, registration,
 * the authorization endpoint, the login pages and the metrics. Every endpoint is written against
 * node:http alone, so either router serves it the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { AsContext } from './context.js';
import { OAuthError, sendOAuthError } from './errors.js';
import { asOAuthError, type Handler } from './exchange.js';
import { pathOf } from './http.js';
import { PATHS } from './options.js';
import { authorizationEndpoint } from './endpoints/authorize.js';
import { discoveryEndpoint, jwksEndpoint } from './endpoints/discovery.js';
import { interactionPage, interactionSubmit } from './endpoints/interaction.js';
import { metricsEndpoint } from './endpoints/metrics.js';
import { introspectionEndpoint, revocationEndpoint } from './endpoints/introspection.js';
import { parEndpoint } from './endpoints/par.js';
import { deleteRegistration, readRegistration, registerEndpoint, updateRegistration } from './endpoints/registration.js';
import { accountsEndpoint, paymentsEndpoint, userinfoEndpoint } from './endpoints/resource.js';
import { tokenEndpoint } from './endpoints/token.js';

/** RFC 6797: every answer tells browsers to use HTTPS only (FAPI 2.0 SP §5.2.3-1). */
const HSTS = 'max-age=31536000';

function hotRoutes(ctx: AsContext): ReadonlyMap<string, { methods: readonly string[]; handle: Handler }> {
  const any = ['*'];
  return new Map([
    [PATHS.par, { methods: any, handle: parEndpoint(ctx) }],
    [PATHS.token, { methods: any, handle: tokenEndpoint(ctx) }],
    [PATHS.introspection, { methods: any, handle: introspectionEndpoint(ctx) }],
    [PATHS.revocation, { methods: any, handle: revocationEndpoint(ctx) }],
    [PATHS.userinfo, { methods: ['GET', 'POST'], handle: userinfoEndpoint(ctx) }],
    [PATHS.accounts, { methods: ['GET'], handle: accountsEndpoint(ctx) }],
    [PATHS.payments, { methods: ['POST'], handle: paymentsEndpoint(ctx) }],
  ]);
}

function createExpressApp(ctx: AsContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.get([PATHS.discovery, PATHS.oauthDiscovery], discoveryEndpoint(ctx));
  app.get(PATHS.jwks, jwksEndpoint(ctx));
  app.get(PATHS.metrics, metricsEndpoint(ctx));
  app.post(PATHS.registration, registerEndpoint(ctx));
  app.get(`${PATHS.registration}/:client_id`, readRegistration(ctx));
  app.put(`${PATHS.registration}/:client_id`, updateRegistration(ctx));
  app.delete(`${PATHS.registration}/:client_id`, deleteRegistration(ctx));
  app.all(PATHS.authorization, authorizationEndpoint(ctx));
  app.get(`${PATHS.interaction}/:id`, interactionPage(ctx));
  app.post(`${PATHS.interaction}/:id`, interactionSubmit(ctx));
  app.use((req: IncomingMessage, res: ServerResponse) => notFound(req, res));
  app.use((err: unknown, _req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => {
    void next;
    sendOAuthError(res, asOAuthError(err, ctx, 'app'));
  });
  return app;
}

function notFound(req: IncomingMessage, res: ServerResponse): void {
  sendOAuthError(res, new OAuthError('invalid_request', `no endpoint ${req.method ?? ''} ${pathOf(req).slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}`, 404));
}

/** The request listener of the HTTPS server: security headers, then the front or Express. */
export function createAsApp(ctx: AsContext): Handler {
  const hot = hotRoutes(ctx);
  const app = createExpressApp(ctx);
  return (req, res) => {
    res.setHeader('Strict-Transport-Security', HSTS);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    const route = hot.get(pathOf(req));
    if (!route) {
      app(req, res);
      return;
    }
    if (route.methods[0] !== '*' && !route.methods.includes(req.method ?? '')) {
      res.setHeader('Allow', route.methods.join(', '));
      sendOAuthError(res, new OAuthError('invalid_request', `use ${route.methods.join(' or ')}`, 405));
      return;
    }
    route.handle(req, res);
  };
}
