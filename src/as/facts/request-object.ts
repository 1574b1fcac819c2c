/** Facts of the `request_object` stage: a request object (JAR, RFC 9101) as decoded and checked. */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { JwtFacts } from './jwt.js';

export type RequestObjectEndpoint = 'par' | 'authorization';

export function requestObjectFacts(x: Exchange, client: RegisteredClient, jwt: JwtFacts, endpoint: RequestObjectEndpoint, outer: Record<string, unknown>, byReference: boolean): Record<string, unknown> {
  return {
    time: x.now,
    issuer: x.ctx.config.issuer,
    client: clientFacts(client),
    jwt,
    endpoint,
    by_reference: byReference,
    outer_params: outer,
  };
}
