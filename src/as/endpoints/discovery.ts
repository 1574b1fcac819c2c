/**
 * Discovery (RFC 8414, OpenID Connect Discovery 1.0) and the key set. The document is the default
 * profile's metadata() with the server's endpoints, narrowed to what this server implements and
 * has keys for, and it is checked by that profile's `discovery` stage before it is ever served:
 * at start-up (the server refuses to start) and for every new profile set (it refuses the set).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../respond.js';
import type { CompiledProfile } from '../../engine/compiled-profile.js';
import type { AsContext, ProfileSnapshot } from '../context.js';
import type { SigningKeys } from '../keys.js';
import { IMPLEMENTED_RESPONSE_MODES } from '../steps/authorization-response.js';

export const SCOPES_SUPPORTED = ['openid', 'profile', 'email', 'offline_access', 'accounts'];

export function discoveryDocument(ctx: AsContext, profile: CompiledProfile, keys: SigningKeys): Record<string, unknown> {
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
  const signable = (list: unknown) => (Array.isArray(list) ? list.filter((alg) => keys.has(alg as string)) : list);
  const {
    authorization_signing_alg_values_supported: _jarm, introspection_signing_alg_values_supported: _signedIntrospection,
    id_token_encryption_alg_values_supported: _enc, id_token_encryption_enc_values_supported: _encEnc, ...kept
  } = derived;
  return {
    ...kept,
    response_modes_supported: (derived.response_modes_supported as string[]).filter((m) => (IMPLEMENTED_RESPONSE_MODES as readonly string[]).includes(m)),
    id_token_signing_alg_values_supported: signable(derived.id_token_signing_alg_values_supported),
    // Request objects come with the signed-messages support; until then the server takes none.
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    claims_parameter_supported: false,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'name', 'email'],
  };
}

const cache = new WeakMap<ProfileSnapshot, { keys: SigningKeys; document: Record<string, unknown> }>();

/** The served document for a snapshot (computed once per snapshot and key set). */
export function currentDocument(ctx: AsContext, snapshot: ProfileSnapshot): Record<string, unknown> {
  const keys = ctx.keys();
  const cached = cache.get(snapshot);
  if (cached && cached.keys === keys) return cached.document;
  const profile = snapshot.profiles.get(ctx.config.defaultProfile);
  if (!profile) throw new Error(`the default profile '${ctx.config.defaultProfile}' is not loaded`);
  const document = discoveryDocument(ctx, profile, keys);
  cache.set(snapshot, { keys, document });
  return document;
}

/** What the profile's discovery stage says of the document; the list of violations, empty when allowed. */
export function discoveryProblems(ctx: AsContext, snapshot: ProfileSnapshot): string[] {
  const profile = snapshot.profiles.get(ctx.config.defaultProfile);
  if (!profile) return [`the default profile '${ctx.config.defaultProfile}' is not loaded`];
  const decision = profile.evaluate('discovery', { metadata: currentDocument(ctx, snapshot), requested_issuer: ctx.config.issuer });
  return decision.violations.map((v) => `${v.rule} [${v.clause}]: ${v.message}`);
}

export function discoveryEndpoint(ctx: AsContext) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    sendJson(res, 200, currentDocument(ctx, ctx.profiles()));
  };
}

export function jwksEndpoint(ctx: AsContext) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Cache-Control', 'public, max-age=60');
    sendJson(res, 200, ctx.keys().jwks, 'application/jwk-set+json');
  };
}
