/**
 * What must survive a restart with the default durable store: registered clients, grants and
 * refresh tokens, the signing keys and the TLS certificate of the data directory.
 */
import { describe, expect, it } from 'vitest';
import { startTestAs, tempDir } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { dpopProof, keyPair, pkce, RawClient } from './raw.js';

describe('restart with the durable store', () => {
  it('keeps clients, refresh tokens, keys and the certificate', async () => {
    const dataDir = tempDir();
    const first = await startTestAs({ dataDir, store: 'sqlite' });
    const signing = await keyPair();
    const dpop = await keyPair();
    let clientId: string;
    let refreshToken: string;
    let jwks: unknown;
    try {
      const c = new RawClient(first, signing);
      expect((await c.register({})).status).toBe(201);
      clientId = c.clientId;
      const { verifier, challenge } = pkce();
      const par = await c.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256', ...(await c.authForm()) } });
      const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: par.json.request_uri as string })}`);
      const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
      const token = await c.request('/token', {
        form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) },
        headers: { DPoP: await dpopProof(dpop, 'POST', `${first.issuer}/token`) },
      });
      expect(token.status, token.text).toBe(200);
      refreshToken = token.json.refresh_token as string;
      jwks = (await c.request('/jwks')).json;
    } finally {
      await first.close();
    }

    const second = await startTestAs({ dataDir, store: 'sqlite' });
    try {
      expect(second.certificate).toBe(first.certificate);
      const c = new RawClient(second, signing);
      c.clientId = clientId;
      expect((await c.request('/jwks')).json).toEqual(jwks);
      const refreshed = await c.request('/token', {
        form: { grant_type: 'refresh_token', refresh_token: refreshToken, ...(await c.authForm()) },
        headers: { DPoP: await dpopProof(dpop, 'POST', `${second.issuer}/token`) },
      });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.json.token_type).toBe('DPoP');
    } finally {
      await second.close();
    }
  });
});
