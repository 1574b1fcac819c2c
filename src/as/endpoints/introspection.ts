/**
 * Token introspection (RFC 7662) and revocation (RFC 7009). The caller authenticates like any
 * client; a client learns about, and may revoke, only tokens issued to itself (introspection
 * callers with a resource-server role come with the signed-messages work). Revoking a refresh
 * token ends its grant, and with it every access token of the grant (RFC 7009 §2.1).
 */
import type { AsContext } from '../context.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { readForm } from '../http.js';
import { sendEmpty, sendJson } from '../respond.js';
import { authenticateClient } from '../steps/authenticate-client.js';
import { credentialHash } from '../steps/credentials.js';
import { findAccessToken, findRefreshToken, grantActive, type AccessTokenRecord, type RefreshTokenRecord } from '../steps/tokens.js';

type Found = { kind: 'access_token'; record: AccessTokenRecord } | { kind: 'refresh_token'; record: RefreshTokenRecord };

async function findToken(x: Exchange, token: string | undefined, hint: string | undefined): Promise<Found | undefined> {
  if (!token || token.length > 512) return undefined;
  const order = hint === 'refresh_token' ? ['refresh_token', 'access_token'] : ['access_token', 'refresh_token'];
  for (const kind of order) {
    if (kind === 'access_token') {
      const record = await findAccessToken(x, token);
      if (record) return { kind, record };
    } else {
      const record = await findRefreshToken(x, token);
      if (record) return { kind: 'refresh_token', record };
    }
  }
  return undefined;
}

export function introspectionEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'introspection', 'api', async (x: Exchange) => {
    const form = await readForm(x.req);
    const client = await authenticateClient(x, form, 'introspection');
    enforce(x, 'introspection', {
      time: x.now, issuer: ctx.config.issuer,
      caller: { authenticated: true, client_id: client.client_id, role: 'client' },
      ...(typeof x.req.headers.accept === 'string' ? { accept: x.req.headers.accept.slice(0, 256) } : {}),
    });
    const found = await findToken(x, form.token, form.token_type_hint);
    const active = !!found && found.record.client_id === client.client_id && found.record.expires_at > x.now && (await grantActive(x, found.record.grant_id));
    x.res.setHeader('Cache-Control', 'no-store');
    if (!found || !active) {
      sendJson(x.res, 200, { active: false });
      return;
    }
    const r = found.record;
    sendJson(x.res, 200, {
      active: true, client_id: r.client_id, scope: r.scope, exp: r.expires_at, iat: r.issued_at, iss: ctx.config.issuer,
      token_type: found.kind === 'access_token' ? found.record.token_type : 'refresh_token',
      ...(r.sub ? { sub: r.sub } : {}),
      ...(found.kind === 'access_token' && found.record.cnf ? { cnf: found.record.cnf } : {}),
      ...(r.authorization_details !== undefined ? { authorization_details: r.authorization_details } : {}),
    });
  });
}

export function revocationEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'revocation', 'api', async (x: Exchange) => {
    const form = await readForm(x.req);
    const client = await authenticateClient(x, form, 'revocation');
    const found = await findToken(x, form.token, form.token_type_hint);
    // RFC 7009 §2.2: the answer is 200 whether or not the token was known (or the caller's).
    if (found && found.record.client_id === client.client_id) {
      if (found.kind === 'refresh_token') await ctx.store.delete('grant', found.record.grant_id);
      else await ctx.store.delete('access_token', credentialHash(form.token as string));
    }
    x.res.setHeader('Cache-Control', 'no-store');
    sendEmpty(x.res, 200);
  });
}
