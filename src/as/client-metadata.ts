/**
 * The client metadata the server accepts at registration (RFC 7591 §2, RFC 8705 §2.1.2, RFC 9449
 * §5.2, OpenID Connect Registration), as a JSON Schema: types and sizes only. Whether a value is
 * allowed is the profile's question (`registration` stage); this only keeps malformed metadata
 * out. Members the server does not know are dropped, as RFC 7591 §2 asks.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { trustedAjv } from '../engine/ajv.js';

const url = { type: 'string', minLength: 1, maxLength: 2048 };
const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max });
const list = (items: object, max = 20) => ({ type: 'array', maxItems: max, items });

const CLIENT_METADATA_SCHEMA = {
  type: 'object',
  properties: {
    redirect_uris: { ...list(url, 100), minItems: 1 },
    response_types: list(text(128)),
    grant_types: list(text(256)),
    application_type: { enum: ['web', 'native'] },
    token_endpoint_auth_method: text(64),
    token_endpoint_auth_signing_alg: text(32),
    jwks: {
      type: 'object',
      required: ['keys'],
      properties: { keys: list({ type: 'object', maxProperties: 30 }, 50) },
    },
    jwks_uri: url,
    tls_client_auth_subject_dn: text(2048),
    tls_client_auth_san_dns: text(256),
    tls_client_auth_san_uri: url,
    tls_client_auth_san_ip: text(64),
    tls_client_auth_san_email: text(256),
    tls_client_certificate_bound_access_tokens: { type: 'boolean' },
    dpop_bound_access_tokens: { type: 'boolean' },
    id_token_signed_response_alg: text(32),
    userinfo_signed_response_alg: text(32),
    request_object_signing_alg: text(32),
    authorization_signed_response_alg: text(32),
    introspection_signed_response_alg: text(32),
    id_token_encrypted_response_alg: text(32),
    id_token_encrypted_response_enc: text(32),
    require_pushed_authorization_requests: { type: 'boolean' },
    scope: text(1024),
    client_name: text(200),
    client_uri: url,
    logo_uri: url,
    policy_uri: url,
    tos_uri: url,
    contacts: list(text(256), 10),
    software_id: text(256),
    software_version: text(64),
    software_statement: text(16_384),
    fapi_profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$', maxLength: 64 },
    // Ours: a resource server may introspect any token; registering one takes an initial access token.
    fapi_role: { enum: ['client', 'resource_server'] },
    // Ours: the client signs its resource requests (RFC 9421) and is answered with signed responses.
    fapi_signed_resource_requests: { type: 'boolean' },
    fapi_shadow_profile: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$', maxLength: 64 },
  },
  // RFC 7591 §2: jwks and jwks_uri must not both be present.
  not: { required: ['jwks', 'jwks_uri'] },
} as const;

const KNOWN_MEMBERS: ReadonlySet<string> = new Set(Object.keys(CLIENT_METADATA_SCHEMA.properties));

let validate: ValidateFunction | undefined;

/** The metadata with unknown members dropped, or the first problem found. */
export function checkClientMetadata(body: Record<string, unknown>): { metadata: Record<string, unknown> } | { problem: string; redirect: boolean } {
  const metadata = Object.fromEntries(Object.entries(body).filter(([k]) => KNOWN_MEMBERS.has(k)));
  validate ??= trustedAjv().compile(CLIENT_METADATA_SCHEMA);
  if (validate(metadata)) return { metadata };
  const e = validate.errors?.[0];
  const where = e?.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '';
  const problem = e?.keyword === 'not' ? 'send jwks or jwks_uri, not both (RFC 7591 section 2)' : `${where || 'metadata'} ${e?.message ?? 'is invalid'}`;
  return { problem, redirect: where.startsWith('redirect_uris') };
}
