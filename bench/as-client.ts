/**
 * The load generator's FAPI 2.0 client for `bench:as`: private_key_jwt + DPoP (or, given a TLS
 * client certificate, mTLS-bound tokens), every JWT made for its request (a new jti, iat and
 * signature each time; a new PKCE verifier, state and nonce per flow). It signs with node:crypto's
 * synchronous ES256 rather than WebCrypto, which keeps the generator's CPU per request low enough
 * that the server, not the generator, is what saturates. HTTP goes through one undici Agent per
 * client and server (keep-alive, one connection per concurrent user).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { Agent } from 'undici';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const REDIRECT_URI = 'https://client.example/cb';
export const b64json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
export const random = (bytes = 16) => randomBytes(bytes).toString('base64url');
export const s256 = (text: string) => createHash('sha256').update(text).digest('base64url');

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
export function jws(header: string, claims: Record<string, unknown>, key: KeyObject): string {
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
  par: string;
  authorization: string;
  token: string;
  /** The protected resource the flow calls: our /api/accounts, the peer's userinfo. */
  resource: string;
  jwks: string;
}

/** How the client authenticates its tokens' use: DPoP proofs, or its TLS client certificate. */
export interface ClientKeys {
  /** Signs client assertions (and request objects); its public JWK has a kid. */
  signing: Es256Key;
  /** DPoP-bound tokens with this key; without it, tokens bound to `tls`. */
  dpop?: Es256Key;
  tls?: { cert: string; key: string };
}

export class Unexpected extends Error {}

export interface Answer {
  status: number;
  location: string | undefined;
  text: string;
}

export class FapiClient {
  readonly agent: Agent;
  private readonly host: string;
  private readonly assertionHeader: string;
  private readonly dpopHeader: string | undefined;
  protected readonly signing: Es256Key;
  private readonly dpop: Es256Key | undefined;

  /** `clientId`: the peer's static client; ours registers (`register`). */
  constructor(readonly target: Target, public clientId: string, keys: ClientKeys, connections: number) {
    if (!keys.dpop && !keys.tls) throw new Error('a client needs a DPoP key or a TLS client certificate to bind its tokens');
    this.agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 30_000, connect: { ca: target.certificate, servername: 'localhost', ...keys.tls } });
    this.host = new URL(target.issuer).host;
    this.signing = keys.signing;
    this.dpop = keys.dpop;
    this.assertionHeader = b64json({ alg: 'ES256', kid: keys.signing.publicJwk.kid });
    this.dpopHeader = keys.dpop && b64json({ typ: 'dpop+jwt', alg: 'ES256', jwk: keys.dpop.publicJwk });
  }

  /** A private_key_jwt client assertion (RFC 7523) with aud = the issuer (FAPI 2.0 SP §5.3.3). */
  private assertion(): string {
    const now = Math.floor(Date.now() / 1000);
    const id = this.clientId;
    return jws(this.assertionHeader, { iss: id, sub: id, aud: this.target.issuer, jti: random(), iat: now, nbf: now, exp: now + 60 }, this.signing.privateKey);
  }

  /** A DPoP proof header (RFC 9449 §4.2), with ath when it accompanies an access token; none for an mTLS client. */
  protected proof(htm: string, htu: string, accessToken?: string): Record<string, string> {
    if (!this.dpop || !this.dpopHeader) return {};
    const claims: Record<string, unknown> = { jti: random(), htm, htu, iat: Math.floor(Date.now() / 1000) };
    if (accessToken) claims.ath = s256(accessToken);
    return { dpop: jws(this.dpopHeader, claims, this.dpop.privateKey) };
  }

  protected async send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, form?: Record<string, string>): Promise<Answer> {
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

  protected expect(step: string, answer: Answer, status: number): Answer {
    if (answer.status !== status) throw new Unexpected(`${this.target.name} ${step}: ${answer.status} ${answer.text.slice(0, 200)}`);
    return answer;
  }

  protected auth(): Record<string, string> {
    return { client_id: this.clientId, client_assertion_type: JWT_BEARER, client_assertion: this.assertion() };
  }

  /** PAR (RFC 9126) with a DPoP proof; the request_uri and the flow's PKCE verifier and state. */
  async par(): Promise<{ requestUri: string; verifier: string; state: string }> {
    const verifier = random(32);
    const state = random();
    const requestUri = await this.push({
      response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', state, nonce: random(),
      code_challenge: s256(verifier), code_challenge_method: 'S256',
    });
    return { requestUri, verifier, state };
  }

  /** PAR (RFC 9126) of `params`, authenticated, with a DPoP proof when the client uses DPoP; the request_uri. */
  protected async push(params: Record<string, string>): Promise<string> {
    const answer = this.expect('PAR', await this.send('POST', this.target.par, this.proof('POST', this.target.par), { ...params, ...this.auth() }), 201);
    const requestUri = (JSON.parse(answer.text) as { request_uri?: string }).request_uri;
    if (!requestUri) throw new Unexpected(`${this.target.name} PAR: no request_uri`);
    return requestUri;
  }

  /** The authorization endpoint in development mode: a 303 straight to the client's redirect URI. */
  protected async front(query: Record<string, string>): Promise<URL> {
    const url = `${this.target.authorization}?${new URLSearchParams({ client_id: this.clientId, ...query })}`;
    const answer = this.expect('authorization', await this.send('GET', url, {}), 303);
    const callback = new URL(answer.location ?? '', this.target.issuer);
    if (callback.origin + callback.pathname !== REDIRECT_URI) throw new Unexpected(`${this.target.name} authorization: unexpected redirect ${answer.location?.slice(0, 200)}`);
    return callback;
  }

  /** The code from a plain query response, with state and iss (RFC 9207) checked. */
  async authorize(requestUri: string, state: string): Promise<string> {
    const callback = await this.front({ request_uri: requestUri });
    const code = callback.searchParams.get('code');
    if (!code || callback.searchParams.get('state') !== state || callback.searchParams.get('iss') !== this.target.issuer) {
      throw new Unexpected(`${this.target.name} authorization: unexpected redirect ${callback.href.slice(0, 200)}`);
    }
    return code;
  }

  private async tokenRequest(form: Record<string, string>): Promise<string> {
    const answer = this.expect('token', await this.send('POST', this.target.token, this.proof('POST', this.target.token), { ...form, ...this.auth() }), 200);
    const tokens = JSON.parse(answer.text) as { access_token?: string; token_type?: string };
    const type = this.dpop ? 'dpop' : 'bearer';
    if (!tokens.access_token || tokens.token_type?.toLowerCase() !== type) throw new Unexpected(`${this.target.name} token: not a ${type} access token (${tokens.token_type})`);
    return tokens.access_token;
  }

  /** The code grant; the PKCE verifier when the flow had one. */
  async token(code: string, verifier?: string): Promise<string> {
    return this.tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...(verifier ? { code_verifier: verifier } : {}) });
  }

  async clientCredentials(): Promise<string> {
    return this.tokenRequest({ grant_type: 'client_credentials', scope: 'accounts' });
  }

  /** One call to the protected resource: the DPoP-bound token with a proof carrying ath, or the mTLS-bound one over this connection. */
  async resource(accessToken: string): Promise<void> {
    const headers = { authorization: `${this.dpop ? 'DPoP' : 'Bearer'} ${accessToken}`, ...this.proof('GET', this.target.resource, accessToken) };
    this.expect('resource', await this.send('GET', this.target.resource, headers), 200);
  }

  /** PAR + authorization + token + resource: four round trips. */
  async flow(): Promise<void> {
    const { requestUri, verifier, state } = await this.par();
    const code = await this.authorize(requestUri, state);
    await this.resource(await this.token(code, verifier));
  }

  /** Our AS takes dynamic registration (open on loopback): the default metadata with `metadata` over it. */
  async register(metadata: Record<string, unknown> = {}): Promise<void> {
    const res = await this.agent.request({
      origin: this.target.origin, path: new URL('/register', this.target.issuer).pathname, method: 'POST',
      headers: { host: this.host, 'content-type': 'application/json' },
      body: JSON.stringify({
        redirect_uris: [REDIRECT_URI], response_types: ['code'], grant_types: ['authorization_code', 'client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', id_token_signed_response_alg: 'ES256',
        scope: 'openid accounts', client_name: 'bench:as', jwks: { keys: [this.signing.publicJwk] },
        ...(this.dpop ? { dpop_bound_access_tokens: true } : { tls_client_certificate_bound_access_tokens: true }), ...metadata,
      }),
    });
    const text = await res.body.text();
    if (res.statusCode !== 201) throw new Error(`${this.target.name} registration: ${res.statusCode} ${text.slice(0, 300)}`);
    this.clientId = (JSON.parse(text) as { client_id: string }).client_id;
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
