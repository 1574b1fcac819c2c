/**
 * Registered clients and the profile each is held to. A client names its profile with the
 * `fapi_profile` registration member, else it follows the server default; a client whose named
 * profile is no longer loaded is refused, never served under another profile.
 */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { OAuthError } from './errors.js';
import { whyNotServed } from './served.js';
import type { Exchange } from './exchange.js';
import { shadowProfileId } from './shadow.js';

/** Client metadata as registered (RFC 7591 names), the facts' `client`. */
export type ClientMetadata = Record<string, unknown> & {
  redirect_uris?: string[];
  token_endpoint_auth_method?: string;
  jwks?: { keys?: unknown[] };
  jwks_uri?: string;
  grant_types?: string[];
  scope?: string;
  client_name?: string;
  logo_uri?: string;
  fapi_profile?: string;
  /** Ours: `resource_server` lets the client introspect tokens issued to others (RFC 7662 §2.1). */
  fapi_role?: 'client' | 'resource_server';
  /** Ours: the client signs its resource requests (RFC 9421) and gets signed responses. */
  fapi_signed_resource_requests?: boolean;
  introspection_signed_response_alg?: string;
  /** The report-only profile its decisions are also evaluated under (shadow.ts). */
  fapi_shadow_profile?: string;
  dpop_bound_access_tokens?: boolean;
  tls_client_certificate_bound_access_tokens?: boolean;
  id_token_signed_response_alg?: string;
  software_statement?: string;
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_email?: string;
};

export interface RegisteredClient {
  client_id: string;
  client_id_issued_at: number;
  metadata: ClientMetadata;
  /** SHA-256 (base64url) of the registration access token (RFC 7592); the token itself is never stored. */
  registration_token_hash: string;
  /** Keys fetched from jwks_uri, when the client registered one. */
  fetched_jwks?: { keys: unknown[] };
}

export async function findClient(x: Exchange, clientId: string): Promise<RegisteredClient | undefined> {
  if (!clientId || clientId.length > 512) return undefined;
  return x.ctx.store.get<RegisteredClient>('client', clientId);
}

/**
 * The facts' view of a client at request stages: its registered metadata and its id, without the
 * key set. The keys were measured and judged at registration; at a request what counts is whether
 * a signature verified with them (the facts' signature_verified). Leaving them out keeps every
 * decision from re-validating a key set; a rule that did read them would see them missing and deny.
 */
export function clientFacts(client: RegisteredClient): Record<string, unknown> {
  const { jwks: _jwks, ...metadata } = client.metadata;
  return { ...metadata, client_id: client.client_id };
}

/** What every request stage after client authentication says first: when, to whom, by which client. */
export function authenticatedRequest(x: Exchange, client: RegisteredClient): Record<string, unknown> {
  return { time: x.now, issuer: x.ctx.config.issuer, client: clientFacts(client), client_authenticated: true };
}

/** The client's public keys: registered by value or fetched from its jwks_uri. */
export function clientKeys(client: RegisteredClient): unknown[] {
  return client.metadata.jwks?.keys ?? client.fetched_jwks?.keys ?? [];
}

/** The profile a client is held to, or a refusal naming why it cannot be served. */
function profileOfClient(x: Exchange, client: RegisteredClient): CompiledProfile {
  const id = client.metadata.fapi_profile ?? x.ctx.config.defaultProfile;
  const profile = x.snapshot.profiles.get(id);
  if (!profile) {
    throw new OAuthError('unauthorized_client', `client ${client.client_id} is held to profile '${id}', which is not loaded on this server; it is refused until that profile is loaded again or the client moves to another profile`, 400);
  }
  const why = whyNotServed(x.ctx, x.snapshot, id);
  if (why) throw new OAuthError('unauthorized_client', `client ${client.client_id} is held to profile '${id}', which this server cannot serve (${why.slice(0, 400)}); it is refused until it can, or the client moves to another profile`, 400);
  return profile;
}

/** Makes the client the request's subject: later decisions use its profile, and its shadow profile. */
export function adoptClient(x: Exchange, client: RegisteredClient): void {
  x.client = client;
  x.profile = profileOfClient(x, client);
  x.shadow = shadowProfileId(x.ctx.config, client.metadata);
}
