/**
 * Negative tests as certification runs them (OpenID conformance suite, FAPI 2.0 Security Profile
 * plan): each provokes one refusal and checks the status, the OAuth error, and that the
 * description names the rule that refused.
 */
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAs, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { b64, dpopProof, keyPair, pkce, RawClient, type KeyPair, type Response } from './raw.js';

let as: TestAs;
let offset = 0;
const now = () => Math.floor(Date.now() / 1000) + offset;
beforeAll(async () => {
  as = await startTestAs({ now });
});
afterAll(async () => {
  await as?.close();
});

async function newClient(metadata: Record<string, unknown> = {}, alg: 'ES256' | 'PS256' = 'ES256'): Promise<RawClient> {
  const c = new RawClient(as, await keyPair(alg), undefined, alg, now);
  const res = await c.register(metadata);
  expect(res.status, res.text).toBe(201);
  return c;
}

/** A refusal: the status, one of the accepted error codes, and the rule named in the description. */
function refused(res: Response, status: number | number[], errors: string[], rule?: string): void {
  expect([status].flat(), res.text).toContain(res.status);
  expect(errors, res.text).toContain(res.json.error);
  if (rule) expect(res.json.error_description as string).toContain(rule);
}

interface Pushed {
  requestUri: string;
  verifier: string;
  state: string;
}

async function push(c: RawClient, params: Record<string, string | undefined> = {}, init: { dpop?: string; auth?: Record<string, string> } = {}): Promise<Response & { pushed?: Pushed }> {
  const { verifier, challenge } = pkce();
  const state = b64(8);
  const form = Object.fromEntries(Object.entries({
    client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', state,
    code_challenge: challenge, code_challenge_method: 'S256', ...params,
  }).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const res = await c.request('/par', { form: { ...form, ...(init.auth ?? (await c.authForm())) }, headers: init.dpop ? { DPoP: init.dpop } : {} });
  return res.status === 201 ? { ...res, pushed: { requestUri: res.json.request_uri as string, verifier, state } } : res;
}

/** The development-mode authorization: the redirect back to the client (or the error page). */
async function authorize(c: RawClient, query: Record<string, string>): Promise<{ status: number; location?: URL; text: string }> {
  const res = await c.request(`/authorize?${new URLSearchParams(query)}`);
  const location = res.headers.get('location');
  return { status: res.status, text: res.text, ...(location ? { location: new URL(location, as.issuer) } : {}) };
}

async function codeFor(c: RawClient, params: Record<string, string | undefined> = {}, dpop?: string): Promise<Pushed & { code: string }> {
  const res = await push(c, params, dpop ? { dpop } : {});
  expect(res.status, res.text).toBe(201);
  const back = await authorize(c, { client_id: c.clientId, request_uri: res.pushed!.requestUri });
  const code = back.location?.searchParams.get('code');
  expect(code, back.text).toBeTruthy();
  return { ...res.pushed!, code: code! };
}

async function redeem(c: RawClient, code: string, verifier: string | undefined, dpopKey: KeyPair | undefined, extra: Record<string, string> = {}): Promise<Response> {
  const dpop = dpopKey ? await dpopProof(dpopKey, 'POST', `${as.issuer}/token`, {}, {}, now()) : undefined;
  const form: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...(verifier ? { code_verifier: verifier } : {}), ...(await c.authForm()), ...extra };
  return c.request('/token', { form, headers: dpop ? { DPoP: dpop } : {} });
}

describe('pushed authorization requests', () => {
  let c: RawClient;
  beforeAll(async () => {
    c = await newClient();
  });

  it('accepts a good one: 201 with a request_uri and expires_in', async () => {
    const res = await push(c);
    expect(res.status, res.text).toBe(201);
    expect(res.json.request_uri).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(res.json.expires_in).toBeGreaterThan(0);
  });

  it('refuses a request without PKCE, and with plain PKCE', async () => {
    refused(await push(c, { code_challenge: undefined, code_challenge_method: undefined }), 400, ['invalid_request'], 'FAPI2-SP-FINAL-5.3.2.2-5');
    const plain = b64(32);
    refused(await push(c, { code_challenge: plain, code_challenge_method: 'plain' }), 400, ['invalid_request'], 'FAPI2-SP-FINAL-5.3.2.2-5');
  });

  it('refuses response_type code id_token and token', async () => {
    refused(await push(c, { response_type: 'code id_token' }), 400, ['unsupported_response_type', 'invalid_request', 'unauthorized_client'], 'FAPI2-SP-FINAL-5.3.2.2-1');
    refused(await push(c, { response_type: 'token' }), 400, ['unsupported_response_type', 'invalid_request', 'unauthorized_client'], 'FAPI2-SP-FINAL-5.3.2.2-1');
  });

  it('refuses request_uri inside a pushed request', async () => {
    refused(await push(c, { request_uri: 'urn:ietf:params:oauth:request_uri:abc' }), 400, ['invalid_request', 'invalid_request_object'], 'RFC9126-2.1');
  });

  it('refuses a request without redirect_uri', async () => {
    refused(await push(c, { redirect_uri: undefined }), 400, ['invalid_request', 'invalid_request_object'], 'FAPI2-SP-FINAL-5.3.2.2-6');
  });

  it('answers 405 to other methods (the profile\'s RFC 9126 §2.1 rule) and 415 to other media types', async () => {
    const { challenge } = pkce();
    const form = { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256', ...(await c.authForm()) };
    refused(await c.request('/par', { method: 'PUT', form }), 405, ['invalid_request'], 'RFC9126-2.1-method');
    expect((await c.request('/par', { method: 'PUT' })).status).toBe(401);
    expect((await c.request('/par', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })).status).toBe(415);
  });

  it('answers 415 to a body sent with a coding it does not decode, transfer codings included', async () => {
    const statusOf = (headers: string) => new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: as.port, servername: 'localhost', ca: as.certificate }, () => {
        socket.write(`POST /par HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n${headers}Connection: close\r\n\r\n0\r\n\r\n`);
      });
      let text = '';
      socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('end', () => resolve(text.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
    expect(await statusOf('Transfer-Encoding: gzip, chunked\r\n')).toMatch(/^HTTP\/1\.1 415 /);
    expect(await statusOf('Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n')).toMatch(/^HTTP\/1\.1 415 /);
    expect(await statusOf('Transfer-Encoding: chunked\r\n')).toMatch(/^HTTP\/1\.1 401 /);
  });

  it('refuses a parameter sent twice (RFC 6749 §3.1)', async () => {
    const auth = new URLSearchParams(await c.authForm()).toString();
    const res = await c.request('/par', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `scope=openid&scope=accounts&client_id=${c.clientId}&${auth}` });
    refused(res, 400, ['invalid_request']);
  });
});

describe('client assertions (private_key_jwt)', () => {
  let c: RawClient;
  beforeAll(async () => {
    c = await newClient();
  });
  const withAssertion = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => push(c, {}, { auth: await c.authForm(claims, header) });

  it('accepts iat and nbf 8 s ahead', async () => {
    expect((await withAssertion({ iat: now() + 8, nbf: now() + 8 })).status).toBe(201);
  });

  it('refuses an expired assertion', async () => {
    refused(await withAssertion({ exp: now() - 300, iat: now() - 360, nbf: now() - 360 }), [400, 401], ['invalid_client', 'invalid_request'], 'RFC7523-3-4');
  });

  it('refuses aud as the token or PAR endpoint URL, or as an array', async () => {
    for (const aud of [`${as.issuer}/token`, `${as.issuer}/par`, [as.issuer, 'https://other.example']]) {
      refused(await withAssertion({ aud }), [400, 401], ['invalid_client', 'invalid_request'], 'FAPI2-SP-FINAL-5.3.2.1-8');
    }
  });

  it('refuses an assertion without sub', async () => {
    refused(await withAssertion({ sub: undefined }), [400, 401], ['invalid_client', 'invalid_request'], 'RFC7523-3');
  });

  it('refuses iat 70 s ahead', async () => {
    refused(await withAssertion({ iat: now() + 70, nbf: now() + 70, exp: now() + 130 }), [400, 401], ['invalid_client', 'invalid_request'], 'FAPI2-SP-FINAL-5.3.2.1-13');
  });

  it('refuses a reused jti', async () => {
    const auth = await c.authForm();
    expect((await push(c, {}, { auth })).status).toBe(201);
    refused(await push(c, {}, { auth }), [400, 401], ['invalid_client'], 'RFC7523-3-7');
  });

  it('refuses a signature by a key the client did not register', async () => {
    const stranger = await keyPair();
    const assertion = await c.assertion({}, {}, stranger.privateKey);
    refused(await push(c, {}, { auth: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion } }), [400, 401], ['invalid_client'], 'RFC7523-3-9');
  });

  it('refuses RS256 (PS256 client)', async () => {
    const rsa = await newClient({}, 'PS256');
    const jwk = await crypto.subtle.exportKey('jwk', rsa.signing.privateKey);
    const rs256 = await crypto.subtle.importKey('jwk', { ...jwk, alg: 'RS256' }, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
    const assertion = await rsa.assertion({}, { alg: 'RS256' }, rs256);
    refused(await push(rsa, {}, { auth: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion } }), [400, 401], ['invalid_client'], 'FAPI2-SP-FINAL-5.4.1-1.2');
  });

  it('refuses a request without any client authentication', async () => {
    refused(await push(c, {}, { auth: {} }), [400, 401], ['invalid_client', 'invalid_request']);
  });
});

describe('authorization endpoint', () => {
  let c: RawClient;
  beforeAll(async () => {
    c = await newClient();
  });

  it('accepts repeated parameters beside request_uri and uses only the pushed ones', async () => {
    const res = await push(c);
    const back = await authorize(c, { client_id: c.clientId, request_uri: res.pushed!.requestUri, response_type: 'code', scope: 'openid accounts', redirect_uri: REDIRECT_URI, state: 'not-the-pushed-one' });
    expect(back.location?.searchParams.get('code')).toBeTruthy();
    expect(back.location?.searchParams.get('state')).toBe(res.pushed!.state);
  });

  it('refuses a request that did not go through PAR: invalid_request to a registered redirect URI, else a page', async () => {
    const { challenge } = pkce();
    const query = { client_id: c.clientId, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' };
    const back = await authorize(c, { ...query, redirect_uri: REDIRECT_URI });
    expect(back.status).toBe(303);
    expect(back.location!.searchParams.get('error')).toBe('invalid_request');
    expect(back.location!.searchParams.get('error_description')).toContain('FAPI2-SP-FINAL-5.3.2.2-3');
    expect(back.location!.searchParams.get('code')).toBeNull();
    const elsewhere = await authorize(c, { ...query, redirect_uri: 'https://attacker.example/cb' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.location).toBeUndefined();
    expect(elsewhere.text).toContain('FAPI2-SP-FINAL-5.3.2.2-3');
  });

  it('refuses a request_uri pushed by another client, without redirecting', async () => {
    const other = await newClient();
    const res = await push(other);
    const back = await authorize(c, { client_id: c.clientId, request_uri: res.pushed!.requestUri });
    expect(back.status).toBe(400);
    expect(back.location).toBeUndefined();
    expect(back.text).toContain('RFC9126-2.2');
  });

  it('refuses an expired request_uri with invalid_request_uri at the redirect URI, with iss and state', async () => {
    const res = await push(c);
    offset += 120;
    try {
      const back = await authorize(c, { client_id: c.clientId, request_uri: res.pushed!.requestUri });
      expect(back.status).toBe(303);
      expect(back.location!.origin + back.location!.pathname).toBe(REDIRECT_URI);
      expect(back.location!.searchParams.get('error')).toBe('invalid_request_uri');
      expect(back.location!.searchParams.get('iss')).toBe(as.issuer);
      expect(back.location!.searchParams.get('state')).toBe(res.pushed!.state);
    } finally {
      offset -= 120;
    }
  });

  it('refuses an unknown client without redirecting', async () => {
    const back = await authorize(c, { client_id: 'nobody', request_uri: 'urn:ietf:params:oauth:request_uri:x' });
    expect(back.status).toBe(400);
    expect(back.location).toBeUndefined();
  });
});

describe('token endpoint', () => {
  let c: RawClient;
  let dpop: KeyPair;
  beforeAll(async () => {
    c = await newClient();
    dpop = await keyPair();
  });

  it('issues DPoP-bound tokens for a good code, verifier and proof', async () => {
    const { code, verifier } = await codeFor(c);
    const res = await redeem(c, code, verifier, dpop);
    expect(res.status, res.text).toBe(200);
    expect(res.json.token_type).toBe('DPoP');
    expect(res.headers.get('cache-control')).toContain('no-store');
  });

  it('refuses a missing or wrong code_verifier with invalid_grant', async () => {
    const a = await codeFor(c);
    refused(await redeem(c, a.code, undefined, dpop), 400, ['invalid_grant'], 'RFC7636');
    const b = await codeFor(c);
    refused(await redeem(c, b.code, pkce().verifier, dpop), 400, ['invalid_grant'], 'RFC7636-4.6');
  });

  it('refuses a reused code and revokes the tokens issued from it', async () => {
    const { code, verifier } = await codeFor(c);
    const first = await redeem(c, code, verifier, dpop);
    expect(first.status).toBe(200);
    refused(await redeem(c, code, verifier, dpop), 400, ['invalid_grant'], 'FAPI2-SP-FINAL-5.3.2.2-9');
    const token = first.json.access_token as string;
    const proof = await dpopProof(dpop, 'GET', `${as.issuer}/api/accounts`, { ath: (await import('./raw.js')).s256(token) }, {}, now());
    const resource = await c.request('/api/accounts', { headers: { Authorization: `DPoP ${token}`, DPoP: proof } });
    expect(resource.status).toBe(401);
  });

  it('refuses a code older than 60 s', async () => {
    const { code, verifier } = await codeFor(c);
    offset += 61;
    try {
      refused(await redeem(c, code, verifier, dpop), 400, ['invalid_grant'], 'FAPI2-SP-FINAL-5.3.2.1-11');
    } finally {
      offset -= 61;
    }
  });

  it('refuses a code redeemed by another client', async () => {
    const { code, verifier } = await codeFor(c);
    const other = await newClient();
    refused(await redeem(other, code, verifier, dpop), 400, ['invalid_grant'], 'RFC6749-4.1.3-3');
  });

  it('refuses a token request without a binding', async () => {
    const { code, verifier } = await codeFor(c);
    refused(await redeem(c, code, verifier, undefined), 400, ['invalid_request', 'invalid_grant', 'invalid_dpop_proof'], 'FAPI2-SP-FINAL-5.3.2.1-4');
  });
});

describe('DPoP proofs at the token endpoint', () => {
  let c: RawClient;
  let key: KeyPair;
  beforeAll(async () => {
    c = await newClient();
    key = await keyPair();
  });
  const withProof = async (claims: Record<string, unknown>, header: Record<string, unknown> = {}, proofKey?: KeyPair) => {
    const { code, verifier } = await codeFor(c);
    const proof = await dpopProof(proofKey ?? key, 'POST', `${as.issuer}/token`, claims, header, now());
    const form = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) };
    return c.request('/token', { form, headers: { DPoP: proof } });
  };
  const DPOP_ERRORS = ['invalid_dpop_proof', 'invalid_request', 'invalid_grant'];

  it('accepts iat 10 s behind and 8 s ahead', async () => {
    expect((await withProof({ iat: now() - 10 })).status).toBe(200);
    expect((await withProof({ iat: now() + 8 })).status).toBe(200);
  });

  it('refuses a wrong htm and a wrong htu', async () => {
    refused(await withProof({ htm: 'GET' }), 400, DPOP_ERRORS, 'RFC9449-4.3-8');
    refused(await withProof({ htu: `${as.issuer}/par` }), 400, DPOP_ERRORS, 'RFC9449-4.3-9');
  });

  it('refuses a stale and a future iat', async () => {
    refused(await withProof({ iat: now() - 3600 }), 400, DPOP_ERRORS, 'RFC9449-4.3-11');
    refused(await withProof({ iat: now() + 3600 }), 400, DPOP_ERRORS, 'FAPI2-SP-FINAL-5.3.2.1-13');
  });

  it('refuses a reused jti', async () => {
    expect((await withProof({ jti: 'fixed-jti-1' })).status).toBe(200);
    refused(await withProof({ jti: 'fixed-jti-1' }), 400, DPOP_ERRORS, 'RFC9449-11.1');
  });

  it('refuses a proof by a key other than the dpop_jkt the code is bound to', async () => {
    const { JwsVerifier } = await import('../../src/crypto/jws.js');
    const bound = await keyPair();
    const { code, verifier } = await codeFor(c, { dpop_jkt: JwsVerifier.thumbprintOf(bound.publicJwk) });
    const proof = await dpopProof(key, 'POST', `${as.issuer}/token`, {}, {}, now());
    const res = await c.request('/token', { form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) }, headers: { DPoP: proof } });
    refused(res, 400, DPOP_ERRORS, 'RFC9449-4.3-12b');
  });

  it('binds the code to the key of a proof sent at PAR', async () => {
    const parKey = await keyPair();
    const parProof = await dpopProof(parKey, 'POST', `${as.issuer}/par`, {}, {}, now());
    const { code, verifier } = await codeFor(c, {}, parProof);
    refused(await redeem(c, code, verifier, key), 400, DPOP_ERRORS);
  });

  it('refuses a proof without typ, with alg none, or with a private key in jwk', async () => {
    refused(await withProof({}, { typ: undefined }), 400, DPOP_ERRORS, 'RFC9449-4.3');
    const exported = await crypto.subtle.exportKey('jwk', key.privateKey);
    refused(await withProof({}, { jwk: exported }), 400, DPOP_ERRORS, 'RFC9449-4.3-7');
  });

  it('refuses two DPoP headers', async () => {
    const { code, verifier } = await codeFor(c);
    const proof = await dpopProof(key, 'POST', `${as.issuer}/token`, {}, {}, now());
    const headers = new Headers();
    headers.append('DPoP', proof);
    headers.append('DPoP', proof);
    refused(await c.request('/token', { form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) }, headers }), 400, DPOP_ERRORS);
  });
});

describe('the protected resource', () => {
  let c: RawClient;
  let key: KeyPair;
  let token: string;
  beforeAll(async () => {
    c = await newClient();
    key = await keyPair();
    const { code, verifier } = await codeFor(c);
    const res = await redeem(c, code, verifier, key);
    token = res.json.access_token as string;
  });
  const call = async (authorization: string | undefined, proof?: string, path = '/api/accounts') =>
    c.request(path, { headers: { ...(authorization ? { Authorization: authorization } : {}), ...(proof ? { DPoP: proof } : {}) } });
  const proofFor = async (claims: Record<string, unknown> = {}) => dpopProof(key, 'GET', `${as.issuer}/api/accounts`, { ath: (await import('./raw.js')).s256(token), ...claims }, {}, now());

  it('serves a DPoP-bound token with its proof, the scheme in any case', async () => {
    expect((await call(`DPoP ${token}`, await proofFor())).status).toBe(200);
    const res = await call(`dpOP ${token}`, await proofFor());
    expect(res.status).toBe(200);
    expect(res.headers.get('x-fapi-interaction-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses the token without its proof, or sent as Bearer', async () => {
    const res = await call(`DPoP ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^DPoP error="/);
    expect((await call(`Bearer ${token}`)).status).toBe(401);
  });

  it('refuses a proof without ath, or with a wrong ath', async () => {
    expect((await call(`DPoP ${token}`, await proofFor({ ath: undefined }))).status).toBe(401);
    expect((await call(`DPoP ${token}`, await proofFor({ ath: b64(32) }))).status).toBe(401);
  });

  it('refuses a token in the query string', async () => {
    const res = await c.request(`/api/accounts?access_token=${token}`, { headers: { DPoP: await proofFor() } });
    expect([400, 401]).toContain(res.status);
  });

  it('refuses a proof made with another key', async () => {
    const other = await keyPair();
    const proof = await dpopProof(other, 'GET', `${as.issuer}/api/accounts`, { ath: (await import('./raw.js')).s256(token) }, {}, now());
    expect((await call(`DPoP ${token}`, proof)).status).toBe(401);
  });
});

describe('TLS', () => {
  it('refuses TLS 1.1 at the handshake', async () => {
    const error = await new Promise<Error | undefined>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: as.port, servername: 'localhost', ca: as.certificate, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => {
        socket.end();
        resolve(undefined);
      });
      socket.on('error', resolve);
    });
    expect(error).toBeInstanceOf(Error);
  });

  it('negotiates TLS 1.3 when the client offers it', async () => {
    const protocol = await new Promise<string | null>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: as.port, servername: 'localhost', ca: as.certificate }, () => {
        resolve(socket.getProtocol());
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(protocol).toBe('TLSv1.3');
  });

  it('completes a TLS 1.2 handshake with a suite every served profile allows (FAPI 1.0 Advanced §8.5: RSA only), on its RSA certificate', async () => {
    const result = await new Promise<{ protocol: string | null; cipher: string; keyType: string | undefined }>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: as.port, servername: 'localhost', ca: as.certificate, maxVersion: 'TLSv1.2' }, () => {
        resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().standardName, keyType: new X509Certificate(socket.getPeerX509Certificate()!.raw).publicKey.asymmetricKeyType });
        socket.end();
      });
      socket.on('error', reject);
    });
    expect(result.protocol).toBe('TLSv1.2');
    expect(['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']).toContain(result.cipher);
    expect(result.keyType).toBe('rsa');
  });
});
