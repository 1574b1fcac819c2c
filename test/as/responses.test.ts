/**
 * The profile governs what the server sends and what it is: a token response the client's profile
 * refuses is not sent (nor recorded), and a configuration it refuses keeps the server from starting.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAs } from '../../src/as/server.js';
import { snapshotOf, startTestAs, tempDir, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { dpopProof, keyPair, pkce, RawClient } from './raw.js';

const overlay = (id: string, settings: string) => `id: ${id}
title: ${id}
version: "1"
spec: https://example.com/${id}
extends: fapi2-security
settings:
${settings}
`;

let dir: string;
beforeAll(() => {
  dir = tempDir();
  writeFileSync(join(dir, 'es256-id-tokens.yaml'), overlay('es256-id-tokens', '  signing_algs.id_token: { subset_of: [ES256] }'));
  writeFileSync(join(dir, 'strong-credentials.yaml'), overlay('strong-credentials', '  credentials.min_entropy_bits: { value: 512 }'));
});

describe('the token response is the profile\'s to accept', () => {
  let as: TestAs;
  beforeAll(async () => {
    as = await startTestAs();
    as.setSnapshot(await snapshotOf(['profiles', dir]));
  });
  afterAll(async () => {
    await as?.close();
  });

  it('refuses to send an ID token signed with an algorithm the client\'s profile no longer allows, and records nothing', async () => {
    const dpop = await keyPair();
    const { verifier, challenge } = pkce();
    const moved = new RawClient(as, await keyPair());
    const created = await moved.register({ id_token_signed_response_alg: 'PS256' });
    expect(created.status, created.text).toBe(201);
    // The client moves to a profile that signs ID tokens with ES256 only (RFC 7592 update).
    const token = created.json.registration_access_token as string;
    const update = await moved.request(`/register/${moved.clientId}`, {
      method: 'PUT', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...created.json, fapi_profile: 'es256-id-tokens', id_token_signed_response_alg: undefined }),
    });
    expect(update.status, update.text).toBe(200);
    // Registered PS256 is kept under the old profile only; set it again to model a record made before the move.
    const record = (await as.ctx.store.get<Record<string, unknown>>('client', moved.clientId))!;
    await as.ctx.store.set('client', moved.clientId, { ...record, metadata: { ...(record.metadata as object), id_token_signed_response_alg: 'PS256' } }, 0);

    const par = await moved.request('/par', { form: { client_id: moved.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256', ...(await moved.authForm()) } });
    expect(par.status, par.text).toBe(201);
    const back = await moved.request(`/authorize?${new URLSearchParams({ client_id: moved.clientId, request_uri: par.json.request_uri as string })}`);
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
    const res = await moved.request('/token', {
      form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await moved.authForm()) },
      headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) },
    });
    expect(res.status).toBe(500);
    expect(res.json.error).toBe('server_error');
    expect(res.json.error_description).toContain('FAPI2-SP-FINAL-5.4.1-1.2-id-token');
    expect(res.json.access_token).toBeUndefined();
    const refused = as.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.endpoint === 'token' && l.error === 'server_error');
    expect(refused?.violations).toEqual(['FAPI2-SP-FINAL-5.4.1-1.2-id-token']);
  });
});

describe('the server\'s own configuration is the profile\'s to accept', () => {
  it('refuses to start under a profile whose credential entropy it does not reach', async () => {
    const snapshot = await snapshotOf(['profiles', dir]);
    await expect(startAs({
      port: 0, host: '127.0.0.1', dev: true, store: 'memory', dataDir: tempDir(), profile: 'strong-credentials',
      profiles: { current: snapshot }, log: pino({ level: 'silent' }),
    })).rejects.toThrow(/'strong-credentials' cannot be served: the server's configuration is refused: FAPI2-SP-FINAL-5.4.1-4-server/);
  });
});
