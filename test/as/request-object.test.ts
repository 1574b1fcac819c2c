/**
 * Request objects (RFC 9101) and signed responses as certification probes them (OpenID conformance
 * suite, FAPI 1.0 Advanced and FAPI 2.0 Message Signing plans): each test provokes one refusal and
 * checks the OAuth error and the rule that refused; the accepted cases check that only the request
 * object counts and that JARM error responses are signed.
 */
import { createLocalJWKSet, decodeJwt, jwtVerify, SignJWT, type JSONWebKeySet, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { serveTestFile, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { b64, keyPair, pkce, RawClient, type KeyPair } from './raw.js';
import { TestPki } from './pki.js';

let as: TestAs;
const pki = new TestPki();
serveTestFile(pki, (server) => {
  as = server;
});

const ADVANCED = { fapi_profile: 'fapi1-advanced', response_types: ['code id_token', 'code'], grant_types: ['authorization_code'], dpop_bound_access_tokens: undefined, tls_client_certificate_bound_access_tokens: true };
const MESSAGE_SIGNING = { fapi_profile: 'fapi2-message-signing', response_types: ['code'], grant_types: ['authorization_code'], authorization_signed_response_alg: 'ES256' };

async function newClient(metadata: Record<string, unknown>): Promise<RawClient> {
  const c = new RawClient(as, await keyPair('ES256'), pki.issue(`CN=ro-${b64(4)},O=Tests,C=AU`));
  const res = await c.register(metadata);
  expect(res.status, res.text).toBe(201);
  return c;
}

/** The claims of a good FAPI 1.0 Advanced request object; `claims` replace them (undefined removes). */
function requestClaims(c: RawClient, claims: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return Object.fromEntries(Object.entries({
    iss: c.clientId, aud: as.issuer, iat: now, nbf: now, exp: now + 300, jti: b64(12),
    client_id: c.clientId, response_type: 'code id_token', redirect_uri: REDIRECT_URI, scope: 'openid accounts',
    state: b64(8), nonce: b64(8), ...claims,
  }).filter(([, v]) => v !== undefined));
}

async function sign(claims: Record<string, unknown>, key: KeyPair['privateKey'], header: Record<string, unknown> = { alg: 'ES256', kid: 'k1' }): Promise<string> {
  return new SignJWT(claims as JWTPayload).setProtectedHeader(header as never).sign(key);
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(claims)}.`;
}

/** The authorization endpoint with a request object by value: the redirect back, or the error page. */
async function byValue(c: RawClient, request: string, outer: Record<string, string> = {}) {
  const res = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request, ...outer })}`);
  const location = res.headers.get('location');
  return { status: res.status, text: res.text, ...(location ? { location: new URL(location) } : {}) };
}

/** An error page naming the error and the rule: what could not be verified is never followed back to the client. */
function refusedOnPage(res: { status: number; text: string; location?: URL }, error: string, rule: string): void {
  expect(res.location, res.text).toBeUndefined();
  expect(res.status, res.text).toBe(400);
  expect(res.text).toContain(`<code id="error-code">${error}</code>`);
  expect(res.text).toContain(rule);
}

/** A verified request refused back to the client's registered redirect URI, in its response mode (hybrid: the fragment). */
function refusedToClient(res: { status: number; text: string; location?: URL }, error: string, rule: string): void {
  expect(res.status, res.text).toBe(303);
  expect(res.location?.href.startsWith(REDIRECT_URI)).toBe(true);
  const params = new URLSearchParams(res.location!.hash.slice(1));
  expect(params.get('error')).toBe(error);
  expect(params.get('error_description')).toContain(rule);
  expect(params.get('iss')).toBe(as.issuer);
}

describe('FAPI 1.0 Advanced: request objects by value at the authorization endpoint', () => {
  let c: RawClient;
  let other: RawClient;
  beforeAll(async () => {
    c = await newClient(ADVANCED);
    other = await newClient(ADVANCED);
  });

  it('accepts a good one: a hybrid response with code, id_token and state in the fragment', async () => {
    const claims = requestClaims(c);
    const res = await byValue(c, await sign(claims, c.signing.privateKey));
    expect(res.status, res.text).toBe(303);
    const fragment = new URLSearchParams(res.location!.hash.slice(1));
    expect(fragment.get('state')).toBe(claims.state);
    expect(decodeJwt(fragment.get('id_token')!)).toMatchObject({ nonce: claims.nonce, s_hash: expect.any(String), c_hash: expect.any(String) });
  });

  it('keeps personal claims out of the front-channel ID token (FAPI 1.0 Part 2 §5.2.2.1-6)', async () => {
    const res = await byValue(c, await sign(requestClaims(c, { scope: 'openid profile email accounts' }), c.signing.privateKey));
    expect(res.status, res.text).toBe(303);
    const idToken = decodeJwt(new URLSearchParams(res.location!.hash.slice(1)).get('id_token')!);
    expect(idToken.sub).toBe('user-alice');
    expect(idToken.name).toBeUndefined();
    expect(idToken.email).toBeUndefined();
    const line = as.logs.lines.map((l) => JSON.parse(l) as { client_id?: string; warnings?: string[] }).filter((l) => l.client_id === c.clientId).at(-1);
    expect(line?.warnings ?? []).not.toContain('FAPI1-ADV-5.2.2.1-6');
  });

  it('refuses an unsigned request object (alg none)', async () => {
    refusedOnPage(await byValue(c, unsigned(requestClaims(c))), 'invalid_request_object', 'RFC8725-3.1');
  });

  it('refuses RS256, which FAPI 1.0 Advanced does not allow (§8.6)', async () => {
    const rsa = await keyPair('RS256');
    refusedOnPage(await byValue(c, await sign(requestClaims(c), rsa.privateKey, { alg: 'RS256', kid: 'k1' })), 'invalid_request_object', 'RFC8725-3.1');
  });

  it('refuses a bad signature and a signature by another client\'s key', async () => {
    const good = await sign(requestClaims(c), c.signing.privateKey);
    const tampered = `${good.split('.').slice(0, 2).join('.')}.${Buffer.alloc(64, 1).toString('base64url')}`;
    refusedOnPage(await byValue(c, tampered), 'invalid_request_object', 'RFC9101-6.2');
    refusedOnPage(await byValue(c, await sign(requestClaims(c), other.signing.privateKey)), 'invalid_request_object', 'RFC9101-6.2');
  });

  it('refuses a request object without exp, without nbf, or expired', async () => {
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { exp: undefined }), c.signing.privateKey)), 'invalid_request_object', 'FAPI1-ADV-5.2.2-13');
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { nbf: undefined }), c.signing.privateKey)), 'invalid_request_object', 'FAPI1-ADV-5.2.2-17');
    const now = Math.floor(Date.now() / 1000);
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { iat: now - 600, nbf: now - 600, exp: now - 300 }), c.signing.privateKey)), 'invalid_request_object', 'RFC7519-4.1.4');
  });

  it('refuses nbf over 60 minutes old and exp over 60 minutes after nbf', async () => {
    const now = Math.floor(Date.now() / 1000);
    // A still valid exp with nbf over an hour old is necessarily also over an hour after nbf: both rules refuse.
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { iat: now - 3700, nbf: now - 3700, exp: now + 60 }), c.signing.privateKey)), 'invalid_request_object', 'FAPI1-ADV-5.2.2-17');
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { nbf: now, exp: now + 3700 }), c.signing.privateKey)), 'invalid_request_object', 'FAPI1-ADV-5.2.2-13');
  });

  it('refuses a wrong aud', async () => {
    refusedOnPage(await byValue(c, await sign(requestClaims(c, { aud: 'https://another.example' }), c.signing.privateKey)), 'invalid_request_object', 'FAPI1-ADV-5.2.2-15');
  });

  it('refuses a hybrid request without nonce, and code without JARM', async () => {
    refusedToClient(await byValue(c, await sign(requestClaims(c, { nonce: undefined }), c.signing.privateKey)), 'invalid_request', 'FAPI1-BASE-5.2.2.2-1');
    const plainCode = await byValue(c, await sign(requestClaims(c, { response_type: 'code' }), c.signing.privateKey));
    expect(plainCode.status, plainCode.text).toBe(303);
    expect(new URLSearchParams(plainCode.location!.search).get('error_description')).toContain('FAPI1-ADV-5.2.2-2');
  });

  it('refuses a request object without redirect_uri, even when one is sent outside it', async () => {
    const res = await byValue(c, await sign(requestClaims(c, { redirect_uri: undefined }), c.signing.privateKey), { redirect_uri: REDIRECT_URI, response_type: 'code id_token', scope: 'openid' });
    refusedOnPage(res, 'invalid_request_object', 'FAPI1-ADV-5.2.3-8');
  });

  it('uses only the request object: a different state, scope or nonce outside it is ignored', async () => {
    const claims = requestClaims(c);
    const res = await byValue(c, await sign(claims, c.signing.privateKey), { state: 'outer-state', nonce: 'outer-nonce', scope: 'openid', response_type: 'code id_token' });
    expect(res.status, res.text).toBe(303);
    const fragment = new URLSearchParams(res.location!.hash.slice(1));
    expect(fragment.get('state')).toBe(claims.state);
    expect(decodeJwt(fragment.get('id_token')!).nonce).toBe(claims.nonce);
  });

  it('signs JARM error responses, with iss, aud and exp', async () => {
    // A verified request object without the nonce an OpenID request needs: refused to the client, as JARM.
    const res = await byValue(c, await sign(requestClaims(c, { response_type: 'code', response_mode: 'jwt', nonce: undefined }), c.signing.privateKey));
    expect(res.status, res.text).toBe(303);
    const response = res.location!.searchParams.get('response');
    expect([...res.location!.searchParams.keys()]).toEqual(['response']);
    const jwks = createLocalJWKSet((await (await c.fetch(`${as.issuer}/jwks`)).json()) as JSONWebKeySet);
    const { payload } = await jwtVerify(response!, jwks, { issuer: as.issuer, audience: c.clientId });
    expect(payload.error).toBe('invalid_request');
    expect(payload.error_description).toContain('FAPI1-BASE-5.2.2.2-1');
    expect(payload.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
  });
});

describe('FAPI 2.0 Message Signing: request objects at PAR', () => {
  let c: RawClient;
  beforeAll(async () => {
    c = await newClient(MESSAGE_SIGNING);
  });

  const pushed = async (form: Record<string, string>) => c.request('/par', { form: { ...form, ...(await c.authForm({ aud: as.issuer })) } });

  it('refuses a pushed request without a request object', async () => {
    const { challenge } = pkce();
    const res = await pushed({ client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256' });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error).toBe('invalid_request');
    expect(res.json.error_description).toContain('FAPI 2.0 MS');
  });

  it('refuses an unsigned request object at PAR', async () => {
    const { challenge } = pkce();
    const res = await pushed({ client_id: c.clientId, request: unsigned(requestClaims(c, { response_type: 'code', code_challenge: challenge, code_challenge_method: 'S256' })) });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error).toBe('invalid_request_object');
  });

  it('accepts a signed one', async () => {
    const { challenge } = pkce();
    const res = await pushed({ client_id: c.clientId, request: await sign(requestClaims(c, { response_type: 'code', response_mode: 'jwt', code_challenge: challenge, code_challenge_method: 'S256' }), c.signing.privateKey) });
    expect(res.status, res.text).toBe(201);
  });
});
