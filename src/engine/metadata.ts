/**
 * Derives the authorization-server metadata (RFC 8414 / OpenID Connect Discovery) that a profile's
 * settings imply, so what an AS advertises is computed from what it enforces and cannot drift.
 */
import type { Settings } from './types.js';
import { walk } from './logic/node.js';

/** What the AS itself knows and adds to the derived fields: its endpoints and a few choices of its own. */
export interface MetadataEndpoints {
  authorization_endpoint?: string;
  token_endpoint?: string;
  pushed_authorization_request_endpoint?: string;
  jwks_uri?: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  userinfo_endpoint?: string;
  registration_endpoint?: string;
  mtls_endpoint_aliases?: Record<string, string>;
  /** Not implied by any setting: how the AS identifies users and which scopes it offers. */
  subject_types_supported?: string[];
  scopes_supported?: string[];
}

const JWT_AUTH_METHODS = ['private_key_jwt', 'client_secret_jwt'];

export function deriveMetadata(settings: Settings, issuer: string, endpoints: MetadataEndpoints = {}): Record<string, unknown> {
  const get = <T>(path: string) => walk(settings, path.split('.')) as T;
  const authMethods = get<string[]>('client_authentication.methods');
  const senderMethods = get<string[]>('sender_constraint.methods');
  const responseModes = get<string[]>('authorization_request.response_modes');
  const authSigning = authMethods.some((m) => JWT_AUTH_METHODS.includes(m)) ? get<string[]>('signing_algs.client_auth') : undefined;
  const jarm = responseModes.some((m) => m === 'jwt' || m.endsWith('.jwt'));
  const metadata: Record<string, unknown> = {
    issuer,
    ...endpoints,
    response_types_supported: get('authorization_request.response_types'),
    response_modes_supported: responseModes,
    grant_types_supported: get('grant_types'),
    code_challenge_methods_supported: get('pkce.methods'),
    token_endpoint_auth_methods_supported: authMethods,
    ...(authSigning ? { token_endpoint_auth_signing_alg_values_supported: authSigning } : {}),
    ...(endpoints.introspection_endpoint ? { introspection_endpoint_auth_methods_supported: authMethods } : {}),
    ...(endpoints.introspection_endpoint && authSigning ? { introspection_endpoint_auth_signing_alg_values_supported: authSigning } : {}),
    ...(endpoints.revocation_endpoint ? { revocation_endpoint_auth_methods_supported: authMethods } : {}),
    ...(endpoints.revocation_endpoint && authSigning ? { revocation_endpoint_auth_signing_alg_values_supported: authSigning } : {}),
    require_pushed_authorization_requests: get('par.required'),
    request_parameter_supported: true,
    request_object_signing_alg_values_supported: get('signing_algs.request_object'),
    require_signed_request_object: get('request_object.required'),
    id_token_signing_alg_values_supported: get('signing_algs.id_token'),
    ...(jarm ? { authorization_signing_alg_values_supported: get('signing_algs.authorization_response') } : {}),
    introspection_signing_alg_values_supported: get('signing_algs.introspection_response'),
    authorization_response_iss_parameter_supported: get('authorization_response.iss_required'),
    tls_client_certificate_bound_access_tokens: senderMethods.includes('mtls'),
    ...(senderMethods.includes('dpop') ? { dpop_signing_alg_values_supported: get('signing_algs.dpop') } : {}),
  };
  const encAlgs = get<string[]>('encryption_algs.key_management');
  const encEnc = get<string[]>('encryption_algs.content');
  if (encAlgs.length && encEnc.length) {
    metadata.id_token_encryption_alg_values_supported = encAlgs;
    metadata.id_token_encryption_enc_values_supported = encEnc;
  }
  return structuredClone(metadata);
}
