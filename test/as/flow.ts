/** The FAPI 2.0 flow driven by openid-client, shared by the interop and negative tests. */
import { webcrypto } from 'node:crypto';
import { exportJWK, type CryptoKey, type JWK } from 'jose';
import * as client from 'openid-client';
import { trustingFetch, type TestAs } from './helpers.js';
import type { Identity } from './pki.js';

type CryptoKeyPair = { privateKey: CryptoKey; publicKey: CryptoKey };

export type AuthMethod = 'private_key_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth';
export type Binding = 'dpop' | 'mtls';

export interface FlowClient {
  config: client.Configuration;
  fetch: typeof fetch;
  dpop?: client.DPoPHandle;
  signingKey?: CryptoKeyPair;
  clientId: string;
  redirectUri: string;
}

export const REDIRECT_URI = 'https://client.example/cb';

/** Follows the AS's 303 redirects until one leaves it (the client's callback). */
export async function follow(as: TestAs, fetchImpl: typeof fetch, url: URL): Promise<URL> {
  let next = url;
  for (let hop = 0; hop < 5; hop++) {
    const response = await fetchImpl(next.href, { redirect: 'manual' });
    const location = response.headers.get('location');
    if (response.status !== 303 || !location) throw new Error(`expected a 303 redirect, got ${response.status}: ${(await response.text()).slice(0, 300)}`);
    const target = new URL(location, next);
    if (target.origin !== new URL(as.issuer).origin) return target;
    next = target;
  }
  throw new Error('too many redirects');
}

export async function ecKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export interface RegisterOptions {
  auth: AuthMethod;
  binding: Binding;
  /** The TLS client certificate (mTLS auth, or mTLS-bound tokens). */
  tls?: Identity & { jwk?: JWK };
  metadata?: Record<string, unknown>;
  /** The client signs request objects too (a signing key even without private_key_jwt). */
  signRequests?: boolean;
  /** More public keys for the client's jwks (an encryption key). */
  extraKeys?: JWK[];
  /** RFC 7591 §3, for registrations that need one (a resource server). */
  initialAccessToken?: string;
}

/** Registers a client by DCR with openid-client and returns a configuration ready for the flow. */
export async function registerClient(as: TestAs, options: RegisterOptions): Promise<FlowClient> {
  const fetchImpl = trustingFetch(as.certificate, options.tls ? { cert: options.tls.cert, key: options.tls.key } : undefined);
  const signingKey = options.auth === 'private_key_jwt' || options.signRequests ? await ecKeyPair() : undefined;
  const keys: JWK[] = [];
  if (signingKey) keys.push({ ...(await exportJWK(signingKey.publicKey)), kid: 'sig-1', alg: 'ES256', use: 'sig' });
  if (options.auth === 'self_signed_tls_client_auth' && options.tls?.jwk) keys.push(options.tls.jwk);
  keys.push(...(options.extraKeys ?? []));
  const metadata: Record<string, unknown> = {
    redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: options.auth, scope: 'openid accounts', client_name: `Test ${options.auth} + ${options.binding}`,
    ...(keys.length ? { jwks: { keys } } : {}),
    ...(options.auth === 'private_key_jwt' ? { token_endpoint_auth_signing_alg: 'ES256' } : {}),
    ...(options.auth === 'tls_client_auth' ? { tls_client_auth_subject_dn: options.tls!.subject } : {}),
    ...(options.binding === 'dpop' ? { dpop_bound_access_tokens: true } : { tls_client_certificate_bound_access_tokens: true }),
    ...options.metadata,
  };
  const auth = options.auth === 'private_key_jwt' ? client.PrivateKeyJwt({ key: signingKey!.privateKey, kid: 'sig-1' }) : client.TlsClientAuth();
  const config = await client.dynamicClientRegistration(new URL(as.issuer), metadata as Partial<client.ClientMetadata>, auth, { [client.customFetch]: fetchImpl, ...(options.initialAccessToken ? { initialAccessToken: options.initialAccessToken } : {}) });
  config[client.customFetch] = fetchImpl;
  const dpop = options.binding === 'dpop' ? client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256')) : undefined;
  return { config, fetch: fetchImpl, ...(dpop ? { dpop } : {}), ...(signingKey ? { signingKey } : {}), clientId: config.clientMetadata().client_id, redirectUri: REDIRECT_URI };
}

export interface FlowResult {
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  callback: URL;
}

/** PAR → authorization (development mode) → token, as openid-client does it. */
export async function runFlow(as: TestAs, c: FlowClient, scope = 'openid accounts'): Promise<FlowResult> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = await client.buildAuthorizationUrlWithPAR(c.config, {
    redirect_uri: c.redirectUri, scope, response_type: 'code', state, nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  }, c.dpop ? { DPoP: c.dpop } : undefined);
  const callback = await follow(as, c.fetch, url);
  const tokens = await client.authorizationCodeGrant(c.config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }, undefined, c.dpop ? { DPoP: c.dpop } : undefined);
  return { tokens, callback };
}
