/**
 * The peer of `bench:as`: oidc-provider 9 (a certified FAPI server) set up the way our AS serves
 * each FAPI family, one static client per family, the FAPI profile chosen per client as our AS
 * chooses it by the client's `fapi_profile`:
 *
 * - `fapi2`, the FAPI 2.0 Security Profile: PAR required, PKCE S256, DPoP, client credentials;
 * - `fapi1adv`, FAPI 1.0 Advanced (profile '1.0 Final'): a signed request object required (by value
 *   at the authorization endpoint), JARM (`response_mode=jwt`), tokens bound to the client's TLS
 *   certificate (RFC 8705, `features.mTLS.certificateBoundAccessTokens`);
 * - `ms`, FAPI 2.0 Message Signing (profile '2.0' with signed request objects required, pushed at
 *   PAR, and JARM): PAR required, PKCE S256, DPoP.
 *
 * All with private_key_jwt (`aud` = the issuer), ES256 for every signature, its default in-memory
 * adapter and HTTPS on loopback with a self-signed certificate. Like our AS, the TLS server asks every
 * client for a certificate and leaves judging it to the application.
 *
 * Login and consent are automatic, like our development mode: an interaction policy whose one
 * check logs the demo user in and records a grant for the requested scopes, then lets the
 * authorization endpoint answer at once. So a flow has the same round trips on both servers
 * (PAR where the flow pushes, authorization → 303 to the client, token, one resource call), and no
 * cookie from an earlier request is needed.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { JWK } from 'jose';
import Provider, { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { issueCertificate } from '../src/crypto/issue-certificate.js';

/** The static clients, by the FAPI family each belongs to. */
export const PEER_CLIENT_IDS = { fapi2: 'bench-fapi2', fapi1adv: 'bench-fapi1-advanced', ms: 'bench-message-signing' } as const;
type Family = keyof typeof PEER_CLIENT_IDS;
const FAPI_PROFILE: Record<Family, '2.0' | '1.0 Final'> = { fapi2: '2.0', fapi1adv: '1.0 Final', ms: '2.0' };
export const DEMO_SUB = 'alice';
const ALGS = ['ES256', 'PS256'];
const TLS13_ORDER = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export interface PeerClient {
  redirectUri: string;
  /** The clients' public signing key (private_key_jwt, request objects). */
  jwk: JWK;
}

export interface RunningPeer {
  port: number;
  issuer: string;
  certificate: string;
  server: Server;
}

/** A self-signed certificate for localhost and 127.0.0.1. */
function loopbackCertificate(): { cert: string; key: string } {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = issueCertificate({
    subject: 'CN=localhost,O=fapi-policy bench peer', publicKey: keys.publicKey, signingKey: keys.privateKey,
    san: { dns: ['localhost'], ip: ['127.0.0.1'] }, days: 30,
  });
  return { cert, key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

function signingJwk(key: KeyObject, alg: string): JWK {
  return { ...(key.export({ format: 'jwk' }) as JWK), alg, use: 'sig', kid: `${alg}-bench` };
}

/** The development-mode login and consent: the demo user, every requested OpenID scope granted. */
function autoLogin(): unknown {
  const { Prompt, Check } = interactionPolicy;
  return new Prompt({ name: 'login', requestable: false }, new Check('bench_auto_login', 'demo user logged in and consented', async (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx;
    const clientId = oidc.client.clientId;
    oidc.session.loginAccount({ accountId: DEMO_SUB, transient: true });
    const grant = new oidc.provider.Grant({ accountId: DEMO_SUB, clientId });
    grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
    await grant.save();
    oidc.session.ensureClientContainer(clientId);
    oidc.session.grantIdFor(clientId, grant.jti);
    oidc.entity('Grant', grant);
    oidc.entity('Account', account(DEMO_SUB));
    return false;
  }));
}

function account(sub: string) {
  return { accountId: sub, claims: async () => ({ sub }) };
}

/** One client per family, with the metadata our AS's clients register (bench/as.ts). */
function clients(client: PeerClient): Record<string, unknown>[] {
  const base = {
    redirect_uris: [client.redirectUri], response_types: ['code'], scope: 'openid accounts',
    token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256',
    // authorization_signed_response_alg on every client: its default, RS256, is not enabled here.
    id_token_signed_response_alg: 'ES256', authorization_signed_response_alg: 'ES256', jwks: { keys: [client.jwk] },
  };
  const signed = { require_signed_request_object: true, request_object_signing_alg: 'ES256' };
  return [
    { ...base, client_id: PEER_CLIENT_IDS.fapi2, grant_types: ['authorization_code', 'client_credentials'], dpop_bound_access_tokens: true, require_pushed_authorization_requests: true },
    { ...base, ...signed, client_id: PEER_CLIENT_IDS.fapi1adv, grant_types: ['authorization_code'], tls_client_certificate_bound_access_tokens: true },
    { ...base, ...signed, client_id: PEER_CLIENT_IDS.ms, grant_types: ['authorization_code'], dpop_bound_access_tokens: true, require_pushed_authorization_requests: true },
  ];
}

function fapiProfile(_ctx: unknown, client: { clientId: string } | undefined): string | undefined {
  const family = Object.entries(PEER_CLIENT_IDS).find(([, id]) => id === client?.clientId)?.[0] as Family | undefined;
  return family && FAPI_PROFILE[family];
}

/** The certificate the client presented on this connection (asked for, never refused, by the TLS server). */
function peerCertificate(ctx: { req: { socket: unknown } }) {
  return (ctx.req.socket as TLSSocket).getPeerX509Certificate();
}

function configuration(client: PeerClient): Record<string, unknown> {
  return {
    clients: clients(client),
    clientAuthMethods: ['private_key_jwt'],
    responseTypes: ['code'],
    scopes: ['openid', 'accounts'],
    jwks: {
      keys: [
        signingJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ES256'),
        signingJwk(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'PS256'),
      ],
    },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    features: {
      fapi: { enabled: true, profile: fapiProfile },
      // Required per client (require_pushed_authorization_requests): FAPI 1.0 Advanced sends its request object by value.
      pushedAuthorizationRequests: { enabled: true },
      requestObjects: { enabled: true },
      jwtResponseModes: { enabled: true },
      mTLS: { enabled: true, certificateBoundAccessTokens: true, getCertificate: peerCertificate },
      dPoP: { enabled: true },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
    },
    // pkce.required stays the default: always under '2.0', only at PAR under '1.0 Final' (FAPI 1.0 Advanced §5.2.2-18).
    enabledJWA: {
      clientAuthSigningAlgValues: ALGS, dPoPSigningAlgValues: ALGS, idTokenSigningAlgValues: ALGS,
      requestObjectSigningAlgValues: ALGS, userinfoSigningAlgValues: ALGS, introspectionSigningAlgValues: ALGS,
      authorizationSigningAlgValues: ALGS,
    },
    allowOmittingSingleRegisteredRedirectUri: false,
    findAccount: async (_ctx: unknown, sub: string) => account(sub),
    interactions: { policy: [autoLogin()] },
    // Our AS's lifetimes: 600 s access tokens, 60 s codes.
    ttl: { AccessToken: 600, AuthorizationCode: 60, ClientCredentials: 600, IdToken: 600, Grant: 600, Interaction: 600, Session: 600 },
  };
}

/** Starts the peer on 127.0.0.1 (port 0: any free port); its issuer is https://localhost:<port>. */
export async function startPeer(client: PeerClient): Promise<RunningPeer> {
  const tls = loopbackCertificate();
  let handler: ((req: Parameters<ReturnType<Provider['callback']>>[0], res: Parameters<ReturnType<Provider['callback']>>[1]) => void) | undefined;
  // TLS as our AS negotiates it with this client: TLS 1.3, AES-128-GCM preferred by the server.
  const server = createServer({
    ...tls, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2', ciphers: `${TLS13_ORDER}:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384`, honorCipherOrder: true, keepAliveTimeout: 5_000,
  }, (req, res) => handler!(req, res));
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const issuer = `https://localhost:${port}`;
  handler = new Provider(issuer, configuration(client)).callback();
  return { port, issuer, certificate: tls.cert, server };
}
