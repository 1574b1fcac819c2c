/**
 * Dynamic client registration (RFC 7591) and management (RFC 7592): shape errors answered
 * precisely, the profile's registration stage deciding, the registration access token opening
 * only its own record, initial access tokens where registration is not open.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAs, type TestAs } from './helpers.js';
import { keyPair, RawClient } from './raw.js';

let as: TestAs;
let closed: TestAs;
const IAT = 'initial-access-token-0123456789';
beforeAll(async () => {
  as = await startTestAs();
  closed = await startTestAs({ registration: 'token', initialAccessTokens: [IAT] });
});
afterAll(async () => {
  await as?.close();
  await closed?.close();
});

async function register(server: TestAs, metadata: Record<string, unknown>, headers: Record<string, string> = {}) {
  const c = new RawClient(server, await keyPair());
  return c.request('/register', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(metadata) });
}

const jwkOf = async () => ({ ...(await keyPair()).publicJwk, kid: 'k1', alg: 'ES256', use: 'sig' });

describe('registration', () => {
  it('registers a FAPI 2.0 client and answers its metadata, client_id and a registration access token', async () => {
    const res = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] }, client_name: 'Demo', unknown_member: 'dropped' });
    expect(res.status, res.text).toBe(201);
    expect(res.json.client_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(res.json.registration_access_token).toBeTruthy();
    expect(res.json.registration_client_uri).toBe(`${as.issuer}/register/${res.json.client_id}`);
    expect(res.json.unknown_member).toBeUndefined();
    expect(res.json.client_secret).toBeUndefined();
  });

  it('answers invalid_redirect_uri and invalid_client_metadata precisely, naming the rule', async () => {
    const keys = { keys: [await jwkOf()] };
    const http = await register(as, { redirect_uris: ['http://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: keys });
    expect(http.status).toBe(400);
    expect(http.json.error).toBe('invalid_redirect_uri');
    expect(http.json.error_description).toContain('FAPI2-SP-FINAL-5.3.2.2-8-registration');
    const fragment = await register(as, { redirect_uris: ['https://client.example/cb#done'], token_endpoint_auth_method: 'private_key_jwt', jwks: keys });
    expect(fragment.status).toBe(400);
    expect(fragment.json.error).toBe('invalid_redirect_uri');
    expect(fragment.json.error_description).toContain('RFC6749-3.1.2-registration');
    const publicClient = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'none' });
    expect(publicClient.json.error).toBe('invalid_client_metadata');
    expect(publicClient.json.error_description).toContain('FAPI2-SP-FINAL-5.3.2.1-3-registration');
    const rs256 = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS256', jwks: keys });
    expect(rs256.json.error).toBe('invalid_client_metadata');
    const noName = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'tls_client_auth' });
    expect(noName.json.error_description).toContain('RFC8705-2.1.2');
  });

  it('refuses malformed metadata before the profile sees it', async () => {
    const wrongType = await register(as, { redirect_uris: 'https://client.example/cb' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json.error).toBe('invalid_redirect_uri');
    const both = await register(as, { redirect_uris: ['https://client.example/cb'], jwks: { keys: [] }, jwks_uri: 'https://client.example/jwks' });
    expect(both.json.error).toBe('invalid_client_metadata');
    expect(both.json.error_description).toContain('not both');
    const notJson = await new RawClient(as, await keyPair()).request('/register', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{' });
    expect(notJson.status).toBe(400);
    const wrongMedia = await new RawClient(as, await keyPair()).request('/register', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
    expect(wrongMedia.status).toBe(415);
  });

  it('takes fapi_profile: a loaded profile of a family the server implements; refuses an unknown one', async () => {
    const ok = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] }, fapi_profile: 'fapi2-security' });
    expect(ok.status, ok.text).toBe(201);
    const unknown = await register(as, { redirect_uris: ['https://client.example/cb'], fapi_profile: 'no-such-profile' });
    expect(unknown.json.error).toBe('invalid_client_metadata');
    expect(unknown.json.error_description).toContain('not loaded');
    const fapi1 = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] }, fapi_profile: 'fapi1-advanced' });
    expect(fapi1.json.error).toBe('invalid_client_metadata');
    expect(fapi1.json.error_description).toContain('FAPI1-ADV-5.2.2-5-registration');
  });
});

describe('management (RFC 7592)', () => {
  it('reads, updates and deletes with the registration access token, and only with it', async () => {
    const created = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] }, client_name: 'Before' });
    const { client_id: id, registration_access_token: token } = created.json as { client_id: string; registration_access_token: string };
    const c = new RawClient(as, await keyPair());
    const path = `/register/${id}`;
    const read = await c.request(path, { headers: { Authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    expect(read.json.client_name).toBe('Before');
    expect(read.json.registration_access_token).toBeUndefined();
    expect((await c.request(path, { headers: { Authorization: 'Bearer wrong-token' } })).status).toBe(401);
    const other = await register(as, { redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] } });
    expect((await c.request(path, { headers: { Authorization: `Bearer ${other.json.registration_access_token}` } })).status).toBe(401);

    const update = { ...read.json, client_name: 'After', redirect_uris: ['http://insecure.example/cb'] };
    const refusedUpdate = await c.request(path, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(update) });
    expect(refusedUpdate.json.error).toBe('invalid_redirect_uri');
    const updated = await c.request(path, { method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ ...read.json, client_name: 'After' }) });
    expect(updated.status, updated.text).toBe(200);
    expect(updated.json.client_name).toBe('After');

    expect((await c.request(path, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } })).status).toBe(204);
    expect((await c.request(path, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});

describe('initial access tokens (registration: token)', () => {
  const metadata = async () => ({ redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [await jwkOf()] } });

  it('refuses registration without one, or with a wrong one', async () => {
    const none = await register(closed, await metadata());
    expect(none.status).toBe(401);
    expect(none.json.error).toBe('invalid_token');
    expect((await register(closed, await metadata(), { Authorization: 'Bearer not-the-token-0123456789' })).status).toBe(401);
  });

  it('registers with one', async () => {
    expect((await register(closed, await metadata(), { Authorization: `Bearer ${IAT}` })).status).toBe(201);
  });
});
