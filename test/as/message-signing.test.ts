/**
 * FAPI 2.0 Message Signing against the reference server with openid-client v6: a signed request
 * object pushed to PAR and a JARM response, with each sender constraint (DPoP, mTLS-bound tokens);
 * a signed introspection response (RFC 9701) verified with jose; HTTP message signatures at the
 * resource made and checked by an independent implementation (http-message-signatures).
 */
import { createHash, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSigner, createVerifier, httpbis } from 'http-message-signatures';
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { serveTestFile, snapshotOf, tempDir, trustingFetch, type TestAs } from './helpers.js';
import { follow, registerClient, type Binding, type FlowClient } from './flow.js';
import { TestPki } from './pki.js';

const INITIAL_ACCESS_TOKEN = 'iat-for-resource-servers-0123456789';
let as: TestAs;
const pki = new TestPki();
serveTestFile(pki, (server) => {
  as = server;
}, { initialAccessTokens: [INITIAL_ACCESS_TOKEN] });

async function messageSigningClient(binding: Binding, metadata: Record<string, unknown> = {}, initialAccessToken?: string): Promise<FlowClient> {
  const tls = binding === 'mtls' ? pki.issue(`CN=ms-${binding},O=Tests,C=AU`) : undefined;
  const c = await registerClient(as, {
    auth: 'private_key_jwt', binding, ...(tls ? { tls } : {}), ...(initialAccessToken ? { initialAccessToken } : {}),
    metadata: { fapi_profile: 'fapi2-message-signing', request_object_signing_alg: 'ES256', authorization_signed_response_alg: 'ES256', ...metadata },
  });
  client.useJwtResponseMode(c.config);
  return c;
}

async function signedFlow(c: FlowClient) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  const jar = await client.buildAuthorizationUrlWithJAR(c.config, {
    redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  }, { key: c.signingKey!.privateKey, kid: 'sig-1' });
  const url = await client.buildAuthorizationUrlWithPAR(c.config, jar.searchParams, c.dpop ? { DPoP: c.dpop } : undefined);
  const callback = await follow(as, c.fetch, url);
  const tokens = await client.authorizationCodeGrant(c.config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, undefined, c.dpop ? { DPoP: c.dpop } : undefined);
  return { tokens, callback };
}

describe.each(['dpop', 'mtls'] as const)('openid-client, FAPI 2.0 Message Signing with %s', (binding) => {
  it('pushes a signed request object, gets a JARM response without a bare iss, redeems the code', async () => {
    const c = await messageSigningClient(binding);
    const { tokens, callback } = await signedFlow(c);
    // FAPI 2.0 MS §5.4.1: iss travels inside the response JWT, not beside it.
    expect([...callback.searchParams.keys()]).toEqual(['response']);
    expect(tokens.token_type.toLowerCase()).toBe(binding === 'dpop' ? 'dpop' : 'bearer');
    const options = c.dpop ? { DPoP: c.dpop } : undefined;
    const resource = await client.fetchProtectedResource(c.config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, undefined, options);
    expect(resource.status).toBe(200);
  });
});

describe('signed introspection (RFC 9701)', () => {
  const resourceServer = () => messageSigningClient('mtls', { fapi_role: 'resource_server', introspection_signed_response_alg: 'ES256' }, INITIAL_ACCESS_TOKEN);

  it('answers a resource server with a token-introspection+jwt that jose verifies against the AS keys', async () => {
    const owner = await messageSigningClient('dpop');
    const { tokens } = await signedFlow(owner);
    const rs = await resourceServer();
    const response = await rs.fetch(`${as.issuer}/introspect`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/token-introspection+jwt' },
      body: new URLSearchParams({ token: tokens.access_token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(rs) }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/token-introspection+jwt');
    const jwks = createLocalJWKSet((await (await trustingFetch(as.certificate)(`${as.issuer}/jwks`)).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(await response.text(), jwks, { issuer: as.issuer, audience: rs.clientId, typ: 'token-introspection+jwt' });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload.token_introspection).toMatchObject({ active: true, client_id: owner.clientId, cnf: { jkt: expect.any(String) } });
    // openid-client asks for the JWT itself (the registered alg) and checks it the same way.
    expect((await client.tokenIntrospection(rs.config, tokens.access_token)).active).toBe(true);
  });

  it('signs under Message Signing even when the caller asks for JSON, and an ordinary client sees only its own tokens', async () => {
    const owner = await messageSigningClient('dpop', { introspection_signed_response_alg: 'ES256' });
    const { tokens } = await signedFlow(owner);
    const other = await messageSigningClient('dpop', { introspection_signed_response_alg: 'ES256' });
    expect((await client.tokenIntrospection(owner.config, tokens.access_token)).active).toBe(true);
    expect((await client.tokenIntrospection(other.config, tokens.access_token)).active).toBe(false);
    const plain = await owner.fetch(`${as.issuer}/introspect`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ token: tokens.access_token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(owner) }),
    });
    expect(plain.headers.get('content-type')).toBe('application/token-introspection+jwt');
    const line = as.logs.lines.map((l) => JSON.parse(l) as { endpoint?: string; warnings?: string[] }).filter((l) => l.endpoint === 'introspection').at(-1);
    expect(line?.warnings).toEqual(expect.arrayContaining(['FAPI2-MS-ID1-5.5.2-1', 'FAPI2-MS-ID1-6.2']));
  });

  it('refuses an algorithm the profile does not allow: a caller without a registered one gets RS256 (RFC 9701 section 6), refused with the clause', async () => {
    const owner = await messageSigningClient('dpop');
    const { tokens } = await signedFlow(owner);
    const response = await owner.fetch(`${as.issuer}/introspect`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/token-introspection+jwt' },
      body: new URLSearchParams({ token: tokens.access_token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(owner) }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toContain('FAPI 2.0 MS');
  });

  it('signs for a caller without a registered algorithm where its profile accepts that: the profile\'s first algorithm, never RS256', async () => {
    const tls = pki.issue('CN=sp-introspection,O=Tests,C=AU');
    const c = await registerClient(as, { auth: 'private_key_jwt', binding: 'mtls', tls, metadata: { fapi_profile: 'fapi2-security' } });
    const tokens = await client.clientCredentialsGrant(c.config, { scope: 'accounts' });
    const response = await c.fetch(`${as.issuer}/introspect`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/token-introspection+jwt' },
      body: new URLSearchParams({ token: tokens.access_token, client_assertion_type: JWT_BEARER, client_assertion: await assertion(c) }),
    });
    expect(response.status).toBe(200);
    const jwks = createLocalJWKSet((await (await trustingFetch(as.certificate)(`${as.issuer}/jwks`)).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await jwtVerify(await response.text(), jwks, { issuer: as.issuer, audience: c.clientId, typ: 'token-introspection+jwt' });
    // fapi2-security lists PS256 first for introspection responses (its settings.signing_algs).
    expect(protectedHeader.alg).toBe('PS256');
    expect(payload.token_introspection).toMatchObject({ active: true, client_id: c.clientId });
  });

  it('registers a resource server only with an initial access token, and no client makes itself one', async () => {
    const c = await messageSigningClient('dpop');
    const { client_id: _id, registration_access_token: _rat, registration_client_uri: _uri, client_id_issued_at: _at, ...registered } = c.config.clientMetadata();
    const open = await c.fetch(`${as.issuer}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ ...registered, fapi_role: 'resource_server' }) });
    expect(open.status).toBe(401);
    expect(((await open.json()) as { error_description: string }).error_description).toContain('resource server');
    const update = await c.fetch(`${as.issuer}/register/${c.clientId}`, { method: 'GET', headers: { Authorization: `Bearer ${c.config.clientMetadata().registration_access_token as string}` } });
    const metadata = (await update.json()) as Record<string, unknown>;
    const { registration_access_token: _t, registration_client_uri: _u, client_id_issued_at: _i, ...body } = metadata;
    const put = await c.fetch(`${as.issuer}/register/${c.clientId}`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${c.config.clientMetadata().registration_access_token as string}` },
      body: JSON.stringify({ ...body, fapi_role: 'resource_server' }),
    });
    expect(put.status).toBe(400);
    expect(((await put.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });
});

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

async function assertion(c: FlowClient): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: c.clientId, sub: c.clientId, aud: as.issuer, iat: now, exp: now + 60, jti: client.randomState() })
    .setProtectedHeader({ alg: 'ES256', kid: 'sig-1' }).sign(c.signingKey!.privateKey);
}

describe('HTTP message signatures at the resource (RFC 9421), checked with an independent implementation', () => {
  let c: FlowClient;
  let accessToken: string;
  let serverKeys: JSONWebKeySet;
  beforeAll(async () => {
    c = await messageSigningClient('mtls', { fapi_signed_resource_requests: true });
    accessToken = (await signedFlow(c)).tokens.access_token;
    serverKeys = (await (await c.fetch(`${as.issuer}/jwks`)).json()) as JSONWebKeySet;
  });

  /** Signs a request the way a FAPI client does (http-message-signatures, not our module), and sends it. */
  async function signedCall(method: 'GET' | 'POST', path: string, options: { body?: string; fields?: string[]; tag?: string; created?: Date; key?: KeyObject; caller?: { client: FlowClient; token: string } } = {}) {
    const caller = options.caller ?? { client: c, token: accessToken };
    const headers: Record<string, string> = { authorization: `Bearer ${caller.token}` };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-digest'] = `sha-256=:${createHash('sha256').update(options.body).digest('base64')}:`;
    }
    const request = { method, url: `${as.issuer}${path}`, headers };
    const fields = options.fields ?? ['@method', '@target-uri', 'authorization', ...(options.body !== undefined ? ['content-digest'] : [])];
    const signed = await httpbis.signMessage({
      key: createSigner(options.key ?? KeyObject.from(caller.client.signingKey!.privateKey as never), 'ecdsa-p256-sha256', 'sig-1'),
      fields, params: ['created', 'keyid', 'tag'], paramValues: { tag: options.tag ?? 'fapi-2-request', ...(options.created ? { created: options.created } : {}) },
    }, request);
    const response = await caller.client.fetch(request.url, { method, headers: signed.headers as Record<string, string>, ...(options.body !== undefined ? { body: options.body } : {}) });
    return { request: signed, response, text: await response.text() };
  }

  /** Verifies the response's signature with the AS's published key, linked to the request. */
  async function responseVerifies(request: { method: string; url: string; headers: Record<string, string | string[]> }, response: globalThis.Response): Promise<boolean> {
    const headers = Object.fromEntries(response.headers.entries());
    return (await httpbis.verifyMessage({
      keyLookup: async (params) => {
        const jwk = serverKeys.keys.find((k) => k.kid === params.keyid);
        return jwk ? { id: jwk.kid, algs: ['ecdsa-p256-sha256'], verify: createVerifier(createPublicKey({ key: jwk as never, format: 'jwk' }), 'ecdsa-p256-sha256') } : null;
      },
      // The library compares names only: the ;req forms of @method and @target-uri count.
      requiredFields: ['@status', 'content-digest', '@method', '@target-uri', 'signature'],
      requiredParams: ['created', 'tag'],
    }, { status: response.status, headers }, request)) === true;
  }

  it('serves a signed GET and signs its answer, linked to the request', async () => {
    const { request, response, text } = await signedCall('GET', '/api/accounts');
    expect(response.status, text).toBe(200);
    expect(response.headers.get('signature-input')).toMatch(/tag="fapi-2-response"/);
    expect(response.headers.get('content-digest')).toBe(`sha-256=:${createHash('sha256').update(text).digest('base64')}:`);
    expect(await responseVerifies(request, response)).toBe(true);
  });

  it('serves a signed POST whose body its Content-Digest covers', async () => {
    const { request, response, text } = await signedCall('POST', '/api/payments', { body: JSON.stringify({ amount: '10.00', currency: 'EUR' }) });
    expect(response.status, text).toBe(201);
    expect(JSON.parse(text).data.initiation).toEqual({ amount: '10.00', currency: 'EUR' });
    expect(await responseVerifies(request, response)).toBe(true);
  });

  it('signs answers with an algorithm of the client\'s profile (settings.signing_algs.resource_response)', async () => {
    const algOf = (response: globalThis.Response) => serverKeys.keys.find((k) => k.kid === /keyid="([^"]+)"/.exec(response.headers.get('signature-input') ?? '')?.[1])?.alg;
    expect(algOf((await signedCall('GET', '/api/accounts')).response)).toBe('ES256');
    const dir = tempDir();
    writeFileSync(join(dir, 'ms-ps256.yaml'), 'id: ms-ps256\ntitle: Message Signing, PS256 responses\nversion: "1"\nspec: https://example.org/ms\nextends: fapi2-message-signing\nsettings:\n  signing_algs.resource_response: {subset_of: [PS256]}\n');
    const before = as.snapshot;
    as.setSnapshot(await snapshotOf(['profiles', dir]));
    try {
      const ps = await messageSigningClient('mtls', { fapi_profile: 'ms-ps256', fapi_signed_resource_requests: true });
      const token = (await signedFlow(ps)).tokens.access_token;
      const { response, text } = await signedCall('GET', '/api/accounts', { caller: { client: ps, token } });
      expect(response.status, text).toBe(200);
      expect(algOf(response)).toBe('PS256');
    } finally {
      as.setSnapshot(before);
    }
  });

  it('refuses with 401 and the clause: no signature from a client that registered for them, another key, a wrong tag, missing coverage, a stale created, an uncovered digest', async () => {
    const refused = async (call: Promise<{ response: globalThis.Response; text: string }>, rule: string) => {
      const { response, text } = await call;
      expect(response.status, text).toBe(401);
      expect(JSON.parse(text)).toMatchObject({ error: 'invalid_signature' });
      expect(JSON.parse(text).error_description).toContain(rule);
      expect(response.headers.get('www-authenticate')).toContain('invalid_signature');
    };
    const unsigned = await c.fetch(`${as.issuer}/api/accounts`, { headers: { Authorization: `Bearer ${accessToken}` } });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { error_description: string }).error_description).toContain('FAPI2-MS-ID1-5.6.1.2-3');
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await refused(signedCall('GET', '/api/accounts', { key: stranger }), 'FAPI2-MS-ID1-5.6.1.2-3');
    await refused(signedCall('GET', '/api/accounts', { tag: 'fapi-2-response' }), 'FAPI2-MS-ID1-5.6.1.2-4');
    await refused(signedCall('GET', '/api/accounts', { fields: ['@method', '@target-uri'] }), 'FAPI2-MS-ID1-5.6.1.2-5');
    await refused(signedCall('GET', '/api/accounts', { created: new Date(Date.now() - 120_000) }), 'FAPI2-MS-ID1-5.6.1.2-6');
    await refused(signedCall('POST', '/api/payments', { body: '{"amount":"1.00"}', fields: ['@method', '@target-uri', 'authorization'] }), 'FAPI2-MS-ID1-5.6.1.2-8');
  });
});
