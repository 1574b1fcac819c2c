/** Facts of the `par` stage: a pushed authorization request (RFC 9126) after client authentication. */
import { authenticatedRequest, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { Params } from '../http.js';

export function parFacts(x: Exchange, client: RegisteredClient, params: Record<string, unknown>, form: Params, requestObjectUsed: boolean, proofJkt: string | undefined): Record<string, unknown> {
  return {
    ...authenticatedRequest(x, client),
    params,
    form_parameters: Object.keys(form),
    request_object_used: requestObjectUsed,
    http_method: x.req.method,
    ...(proofJkt ? { dpop_jkt: proofJkt } : {}),
  };
}
