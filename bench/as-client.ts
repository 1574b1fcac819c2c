/**
 * The load generator's FAPI 2.0 client for `bench:as`: private_key_jwt + DPoP, every JWT made for
 * its request (a new jti, iat and signature each time; a new PKCE verifier, state and nonce per
 * flow). It signs with node:crypto's synchronous ES256 rather than WebCrypto, which keeps the
 * generator's CPU per request low enough that the server, not the generator, is what saturates.
 * HTTP goes through one undici Agent per server (keep-alive, one connection per concurrent user).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { Agent } from 'undici';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const REDIRECT_URI = 'https://client.example/cb';
const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const random = (bytes = 16) => randomBytes(bytes).toString('base64url');
const s256 = (text: string) => createHash('sha256').update(text).digest('base64url');

/** An ES256 key pair: the private KeyObject signs, the public JWK is what servers are told. */
export interface Es256Key {
  privateKey: KeyObject;
  publicJwk: JWK;
}

export function es256Key(kid?: string): Es256Key {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { privateKey, publicJwk: kid ? { ...jwk, kid, alg: 'ES256', use: 'sig' } : jwk };
}

/** A compact JWS (ES256); `header` is the already encoded protected header. */
function jws(header: string, claims: Record<string, unknown>, key: KeyObject): string {
  const input = `${header}.${b64json(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

/** A server under test: where to connect, and its endpoints as discovery names them. */
export interface Target {
  name: string;
  /** https://127.0.0.1:<port>: where connections go. */
  origin: string;
  issuer: string;
  /** The server's certificate, trusted for this target only. */
  certificate: string;
  clientId: string;
  par: string;
  authorization: string;
  token: string;
  /** The protected resource the flow calls: our /api/accounts, the peer's userinfo. */
  resource: string;
}

class Unexpected extends Error {}

interface Answer {
  status: number;
  location: string | undefined;
  text: string;
}

export class FapiClient {
  readonly agent: Agent;
  private readonly host: string;
  private readonly assertionHeader: string;
  private readonly dpopHeader: string;

  constructor(readonly target: Target, private readonly signing: Es256Key, private readonly dpop: Es256Key, connections: number) {
    this.agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { ca: target.certificate, servername: 'localhost' } });
    this.host = new URL(target.issuer).host;
    this.assertionHeader = b64json({ alg: 'ES256', kid: signing.publicJwk.kid });
    this.dpopHeader = b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpop.publicJwk });
  }

  /** A private_key_jwt client assertion (RFC 7523) with aud = the issuer (FAPI 2.0 SP §5.3.3). */
  private assertion(): string {
    const now = Math.floor(Date.now() / 1000);
    const id = this.target.clientId;
    return jws(this.assertionHeader, { iss: id, sub: id, aud: this.target.issuer, jti: random(), iat: now, nbf: now, exp: now + 60 }, this.signing.privateKey);
  }

  /** A DPoP proof (RFC 9449 §4.2), with ath when it accompanies an access token. */
  private proof(htm: string, htu: string, accessToken?: string): string {
    const claims: Record<string, unknown> = { jti: random(), htm, htu, iat: Math.floor(Date.now() / 1000) };
    if (accessToken) claims.ath = s256(accessToken);
    return jws(this.dpopHeader, claims, this.dpop.privateKey);
  }

  private async send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, form?: Record<string, string>): Promise<Answer> {
    const parsed = new URL(url);
    const res = await this.agent.request({
      origin: this.target.origin, path: parsed.pathname + parsed.search, method,
      headers: { host: this.host, ...headers, ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    const text = await res.body.text();
    const location = res.headers.location;
    return { status: res.statusCode, location: typeof location === 'string' ? location : undefined, text };
  }

  private expect(step: string, answer: Answer, status: number): Answer {
    if (answer.status !== status) throw new Unexpected(`${this.target.name} ${step}: ${answer.status} ${answer.text.slice(0, 200)}`);
    return answer;
  }

  private auth(): Record<string, string> {
    return { client_id: this.target.clientId, client_assertion_type: JWT_BEARER, client_assertion: this.assertion() };
  }

  /** PAR (RFC 9126) with a DPoP proof; the request_uri and the flow's PKCE verifier and state. */
  async par(): Promise<{ requestUri: string; verifier: string; state: string }> {
    const verifier = random(32);
    const state = random();
    const answer = this.expect('PAR', await this.send('POST', this.target.par, { dpop: this.proof('POST', this.target.par) }, {
      response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', state, nonce: random(),
      code_challenge: s256(verifier), code_challenge_method: 'S256', ...this.auth(),
    }), 201);
    const requestUri = (JSON.parse(answer.text) as { request_uri?: string }).request_uri;
    if (!requestUri) throw new Unexpected(`${this.target.name} PAR: no request_uri`);
    return { requestUri, verifier, state };
  }

  /** The authorization endpoint in development mode: a 303 straight to the client with the code. */
  async authorize(requestUri: string, state: string): Promise<string> {
    const query = new URLSearchParams({ client_id: this.target.clientId, request_uri: requestUri });
    const answer = this.expect('authorization', await this.send('GET', `${this.target.authorization}?${query}`, {}), 303);
    const callback = new URL(answer.location ?? '', this.target.issuer);
    const code = callback.searchParams.get('code');
    if (callback.origin + callback.pathname !== REDIRECT_URI || !code || callback.searchParams.get('state') !== state || callback.searchParams.get('iss') !== this.target.issuer) {
      throw new Unexpected(`${this.target.name} authorization: unexpected redirect ${answer.location?.slice(0, 200)}`);
    }
    return code;
  }

  private async tokenRequest(form: Record<string, string>): Promise<string> {
    const answer = this.expect('token', await this.send('POST', this.target.token, { dpop: this.proof('POST', this.target.token) }, { ...form, ...this.auth() }), 200);
    const tokens = JSON.parse(answer.text) as { access_token?: string; token_type?: string };
    if (!tokens.access_token || tokens.token_type?.toLowerCase() !== 'dpop') throw new Unexpected(`${this.target.name} token: not a DPoP-bound access token`);
    return tokens.access_token;
  }

  async token(code: string, verifier: string): Promise<string> {
    return this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  }

  async clientCredentials(): Promise<string> {
    return this.tokenRequest({ grant_type: 'client_credentials', scope: 'accounts' });
  }

  /** One call to the protected resource with the DPoP-bound token and a proof carrying ath. */
  async resource(accessToken: string): Promise<void> {
    const headers = { authorization: `DPoP ${accessToken}`, dpop: this.proof('GET', this.target.resource, accessToken) };
    this.expect('resource', await this.send('GET', this.target.resource, headers), 200);
  }

  /** PAR + authorization + token + resource: four round trips. */
  async flow(): Promise<void> {
    const { requestUri, verifier, state } = await this.par();
    const code = await this.authorize(requestUri, state);
    await this.resource(await this.token(code, verifier));
  }

  /** Our AS takes dynamic registration (open on loopback); returns the client_id. */
  async register(): Promise<string> {
    const res = await this.agent.request({
      origin: this.target.origin, path: new URL('/register', this.target.issuer).pathname, method: 'POST',
      headers: { host: this.host, 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code', 'client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', id_token_signed_response_alg: 'ES256',
        scope: 'openid accounts', client_name: 'bench:as', jwks: { keys: [this.signing.publicJwk] }, dpop_bound_access_tokens: true,
      }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`${this.target.name} registration: ${res.statusCode} ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { client_id: string }).client_id;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
