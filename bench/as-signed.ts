/**
 * The signed-message clients of `bench:as`: FAPI 1.0 Advanced (a request object by value at the
 * authorization endpoint, JARM, private_key_jwt, tokens bound to the client's TLS certificate) and
 * FAPI 2.0 Message Signing (a request object pushed at PAR, JARM, private_key_jwt, DPoP). Request
 * objects are signed with node:crypto like every other JWT the generator makes; each JARM response
 * is verified with jose against the server's JWKS, fetched once and cached, as a relying party
 * would.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { issueCertificate } from '../src/crypto/issue-certificate.js';
import { b64json, FapiClient, jws, random, REDIRECT_URI, s256, Unexpected, type ClientKeys, type Target } from './as-client.js';

/** A CA our AS is told to trust (`clientCa`) and the client certificate it issued for the generator. */
export function clientPki(): { caPem: string; tls: { cert: string; key: string } } {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caSubject = 'CN=bench:as client CA,O=fapi-policy bench';
  const caPem = issueCertificate({ subject: caSubject, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true, days: 30 });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = issueCertificate({
    subject: 'CN=bench:as client,O=fapi-policy bench', publicKey: leaf.publicKey, days: 30,
    issuer: { subject: caSubject, publicKey: ca.publicKey }, signingKey: ca.privateKey,
  });
  return { caPem, tls: { cert, key: pem(leaf.privateKey) } };
}

const pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;

/** The registration metadata (ours) and static client metadata (the peer's) both families share. */
export const SIGNED_METADATA = { request_object_signing_alg: 'ES256', authorization_signed_response_alg: 'ES256', grant_types: ['authorization_code'] };

export class SignedClient extends FapiClient {
  private readonly requestHeader: string;
  private jwks: Promise<JWTVerifyGetKey> | undefined;

  constructor(target: Target, clientId: string, keys: ClientKeys, connections: number) {
    super(target, clientId, keys, connections);
    this.requestHeader = b64json({ alg: 'ES256', kid: keys.signing.publicJwk.kid, typ: 'oauth-authz-req+jwt' });
  }

  /**
   * A request object (RFC 9101 §4) carrying the whole authorization request, with the claims both
   * servers must require of it (FAPI 1.0 Advanced §5.2.2-13, -15 and -17; FAPI 2.0 MS §5.3.1):
   * aud = the issuer, nbf, and an exp five minutes later.
   */
  private requestObject(params: Record<string, string>): string {
    const now = Math.floor(Date.now() / 1000);
    return jws(this.requestHeader, {
      iss: this.clientId, aud: this.target.issuer, iat: now, nbf: now, exp: now + 300, jti: random(),
      client_id: this.clientId, response_type: 'code', response_mode: 'jwt', redirect_uri: REDIRECT_URI,
      scope: 'openid accounts', nonce: random(), ...params,
    }, this.signing.privateKey);
  }

  /** FAPI 1.0 Advanced: the request object by value at the authorization endpoint, JARM, the code at the token endpoint (no PKCE: not pushed). */
  async fapi1Flow(): Promise<void> {
    const state = random();
    const code = await this.jarm(await this.front({ request: this.requestObject({ state }) }), state);
    await this.resource(await this.token(code));
  }

  /** FAPI 2.0 Message Signing: the request object pushed at PAR (with PKCE), JARM, the code with its verifier. */
  async messageSigningFlow(): Promise<void> {
    const state = random();
    const verifier = random(32);
    const requestUri = await this.push({ request: this.requestObject({ state, code_challenge: s256(verifier), code_challenge_method: 'S256' }) });
    const code = await this.jarm(await this.front({ request_uri: requestUri }), state);
    await this.resource(await this.token(code, verifier));
  }

  /**
   * The code from a JARM response (response_mode=jwt, so the query for `code`): the `response`
   * parameter alone, its signature verified against the server's keys, issued by the server for
   * this client, unexpired, and carrying the flow's state.
   */
  private async jarm(callback: URL, state: string): Promise<string> {
    const response = callback.searchParams.get('response');
    if (!response || [...callback.searchParams.keys()].length !== 1) throw new Unexpected(`${this.target.name} authorization: not a JARM response: ${callback.href.slice(0, 200)}`);
    const { payload } = await jwtVerify(response, await this.keys(), {
      issuer: this.target.issuer, audience: this.clientId, algorithms: ['ES256'], requiredClaims: ['exp'],
    });
    if (payload.error) throw new Unexpected(`${this.target.name} authorization: ${String(payload.error)} ${String(payload.error_description ?? '')}`);
    if (payload.state !== state || typeof payload.code !== 'string') throw new Unexpected(`${this.target.name} authorization: JARM response without the code or with another state`);
    return payload.code;
  }

  /** The server's JWKS, fetched on first use and kept (a failed fetch is retried by the next flow). */
  private keys(): Promise<JWTVerifyGetKey> {
    this.jwks ??= this.send('GET', this.target.jwks, {})
      .then((answer) => createLocalJWKSet(JSON.parse(this.expect('jwks', answer, 200).text) as JSONWebKeySet))
      .catch((e: unknown) => {
        this.jwks = undefined;
        throw e;
      });
    return this.jwks;
  }
}
