/**
 * The login and consent page in a real browser (Debian's chromium through playwright-core): a user
 * signs in and approves, another denies; both end at the client's redirect URI with iss.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAs, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { b64, keyPair, pkce, RawClient } from './raw.js';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

let as: TestAs;
let browser: Browser;
let c: RawClient;
beforeAll(async () => {
  as = await startTestAs({ dev: false });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  c = new RawClient(as, await keyPair());
  const res = await c.register({ client_name: 'Browser <Test> Client', logo_uri: 'https://client.example/logo.png' });
  expect(res.status, res.text).toBe(201);
});
afterAll(async () => {
  await browser?.close();
  await as?.close();
});

async function pushed(): Promise<{ url: string; state: string }> {
  const state = b64(8);
  const { challenge } = pkce();
  const res = await c.request('/par', { form: {
    client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', state,
    code_challenge: challenge, code_challenge_method: 'S256',
    authorization_details: JSON.stringify([{ type: 'account_information', actions: ['list_accounts'] }]),
    ...(await c.authForm()),
  } });
  expect(res.status, res.text).toBe(201);
  return { url: `${as.issuer}/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: res.json.request_uri as string })}`, state };
}

/** Opens the authorization URL, lets `act` use the page, and returns the URL the browser was sent back to. */
async function inBrowser(url: string, act: (page: import('playwright-core').Page) => Promise<void>): Promise<URL> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    let callback: string | undefined;
    await page.route('https://client.example/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the client' });
    });
    await page.goto(url);
    await act(page);
    await page.waitForURL((u) => u.origin === 'https://client.example', { timeout: 10_000 });
    expect(callback).toBeDefined();
    return new URL(callback!);
  } finally {
    await context.close();
  }
}

describe('login and consent in a browser', () => {
  it('signs in, shows the client and what it asks for, approves, and returns a code with iss and state', async () => {
    const { url, state } = await pushed();
    const back = await inBrowser(url, async (page) => {
      expect(await page.textContent('#client-name')).toBe('Browser <Test> Client');
      expect(await page.textContent('#scopes')).toContain('accounts');
      expect(await page.textContent('#authorization-details')).toContain('account_information');
      expect(await page.getAttribute('img', 'src')).toBe('https://client.example/logo.png');
      await page.fill('#username', 'alice');
      await page.fill('#password', 'wrong password');
      await page.click('#approve');
      expect(await page.textContent('#error')).toContain('Wrong username or password');
      await page.fill('#password', 'alice-demo-password');
      await page.click('#approve');
    });
    expect(back.origin + back.pathname).toBe(REDIRECT_URI);
    expect(back.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(back.searchParams.get('iss')).toBe(as.issuer);
    expect(back.searchParams.get('state')).toBe(state);
  });

  it('denies: access_denied with iss and state, and no code', async () => {
    const { url, state } = await pushed();
    const back = await inBrowser(url, async (page) => {
      await page.click('#deny');
    });
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('iss')).toBe(as.issuer);
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses a form post without the page\'s CSRF token or from another browser', async () => {
    const { url } = await pushed();
    const first = await c.request(url.replace(as.issuer, ''));
    expect(first.status).toBe(303);
    const page = first.headers.get('location')!;
    const res = await c.request(page, { form: { action: 'deny', csrf: 'forged' } });
    expect(res.status).toBe(400);
    expect(res.text).toContain('expired or belongs to another browser');
  });
});
