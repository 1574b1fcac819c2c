/**
 * The sample protected resource (GET /api/accounts) and the UserInfo endpoint (OpenID Connect Core
 * §5.3). Both accept only what the profile accepts for the token presented: its binding proven,
 * in the header, active. The resource echoes x-fapi-interaction-id (one is made when absent).
 */
import { randomUUID } from 'node:crypto';
import type { AsContext } from '../context.js';
import { OAuthError } from '../errors.js';
import { endpoint, type Exchange } from '../exchange.js';
import { sendJson } from '../respond.js';
import { authorizeResourceRequest } from '../steps/access-token.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function accountsEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'resource', 'resource', async (x: Exchange) => {
    const interactionId = x.req.headers['x-fapi-interaction-id'];
    x.res.setHeader('x-fapi-interaction-id', typeof interactionId === 'string' && UUID.test(interactionId) ? interactionId : randomUUID());
    const { record } = await authorizeResourceRequest(x, ctx.config.urls.accounts);
    const user = record.sub ? ctx.users.bySub(record.sub) : undefined;
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 200, { data: { accounts: user?.accounts ?? [] }, meta: { client_id: record.client_id, scope: record.scope } });
  });
}

export function userinfoEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'userinfo', 'resource', async (x: Exchange) => {
    const { record } = await authorizeResourceRequest(x, ctx.config.urls.userinfo);
    const scopes = new Set(record.scope.split(' '));
    const user = record.sub ? ctx.users.bySub(record.sub) : undefined;
    if (!user || !scopes.has('openid')) throw new OAuthError('insufficient_scope', 'the access token was not issued for OpenID Connect (scope openid)', 403);
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 200, {
      sub: user.sub,
      ...(scopes.has('profile') ? { name: user.name } : {}),
      ...(scopes.has('email') ? { email: user.email } : {}),
    });
  });
}
