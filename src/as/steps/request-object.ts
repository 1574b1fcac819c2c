/**
 * Request objects (JAR, RFC 9101): a signed JWT carrying the authorization request, by value at
 * PAR or at the authorization endpoint. It is decoded, its signature checked with the client's
 * registered keys under the algorithms its profile allows, and judged (`request_object` stage);
 * then its claims are the request and nothing outside it counts (RFC 9101 §6.3). Encrypted request
 * objects and request_uri values pointing elsewhere than a pushed request are not supported.
 */
import type { JWK } from 'jose';
import { decodeJwt, JwtFormatError } from '../../crypto/jws.js';
import { clientKeys, type RegisteredClient } from '../clients.js';
import { OAuthError } from '../errors.js';
import { enforce, type Exchange } from '../exchange.js';
import { jwtFacts } from '../facts/jwt.js';
import { requestObjectFacts, type RequestObjectEndpoint } from '../facts/request-object.js';
import { authorizationParams } from './authorization-params.js';

/** Request objects carry more than assertions (authorization_details, claims): a larger bound. */
const REQUEST_OBJECT_MAX_CHARS = 64 * 1024;

/** JWT claims that describe the request object itself, not the authorization request it carries. */
const ENVELOPE = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti']);

export async function unpackRequestObject(
  x: Exchange, client: RegisteredClient, compact: string, endpoint: RequestObjectEndpoint, outer: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  let decoded;
  try {
    decoded = decodeJwt(compact, REQUEST_OBJECT_MAX_CHARS);
  } catch (e) {
    if (e instanceof JwtFormatError) throw new OAuthError('invalid_request_object', `request: ${e.message}`);
    throw e;
  }
  const algorithms = (x.profile.settings.signing_algs as { request_object: string[] }).request_object;
  const verified = await x.ctx.verifier.verify(compact, decoded.header, clientKeys(client) as JWK[], algorithms);
  enforce(x, 'request_object', requestObjectFacts(x, client, jwtFacts(decoded, verified), endpoint, outer, false));
  return authorizationParams(Object.fromEntries(Object.entries(decoded.claims)
    .filter(([name]) => !ENVELOPE.has(name))
    .map(([name, value]) => [name, paramValue(name, value)])));
}

/** The parameters sent beside a request object. */
export function withoutRequest(params: Record<string, unknown>): Record<string, unknown> {
  const { request: _request, ...outer } = params;
  return outer;
}

/**
 * Parameters in a request object are JSON values (RFC 9101 §4): the facts carry them as the
 * front channel would (strings), except authorization_details, which stays JSON.
 */
function paramValue(name: string, value: unknown): unknown {
  if (typeof value === 'string' || name === 'authorization_details') return value;
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}
