/**
 * Certificates and DPoP nonces: mutual-TLS client authentication and certificate-bound tokens
 * judged by RFC 8705, a proxy header trusted only when configured, and server nonces
 * (use_dpop_nonce) when a profile requires them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotOf, startTestAs, tempDir, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { selfSigned, TestPki, type Identity } from './pki.js';
import { dpopProof, keyPair, pkce, RawClient, s256, type KeyPair } from './raw.js';

const pki = new TestPki();
let as: TestAs;
beforeAll(async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'nonces.yaml'), `id: nonces
title: DPoP nonces required
version: "1"
spec: https://example.com/nonces
extends: fapi2-security
settings:
  dpop.nonce_required: { value: true }
`);
  const snapshot = await snapshotOf(['profiles', dir]);
  as = await startTestAs({ clientCa: pki.writeCa(tempDir()) });
  as.setSnapshot(snapshot);
});
afterAll(async () => {
  await as?.close();
});

/** A client that authenticates with its certificate (tls_client_auth) and gets mTLS-bound tokens. */
async function mtlsClient(tls: Identity, metadata: Record<string, unknown>): Promise<RawClient> {
  const c = new RawClient(as, await keyPair(), tls);
  const res = await c.register({
    token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_subject_dn: tls.subject, jwks: undefined,
    dpop_bound_access_tokens: false, tls_client_certificate_bound_access_tokens: true, ...metadata,
  });
  expect(res.status, res.text).toBe(201);
  return c;
}

async function mtlsTokens(c: RawClient): Promise<Record<string, unknown>> {
  const { verifier, challenge } = pkce();
  const par = await c.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256' } });
  expect(par.status, par.text).toBe(201);
  const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: par.json.request_uri as string })}`);
  const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
  const token = await c.request('/token', { form: { grant_type: 'authorization_code', client_id: c.clientId, code, redirect_uri: REDIRECT_URI, code_verifier: verifier } });
  expect(token.status, token.text).toBe(200);
  return token.json;
}

describe('mutual TLS (RFC 8705)', () => {
  it('tls_client_auth: a certificate from the trusted CA with the registered DN authenticates', async () => {
    const c = await mtlsClient(pki.issue('CN=mtls-1,O=Tests,C=AU'), {});
    const tokens = await mtlsTokens(c);
    expect(tokens.token_type).toBe('Bearer');
  });

  it('tls_client_auth: a certificate with another DN, or self-signed, is refused (RFC8705-2)', async () => {
    const registered = pki.issue('CN=mtls-2,O=Tests,C=AU');
    const c = await mtlsClient(registered, {});
    const impostor = new RawClient(as, c.signing, pki.issue('CN=someone-else,O=Tests,C=AU'));
    impostor.clientId = c.clientId;
    const res = await impostor.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: pkce().challenge, code_challenge_method: 'S256' } });
    expect(res.status).toBe(401);
    expect(res.json.error).toBe('invalid_client');
    expect(res.json.error_description).toContain('RFC8705-2');
    const rogue = await selfSigned(registered.subject);
    const forger = new RawClient(as, c.signing, rogue);
    forger.clientId = c.clientId;
    const again = await forger.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: pkce().challenge, code_challenge_method: 'S256' } });
    expect(again.status).toBe(401);
  });

  it('a certificate-bound token works only with the same certificate (FAPI 2.0 SP 5.3.4-5)', async () => {
    const c = await mtlsClient(pki.issue('CN=mtls-3,O=Tests,C=AU'), {});
    const token = (await mtlsTokens(c)).access_token as string;
    expect((await c.request('/api/accounts', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
    const other = new RawClient(as, c.signing, pki.issue('CN=mtls-3,O=Tests,C=AU'));
    const stolen = await other.request('/api/accounts', { headers: { Authorization: `Bearer ${token}` } });
    expect(stolen.status).toBe(401);
    expect(stolen.json.error_description).toContain('FAPI2-SP-FINAL-5.3.4-5');
    const plain = new RawClient(as, c.signing);
    expect((await plain.request('/api/accounts', { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  it('ignores a Client-Cert header unless told a proxy sets it', async () => {
    const cert = pki.issue('CN=mtls-4,O=Tests,C=AU');
    const c = await mtlsClient(cert, {});
    const header = `:${cert.cert.replace(/-----[A-Z ]+-----|\s/g, '')}:`;
    const noCert = new RawClient(as, c.signing);
    noCert.clientId = c.clientId;
    const res = await noCert.request('/par', {
      form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: pkce().challenge, code_challenge_method: 'S256' },
      headers: { 'Client-Cert': header },
    });
    expect(res.status).toBe(401);
    expect(res.json.error_description).toContain('RFC8705-2');
  });
});

describe('DPoP server nonces (a profile with dpop.nonce_required)', () => {
  let c: RawClient;
  let key: KeyPair;
  beforeAll(async () => {
    c = new RawClient(as, await keyPair());
    expect((await c.register({ fapi_profile: 'nonces' })).status).toBe(201);
    key = await keyPair();
  });

  it('answers use_dpop_nonce with a DPoP-Nonce header, then accepts the proof carrying it', async () => {
    const { verifier, challenge } = pkce();
    const par = await c.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256', ...(await c.authForm()) } });
    const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: par.json.request_uri as string })}`);
    const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
    const form = async () => ({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier, ...(await c.authForm()) });
    const first = await c.request('/token', { form: await form(), headers: { DPoP: await dpopProof(key, 'POST', `${as.issuer}/token`) } });
    expect(first.status).toBe(400);
    expect(first.json.error).toBe('use_dpop_nonce');
    const nonce = first.headers.get('dpop-nonce');
    expect(nonce).toMatch(/^[A-Za-z0-9_-]+$/);
    const second = await c.request('/token', { form: await form(), headers: { DPoP: await dpopProof(key, 'POST', `${as.issuer}/token`, { nonce }) } });
    expect(second.status, second.text).toBe(200);
    const token = second.json.access_token as string;

    const resourceProof = (claims: Record<string, unknown>) => dpopProof(key, 'GET', `${as.issuer}/api/accounts`, { ath: s256(token), ...claims });
    const noNonce = await c.request('/api/accounts', { headers: { Authorization: `DPoP ${token}`, DPoP: await resourceProof({}) } });
    expect(noNonce.status).toBe(401);
    expect(noNonce.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
    const resourceNonce = noNonce.headers.get('dpop-nonce');
    const ok = await c.request('/api/accounts', { headers: { Authorization: `DPoP ${token}`, DPoP: await resourceProof({ nonce: resourceNonce }) } });
    expect(ok.status, ok.text).toBe(200);
  });

  it('never answers use_dpop_nonce to a request without a DPoP proof', async () => {
    const { challenge } = pkce();
    const par = await c.request('/par', { form: { client_id: c.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256', ...(await c.authForm()) } });
    expect(par.status).toBe(201);
    expect(par.headers.get('dpop-nonce')).toBeNull();
  });
});
