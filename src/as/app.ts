/** The authorization server's routes: each endpoint is a pipeline module in endpoints/. */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { AsContext } from './context.js';
import { asOAuthError } from './exchange.js';
import { OAuthError, sendOAuthError } from './errors.js';
import { PATHS } from './options.js';
import { authorizationEndpoint } from './endpoints/authorize.js';
import { discoveryEndpoint, jwksEndpoint } from './endpoints/discovery.js';
import { interactionPage, interactionSubmit } from './endpoints/interaction.js';
import { introspectionEndpoint, revocationEndpoint } from './endpoints/introspection.js';
import { parEndpoint } from './endpoints/par.js';
import { deleteRegistration, readRegistration, registerEndpoint, updateRegistration } from './endpoints/registration.js';
import { accountsEndpoint, userinfoEndpoint } from './endpoints/resource.js';
import { tokenEndpoint } from './endpoints/token.js';

/** RFC 6797: every answer tells browsers to use HTTPS only (FAPI 2.0 SP §5.2.3-1). */
const HSTS = 'max-age=31536000';

export function createAsApp(ctx: AsContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.use((_req, res, next) => {
    res.setHeader('Strict-Transport-Security', HSTS);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });

  app.get([PATHS.discovery, PATHS.oauthDiscovery], discoveryEndpoint(ctx));
  app.get(PATHS.jwks, jwksEndpoint(ctx));
  app.post(PATHS.registration, registerEndpoint(ctx));
  app.get(`${PATHS.registration}/:client_id`, readRegistration(ctx));
  app.put(`${PATHS.registration}/:client_id`, updateRegistration(ctx));
  app.delete(`${PATHS.registration}/:client_id`, deleteRegistration(ctx));
  app.all(PATHS.par, parEndpoint(ctx));
  app.all(PATHS.authorization, authorizationEndpoint(ctx));
  app.get(`${PATHS.interaction}/:id`, interactionPage(ctx));
  app.post(`${PATHS.interaction}/:id`, interactionSubmit(ctx));
  app.all(PATHS.token, tokenEndpoint(ctx));
  app.all(PATHS.introspection, introspectionEndpoint(ctx));
  app.all(PATHS.revocation, revocationEndpoint(ctx));
  app.get(PATHS.userinfo, userinfoEndpoint(ctx));
  app.post(PATHS.userinfo, userinfoEndpoint(ctx));
  app.get(PATHS.accounts, accountsEndpoint(ctx));

  app.use((req: Request, res: Response) => {
    sendOAuthError(res, new OAuthError('invalid_request', `no endpoint ${req.method} ${req.path.slice(0, 64).replace(/[^\x20-\x7e]/g, '?')}`, 404));
  });
  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    void next;
    sendOAuthError(res, asOAuthError(err, ctx, 'app'));
  });
  return app;
}
