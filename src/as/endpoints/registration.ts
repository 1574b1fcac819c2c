/**
 * Dynamic client registration (RFC 7591) and its management (RFC 7592). Metadata is checked for
 * shape here and judged by the `registration` stage of the profile the client chooses
 * (`fapi_profile`, else the server default), with the client's keys measured. The registration
 * access token is shown once and stored only as a hash.
 */
import { timingSafeEqual } from 'node:crypto';
import type { JWK } from 'jose';
import { measureKey, JwkError } from '../../crypto/jwk.js';
import { decodeJwt, JwtFormatError } from '../../crypto/jws.js';
import { findClient, type ClientMetadata, type RegisteredClient } from '../clients.js';
import { checkClientMetadata } from '../client-metadata.js';
import type { AsContext } from '../context.js';
import { OAuthError } from '../errors.js';
import { endpoint, enforce, type Exchange } from '../exchange.js';
import { authorizationHeader, readJsonObject, segmentAfter } from '../http.js';
import { PATHS } from '../options.js';
import { sendEmpty, sendJson } from '../respond.js';
import { jwtFacts } from '../facts/jwt.js';
import { servable } from '../servable.js';
import { credentialHash, randomCredential } from '../steps/credentials.js';

const invalidMetadata = (description: string) => new OAuthError('invalid_client_metadata', description);

function bearer(x: Exchange): string | undefined {
  const header = authorizationHeader(x.req);
  return header && header.scheme.toLowerCase() === 'bearer' ? header.credentials : undefined;
}

/** Compares hashes, so the comparison takes the same time whatever the lengths. */
function sameHash(a: string, b: string): boolean {
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function hasInitialAccessToken(x: Exchange): boolean {
  const token = bearer(x);
  return !!token && x.ctx.config.initialAccessTokens.some((t) => sameHash(credentialHash(t), credentialHash(token)));
}

/**
 * RFC 7591 §3: an initial access token, unless registration is open (loopback-only or development
 * mode). A resource server sees other clients' tokens at introspection, so registering one always
 * takes an initial access token, open registration or not.
 */
function requireInitialAccessToken(x: Exchange, body: Record<string, unknown>): void {
  if (hasInitialAccessToken(x)) return;
  const why = body.fapi_role === 'resource_server' ? 'registering a resource server (fapi_role) needs' : x.ctx.config.openRegistration ? undefined : 'registration needs';
  if (why) throw new OAuthError('invalid_token', `${why} an initial access token (Authorization: Bearer)`, 401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
}

/** Shape, profile choice, keys, and the profile's verdict; returns the metadata to record. */
async function judge(x: Exchange, body: Record<string, unknown>): Promise<{ metadata: ClientMetadata; fetched?: { keys: unknown[] } }> {
  const checked = checkClientMetadata(body);
  if ('problem' in checked) throw new OAuthError(checked.redirect ? 'invalid_redirect_uri' : 'invalid_client_metadata', checked.problem);
  const metadata = checked.metadata as ClientMetadata;
  const profileId = metadata.fapi_profile ?? x.ctx.config.defaultProfile;
  const profile = x.snapshot.profiles.get(profileId);
  if (!profile) throw invalidMetadata(`fapi_profile '${profileId}' is not loaded on this server (loaded: ${x.snapshot.ids.join(', ')})`);
  const reason = servable(profile);
  if (reason) throw invalidMetadata(`fapi_profile '${profileId}' cannot be served: ${reason}`);
  x.profile = profile;
  const fetched = metadata.jwks_uri ? await fetchJwks(metadata.jwks_uri) : undefined;
  const keys = (metadata.jwks?.keys ?? fetched?.keys ?? []) as JWK[];
  enforce(x, 'registration', {
    time: x.now,
    issuer: x.ctx.config.issuer,
    client: metadata,
    keys: keys.map(measured),
    ...(metadata.software_statement ? { software_statement: softwareStatement(metadata.software_statement) } : {}),
  });
  return { metadata, ...(fetched ? { fetched } : {}) };
}

function measured(key: JWK) {
  try {
    return measureKey(key);
  } catch (e) {
    if (e instanceof JwkError) throw invalidMetadata(`jwks: ${e.message}`);
    throw e;
  }
}

/** No software statement issuer is trusted here: its signature counts as unverified. */
function softwareStatement(compact: string) {
  try {
    return jwtFacts(decodeJwt(compact), false);
  } catch (e) {
    if (e instanceof JwtFormatError) throw new OAuthError('invalid_software_statement', `software_statement: ${e.message}`);
    throw e;
  }
}

/** A client's jwks_uri: https only, bounded in time and size. */
async function fetchJwks(uri: string): Promise<{ keys: unknown[] }> {
  if (!/^https:\/\//i.test(uri)) throw invalidMetadata('jwks_uri must be an https URL');
  try {
    const response = await fetch(uri, { redirect: 'error', signal: AbortSignal.timeout(5000), headers: { Accept: 'application/json, application/jwk-set+json' } });
    const text = await response.text();
    if (!response.ok || text.length > 64 * 1024) throw new Error(`HTTP ${response.status}`);
    const data = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(data.keys) || data.keys.length > 50) throw new Error('not a JWK set');
    return { keys: data.keys };
  } catch (e) {
    throw invalidMetadata(`jwks_uri could not be used: ${(e as Error).message.slice(0, 100)}`);
  }
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
  const token = bearer(x);
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
    const { metadata, fetched } = await judge(x, rest);
    const updated: RegisteredClient = { ...client, metadata, ...(fetched ? { fetched_jwks: fetched } : {}) };
    if (!fetched) delete updated.fetched_jwks;
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
