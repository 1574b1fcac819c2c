/**
 * The login and consent page. An accepted authorization request becomes an interaction: a
 * short-lived record bound to the browser by a cookie, with a CSRF token the form must echo. The
 * page names the client (name, logo), the scopes and any authorization_details; approving needs a
 * demo user's credentials, denying does not and answers access_denied (with iss) to the client.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { adoptClient, findClient, type RegisteredClient } from '../clients.js';
import type { AsContext } from '../context.js';
import { OAuthError } from '../errors.js';
import type { Exchange, Handler } from '../exchange.js';
import { readForm, segmentAfter } from '../http.js';
import { sendRedirect, setCookie } from '../respond.js';
import { PATHS } from '../options.js';
import { credentialHash, randomCredential } from '../steps/credentials.js';
import type { AuthorizationRequest } from '../facts/authorization.js';
import { consentPage, sendPage } from '../views.js';
import { browserEndpoint, completeAuthorization } from './authorize.js';

const INTERACTION_TTL = 600;
const MAX_ATTEMPTS = 5;
const COOKIE = 'fapi_interaction';

interface Interaction {
  id: string;
  client_id: string;
  request: AuthorizationRequest;
  /** When the authorization request arrived (the facts of its approval use this time). */
  received_at: number;
  browser: string;
  csrf: string;
  attempts: number;
}

/** Records the accepted request and sends the browser to the page, bound to it by a cookie. */
export async function startInteraction(x: Exchange, client: RegisteredClient, request: AuthorizationRequest): Promise<void> {
  const id = randomCredential();
  const browser = randomCredential();
  const interaction: Interaction = {
    id, client_id: client.client_id, request, received_at: x.now, browser: credentialHash(browser), csrf: randomBytes(24).toString('base64url'), attempts: 0,
  };
  await x.ctx.store.set('interaction', id, interaction, INTERACTION_TTL);
  const path = `${PATHS.interaction}/${id}`;
  setCookie(x.res, COOKIE, browser, path, INTERACTION_TTL);
  x.res.setHeader('Cache-Control', 'no-store');
  sendRedirect(x.res, path);
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === COOKIE) return rest.join('=');
  }
  return undefined;
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The interaction of this browser, or a refusal: unknown, expired, or another browser's. */
async function load(x: Exchange): Promise<{ interaction: Interaction; client: RegisteredClient }> {
  const id = segmentAfter(x.req, PATHS.interaction);
  const interaction = id.length <= 64 ? await x.ctx.store.get<Interaction>('interaction', id) : undefined;
  const cookie = cookieOf(x.req);
  if (!interaction || !cookie || !same(credentialHash(cookie), interaction.browser)) {
    throw new OAuthError('invalid_request', 'this sign-in page has expired or belongs to another browser; start again from the application');
  }
  const client = await findClient(x, interaction.client_id);
  if (!client) throw new OAuthError('invalid_request', 'the client of this request is no longer registered');
  adoptClient(x, client);
  return { interaction, client };
}

function page(x: Exchange, interaction: Interaction, client: RegisteredClient, status = 200, error?: string, username?: string): void {
  const p = interaction.request.params;
  sendPage(x.res, status, consentPage({
    action: `${PATHS.interaction}/${interaction.id}`,
    csrf: interaction.csrf,
    clientName: typeof client.metadata.client_name === 'string' ? client.metadata.client_name : client.client_id,
    clientId: client.client_id,
    ...(typeof client.metadata.logo_uri === 'string' ? { logoUri: client.metadata.logo_uri } : {}),
    scopes: typeof p.scope === 'string' ? p.scope.split(' ').filter(Boolean) : [],
    ...(p.authorization_details !== undefined ? { authorizationDetails: p.authorization_details } : {}),
    ...(error ? { error } : {}),
    ...(username ? { username } : {}),
  }), typeof p.redirect_uri === 'string' ? p.redirect_uri : undefined);
}

export function interactionPage(ctx: AsContext): Handler {
  return browserEndpoint(ctx, 'interaction', async (x) => {
    const { interaction, client } = await load(x);
    page(x, interaction, client);
  });
}

export function interactionSubmit(ctx: AsContext): Handler {
  return browserEndpoint(ctx, 'interaction', async (x, trusted) => {
    const { interaction, client } = await load(x);
    const form = await readForm(x.req);
    if (!same(form.csrf ?? '', interaction.csrf)) throw new OAuthError('invalid_request', 'the form is stale or was not sent from this page; start again from the application');
    Object.assign(trusted, { client, params: interaction.request.params });
    if (form.action === 'deny') {
      await x.ctx.store.delete('interaction', interaction.id);
      throw new OAuthError('access_denied', 'the user denied the request');
    }
    const user = x.ctx.users.authenticate(form.username ?? '', form.password ?? '');
    if (!user) {
      const attempts = interaction.attempts + 1;
      if (attempts >= MAX_ATTEMPTS) {
        await x.ctx.store.delete('interaction', interaction.id);
        throw new OAuthError('access_denied', 'too many failed sign-in attempts');
      }
      await x.ctx.store.set('interaction', interaction.id, { ...interaction, attempts }, INTERACTION_TTL);
      page(x, interaction, client, 400, 'Wrong username or password.', form.username);
      return;
    }
    await x.ctx.store.delete('interaction', interaction.id);
    await completeAuthorization(x, client, interaction.request, user, interaction.received_at, x.now);
  });
}
