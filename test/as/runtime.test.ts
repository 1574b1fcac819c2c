/**
 * Start-up guards and what persists: development mode only on loopback, the RFC 9440 header only
 * when configured, and a bundle's rollback floor that survives a restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAs } from '../../src/as/server.js';
import { generateSigningKey, signBundle } from '../../src/registry/bundle.js';
import { FileRollbackFloor } from '../../src/registry/rollback-floor.js';
import { BundleFileSource } from '../../src/registry/sources.js';
import { MINI_BASE_TEXT } from '../helpers.js';
import { snapshotOf, startTestAs, tempDir, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { keyPair, pkce, RawClient } from './raw.js';
import { TestPki } from './pki.js';

describe('development mode', () => {
  it('is refused unless the server listens on loopback only', async () => {
    await expect(startAs({ host: '0.0.0.0', port: 0, dev: true, store: 'memory', dataDir: tempDir(), profiles: { current: await snapshotOf() }, log: pino({ level: 'silent' }) }))
      .rejects.toThrow(/--dev is refused unless the server listens on loopback only/);
  });
});

describe('a TLS-terminating proxy in front (--trust-proxy-cert-header)', () => {
  const pki = new TestPki();
  let as: TestAs;
  beforeAll(async () => {
    as = await startTestAs({ clientCa: pki.writeCa(tempDir()), trustProxyCertHeader: true });
  });
  afterAll(async () => {
    await as?.close();
  });

  it('takes the client certificate from Client-Cert, and only from there', async () => {
    const cert = pki.issue('CN=behind-proxy,O=Tests,C=AU');
    const c = new RawClient(as, await keyPair());
    expect((await c.register({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: cert.subject, jwks: undefined })).status).toBe(201);
    const form = { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: pkce().challenge, code_challenge_method: 'S256' };
    const header = `:${cert.cert.replace(/-----[A-Z ]+-----|\s/g, '')}:`;
    const viaHeader = await c.request('/par', { form, headers: { 'Client-Cert': header } });
    expect(viaHeader.status, viaHeader.text).toBe(201);
    // The connection's own certificate is the proxy's, not the client's: without the header, nothing.
    const direct = new RawClient(as, c.signing, cert);
    direct.clientId = c.clientId;
    expect((await direct.request('/par', { form })).status).toBe(401);
  });
});

describe('the bundle rollback floor', () => {
  it('persists in the data directory: a restarted source refuses an older revision', async () => {
    const dir = tempDir();
    const key = await generateSigningKey('ES256', 'k1');
    const bundle = join(dir, 'profiles.jws');
    const sign = (revision: number) => signBundle([{ name: 'mini-base.yaml', content: MINI_BASE_TEXT }], { key: key.privateJwk, kid: 'k1', revision, issuer: 'https://regulator.example' });
    const floorFile = join(dir, 'bundle-floor.json');
    writeFileSync(bundle, await sign(5));
    const first = new BundleFileSource(bundle, key.publicJwks, undefined, new FileRollbackFloor(floorFile));
    expect(await first.refresh()).toBe(true);
    first.settle(true);
    expect(first.status().revision).toBe(5);

    writeFileSync(bundle, await sign(4));
    const restarted = new BundleFileSource(bundle, key.publicJwks, undefined, new FileRollbackFloor(floorFile));
    expect(await restarted.refresh()).toBe(false);
    expect(restarted.status().last_error).toMatch(/lower than the loaded revision 5/);
    writeFileSync(bundle, await sign(6));
    expect(await restarted.refresh()).toBe(true);
  });
});
