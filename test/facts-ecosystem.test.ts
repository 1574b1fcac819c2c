/** The facts members ecosystem overlays read: accepted in their documented shape, refused otherwise. */
import { describe, expect, it } from 'vitest';
import { checkFacts } from '../src/index.js';
import { PAR_FACTS } from './helpers.js';

const JWT = { header: { alg: 'PS256', kid: 'k1' }, claims: { iss: 'https://as.example', sub: 's1' }, signature_verified: true };
const RESOURCE = { time: 1767225600, http: { method: 'GET', headers: {} }, access_token: { location: 'header' } };

describe('facts members for ecosystem requirements', () => {
  it('takes the parsed claims request, the lodged consent and request headers at par', () => {
    const facts = {
      ...PAR_FACTS,
      requested_claims: {
        id_token: { acr: { essential: true, values: ['urn:cds.au:cdr:3'] }, openbanking_intent_id: { value: 'urn-alphabank-intent-58923', essential: true }, auth_time: null },
        userinfo: { given_name: null },
        sharing_duration: 7776000,
      },
      consent: { id: 'urn-alphabank-intent-58923', client_id: 'c1', status: 'AwaitingAuthorisation', expires_at: 1767229200 },
      headers: { 'x-fapi-interaction-id': '93bac548-d2de-4546-b106-880a5018460d' },
    };
    expect(checkFacts('par', facts)).toBeNull();
    expect(checkFacts('par', { ...facts, requested_claims: { id_token: { acr: 'urn:cds.au:cdr:3' } } })?.path).toBe('/requested_claims/id_token/acr');
    expect(checkFacts('par', { ...facts, consent: { status: 'Authorised' } })?.message).toMatch(/id/);
    expect(checkFacts('par', { ...facts, headers: { 'x-fapi-interaction-id': 'x'.repeat(129) } })?.path).toBe('/headers/x-fapi-interaction-id');
  });

  it('names the FAPI and CDR headers at the resource, and takes the response headers and a body signature', () => {
    const headers = { 'x-v': '3', 'x-fapi-auth-date': 'Thu, 16 Jan 2020 16:50:15 GMT', 'x-fapi-interaction-id': '6ba7b814-9dad-11d1-80b4-00c04fd430c8', 'x-cds-client-headers': 'TW96aWxsYQ==' };
    const facts = { ...RESOURCE, http: { method: 'GET', headers }, response_headers: { 'x-v': '3', 'x-fapi-interaction-id': headers['x-fapi-interaction-id'] }, payload_signature: JWT };
    expect(checkFacts('resource', facts)).toBeNull();
    expect(checkFacts('resource', { ...facts, http: { method: 'GET', headers: { 'x-v': '1'.repeat(17) } } })?.path).toBe('/http/headers/x-v');
    expect(checkFacts('resource', { ...facts, payload_signature: { header: { alg: 'PS256' } } })?.path).toBe('/payload_signature/claims');
  });

  it('takes the registration request JWT and the software statement claims ecosystems read', () => {
    const ssa = { ...JWT, claims: { iss: 'cdr-register', software_id: 'sw-1', software_roles: 'data-recipient-software-product', software_redirect_uris: ['https://client.example/cb'], software_jwks_uri: 'https://client.example/jwks' } };
    const facts = { time: 1767225600, issuer: 'https://as.example', client: { client_id: 'c1' }, request_jwt: JWT, software_statement: ssa };
    expect(checkFacts('registration', facts)).toBeNull();
    expect(checkFacts('registration', { ...facts, software_statement: { ...ssa, claims: { software_redirect_uris: 'https://client.example/cb' } } })?.path).toBe('/software_statement/claims/software_redirect_uris');
  });

  it('describes the ID token the AS issues, its encryption, and the token response members', () => {
    const idToken = { ...JWT, jwe_header: { alg: 'RSA-OAEP', enc: 'A256GCM', kid: 'enc-1' } };
    const facts = { time: 1767225600, issuer: 'https://as.example', grant_type: 'authorization_code', token_type: 'Bearer', expires_in: 300,
      id_token: idToken, parameters: ['access_token', 'token_type', 'expires_in', 'id_token', 'cdr_arrangement_id'], refresh_token: { issued: true, rotated: false, expires_at: 1774915200 } };
    expect(checkFacts('token_response', facts)).toBeNull();
    expect(checkFacts('token_response', { ...facts, id_token: { ...JWT, jwe_header: { alg: 'RSA-OAEP' } } })?.path).toBe('/id_token/jwe_header/enc');
    const front = { time: 1767225600, issuer: 'https://as.example', status: 303, response_mode: 'fragment', parameters: ['code', 'id_token', 'state'], id_token: idToken };
    expect(checkFacts('authorization_response', front)).toBeNull();
    expect(checkFacts('introspection', { time: 1767225600, caller: { authenticated: true }, token_kind: 'access_token' })).toBeNull();
    expect(checkFacts('introspection', { time: 1767225600, caller: { authenticated: true }, token_kind: 'macaroon' })?.path).toBe('/token_kind');
  });
});
