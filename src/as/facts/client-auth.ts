/** Facts of the `client_auth` stage: how a client authenticated at a back-channel endpoint. */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { JwtFacts } from './jwt.js';

export type ClientAuthEndpoint = 'token' | 'par' | 'introspection' | 'revocation';
export type ClientAuthMethod = 'private_key_jwt' | 'client_secret_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth' | 'client_secret_basic' | 'client_secret_post' | 'none';

export interface CertificateCheck {
  presented: boolean;
  verified?: boolean;
  matches_registration?: boolean;
  thumbprint?: string;
}

export function clientAuthFacts(
  x: Exchange,
  client: RegisteredClient,
  endpoint: ClientAuthEndpoint,
  method: ClientAuthMethod,
  clientIdParam: string | undefined,
  jwt: JwtFacts | undefined,
  certificate: CertificateCheck,
): Record<string, unknown> {
  const urls = x.ctx.config.urls;
  const endpointUrl = { token: urls.token, par: urls.par, introspection: urls.introspection, revocation: urls.revocation }[endpoint];
  return {
    time: x.now,
    issuer: x.ctx.config.issuer,
    client: clientFacts(client),
    endpoint,
    endpoint_url: endpointUrl,
    token_endpoint_url: urls.token,
    method,
    ...(clientIdParam !== undefined ? { client_id_param: clientIdParam } : {}),
    ...(jwt ? { jwt } : {}),
    certificate,
  };
}
