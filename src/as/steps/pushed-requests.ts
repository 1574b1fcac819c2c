/**
 * Pushed requests (RFC 9126 §2.2): kept under a random request_uri for the lifetime the profile
 * allows, and past it for a while longer, so a late or repeated use is told apart from an unknown
 * request_uri and refused with the right rule. A pushed request is used up when a code is issued
 * from it (single use), not when the authorization endpoint is first visited.
 */
import type { RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import { randomCredential } from './credentials.js';

export const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

/** How long past expiry a pushed request is remembered, to name a late use correctly. */
const GRACE_SECONDS = 600;

export interface PushedRequest {
  request_uri: string;
  client_id: string;
  params: Record<string, unknown>;
  /** The parameters came from a signed request object. */
  request_object_used: boolean;
  /** The key a code issued from this request is bound to (dpop_jkt, or the PAR proof's key). */
  dpop_jkt?: string;
  issued_at: number;
  expires_at: number;
}

/** The lifetime of request_uris: the server's preference, never above the profile's maximum. */
export function requestUriLifetime(x: Exchange): number {
  const max = (x.profile.settings.par as { request_uri_lifetime: number }).request_uri_lifetime;
  return Math.min(x.ctx.config.requestUriLifetime, max);
}

export async function pushRequest(x: Exchange, client: RegisteredClient, params: Record<string, unknown>, signed: boolean, proofJkt: string | undefined): Promise<PushedRequest & { expires_in: number }> {
  const lifetime = requestUriLifetime(x);
  const requestUri = `${REQUEST_URI_PREFIX}${randomCredential()}`;
  const dpopJkt = typeof params.dpop_jkt === 'string' ? params.dpop_jkt : proofJkt;
  const pushed: PushedRequest = {
    request_uri: requestUri, client_id: client.client_id, params, request_object_used: signed, issued_at: x.now, expires_at: x.now + lifetime,
    ...(dpopJkt ? { dpop_jkt: dpopJkt } : {}),
  };
  await x.ctx.store.set('pushed_request', requestUri, pushed, lifetime + GRACE_SECONDS);
  return { ...pushed, expires_in: lifetime };
}

/** The pushed request a request_uri names, and whether a code was already issued from it. */
export function findPushedRequest(x: Exchange, requestUri: string | undefined): Promise<{ value: PushedRequest; consumed: boolean } | undefined> {
  if (!requestUri || !requestUri.startsWith(REQUEST_URI_PREFIX) || requestUri.length > 256) return Promise.resolve(undefined);
  return x.ctx.store.peek<PushedRequest>('pushed_request', requestUri);
}

/** Uses the pushed request up (atomically); `replayed` when a code was already issued from it. */
export async function consumePushedRequest(x: Exchange, requestUri: string): Promise<{ pushed: PushedRequest; replayed: boolean } | undefined> {
  const consumed = await x.ctx.store.consume<PushedRequest>('pushed_request', requestUri);
  return consumed && { pushed: consumed.value, replayed: consumed.replayed };
}
