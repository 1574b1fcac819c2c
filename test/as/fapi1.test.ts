/**
 * FAPI 1.0 against the reference server with openid-client v6: Advanced with a signed request
 * object (JAR) and either JARM (`code`, response_mode=jwt) or the hybrid `code id_token` response
 * whose ID token is a detached signature (the library checks c_hash and s_hash), each with
 * private_key_jwt and with tls_client_auth, pushed (PAR) and sent by value; Baseline with a public
 * client and PKCE.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { exportJWK, type CryptoKey } from 'jose';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { serveTestFile, trustingFetch, type TestAs } from './helpers.js';
import { follow, registerClient, type AuthMethod, type FlowClient } from './flow.js';
import { TestPki } from './pki.js';

let as: TestAs;
const pki = new TestPki();
serveTestFile(pki, (server) => {
  as = server;
});

type Response = 'jarm' | 'hybrid';

async function advancedClient(auth: AuthMethod, response: Response): Promise<FlowClient> {
  const tls = pki.issue(`CN=fapi1-${auth}-${response},O=Tests,C=AU`);
  const c = await registerClient(as, {
    auth, binding: 'mtls', tls, signRequests: true,
    metadata: {
      fapi_profile: 'fapi1-advanced', response_types: [response === 'jarm' ? 'code' : 'code id_token'], grant_types: ['authorization_code', 'refresh_token'],
      request_object_signing_alg: 'ES256', id_token_signed_response_alg: 'ES256',
      ...(response === 'jarm' ? { authorization_signed_response_alg: 'ES256' } : {}),
    },
  });
  if (response === 'jarm') client.useJwtResponseMode(c.config);
  else {
    client.useCodeIdTokenResponseType(c.config);
    client.enableDetachedSignatureResponseChecks(c.config);
  }
  return c;
}

/** JAR by value, or JAR pushed; then the front channel; then the code at the token endpoint. */
async function advancedFlow(c: FlowClient, par: boolean) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  const params: Record<string, string> = {
    redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce,
    ...(par ? { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' } : {}),
  };
  const jar = await client.buildAuthorizationUrlWithJAR(c.config, params, { key: c.signingKey!.privateKey, kid: 'sig-1' });
  const url = par ? await client.buildAuthorizationUrlWithPAR(c.config, jar.searchParams) : jar;
  expect([...url.searchParams.keys()].sort()).toEqual(par ? ['client_id', 'request_uri'] : ['client_id', 'request']);
  const callback = await follow(as, c.fetch, url);
  const tokens = await client.authorizationCodeGrant(c.config, callback, { expectedState: state, expectedNonce: nonce, ...(par ? { pkceCodeVerifier: verifier } : {}) });
  return { tokens, callback };
}

const VARIANTS: Array<[AuthMethod, Response, boolean]> = [];
for (const auth of ['private_key_jwt', 'tls_client_auth'] as const) for (const response of ['jarm', 'hybrid'] as const) for (const par of [false, true]) VARIANTS.push([auth, response, par]);

describe.each(VARIANTS)('openid-client, FAPI 1.0 Advanced: %s, %s, PAR %s', (auth, response, par) => {
  it('completes the flow with mTLS-bound tokens and calls the resource', async () => {
    const c = await advancedClient(auth, response);
    const { tokens, callback } = await advancedFlow(c, par);
    if (response === 'jarm') {
      expect([...callback.searchParams.keys()]).toEqual(['response']);
    } else {
      const fragment = new URLSearchParams(callback.hash.slice(1));
      expect(fragment.get('code')).toBeTruthy();
      expect(fragment.get('id_token')).toBeTruthy();
    }
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.claims()!.sub).toBe('user-alice');
    const resource = await client.fetchProtectedResource(c.config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET');
    expect(resource.status).toBe(200);
    expect(resource.headers.get('x-fapi-interaction-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys((await client.tokenIntrospection(c.config, tokens.access_token)).cnf as object)).toEqual(['x5t#S256']);
  });
});

describe('openid-client, FAPI 1.0 Baseline: a public client with PKCE', () => {
  it('completes the flow with client authentication none', async () => {
    const registered = await client.dynamicClientRegistration(new URL(as.issuer), {
      redirect_uris: ['https://client.example/cb'], response_types: ['code'], grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'none', scope: 'openid accounts', fapi_profile: 'fapi1-baseline',
    } as Partial<client.ClientMetadata>, client.None(), { [client.customFetch]: trustingFetch(as.certificate) });
    const fetchImpl = trustingFetch(as.certificate);
    registered[client.customFetch] = fetchImpl;
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(registered, {
      redirect_uri: 'https://client.example/cb', scope: 'openid accounts', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = await follow(as, fetchImpl, url);
    const tokens = await client.authorizationCodeGrant(registered, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()!.sub).toBe('user-alice');
  });
});

describe('FAPI 1.0 specifics: acr and the x-fapi headers', () => {
  it('puts the acr asked for as essential in the claims parameter into the ID token', async () => {
    const c = await advancedClient('private_key_jwt', 'jarm');
    const state = client.randomState();
    const nonce = client.randomNonce();
    const claims = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:mace:incommon:iap:silver'] } } });
    const url = await client.buildAuthorizationUrlWithJAR(c.config, { redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce, claims }, { key: c.signingKey!.privateKey, kid: 'sig-1' });
    const tokens = await client.authorizationCodeGrant(c.config, await follow(as, c.fetch, url), { expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()!.acr).toBe('urn:mace:incommon:iap:silver');
  });

  it('states its own acr for an acr_values it does not satisfy, and refuses an essential one it does not satisfy', async () => {
    const c = await advancedClient('private_key_jwt', 'jarm');
    const state = client.randomState();
    const nonce = client.randomNonce();
    const voluntary = await client.buildAuthorizationUrlWithJAR(c.config, { redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce, acr_values: 'urn:example:unknown' }, { key: c.signingKey!.privateKey, kid: 'sig-1' });
    const tokens = await client.authorizationCodeGrant(c.config, await follow(as, c.fetch, voluntary), { expectedState: state, expectedNonce: nonce });
    expect(tokens.claims()!.acr).toBe('urn:mace:incommon:iap:silver');
    const claims = JSON.stringify({ id_token: { acr: { essential: true, value: 'urn:example:unknown' } } });
    const essential = await client.buildAuthorizationUrlWithJAR(c.config, { redirect_uri: c.redirectUri, scope: 'openid accounts', state, nonce, claims }, { key: c.signingKey!.privateKey, kid: 'sig-1' });
    const refused = await client.authorizationCodeGrant(c.config, await follow(as, c.fetch, essential), { expectedState: state, expectedNonce: nonce }).then(() => undefined, (e: client.AuthorizationResponseError) => e);
    expect(refused?.error).toBe('unmet_authentication_requirements');
  });

  it('echoes x-fapi-interaction-id, accepts x-fapi-auth-date and x-fapi-customer-ip-address, and warns on a malformed date', async () => {
    const c = await advancedClient('tls_client_auth', 'jarm');
    const { tokens } = await advancedFlow(c, true);
    const id = 'c770aef3-6784-41f7-8e0e-ff5f97bddb3a';
    const headers = { 'x-fapi-interaction-id': id, 'x-fapi-auth-date': 'Tue, 11 Sep 2012 19:43:31 GMT', 'x-fapi-customer-ip-address': '198.51.100.7' };
    const resource = await client.fetchProtectedResource(c.config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, new Headers(headers));
    expect(resource.status).toBe(200);
    expect(resource.headers.get('x-fapi-interaction-id')).toBe(id);
    const odd = await client.fetchProtectedResource(c.config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, new Headers({ 'x-fapi-auth-date': 'yesterday' }));
    expect(odd.status).toBe(200);
    const line = as.logs.lines.map((l) => JSON.parse(l) as { endpoint?: string; warnings?: string[] }).filter((l) => l.endpoint === 'resource').at(-1);
    expect(line?.warnings?.some((w) => w.startsWith('FAPI1-BASE-6.2.2-3'))).toBe(true);
  });
});

describe('ID token encryption (OpenID Connect Core §10.2)', () => {
  it('encrypts the ID token to the key the client registered, and openid-client decrypts it', async () => {
    const enc = (await webcrypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, true, ['deriveBits'])) as { privateKey: CryptoKey; publicKey: CryptoKey };
    const encJwk = { ...(await exportJWK(enc.publicKey)), kid: 'enc-1', use: 'enc', alg: 'ECDH-ES+A128KW' };
    const tls = pki.issue('CN=fapi1-encrypted,O=Tests,C=AU');
    const c = await registerClient(as, {
      auth: 'private_key_jwt', binding: 'mtls', tls, signRequests: true, extraKeys: [encJwk],
      metadata: {
        fapi_profile: 'fapi1-advanced', response_types: ['code'], grant_types: ['authorization_code'], authorization_signed_response_alg: 'ES256',
        id_token_encrypted_response_alg: 'ECDH-ES+A128KW', id_token_encrypted_response_enc: 'A128GCM',
      },
    });
    client.useJwtResponseMode(c.config);
    client.enableDecryptingResponses(c.config, ['A128GCM'], { key: enc.privateKey, alg: 'ECDH-ES+A128KW', kid: 'enc-1' });
    const { tokens } = await advancedFlow(c, true);
    expect(tokens.id_token!.split('.')).toHaveLength(5);
    expect(tokens.claims()!.sub).toBe('user-alice');
    const decrypted = client.getDecryptedResponses(tokens);
    expect(decrypted).toBeDefined();
  });

  it('refuses to send an ID token encrypted with an algorithm the profile does not allow: the response is judged, nothing is sent', async () => {
    const tls = pki.issue('CN=fapi1-encrypted-2,O=Tests,C=AU');
    const c = await registerClient(as, {
      auth: 'private_key_jwt', binding: 'mtls', tls, signRequests: true,
      metadata: { fapi_profile: 'fapi1-advanced', response_types: ['code'], grant_types: ['authorization_code'], authorization_signed_response_alg: 'ES256' },
    });
    client.useJwtResponseMode(c.config);
    // A record made before the profile stopped allowing it: AES key wrap with a symmetric key (never registrable now).
    const record = (await as.ctx.store.get<{ metadata: Record<string, unknown> }>('client', c.clientId))!;
    const keys = (record.metadata.jwks as { keys: object[] }).keys;
    await as.ctx.store.set('client', c.clientId, { ...record, metadata: {
      ...record.metadata, id_token_encrypted_response_alg: 'A128KW', id_token_encrypted_response_enc: 'A128GCM',
      jwks: { keys: [...keys, { kty: 'oct', k: randomBytes(16).toString('base64url'), use: 'enc', kid: 'kw' }] },
    } }, 0);
    // openid-client does not parse a 500's body: read it from the Response it keeps.
    const refused = await advancedFlow(c, true).then(() => undefined, (e: Error & { cause?: globalThis.Response }) => e.cause);
    expect(refused?.status).toBe(500);
    expect(((await refused!.json()) as { error_description: string }).error_description).toContain('RFC8725-3.2-id-token-encryption');
  });
});
