/**
 * The authorization endpoint. The request names a client and carries its authorization request in
 * one of three ways: a pushed request_uri (RFC 9126, the pushed parameters are the request), a
 * request object (RFC 9101, its claims are the request), or plain parameters. The client's profile
 * judges it (`authorization` stage) and decides which ways it accepts. A refusal goes back to the
 * client's redirect URI only when that URI is known to be the client's (its own authenticated push,
 * or a URI it registered, exactly); otherwise to an error page: an unverified redirect URI is never
 * followed. An accepted request goes to the login and consent page, or in development mode
 * straight to approval by the first demo user.
 */
import type { IncomingMessage } from 'node:http';
import { adoptClient, findClient, type RegisteredClient } from '../clients.js';
import type { AsContext } from '../context.js';
import { invalidRequest, OAuthError } from '../errors.js';
import { asOAuthError, enforce, logExchange, runExchange, type Exchange, type Handler } from '../exchange.js';
import { authorizationFacts, type AuthorizationRequest } from '../facts/authorization.js';
import { queryParams, readForm, type Params } from '../http.js';
import { answerWithCode, redirectError } from '../steps/authorization-response.js';
import { authorizationParams } from '../steps/authorization-params.js';
import { checkTls } from '../steps/tls.js';
import { consumePushedRequest, findPushedRequest, REQUEST_URI_PREFIX } from '../steps/pushed-requests.js';
import { unpackRequestObject, withoutRequest } from '../steps/request-object.js';
import { startInteraction } from './interaction.js';
import type { User } from '../users.js';
import { errorPage, sendPage } from '../views.js';

/** Where a refusal may be sent: the client, and the parameters of a request whose redirect URI is known to be its own. */
export interface Trusted {
  client?: RegisteredClient;
  params?: Record<string, unknown>;
}

/** A browser endpoint: a refusal goes to the client (when safe) or to an error page, never as JSON. */
export function browserEndpoint(ctx: AsContext, name: string, steps: (x: Exchange, trusted: Trusted) => Promise<void>): Handler {
  const trusted = new WeakMap<Exchange, Trusted>();
  return runExchange(ctx, name, (x) => {
    const t: Trusted = {};
    trusted.set(x, t);
    return steps(x, t);
  }, (x, error) => void refuse(x, trusted.get(x) ?? {}, error));
}

export function authorizationEndpoint(ctx: AsContext): Handler {
  return browserEndpoint(ctx, 'authorization', authorize);
}

async function authorize(x: Exchange, trusted: Trusted): Promise<void> {
  const query = await requestParams(x.req);
  const client = await findClient(x, query.client_id ?? '');
  if (!client) throw invalidRequest(query.client_id ? 'unknown client_id' : 'the request has no client_id');
  adoptClient(x, client);
  trusted.client = client;
  checkTls(x, 'browser', 'authorization');
  const request = await readRequest(x, client, query);
  if (redirectsToClient(client, request)) trusted.params = request.params;
  enforce(x, 'authorization', authorizationFacts(x, client, request));
  if (x.ctx.config.dev) {
    const user = x.ctx.users.first();
    if (!user) throw new OAuthError('access_denied', 'development mode has no demo user to log in');
    await completeAuthorization(x, client, request, user, x.now, x.now);
    return;
  }
  await startInteraction(x, client, request);
}

/** The request in the form it came: a pushed request_uri, a request object by value, or parameters. */
async function readRequest(x: Exchange, client: RegisteredClient, query: Params): Promise<AuthorizationRequest> {
  if (query.request_uri !== undefined) {
    // Only request_uris of pushed requests are taken; request objects by reference are not fetched.
    if (!query.request_uri.startsWith(REQUEST_URI_PREFIX)) throw new OAuthError('request_uri_not_supported', 'only request_uri values from this server\'s PAR endpoint are accepted');
    const found = await findPushedRequest(x, query.request_uri);
    const pushed = found?.value;
    return {
      query, params: pushed?.params ?? authorizationParams(query), requestObjectUsed: pushed?.request_object_used ?? false,
      pushed: { request: pushed, usedBefore: found?.consumed ?? false },
    };
  }
  if (query.request !== undefined) {
    const outer = authorizationParams(query);
    return { query, params: await unpackRequestObject(x, client, query.request, 'authorization', withoutRequest(outer)), requestObjectUsed: true };
  }
  return { query, params: authorizationParams(query), requestObjectUsed: false };
}

/**
 * Whether an answer may go to the request's redirect URI: a pushed request of this very client
 * (authenticated at PAR), or a URI the client registered, character for character.
 */
function redirectsToClient(client: RegisteredClient, request: AuthorizationRequest): boolean {
  if (request.pushed) return request.pushed.request?.client_id === client.client_id;
  const uri = request.params.redirect_uri;
  return typeof uri === 'string' && (client.metadata.redirect_uris ?? []).includes(uri);
}

/** GET takes the query; POST (OpenID Connect Core §3.1.2.1) a form body. */
async function requestParams(req: IncomingMessage): Promise<Params> {
  if (req.method === 'GET') return queryParams(req);
  if (req.method !== 'POST') throw new OAuthError('invalid_request', 'use GET or POST', 405, { Allow: 'GET, POST' });
  return readForm(req);
}

/**
 * Approval. A pushed request is used up (atomically; a second approval of the same request_uri
 * is judged as a reuse); a code is issued and sent to the client. `receivedAt` is when the
 * authorization request arrived: the facts describe that request.
 */
export async function completeAuthorization(x: Exchange, client: RegisteredClient, request: AuthorizationRequest, user: User, receivedAt: number, authTime: number): Promise<void> {
  const pushed = request.pushed?.request;
  if (pushed) {
    const consumed = await consumePushedRequest(x, pushed.request_uri);
    const usedBefore = consumed?.replayed ?? true;
    // Asked again only when the atomic use learned what the first judgement could not (another use in between).
    if (usedBefore !== request.pushed?.usedBefore) {
      enforce(x, 'authorization', authorizationFacts(x, client, { ...request, pushed: { request: consumed?.pushed, usedBefore } }, receivedAt));
    }
  }
  await answerWithCode(x, client, { params: request.params, ...(pushed?.dpop_jkt ? { dpopJkt: pushed.dpop_jkt } : {}) }, user, authTime);
  logExchange(x, 'authorization', undefined, 'code issued');
}

/** A refusal: to the client's redirect URI when it is known to be the client's, else an error page. */
export async function refuse(x: Exchange, trusted: Trusted, error: OAuthError): Promise<void> {
  logExchange(x, 'authorization', error);
  if (trusted.client && trusted.params && error.status < 500) {
    try {
      await redirectError(x, trusted.client, trusted.params, error);
      return;
    } catch (e) {
      // The profile refused the error response itself (the server's fault): nothing goes to the client.
      const failure = asOAuthError(e, x.ctx, 'authorization');
      logExchange(x, 'authorization', failure);
      sendPage(x.res, 500, errorPage(failure.error, failure.description));
      return;
    }
  }
  sendPage(x.res, error.status >= 500 ? 500 : 400, errorPage(error.error, error.description));
}
