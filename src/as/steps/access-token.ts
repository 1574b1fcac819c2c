/**
 * A request to a protected resource (the sample API, userinfo): find the access token where the
 * client put it, look it up, check a DPoP proof made for it, and let the profile of the client
 * the token was issued to judge the request (`resource` stage).
 */
import type { Exchange } from '../exchange.js';
import { adoptClient, findClient, type RegisteredClient } from '../clients.js';
import { OAuthError } from '../errors.js';
import { enforce } from '../exchange.js';
import { authorizationHeader, queryParams } from '../http.js';
import { resourceFacts, type Presentation } from '../facts/resource.js';
import { checkDpopProof } from './dpop.js';
import { readHttpSignature, type SignedResourceRequest } from './http-signature.js';
import { checkTls } from './tls.js';
import { findAccessToken, grantActive, type AccessTokenRecord } from './tokens.js';

/** Where the token is: the Authorization header, else an access_token query parameter (which the profile judges). */
function presentation(x: Exchange): Presentation {
  const header = authorizationHeader(x.req);
  if (header?.credentials) return { token: header.credentials, location: 'header', scheme: header.scheme };
  const query = queryParams(x.req);
  if (query.access_token) return { token: query.access_token, location: 'query' };
  throw new OAuthError('invalid_token', 'send an access token in the Authorization header (RFC 6750 section 2.1)', 401);
}

export interface AuthorizedRequest {
  record: AccessTokenRecord;
  client: RegisteredClient;
  /** The request's HTTP message signature as read, for the facts and for signing the answer. */
  signed: SignedResourceRequest;
}

/** `body` is the request content, read by the endpoint (empty for GET). */
export async function authorizeResourceRequest(x: Exchange, uri: string, body: Uint8Array = EMPTY): Promise<AuthorizedRequest> {
  const presented = presentation(x);
  const record = presented.token.length <= 512 ? await findAccessToken(x, presented.token) : undefined;
  const client = record ? await findClient(x, record.client_id) : undefined;
  if (client) adoptClient(x, client);
  const active = !!record && !!client && record.expires_at > x.now && (await grantActive(x, record.grant_id));
  checkTls(x, 'api', 'resource');
  const proof = await checkDpopProof(x, { endpoint: 'resource', htm: x.req.method ?? '', htu: uri, accessToken: presented.token, ...(record?.cnf?.jkt ? { expectedJkt: record.cnf.jkt } : {}) });
  const signed = await readHttpSignature(x, client, body);
  enforce(x, 'resource', resourceFacts(x, uri, presented, { record, client, active, proofJkt: proof?.jkt, signature: signed.facts, bodyBytes: body.length }));
  if (!record || !active || !client) throw new OAuthError('invalid_token', 'the access token is not active', 401);
  return { record, client, signed };
}

const EMPTY = new Uint8Array(0);
