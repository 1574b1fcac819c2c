/**
 * The sample protected resource (GET /api/accounts) and the UserInfo endpoint (OpenID Connect Core
 * §5.3). Both accept only what the profile accepts for the token presented: its binding proven,
 * in the header, active. The resource echoes x-fapi-interaction-id (one is made when absent), and
 * answers a client that signs its requests (RFC 9421) with signed responses.
 */
import { randomUUID } from 'node:crypto';
import type { AsContext } from '../context.js';
import { OAuthError } from '../errors.js';
import { endpoint, type Exchange } from '../exchange.js';
import { sendJson, sendText } from '../respond.js';
import { JSON_MAX_BYTES, parseJson, readBody, requireMediaType } from '../http.js';
import { signResponse, wantsSignedResponse } from '../steps/http-signature.js';
import { authorizeResourceRequest, type AuthorizedRequest } from '../steps/access-token.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** x-fapi-interaction-id echoed, or made when absent (FAPI 1.0 Part 1 §6.2.1-11). */
function interactionId(x: Exchange): void {
  const sent = x.req.headers['x-fapi-interaction-id'];
  x.res.setHeader('x-fapi-interaction-id', typeof sent === 'string' && UUID.test(sent) ? sent : randomUUID());
}

/** Answers a resource request, signed (RFC 9421) when the client signs its requests. */
async function answer(x: Exchange, authorized: AuthorizedRequest, status: number, body: unknown): Promise<void> {
  const text = JSON.stringify(body);
  x.res.setHeader('Cache-Control', 'no-store');
  if (wantsSignedResponse(authorized.client, authorized.signed)) {
    for (const [name, value] of Object.entries(await signResponse(x, authorized.signed, status, text))) x.res.setHeader(name, value);
  }
  sendText(x.res, status, text, 'application/json');
}

export function accountsEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'resource', 'resource', async (x: Exchange) => {
    interactionId(x);
    const authorized = await authorizeResourceRequest(x, ctx.config.urls.accounts);
    const { record } = authorized;
    const user = record.sub ? ctx.users.bySub(record.sub) : undefined;
    await answer(x, authorized, 200, { data: { accounts: user?.accounts ?? [] }, meta: { client_id: record.client_id, scope: record.scope } });
  });
}

/** A sample write (POST /api/payments): a JSON body, so signed requests cover a Content-Digest. Nothing is stored. */
export function paymentsEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'resource', 'resource', async (x: Exchange) => {
    interactionId(x);
    requireMediaType(x.req, 'application/json', 'send the payment as application/json');
    const body = await readBody(x.req, JSON_MAX_BYTES);
    const authorized = await authorizeResourceRequest(x, ctx.config.urls.payments, body);
    const payment = parseJson(body.toString('utf8'));
    await answer(x, authorized, 201, { data: { payment_id: randomUUID(), status: 'AcceptedSettlementInProcess', initiation: payment }, meta: { client_id: authorized.record.client_id } });
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
