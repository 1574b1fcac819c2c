/**
 * Compliance modes side by side: one server holds a FAPI 2.0 client and a FAPI 1.0 Advanced client
 * each to its own profile, and a client moved from FAPI 1.0 Advanced to FAPI 2.0 (RFC 7592) follows
 * its new profile from the next request on, while requests in flight during the move all succeed.
 */
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { serveTestFile, trustingFetch, type TestAs } from './helpers.js';
import { follow, registerClient, runFlow, type FlowClient } from './flow.js';
import { dpopProof, keyPair } from './raw.js';
import { TestPki } from './pki.js';

let as: TestAs;
const pki = new TestPki();
serveTestFile(pki, (server) => {
  as = server;
});

/** Metadata both FAPI 1.0 Advanced and FAPI 2.0 accept: code with JARM, pkjwt, mTLS-bound tokens. */
const PORTABLE = {
  response_types: ['code'], grant_types: ['authorization_code', 'client_credentials'],
  request_object_signing_alg: 'ES256', authorization_signed_response_alg: 'ES256', id_token_signed_response_alg: 'ES256',
};

async function mtlsClient(profile: string): Promise<FlowClient> {
  return registerClient(as, { auth: 'private_key_jwt', binding: 'mtls', tls: pki.issue(`CN=${profile}-${client.randomState().slice(0, 6)},O=Tests,C=AU`), signRequests: true, metadata: { ...PORTABLE, fapi_profile: profile } });
}

/** FAPI 1.0 Advanced: a request object by value asking for a JARM response. */
async function advancedJarmFlow(c: FlowClient) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithJAR(c.config, { redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce, response_type: 'code', response_mode: 'jwt' }, { key: c.signingKey!.privateKey, kid: 'sig-1' });
  const res = await c.fetch(url.href, { redirect: 'manual' });
  return { res, state, nonce, url };
}

/** The error parameters of a redirect back to the client: in the query, the fragment, or inside a JARM response. */
function errorOf(location: string | null): URLSearchParams {
  const url = new URL(location ?? 'about:blank');
  const jarm = url.searchParams.get('response');
  if (jarm) return new URLSearchParams(decodeJwt(jarm) as Record<string, string>);
  return url.searchParams.has('error') ? url.searchParams : new URLSearchParams(url.hash.slice(1));
}

describe('a FAPI 2.0 client and a FAPI 1.0 Advanced client on one server', () => {
  let fapi2: FlowClient;
  let fapi1: FlowClient;
  beforeAll(async () => {
    fapi2 = await registerClient(as, { auth: 'private_key_jwt', binding: 'dpop', signRequests: true, metadata: { fapi_profile: 'fapi2-security' } });
    fapi1 = await mtlsClient('fapi1-advanced');
  });

  it('serves both, each under its own profile', async () => {
    const two = await runFlow(as, fapi2);
    expect(two.tokens.token_type.toLowerCase()).toBe('dpop');
    client.useJwtResponseMode(fapi1.config);
    const { res, state, nonce } = await advancedJarmFlow(fapi1);
    expect(res.status, await res.clone().text()).toBe(303);
    const tokens = await client.authorizationCodeGrant(fapi1.config, new URL(res.headers.get('location')!), { expectedState: state, expectedNonce: nonce });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    const lines = as.logs.lines.map((l) => JSON.parse(l) as { client_id?: string; profile?: string }).filter((l) => l.client_id);
    expect(new Set(lines.filter((l) => l.client_id === fapi1.clientId).map((l) => l.profile))).toEqual(new Set(['fapi1-advanced']));
    expect(new Set(lines.filter((l) => l.client_id === fapi2.clientId).map((l) => l.profile))).toEqual(new Set(['fapi2-security']));
  });

  it('refuses the FAPI 1.0 client a DPoP-bound token, naming the FAPI 1.0 clause', async () => {
    const key = await keyPair('ES256');
    const proof = await dpopProof(key, 'POST', `${as.issuer}/token`);
    const res = await fapi1.fetch(`${as.issuer}/token`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', DPoP: proof },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'accounts', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion(fapi1) }),
    });
    const body = (await res.json()) as { error: string; error_description: string };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error_description).toMatch(/FAPI 1\.0 Part 2/);
  });

  it('refuses the FAPI 2.0 client a hybrid request and a front-channel request object, naming the FAPI 2.0 clause', async () => {
    const hybrid = await client.buildAuthorizationUrlWithPAR(fapi2.config, { redirect_uri: fapi2.redirectUri, scope: 'openid accounts', response_type: 'code id_token', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { DPoP: fapi2.dpop! })
      .then(() => undefined, (e: unknown) => e as client.ResponseBodyError);
    expect(hybrid?.error).toBe('unsupported_response_type');
    expect(hybrid?.error_description).toMatch(/FAPI 2\.0 SP/);
    const jar = await client.buildAuthorizationUrlWithJAR(fapi2.config, { redirect_uri: fapi2.redirectUri, scope: 'openid accounts', response_type: 'code', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }, { key: fapi2.signingKey!.privateKey, kid: 'sig-1' });
    const res = await fapi2.fetch(jar.href, { redirect: 'manual' });
    const error = errorOf(res.headers.get('location'));
    expect(error.get('error')).toBe('invalid_request');
    expect(error.get('error_description')).toMatch(/FAPI 2\.0 SP/);
  });
});

describe('moving a client from FAPI 1.0 Advanced to FAPI 2.0 during a run', () => {
  it('follows the new profile from the next request on; requests during the move all succeed', async () => {
    const c = await mtlsClient('fapi1-advanced');
    client.useJwtResponseMode(c.config);
    const before = await advancedJarmFlow(c);
    expect(before.res.status).toBe(303);
    expect(new URL(before.res.headers.get('location')!).searchParams.has('error')).toBe(false);

    // Client credentials grants keep running while the registration is updated (RFC 7592).
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 200 && !stop; i++) {
        const r = await client.clientCredentialsGrant(c.config, { scope: 'accounts' }).then(() => 200, (e: client.ResponseBodyError) => e.status ?? 0);
        statuses.push(r);
      }
    })();
    const metadata = c.config.clientMetadata();
    const { registration_access_token: token, registration_client_uri: uri, client_id_issued_at: _at, ...rest } = metadata;
    const put = await c.fetch(uri as string, { method: 'PUT', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token as string}` }, body: JSON.stringify({ ...rest, fapi_profile: 'fapi2-security' }) });
    expect(put.status, await put.clone().text()).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(1);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // FAPI 2.0 now: a request object by value at the authorization endpoint is refused, PAR is served.
    const after = await advancedJarmFlow(c);
    const error = errorOf(after.res.headers.get('location'));
    expect(error.get('error')).toBe('invalid_request');
    expect(error.get('error_description')).toMatch(/FAPI 2\.0 SP/);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(c.config, { redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const tokens = await client.authorizationCodeGrant(c.config, await follow(as, c.fetch, url), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.access_token).toBeTruthy();
    const last = as.logs.lines.map((l) => JSON.parse(l) as { client_id?: string; profile?: string; endpoint?: string }).filter((l) => l.client_id === c.clientId && l.endpoint === 'token').at(-1);
    expect(last?.profile).toBe('fapi2-security');
  });
});

async function assertion(c: FlowClient): Promise<string> {
  const { SignJWT } = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: c.clientId, sub: c.clientId, aud: as.issuer, iat: now, exp: now + 60, jti: client.randomState() })
    .setProtectedHeader({ alg: 'ES256', kid: 'sig-1' }).sign(c.signingKey!.privateKey);
}

describe('loaded profiles the server cannot serve', () => {
  it('names them with the rule that refuses the server, refuses their clients, and serves the others', async () => {
    const fetchImpl = trustingFetch(as.certificate);
    const cdr = await fetchImpl(`${as.issuer}/.well-known/openid-configuration?profile=au-cdr`);
    expect(cdr.status).toBe(404);
    expect(((await cdr.json()) as { error_description: string }).error_description).toMatch(/not served here: its discovery metadata is refused: AUCDR-/);
    expect((await fetchImpl(`${as.issuer}/.well-known/openid-configuration?profile=ksa`)).status).toBe(200);
    const register = await fetchImpl(`${as.issuer}/register`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://client.example/cb'], token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=x', fapi_profile: 'au-cdr' }),
    });
    expect(register.status).toBe(400);
    const body = (await register.json()) as { error: string; error_description: string };
    expect(body.error).toBe('invalid_client_metadata');
    expect(body.error_description).toContain("fapi_profile 'au-cdr' cannot be served");
    expect(as.logs.lines.some((l) => l.includes("profile 'au-cdr' is loaded but not served"))).toBe(true);
  });
});
