/**
 * Interoperability with an independent certified client library: openid-client v6 runs the whole
 * FAPI 2.0 flow — discovery, dynamic registration, PAR, authorization (development mode), token,
 * refresh, userinfo and the protected resource — against the reference server, for every client
 * authentication method (private_key_jwt, tls_client_auth, self_signed_tls_client_auth) with each
 * sender constraint (DPoP, mTLS-bound tokens).
 */
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { serveTestFile, type TestAs } from './helpers.js';
import { registerClient, runFlow, type AuthMethod, type Binding } from './flow.js';
import { selfSigned, TestPki } from './pki.js';

let as: TestAs;
const pki = new TestPki();
serveTestFile(pki, (server) => {
  as = server;
});

const VARIANTS: Array<[AuthMethod, Binding]> = [
  ['private_key_jwt', 'dpop'],
  ['private_key_jwt', 'mtls'],
  ['tls_client_auth', 'dpop'],
  ['tls_client_auth', 'mtls'],
  ['self_signed_tls_client_auth', 'dpop'],
  ['self_signed_tls_client_auth', 'mtls'],
];

describe.each(VARIANTS)('openid-client: %s + %s', (auth, binding) => {
  it('registers, pushes, authorizes, redeems, refreshes and calls userinfo and the resource', async () => {
    const needsCert = auth !== 'private_key_jwt' || binding === 'mtls';
    const tls = !needsCert ? undefined : auth === 'self_signed_tls_client_auth' ? await selfSigned(`CN=self-${binding}`) : pki.issue(`CN=client-${auth}-${binding},O=Tests,C=AU`);
    const c = await registerClient(as, { auth, binding, ...(tls ? { tls } : {}) });
    const { tokens, callback } = await runFlow(as, c);
    expect(callback.searchParams.get('iss')).toBe(as.issuer);
    expect(tokens.token_type.toLowerCase()).toBe(binding === 'dpop' ? 'dpop' : 'bearer');
    const claims = tokens.claims()!;
    expect(claims.sub).toBe('user-alice');
    const options = c.dpop ? { DPoP: c.dpop } : undefined;
    const info = await client.fetchUserInfo(c.config, tokens.access_token, claims.sub, options);
    expect(info.sub).toBe('user-alice');
    const resource = await client.fetchProtectedResource(c.config, tokens.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, undefined, options);
    expect(resource.status).toBe(200);
    expect(((await resource.json()) as { data: { accounts: unknown[] } }).data.accounts.length).toBeGreaterThan(0);
    const introspected = await client.tokenIntrospection(c.config, tokens.access_token);
    expect(introspected.active).toBe(true);
    expect(Object.keys(introspected.cnf as object)).toEqual([binding === 'dpop' ? 'jkt' : 'x5t#S256']);
    const refreshed = await client.refreshTokenGrant(c.config, tokens.refresh_token!, undefined, options);
    expect(refreshed.refresh_token).toBeUndefined(); // FAPI 2.0 SP §5.3.2.1-9: no rotation
    const again = await client.fetchProtectedResource(c.config, refreshed.access_token, new URL(`${as.issuer}/api/accounts`), 'GET', undefined, undefined, options);
    expect(again.status).toBe(200);
    const cc = await client.clientCredentialsGrant(c.config, { scope: 'accounts' }, options);
    expect(cc.access_token).toBeTruthy();
    await client.tokenRevocation(c.config, tokens.refresh_token!);
    expect((await client.tokenIntrospection(c.config, refreshed.access_token)).active).toBe(false);
  });
});
