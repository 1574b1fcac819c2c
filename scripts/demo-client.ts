/**
 * A FAPI 2.0 client for trying the reference server by hand, built on openid-client (an
 * independent certified library): discovery, dynamic registration (private_key_jwt + DPoP), PAR,
 * authorization, token, and a call to the sample resource. In development mode (`--dev` on the
 * server) it follows the redirects itself; otherwise it prints the URL to open in a browser and
 * waits for the redirect back on a loopback address.
 *
 *   node dist/scripts/demo-client.js [--issuer https://localhost:8443] [--data-dir .fapi-policy]
 *        [--profile <fapi_profile>] [--plain-pkce]
 *
 * `--plain-pkce` sends code_challenge_method=plain, to see a refusal name its clause.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { webcrypto } from 'node:crypto';
import { exportJWK } from 'jose';
import * as client from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';

const { values } = parseArgs({
  options: {
    issuer: { type: 'string', default: 'https://localhost:8443' },
    'data-dir': { type: 'string', default: '.fapi-policy' },
    profile: { type: 'string' },
    'plain-pkce': { type: 'boolean', default: false },
  },
});

const step = (text: string) => console.log(`\n== ${text}`);

/** The server's certificate is self-signed on first start: trust exactly that one. */
const agent = new Agent({ connect: { ca: readFileSync(join(values['data-dir'], 'tls', 'cert.pem'), 'utf8') } });
const fetchImpl = ((url: string, init?: RequestInit) => undiciFetch(url, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;

/** A loopback redirect URI for a native client (RFC 8252 §7.3), caught by a one-shot server. */
async function callbackCatcher(): Promise<{ redirectUri: string; next: Promise<URL> }> {
  let resolve!: (u: URL) => void;
  const next = new Promise<URL>((r) => (resolve = r));
  const server = createServer((req, res) => {
    res.end('Back at the demo client; you can close this tab.');
    server.close();
    resolve(new URL(req.url ?? '/', 'http://127.0.0.1'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { redirectUri: `http://127.0.0.1:${port}/cb`, next };
}

async function main(): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as client.CryptoKeyPair;
  const catcher = await callbackCatcher();

  step('Discovery and dynamic client registration (private_key_jwt, DPoP-bound tokens)');
  const config = await client.dynamicClientRegistration(new URL(values.issuer), {
    redirect_uris: [catcher.redirectUri],
    application_type: 'native',
    response_types: ['code'],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [{ ...(await exportJWK(keys.publicKey)), kid: 'demo-1', alg: 'ES256', use: 'sig' }] },
    dpop_bound_access_tokens: true,
    client_name: 'fapi-policy demo client',
    scope: 'openid accounts',
    ...(values.profile ? { fapi_profile: values.profile } : {}),
  }, client.PrivateKeyJwt({ key: keys.privateKey, kid: 'demo-1' }), { [client.customFetch]: fetchImpl });
  config[client.customFetch] = fetchImpl;
  console.log(`client_id ${config.clientMetadata().client_id} under profile ${values.profile ?? '(the server default)'}`);

  step('Pushed authorization request');
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: catcher.redirectUri, scope: 'openid accounts', response_type: 'code', state,
    ...(values['plain-pkce']
      ? { code_challenge: verifier, code_challenge_method: 'plain' }
      : { code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }),
  }, { DPoP: dpop });

  step('Authorization');
  const first = await fetchImpl(url.href, { redirect: 'manual' });
  const location = first.headers.get('location') ?? '';
  let callback: URL;
  if (location.startsWith(catcher.redirectUri)) {
    console.log('development mode: approved at once by the first demo user');
    callback = new URL(location);
  } else {
    console.log(`Open this URL in a browser, sign in as alice / alice-demo-password and approve:\n\n  ${url.href}\n`);
    callback = await catcher.next;
  }
  console.log(`back with code, iss=${callback.searchParams.get('iss')}`);

  step('Token (authorization_code, DPoP proof)');
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop });
  console.log(`token_type ${tokens.token_type}, expires_in ${tokens.expires_in}, refresh token ${tokens.refresh_token ? 'issued' : 'none'}`);

  step('GET /api/accounts with the DPoP-bound token');
  const resource = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${values.issuer}/api/accounts`), 'GET', undefined, undefined, { DPoP: dpop });
  console.log(resource.status, JSON.stringify(await resource.json()));
}

main().then(() => process.exit(0), (e: unknown) => {
  const error = e as { error?: string; error_description?: string; message?: string };
  console.error(`\nrefused: ${error.error ?? ''} ${error.error_description ?? error.message ?? String(e)}`);
  process.exit(1);
});
