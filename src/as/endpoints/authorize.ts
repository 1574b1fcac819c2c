/**
 * The authorization endpoint. The request names a client and a pushed request; the client's
 * profile judges it (`authorization` stage, with the pushed parameters as the request, RFC 9126
 * §4). A refusal goes back to the client's redirect URI when that URI is known to be the client's
 * (it came with the client's own authenticated push), otherwise to an error page: an unverified
 * redirect URI is never followed. An accepted request goes to the login and consent page, or in
 * development mode straight to approval by the first demo user.
 */
import type { IncomingMessage } from 'node:http';
import { adoptClient, findClient, type RegisteredClient } from '../clients.js';
import type { AsContext } from '../context.js';
import { invalidRequest, OAuthError } from '../errors.js';
import { asOAuthError, enforce, logExchange, runExchange, type Exchange, type Handler } from '../exchange.js';
import { authorizationFacts } from '../facts/authorization.js';
import { parseParams, queryParams, readBody, FORM_MAX_BYTES, type Params } from '../http.js';
import { issueCode, redirectError, respondToClient, responseModeOf } from '../steps/authorization-response.js';
import { checkTls } from '../steps/tls.js';
import { consumePushedRequest, findPushedRequest, type PushedRequest } from '../steps/pushed-requests.js';
import { startInteraction } from './interaction.js';
import type { User } from '../users.js';
import { errorPage, sendPage } from '../views.js';

/** Where a refusal may be sent: the redirect URI of a request the client itself pushed. */
export interface Trusted {
  client?: RegisteredClient;
  pushed?: PushedRequest;
}

/** A browser endpoint: a refusal goes to the client (when safe) or to an error page, never as JSON. */
export function browserEndpoint(ctx: AsContext, name: string, steps: (x: Exchange, trusted: Trusted) => Promise<void>): Handler {
  const trusted = new WeakMap<Exchange, Trusted>();
  return runExchange(ctx, name, (x) => {
    const t: Trusted = {};
    trusted.set(x, t);
    return steps(x, t);
  }, (x, error) => refuse(x, trusted.get(x) ?? {}, error));
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
  const found = await findPushedRequest(x, query.request_uri);
  const peeked = found?.value;
  if (peeked?.client_id === client.client_id) trusted.pushed = peeked;
  enforce(x, 'authorization', authorizationFacts(x, client, query, { named: query.request_uri !== undefined, pushed: peeked, usedBefore: found?.consumed }));
  // The profile accepted the request; the server serves it only from the client's own pushed request.
  const pushed = trusted.pushed;
  if (!pushed) throw invalidRequest('this server takes authorization requests only as pushed requests of the same client (RFC 9126)');
  if (x.ctx.config.dev) {
    const user = x.ctx.users.first();
    if (!user) throw new OAuthError('access_denied', 'development mode has no demo user to log in');
    await completeAuthorization(x, client, pushed, query, user, x.now, x.now);
    return;
  }
  await startInteraction(x, client, pushed, query);
}

/** GET takes the query; POST (OpenID Connect Core §3.1.2.1) a form body. */
async function requestParams(req: IncomingMessage): Promise<Params> {
  if (req.method === 'GET') return queryParams(req);
  if (req.method !== 'POST') throw new OAuthError('invalid_request', 'use GET or POST', 405, { Allow: 'GET, POST' });
  if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'Content-Type must be application/x-www-form-urlencoded', 415);
  }
  return parseParams((await readBody(req, FORM_MAX_BYTES)).toString('utf8'), 'form');
}

/**
 * Approval: the pushed request is used up (atomically; a second approval of the same request_uri
 * is judged as a reuse), a code is issued and sent to the client. `receivedAt` is when the
 * authorization request arrived: the facts describe that request.
 */
export async function completeAuthorization(x: Exchange, client: RegisteredClient, pushed: PushedRequest, query: Params, user: User, receivedAt: number, authTime: number): Promise<void> {
  const consumed = await consumePushedRequest(x, pushed.request_uri);
  enforce(x, 'authorization', authorizationFacts(x, client, query, { named: true, pushed: consumed?.pushed, usedBefore: consumed?.replayed ?? true }, receivedAt));
  const code = await issueCode(x, client, pushed, user, authTime);
  respondToClient(x, pushed.params.redirect_uri as string, responseModeOf(pushed.params), { code, state: pushed.params.state as string | undefined });
  logExchange(x, 'authorization', undefined, 'code issued');
}

/** A refusal: to the client's redirect URI when it is known to be the client's, else an error page. */
export function refuse(x: Exchange, trusted: Trusted, error: OAuthError): void {
  logExchange(x, 'authorization', error);
  const redirectUri = trusted.pushed?.params.redirect_uri;
  if (trusted.pushed && typeof redirectUri === 'string' && error.status < 500) {
    try {
      redirectError(x, redirectUri, trusted.pushed.params, error);
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
