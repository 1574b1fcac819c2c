/**
 * Compliance modes at runtime: the AS reads its profiles through the registry the decision service
 * uses. An overlay edited on disk changes the next decision; a client whose profile disappears is
 * refused by name; a set the server cannot serve is refused and the last good one stays.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/registry/create.js';
import type { Registry } from '../../src/registry/registry.js';
import { startAs, type AsServer } from '../../src/as/server.js';
import { LogSink, tempDir, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { dpopProof, keyPair, pkce, RawClient } from './raw.js';

const overlay = (dpopAlgs: string) => `id: acme
title: ACME overlay
version: "1"
spec: https://acme.example/spec
extends: fapi2-security
settings:
  signing_algs.dpop: { subset_of: [${dpopAlgs}] }
`;

let dir: string;
let registry: Registry;
let as: AsServer;
beforeAll(async () => {
  dir = tempDir();
  cpSync('profiles', dir, { recursive: true, filter: (f) => !f.endsWith('.tests.yaml') });
  writeFileSync(join(dir, 'acme.yaml'), overlay('ES256, PS256'));
  const log = pino({ level: 'silent' });
  registry = createRegistry({ profiles: [dir], watch: false, checkSeconds: 0 }, log);
  await registry.start();
  as = await startAs({ port: 0, host: '127.0.0.1', dev: true, store: 'memory', dataDir: tempDir(), profiles: registry, log: pino({ level: 'info' }, new LogSink()) });
});
afterAll(async () => {
  await as?.close();
  await registry?.close();
});

async function tokenRequest(c: RawClient, dpop: Awaited<ReturnType<typeof keyPair>>) {
  const { verifier, challenge } = pkce();
  const par = await c.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256', ...(await c.authForm()) } });
  expect(par.status, par.text).toBe(201);
  const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: par.json.request_uri as string })}`);
  const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
  return c.request('/token', {
    form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) },
    headers: { DPoP: await dpopProof(dpop, 'POST', `${c.as.issuer}/token`) },
  });
}

describe('compliance modes at runtime', () => {
  it('an overlay edited on disk changes the next decision of its clients, and only theirs', async () => {
    const acme = new RawClient(as as TestAs, await keyPair());
    expect((await acme.register({ fapi_profile: 'acme' })).status).toBe(201);
    const plain = new RawClient(as as TestAs, await keyPair());
    expect((await plain.register({})).status).toBe(201);
    const es256 = await keyPair('ES256');
    expect((await tokenRequest(acme, es256)).status).toBe(200);

    writeFileSync(join(dir, 'acme.yaml'), overlay('PS256'));
    const report = await registry.reload({ reason: 'test' });
    expect(report.ok, report.errors.join('\n')).toBe(true);

    const refused = await tokenRequest(acme, es256);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('invalid_dpop_proof');
    expect(refused.json.error_description).toContain('FAPI2-SP-FINAL-5.4.1-1.2');
    expect((await tokenRequest(plain, es256)).status).toBe(200);
  });

  it('serves every request that arrives while profiles reload: none fails for the reload itself', async () => {
    writeFileSync(join(dir, 'acme.yaml'), overlay('ES256'));
    expect((await registry.reload({ reason: 'test' })).ok).toBe(true);
    const c = new RawClient(as as TestAs, await keyPair());
    expect((await c.register({ fapi_profile: 'acme' })).status).toBe(201);
    const dpop = await keyPair('ES256');
    const grant = async () => (await c.request('/token', {
      form: { grant_type: 'client_credentials', scope: 'accounts', ...(await c.authForm()) },
      headers: { DPoP: await dpopProof(dpop, 'POST', `${c.as.issuer}/token`) },
    })).status;
    let reloading = true;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 300 && reloading; i++) statuses.push(await grant());
    })();
    for (let i = 0; i < 5; i++) {
      writeFileSync(join(dir, 'acme.yaml'), overlay(i % 2 ? 'ES256, PS256' : 'PS256, ES256'));
      const report = await registry.reload({ reason: 'test' });
      expect(report.ok, report.errors.join('\n')).toBe(true);
    }
    reloading = false;
    await load;
    expect(registry.current.generation).toBeGreaterThan(5);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('refuses a client whose profile is no longer loaded, naming it', async () => {
    const acme = new RawClient(as as TestAs, await keyPair());
    writeFileSync(join(dir, 'acme.yaml'), overlay('ES256'));
    await registry.reload({ reason: 'test' });
    expect((await acme.register({ fapi_profile: 'acme' })).status).toBe(201);
    rmSync(join(dir, 'acme.yaml'));
    expect((await registry.reload({ reason: 'test' })).ok).toBe(true);
    const par = await acme.request('/par', { form: { client_id: acme.clientId, ...(await acme.authForm()) } });
    expect(par.status).toBe(400);
    expect(par.json.error).toBe('unauthorized_client');
    expect(par.json.error_description).toContain("profile 'acme'");
    writeFileSync(join(dir, 'acme.yaml'), overlay('ES256'));
    await registry.reload({ reason: 'test' });
  });

  it('refuses a set its server cannot serve, and keeps serving the last good one', async () => {
    writeFileSync(join(dir, 'acme.yaml'), overlay('ES256'));
    await registry.reload({ reason: 'test' });
    const second = await startAs({ port: 0, host: '127.0.0.1', dev: true, store: 'memory', dataDir: tempDir(), profile: 'acme', profiles: registry, log: pino({ level: 'silent' }) });
    try {
      const before = registry.current.generation;
      writeFileSync(join(dir, 'acme.yaml'), `${overlay('ES256')}  credentials.min_entropy_bits: { value: 512 }\n`);
      const report = await registry.reload({ reason: 'test' });
      expect(report.swapped).toBe(false);
      expect(report.errors.join('\n')).toMatch(/the default profile 'acme' cannot be served: the server's configuration is refused: FAPI2-SP-FINAL-5.4.1-4-server/);
      expect(registry.current.generation).toBe(before);
      const c = new RawClient(second as TestAs, await keyPair());
      expect((await c.register({})).status).toBe(201);
      const token = await tokenRequest(c, await keyPair());
      expect(token.status, token.text).toBe(200);
    } finally {
      await second.close();
      writeFileSync(join(dir, 'acme.yaml'), overlay('ES256'));
      await registry.reload({ reason: 'test' });
    }
  });
});
