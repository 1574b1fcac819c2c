/**
 * Token introspection (RFC 7662) and revocation (RFC 7009). The caller authenticates like any
 * client; a resource server (registered with fapi_role) learns about any token, an ordinary client
 * only about its own, and a client may revoke only its own. The answer is a signed JWT (RFC 9701)
 * when the caller asks for one or the profile signs every answer. Revoking a refresh
 * token ends its grant, and with it every access token of the grant (RFC 7009 §2.1).
 */
import type { AsContext } from '../context.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { readForm } from '../http.js';
import { sendEmpty, sendJson, sendText } from '../respond.js';
import { OAuthError } from '../errors.js';
import type { RegisteredClient } from '../clients.js';
import { authenticateClient } from '../steps/authenticate-client.js';
import { credentialHash } from '../steps/credentials.js';
import { signingAlg } from '../steps/id-token.js';
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

/** RFC 9701 §4: the caller asks for a JWT with this media type anywhere in its Accept list. */
const WANTS_JWT = /(^|,)[ \t]*application\/token-introspection\+jwt[ \t]*(;|,|$)/i;

/**
 * Whether to answer with a signed JWT (asked for, or the profile signs every answer), and the
 * algorithm the caller registered. Without one, RFC 9701 §6 means RS256: the profile's rule applies
 * that default, and where the profile accepts the absence the server signs as it does ID tokens.
 */
function responseSigning(x: Exchange, client: RegisteredClient, accept: string | undefined): { response_signed: boolean; response_alg?: string } {
  const required = (x.profile.settings.introspection as { signed_response_required?: boolean } | undefined)?.signed_response_required === true;
  if (!required && !(accept && WANTS_JWT.test(accept))) return { response_signed: false };
  const registered = client.metadata.introspection_signed_response_alg;
  return { response_signed: true, ...(registered !== undefined ? { response_alg: registered } : {}) };
}

/** A resource server learns about any token; an ordinary client only about its own. */
function visibleTo(client: RegisteredClient, found: Found): boolean {
  return client.metadata.fapi_role === 'resource_server' || found.record.client_id === client.client_id;
}

function describe(x: Exchange, found: Found | undefined, active: boolean): Record<string, unknown> {
  if (!found || !active) return { active: false };
  const r = found.record;
  return {
    active: true, client_id: r.client_id, scope: r.scope, exp: r.expires_at, iat: r.issued_at, iss: x.ctx.config.issuer,
    token_type: found.kind === 'access_token' ? found.record.token_type : 'refresh_token',
    ...(r.sub ? { sub: r.sub } : {}),
    ...(found.kind === 'access_token' && found.record.cnf ? { cnf: found.record.cnf } : {}),
    ...(r.authorization_details !== undefined ? { authorization_details: r.authorization_details } : {}),
  };
}

/** RFC 9701 §5: the answer inside a JWT the AS signs, addressed to the caller. */
async function sendSigned(x: Exchange, client: RegisteredClient, registered: string | undefined, answer: Record<string, unknown>): Promise<void> {
  const alg = signingAlg(x, registered, (x.profile.settings.signing_algs as { introspection_response: string[] }).introspection_response);
  const keys = x.ctx.keys();
  if (alg === undefined || !keys.has(alg)) {
    throw new OAuthError('invalid_request', `the server has no key to sign introspection responses with ${alg ?? 'an algorithm this profile allows'}; register an introspection_signed_response_alg from introspection_signing_alg_values_supported`);
  }
  const { compact: jwt } = await keys.sign(alg, { iss: x.ctx.config.issuer, aud: client.client_id, iat: x.now, token_introspection: answer }, 'token-introspection+jwt');
  sendText(x.res, 200, jwt, 'application/token-introspection+jwt');
}

export function introspectionEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'introspection', 'api', async (x: Exchange) => {
    const form = await readForm(x.req);
    const client = await authenticateClient(x, form, 'introspection');
    const accept = typeof x.req.headers.accept === 'string' ? x.req.headers.accept.slice(0, 256) : undefined;
    const signing = responseSigning(x, client, accept);
    enforce(x, 'introspection', {
      time: x.now, issuer: ctx.config.issuer,
      caller: { authenticated: true, client_id: client.client_id, role: client.metadata.fapi_role ?? 'client' },
      ...(accept !== undefined ? { accept } : {}),
      ...signing,
    });
    const found = await findToken(x, form.token, form.token_type_hint);
    const active = !!found && visibleTo(client, found) && found.record.expires_at > x.now && (await grantActive(x, found.record.grant_id));
    x.res.setHeader('Cache-Control', 'no-store');
    const answer = describe(x, found, active);
    if (signing.response_signed) await sendSigned(x, client, signing.response_alg, answer);
    else sendJson(x.res, 200, answer);
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
