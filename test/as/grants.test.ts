/**
 * What a grant allows, decided by the profile: refresh tokens bound to their client and scope,
 * request_uris used once, redirect URIs the client registered, the registered auth method.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestAs, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { dpopProof, keyPair, pkce, RawClient, type KeyPair, type Response } from './raw.js';

let as: TestAs;
beforeAll(async () => {
  as = await startTestAs();
});
afterAll(async () => {
  await as?.close();
});

async function client(metadata: Record<string, unknown> = {}): Promise<RawClient> {
  const c = new RawClient(as, await keyPair());
  const res = await c.register(metadata);
  expect(res.status, res.text).toBe(201);
  return c;
}

function refused(res: Response, status: number, error: string, rule: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.json.error).toBe(error);
  expect(res.json.error_description as string).toContain(rule);
}

async function push(c: RawClient, params: Record<string, string> = {}) {
  const { verifier, challenge } = pkce();
  const res = await c.request('/par', { form: {
    client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', state: 's1',
    code_challenge: challenge, code_challenge_method: 'S256', ...params, ...(await c.authForm()),
  } });
  return { res, verifier };
}

async function tokens(c: RawClient, dpop: KeyPair): Promise<Record<string, unknown>> {
  const { res, verifier } = await push(c);
  const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: res.json.request_uri as string })}`);
  const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
  const token = await c.request('/token', {
    form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) },
    headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) },
  });
  expect(token.status, token.text).toBe(200);
  return token.json;
}

async function refresh(c: RawClient, refreshToken: string, dpop: KeyPair, extra: Record<string, string> = {}): Promise<Response> {
  return c.request('/token', {
    form: { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra, ...(await c.authForm()) },
    headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) },
  });
}

describe('refresh tokens', () => {
  let owner: RawClient;
  let dpop: KeyPair;
  let refreshToken: string;
  beforeAll(async () => {
    owner = await client();
    dpop = await keyPair();
    refreshToken = (await tokens(owner, dpop)).refresh_token as string;
  });

  it('work for their client, with a new DPoP key too, and are not rotated', async () => {
    const res = await refresh(owner, refreshToken, await keyPair());
    expect(res.status, res.text).toBe(200);
    expect(res.json.refresh_token).toBeUndefined();
    expect(res.headers.get('cache-control')).toContain('no-store');
  });

  it('are refused to another client', async () => {
    const thief = await client();
    refused(await refresh(thief, refreshToken, dpop), 400, 'invalid_grant', 'RFC6749-6-client');
  });

  it('never give more scope than the grant', async () => {
    refused(await refresh(owner, refreshToken, dpop, { scope: 'openid accounts payments' }), 400, 'invalid_scope', 'RFC6749-6-scope');
    const narrower = await refresh(owner, refreshToken, dpop, { scope: 'accounts' });
    expect(narrower.status, narrower.text).toBe(200);
    expect(narrower.json.scope).toBe('accounts');
  });

  it('are refused when unknown', async () => {
    refused(await refresh(owner, 'not-a-refresh-token', dpop), 400, 'invalid_grant', 'RFC6749-6-grant');
  });

  it('are refused once revoked', async () => {
    const c = await client();
    const rt = (await tokens(c, dpop)).refresh_token as string;
    expect((await c.request('/revoke', { form: { token: rt, token_type_hint: 'refresh_token', ...(await c.authForm()) } })).status).toBe(200);
    refused(await refresh(c, rt, dpop), 400, 'invalid_grant', 'RFC6749-6-grant');
  });
});

describe('request_uri and redirect_uri', () => {
  it('a request_uri is used once: a second authorization is refused with invalid_request_uri', async () => {
    const c = await client();
    const { res } = await push(c);
    const query = new URLSearchParams({ client_id: c.clientId, request_uri: res.json.request_uri as string });
    const first = await c.request(`/authorize?${query}`);
    expect(new URL(first.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    const second = await c.request(`/authorize?${query}`);
    expect(second.status).toBe(303);
    const back = new URL(second.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request_uri');
    expect(back.searchParams.get('error_description')).toContain('RFC9126-4-single-use');
    expect(back.searchParams.get('iss')).toBe(as.issuer);
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('an approved pushed request is decided once (the atomic use asks again only when it learns of another use)', async () => {
    const allowed = () => Number(/^fapi_policy_as_decisions_total\{profile="fapi2-security",stage="authorization",decision="allow"\} (\d+)$/m.exec(as.ctx.metrics.render())?.[1] ?? 0);
    const c = await client();
    const { res } = await push(c);
    const before = allowed();
    const first = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: res.json.request_uri as string })}`);
    expect(new URL(first.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    expect(allowed() - before).toBe(1);
  });

  it('a redirect_uri the client did not register is refused at PAR, so no one is sent to it', async () => {
    const c = await client();
    const { res } = await push(c, { redirect_uri: 'https://attacker.example/cb' });
    refused(res, 400, 'invalid_request', 'RFC9700-4.1.3');
  });

  it('a redirect URI with its own query keeps it when the answer is appended', async () => {
    const withQuery = `${REDIRECT_URI}?dummy1=lorem&dummy2=ipsum`;
    const c = await client({ redirect_uris: [REDIRECT_URI, withQuery] });
    const { res } = await push(c, { redirect_uri: withQuery });
    expect(res.status, res.text).toBe(201);
    const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: res.json.request_uri as string })}`);
    const url = new URL(back.headers.get('location')!);
    expect(url.searchParams.get('dummy1')).toBe('lorem');
    expect(url.searchParams.get('dummy2')).toBe('ipsum');
    expect(url.searchParams.get('code')).toBeTruthy();
  });
});

describe('client authentication', () => {
  it('a client registered for tls_client_auth cannot authenticate with an assertion instead', async () => {
    const c = await client({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: 'CN=nobody' });
    const { res } = await push(c);
    refused(res, 401, 'invalid_client', 'RFC7591-2');
  });

  it('an unknown client is refused with invalid_client', async () => {
    const c = new RawClient(as, await keyPair());
    c.clientId = 'no-such-client';
    const { res } = await push(c);
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
  });
});

describe('grant types', () => {
  const CIBA = 'urn:openid:params:grant-type:ciba';
  const clientCredentials = async (c: RawClient, dpop: KeyPair, grant = 'client_credentials', extra: Record<string, string> = {}) => c.request('/token', {
    form: { grant_type: grant, scope: 'accounts', ...extra, ...(await c.authForm()) },
    headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) },
  });

  it('refuses a grant the client did not register (RFC 7591 §2), and allows it once registered', async () => {
    const dpop = await keyPair('ES256');
    const codeOnly = await client({ grant_types: ['authorization_code'] });
    refused(await clientCredentials(codeOnly, dpop), 400, 'unauthorized_client', 'RFC7591-2-grant-types');
    const both = await client({ grant_types: ['authorization_code', 'client_credentials'] });
    expect((await clientCredentials(both, dpop)).status).toBe(200);
  });

  it('neither registers nor advertises nor honours a grant the profile allows but this server does not implement (CIBA)', async () => {
    const c = new RawClient(as, await keyPair());
    const res = await c.register({ grant_types: ['authorization_code', CIBA] });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error).toBe('invalid_client_metadata');
    expect(res.json.error_description).toContain(`does not implement '${CIBA}'`);
    const discovery = await c.request('/.well-known/openid-configuration');
    expect(discovery.json.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials']);
    // A client stored with the grant (registered before this check, say) still gets no token.
    const stored = await client();
    const record = (await as.ctx.store.get<{ metadata: Record<string, unknown> }>('client', stored.clientId))!;
    await as.ctx.store.set('client', stored.clientId, { ...record, metadata: { ...record.metadata, grant_types: [...(record.metadata.grant_types as string[]), CIBA] } }, 0);
    const answer = await clientCredentials(stored, await keyPair('ES256'), CIBA, { auth_req_id: 'any' });
    expect(answer.status, answer.text).toBe(400);
    expect(answer.json.error).toBe('unsupported_grant_type');
    expect(answer.json.access_token).toBeUndefined();
  });
});

describe('replay caches', () => {
  it('remembers a client assertion\'s jti until it expires, and a DPoP proof\'s for as long as the profile accepts it', async () => {
    const c = await client();
    const dpop = await keyPair('ES256');
    const add = vi.spyOn(as.ctx.store, 'add');
    try {
      const now = Math.floor(Date.now() / 1000);
      const res = await c.request('/token', {
        form: { grant_type: 'client_credentials', scope: 'accounts', ...(await c.authForm({ exp: now + 7200 })) },
        headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) },
      });
      expect(res.status, res.text).toBe(200);
      const ttlOf = (kind: string) => add.mock.calls.find(([k]) => k === kind)?.[3];
      // Two hours, not an hour: a replay of the assertion after an hour is still caught.
      expect(ttlOf('jti')).toBeGreaterThanOrEqual(7199);
      expect(ttlOf('jti')).toBeLessThanOrEqual(7202);
      // fapi2-security: proof_max_age 300 plus clock_skew.reject_future 60, plus a second of rounding.
      expect(ttlOf('dpop_jti')).toBe(361);
    } finally {
      add.mockRestore();
    }
  });
});
