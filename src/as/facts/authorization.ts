/** Facts of the `authorization` stage: a request at the authorization endpoint and the pushed request it refers to. */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { Params } from '../http.js';
import type { PushedRequest } from '../steps/pushed-requests.js';

export interface PushedLookup {
  /** The request_uri named one; absent when the request named none. */
  named: boolean;
  pushed?: PushedRequest;
  /** A code was already issued from it. */
  usedBefore?: boolean;
}

export function authorizationFacts(x: Exchange, client: RegisteredClient | undefined, query: Params, lookup: PushedLookup, time = x.now): Record<string, unknown> {
  const { pushed } = lookup;
  return {
    time,
    issuer: x.ctx.config.issuer,
    ...(client ? { client: clientFacts(client) } : {}),
    // Pushed parameters are the request (RFC 9126 §4); without PAR the query is all there is.
    params: pushed ? pushed.params : query,
    query_parameters: Object.keys(query),
    request_object_used: false,
    ...(lookup.named ? { pushed_request: pushed
      ? { found: true, client_id: pushed.client_id, issued_at: pushed.issued_at, expires_at: pushed.expires_at, used_before: lookup.usedBefore ?? false }
      : { found: false } } : {}),
    http_method: x.req.method,
  };
}
