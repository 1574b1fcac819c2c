/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592). Metadata is judged by
 * client-registration.ts (shape, the profile the client chooses, its keys measured, the profile's
 * `registration` stage), and enforced here. The registration access token is shown once and
 * stored only as a hash.
 */
import { findClient, type ClientMetadata, type RegisteredClient } from '../clients.js';
import { judgeRegistration, withJudgedMetadata, type Judgement } from '../client-registration.js';
import type { AsContext } from '../context.js';
import { OAuthError } from '../errors.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { bearerToken, isOneOf, readJsonObject, sameHash, segmentAfter } from '../http.js';
import { PATHS } from '../options.js';
import { sendEmpty, sendJson } from '../respond.js';
import { whyNotServed } from '../served.js';
import { shadowProfileId } from '../shadow.js';
import { credentialHash, randomCredential } from '../steps/credentials.js';

const invalidMetadata = (description: string) => new OAuthError('invalid_client_metadata', description);

/**
 * RFC 7591 §3: an initial access token, unless registration is open (loopback-only or development
 * mode). A resource server sees other clients' tokens at introspection, so registering one always
 * takes an initial access token, open registration or not.
 */
function requireInitialAccessToken(x: Exchange, body: Record<string, unknown>): void {
  if (isOneOf(bearerToken(x.req), x.ctx.config.initialAccessTokens)) return;
  const why = body.fapi_role === 'resource_server' ? 'registering a resource server (fapi_role) needs' : x.ctx.config.openRegistration ? undefined : 'registration needs';
  if (why) throw new OAuthError('invalid_token', `${why} an initial access token (Authorization: Bearer)`, 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

/** The judgement (client-registration.ts), enforced: the chosen profiles become the request's. */
async function judge(x: Exchange, body: Record<string, unknown>): Promise<Judgement> {
  const setting = { snapshot: x.snapshot, defaultProfile: x.ctx.config.defaultProfile, issuer: x.ctx.config.issuer, now: x.now, notServed: (id: string) => whyNotServed(x.ctx, x.snapshot, id) };
  return judgeRegistration(body, setting, (profile, facts) => {
    x.profile = profile;
    x.shadow = shadowProfileId(x.ctx.config, facts.client as ClientMetadata);
    return enforce(x, 'registration', facts);
  });
}

function view(x: Exchange, client: RegisteredClient, token?: string): Record<string, unknown> {
  return {
    ...client.metadata,
    client_id: client.client_id,
    client_id_issued_at: client.client_id_issued_at,
    registration_client_uri: `${x.ctx.config.urls.registration}/${client.client_id}`,
    ...(token ? { registration_access_token: token } : {}),
  };
}

export function registerEndpoint(ctx: AsContext) {
  return endpoint(ctx, 'registration', 'api', async (x) => {
    const body = await readJsonObject(x.req);
    requireInitialAccessToken(x, body);
    const { metadata, fetched } = await judge(x, body);
    const token = randomCredential();
    const client: RegisteredClient = {
      client_id: randomCredential().slice(0, 22), client_id_issued_at: x.now, metadata, registration_token_hash: credentialHash(token),
      ...(fetched ? { fetched_jwks: fetched } : {}),
    };
    await ctx.store.set('client', client.client_id, client, 0);
    x.client = client;
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 201, view(x, client, token));
  });
}

/** RFC 7592 §2: the client's registration access token opens its record, and only its record. */
async function managed(x: Exchange): Promise<RegisteredClient> {
  const token = bearerToken(x.req);
  const client = await findClient(x, segmentAfter(x.req, PATHS.registration));
  if (!token || !client || !sameHash(credentialHash(token), client.registration_token_hash)) {
    throw new OAuthError('invalid_token', 'the registration access token is missing, wrong, or not this client\'s', 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  }
  x.client = client;
  return client;
}

export function readRegistration(ctx: AsContext) {
  return endpoint(ctx, 'registration', 'api', async (x) => {
    const client = await managed(x);
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 200, view(x, client));
  });
}

export function updateRegistration(ctx: AsContext) {
  return endpoint(ctx, 'registration', 'api', async (x) => {
    const client = await managed(x);
    const body = await readJsonObject(x.req);
    if (body.client_id !== client.client_id) throw invalidMetadata('the body must carry this client\'s client_id (RFC 7592 section 2.2)');
    const { client_id: _id, registration_access_token: _t, registration_client_uri: _u, client_id_issued_at: _at, ...rest } = body;
    if (rest.fapi_role === 'resource_server' && client.metadata.fapi_role !== 'resource_server') {
      throw invalidMetadata('a client cannot make itself a resource server; register the resource server with an initial access token');
    }
    const updated = withJudgedMetadata(client, await judge(x, rest));
    await ctx.store.set('client', client.client_id, updated, 0);
    x.res.setHeader('Cache-Control', 'no-store');
    sendJson(x.res, 200, view(x, updated));
  });
}

export function deleteRegistration(ctx: AsContext) {
  return endpoint(ctx, 'registration', 'api', async (x) => {
    const client = await managed(x);
    await ctx.store.delete('client', client.client_id);
    sendEmpty(x.res, 204);
  });
}
