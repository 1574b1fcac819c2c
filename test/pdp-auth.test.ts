import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFromValues } from '../src/cli/commands/serve.js';
import type { PdpServer } from '../src/pdp/server.js';
import { evaluation, parFacts, post, profileDir, request, startTestPdp, tempDir } from './pdp-helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
const decideBody = { profile: 'mini-base', stage: 'par', facts: parFacts() };
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('bearer-token authentication (protect: all)', () => {
  let pdp: PdpServer;
  beforeAll(async () => {
    pdp = await startTestPdp({ profiles: [profileDir()], tokens: ['another-token-abcdefghijkl', TOKEN] });
  });
  afterAll(() => pdp.close());

  it('refuses a caller without credentials with 401 and WWW-Authenticate', async () => {
    const r = await post(`${pdp.url}/v1/decide`, decideBody);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer realm="fapi-policy"');
    expect(r.json()).toMatchObject({ error: 'unauthorized' });
    const z = await post(`${pdp.url}/access/v1/evaluation`, evaluation());
    expect(z.status).toBe(401);
    expect(z.text).toMatch(/authenticate with a bearer token/);
  });

  it('refuses a wrong or malformed token', async () => {
    for (const headers of [bearer('wrong-token-0123456789ab'), bearer(TOKEN + 'x'), { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
      const r = await post(`${pdp.url}/v1/decide`, decideBody, headers);
      expect(r.status).toBe(401);
      expect(r.text).toMatch(/invalid bearer token/);
    }
  });

  it('serves a caller with a valid token, explanations included', async () => {
    const r = await post(`${pdp.url}/v1/decide?explain=true`, decideBody, bearer(TOKEN));
    expect(r.status).toBe(200);
    expect((r.json() as { explain: unknown[] }).explain).toHaveLength(3);
  });

  it('protects profiles and metrics; health and discovery documents stay open', async () => {
    for (const path of ['/v1/profiles', '/v1/profiles/mini-base', '/v1/profiles/mini-base/metadata?issuer=https://as.example', '/metrics']) {
      expect((await request(`${pdp.url}${path}`)).status).toBe(401);
      expect((await request(`${pdp.url}${path}`, { headers: bearer(TOKEN) })).status).toBe(200);
    }
    for (const path of ['/health', '/health/ready', '/.well-known/authzen-configuration', '/openapi.json']) {
      expect((await request(`${pdp.url}${path}`)).status).toBe(200);
    }
  });

  it('checks credentials before reading the body', async () => {
    const r = await post(`${pdp.url}/v1/decide`, '{not json');
    expect(r.status).toBe(401);
  });
});

describe('token configuration', () => {
  it('refuses short or malformed bearer tokens in the library as in the CLI', async () => {
    await expect(startTestPdp({ profiles: [profileDir()], tokens: ['short'] })).rejects.toThrow(/at least 16 characters/);
    await expect(startTestPdp({ profiles: [profileDir()], tokens: ['sixteen chars with spaces'] })).rejects.toThrow(/token alphabet/);
  });
});

describe('protect: explain — open decisions, explanations only for authenticated callers', () => {
  let pdp: PdpServer;
  beforeAll(async () => {
    pdp = await startTestPdp({ profiles: [profileDir()], tokens: [TOKEN], authProtect: 'explain' });
  });
  afterAll(() => pdp.close());

  it('decides for anyone but explains only with credentials', async () => {
    expect((await post(`${pdp.url}/v1/decide`, decideBody)).status).toBe(200);
    const anonymous = await post(`${pdp.url}/v1/decide`, { ...decideBody, explain: true });
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).toMatch(/explain is only for authenticated callers/);
    expect((await post(`${pdp.url}/access/v1/evaluation?explain`, evaluation())).status).toBe(401);
    const authed = await post(`${pdp.url}/access/v1/evaluation?explain`, evaluation(), bearer(TOKEN));
    expect((authed.json() as { context: { explain: unknown[] } }).context.explain).toHaveLength(3);
    expect((await post(`${pdp.url}/v1/decide`, decideBody, bearer('wrong-token-0123456789ab'))).status).toBe(401);
  });
});

// openssl makes the test PKI; .ci/run installs it where it is missing.
describe('mutual TLS', () => {
  const dir = tempDir('fapi-pdp-tls-');
  const file = (n: string) => join(dir, n);
  let pdp: PdpServer;

  function openssl(...args: string[]) {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
  }

  beforeAll(async () => {
    writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test-ca');
    for (const name of ['server', 'client']) {
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...(name === 'server' ? ['-extfile', 'san.cnf'] : []));
    }
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'rogue.key', '-out', 'rogue.pem', '-days', '1', '-subj', '/CN=rogue');
    pdp = await startTestPdp({
      profiles: [profileDir()],
      tls: { cert: readFileSync(file('server.pem')), key: readFileSync(file('server.key')), ca: readFileSync(file('ca.pem')) },
    });
  });
  afterAll(() => pdp?.close());

  function call(path: string, client?: 'client' | 'rogue', body?: unknown, base = pdp.url): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, {
        method: body ? 'POST' : 'GET',
        ca: readFileSync(file('ca.pem')),
        ...(client ? { cert: readFileSync(file(`${client}.pem`)), key: readFileSync(file(`${client}.key`)) } : {}),
        headers: body ? { 'content-type': 'application/json' } : {},
        agent: false,
      }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  }

  it('serves HTTPS and accepts a client certificate from the configured CA as authentication', async () => {
    expect(pdp.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await call('/v1/decide?explain=true', 'client', decideBody);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ decision: 'allow', explain: expect.any(Array) });
  });

  it('takes its certificate, key and client CA from the environment as well (fapi-policy serve)', async () => {
    const err: string[] = [];
    const io = { out: () => {}, err: (t: string) => err.push(t), readStdin: async () => '' };
    const env = { FAPI_POLICY_PDP_TLS_CERT: file('server.pem'), FAPI_POLICY_PDP_TLS_KEY: file('server.key'), FAPI_POLICY_PDP_TLS_CA: file('ca.pem') };
    const served = await startFromValues({ port: '0', profiles: [profileDir()], 'no-watch': true, 'decision-log': 'off' }, io, env);
    try {
      expect(served.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(err.join('\n')).toContain(served.url);
      expect((await call('/v1/decide', undefined, decideBody, served.url)).status).toBe(401);
      expect((await call('/v1/decide', 'client', decideBody, served.url)).status).toBe(200);
    } finally {
      await served.close();
    }
  });

  it('refuses callers without a certificate or with one from another issuer', async () => {
    expect((await call('/v1/decide', undefined, decideBody)).status).toBe(401);
    expect((await call('/v1/decide', 'rogue', decideBody)).status).toBe(401);
    expect((await call('/health')).status).toBe(200);
  });
});
