/**
 * Discovery (RFC 8414, OpenID Connect Discovery 1.0) and the key set. Each servable profile has
 * its own document — its metadata() with the server's endpoints, narrowed to the algorithms the
 * server has keys for — served at `?profile=<id>` once that profile's `discovery` stage accepts it.
 * The plain document advertises what at least one served profile allows (served.ts): lists are
 * merged (the default profile's values first), a `require_*` flag holds only when every profile
 * requires it, a `*_supported` flag when any supports it. No single profile judges that merged
 * document; each client is held to its own profile's reading of it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledProfile } from '../../engine/compiled-profile.js';
import type { AsContext, ProfileSnapshot } from '../context.js';
import { OAuthError, sendOAuthError } from '../errors.js';
import { queryParams } from '../http.js';
import type { SigningKeys } from '../keys.js';
import { sendJson } from '../respond.js';
import { servedSet, whyNotServed } from '../served.js';
import { IMPLEMENTED_RESPONSE_MODES } from '../steps/authorization-response.js';
import { IMPLEMENTED_GRANT_TYPES } from '../steps/tokens.js';

const SCOPES_SUPPORTED = ['openid', 'profile', 'email', 'offline_access', 'accounts'];

/** Members naming algorithms the server signs with: only those it has a key for are advertised. */
const SIGNED_BY_SERVER = ['id_token_signing_alg_values_supported', 'authorization_signing_alg_values_supported', 'introspection_signing_alg_values_supported'];

function discoveryDocument(ctx: AsContext, profile: CompiledProfile, keys: SigningKeys): Record<string, unknown> {
  const u = ctx.config.urls;
  const derived = profile.metadata(ctx.config.issuer, {
    authorization_endpoint: u.authorization,
    token_endpoint: u.token,
    pushed_authorization_request_endpoint: u.par,
    jwks_uri: u.jwks,
    introspection_endpoint: u.introspection,
    revocation_endpoint: u.revocation,
    userinfo_endpoint: u.userinfo,
    registration_endpoint: u.registration,
    scopes_supported: SCOPES_SUPPORTED,
    subject_types_supported: ['public'],
  });
  const document: Record<string, unknown> = {
    ...derived,
    response_modes_supported: (derived.response_modes_supported as string[]).filter((m) => (IMPLEMENTED_RESPONSE_MODES as readonly string[]).includes(m)),
    ...(Array.isArray(derived.grant_types_supported) ? { grant_types_supported: (derived.grant_types_supported as string[]).filter((g) => IMPLEMENTED_GRANT_TYPES.includes(g)) } : {}),
    // Request objects by value (RFC 9101); by reference only as this server's pushed request_uris.
    request_parameter_supported: true,
    request_uri_parameter_supported: false,
    claims_parameter_supported: true,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'name', 'email'],
    acr_values_supported: [...ctx.config.acrValues],
  };
  for (const member of SIGNED_BY_SERVER) {
    const list = document[member];
    if (Array.isArray(list)) document[member] = list.filter((alg) => keys.has(alg as string));
  }
  return document;
}

/** Merges documents: the first's order, the others' extra list members after; flags by their meaning. */
function merged(documents: readonly Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...documents[0] };
  for (const doc of documents.slice(1)) {
    for (const [member, value] of Object.entries(doc)) {
      const mine = out[member];
      if (Array.isArray(value)) out[member] = [...new Set([...(Array.isArray(mine) ? mine : []), ...value])];
      else if (typeof value === 'boolean') out[member] = member.startsWith('require_') ? mine === true && value : mine === true || value;
      else if (mine === undefined) out[member] = value;
    }
  }
  return out;
}

const cache = new WeakMap<ProfileSnapshot, { keys: SigningKeys; documents: Map<string, Record<string, unknown>> }>();

/** A document computed once per snapshot and key set. */
function cached(ctx: AsContext, snapshot: ProfileSnapshot, key: string, make: (keys: SigningKeys) => Record<string, unknown>): Record<string, unknown> {
  const keys = ctx.keys();
  let entry = cache.get(snapshot);
  if (!entry || entry.keys !== keys) {
    entry = { keys, documents: new Map() };
    cache.set(snapshot, entry);
  }
  let document = entry.documents.get(key);
  if (!document) {
    document = make(keys);
    entry.documents.set(key, document);
  }
  return document;
}

/** The document the server would publish for one profile (served or not: served.ts judges it). */
export function profileDocument(ctx: AsContext, snapshot: ProfileSnapshot, profile: CompiledProfile): Record<string, unknown> {
  return cached(ctx, snapshot, `profile:${profile.id}`, (keys) => discoveryDocument(ctx, profile, keys));
}

/** The document of a served profile, or without one the merged document of all served profiles. */
function currentDocument(ctx: AsContext, snapshot: ProfileSnapshot, profileId?: string): Record<string, unknown> | undefined {
  const served = servedSet(ctx, snapshot).profiles;
  const chosen = profileId === undefined ? served : served.filter((p) => p.id === profileId);
  if (!chosen.length) return undefined;
  return cached(ctx, snapshot, profileId === undefined ? 'merged' : `served:${profileId}`, () => merged(chosen.map((p) => profileDocument(ctx, snapshot, p))));
}

export function discoveryEndpoint(ctx: AsContext) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const { profile } = queryParams(req);
    const snapshot = ctx.profiles();
    const document = currentDocument(ctx, snapshot, profile);
    if (!document) {
      const id = String(profile).slice(0, 64).replace(/[^\x20-\x7e]/g, '?');
      const why = profile === undefined ? undefined : whyNotServed(ctx, snapshot, profile);
      sendOAuthError(res, new OAuthError('invalid_request', why ? `profile '${id}' is loaded but not served here: ${why.slice(0, 600)}` : `no profile '${id}' is served here`, 404));
      return;
    }
    res.setHeader('Cache-Control', 'public, max-age=60');
    sendJson(res, 200, document);
  };
}

export function jwksEndpoint(ctx: AsContext) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    sendJson(res, 200, ctx.keys().jwks, 'application/jwk-set+json');
  };
}
