/**
 * Interoperability with an independent certified client library: openid-client v6 runs the whole
 * FAPI 2.0 flow — discovery, dynamic registration, PAR, authorization (development mode), token,
 * userinfo and the protected resource — against the reference server.
 */
import { webcrypto } from 'node:crypto';
import { exportJWK } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAs, trustingFetch, type TestAs } from './helpers.js';

let as: TestAs;
beforeAll(async () => {
  as = await startTestAs();
});
afterAll(async () => {
  await as?.close();
});

async function follow(fetchImpl: typeof fetch, url: URL): Promise<URL> {
  let next = url;
  for (let hop = 0; hop < 5; hop++) {
    const response = await fetchImpl(next.href, { redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status !== 303 || !location) throw new Error(`expected a 303 redirect, got ${response.status}: ${await response.text()}`);
    const target = new URL(location, next);
    if (target.origin !== new URL(as.issuer).origin) return target;
    next = target;
  }
  throw new Error('too many redirects');
}

describe('openid-client: private_key_jwt + DPoP', () => {
  it('registers, pushes, authorizes, redeems and calls the resource', async () => {
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'client-key-1', alg: 'ES256', use: 'sig' };
    const fetchImpl = trustingFetch(as.certificate);
    const config = await client.dynamicClientRegistration(new URL(as.issuer), {
      redirect_uris: ['https://client.example/cb'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES256',
      jwks: { keys: [jwk] },
      dpop_bound_access_tokens: true,
      client_name: 'Interop test client',
      scope: 'openid accounts',
    }, client.PrivateKeyJwt({ key: keys.privateKey, kid: 'client-key-1' }), { [client.customFetch]: fetchImpl } as never);
    config[client.customFetch] = fetchImpl;
    const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
    const verifier = client.randomPKCECodeVerifier();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: 'https://client.example/cb', scope: 'openid accounts', response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state: 'st-1', nonce: 'n-1',
    }, { DPoP: dpop });
    const callback = await follow(fetchImpl, url);
    expect(callback.searchParams.get('iss')).toBe(as.issuer);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'st-1', expectedNonce: 'n-1' }, undefined, { DPoP: dpop });
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(tokens.refresh_token).toBeTruthy();
    const claims = tokens.claims();
    expect(claims?.sub).toBe('user-alice');
    const info = await client.fetchUserInfo(config, tokens.access_token, claims!.sub, { DPoP: dpop });
    expect(info.sub).toBe('user-alice');
    const resource = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, undefined, { DPoP: dpop });
    expect(resource.status).toBe(200);
    const body = (await resource.json()) as { data: { accounts: unknown[] } };
    expect(body.data.accounts.length).toBeGreaterThan(0);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: dpop });
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.refresh_token).toBeUndefined();
  });
});
