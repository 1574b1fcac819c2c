/** Facts of the `authorization` stage: a request at the authorization endpoint, and the pushed request it names. */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { Params } from '../http.js';
import type { PushedRequest } from '../steps/pushed-requests.js';

/** An authorization request as the server reads it, whichever way it came. */
export interface AuthorizationRequest {
  /** The front-channel parameters as sent. */
  query: Params;
  /** The request: the pushed parameters (RFC 9126 §4), a request object's (RFC 9101 §6.3), or the query. */
  params: Record<string, unknown>;
  requestObjectUsed: boolean;
  /** When the query names a pushed request_uri: the pushed request (if any) and whether a code was issued from it. */
  pushed?: { request: PushedRequest | undefined; usedBefore: boolean };
}

export function authorizationFacts(x: Exchange, client: RegisteredClient | undefined, request: AuthorizationRequest, time = x.now): Record<string, unknown> {
  const pushed = request.pushed?.request;
  return {
    time,
    issuer: x.ctx.config.issuer,
    ...(client ? { client: clientFacts(client) } : {}),
    params: request.params,
    query_parameters: Object.keys(request.query),
    request_object_used: request.requestObjectUsed,
    ...(request.pushed ? { pushed_request: pushed
      ? { found: true, client_id: pushed.client_id, issued_at: pushed.issued_at, expires_at: pushed.expires_at, used_before: request.pushed.usedBefore }
      : { found: false } } : {}),
    http_method: x.req.method,
  };
}
