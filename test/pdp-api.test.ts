import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CompiledProfile } from '../src/engine/compiled-profile.js';
import type { PdpServer } from '../src/pdp/server.js';
import { LineSink, manyHeaders, parFacts, post, profileDir, request, startTestPdp } from './pdp-helpers.js';

let pdp: PdpServer;
let base: string;
const log = new LineSink();

beforeAll(async () => {
  pdp = await startTestPdp({ profiles: [profileDir()], decisionLog: log, limits: { maxBodyBytes: 4096, maxDepth: 16, requestTimeoutMs: 400 } });
  base = pdp.url;
});
afterAll(() => pdp.close());

const decide = (body: unknown, headers?: Record<string, string>, query = '') => post(`${base}/v1/decide${query}`, body, headers);

describe('POST /v1/decide', () => {
  it('allows compliant facts and names the profile digest and a decision id', async () => {
    const r = await decide({ profile: 'mini-base', stage: 'par', facts: parFacts() });
    expect(r.status).toBe(200);
    const d = r.json() as { decision: string; decision_id: string; profile: unknown; stage: string; violations: unknown[]; explain?: unknown };
    expect(d.decision).toBe('allow');
    expect(d.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.profile).toEqual({ id: 'mini-base', version: '1', digest: pdp.registry.current.profiles.get('mini-base')!.digest });
    expect(d.stage).toBe('par');
    expect(d.violations).toEqual([]);
    expect(d.explain).toBeUndefined();
  });

  it('denies with the violated rule, clause and fact pointer', async () => {
    const r = await decide({ profile: 'mini-base', stage: 'par', facts: parFacts({ code_challenge_method: 'plain' }) });
    expect(r.status).toBe(200);
    const d = r.json() as Record<string, unknown>;
    expect(d).toMatchObject({ decision: 'deny', error: 'invalid_request', status: 400 });
    expect(d.violations).toEqual([{
      rule: 'MINI-PKCE', clause: 'Test §1-1', severity: 'error', message: 'Use an allowed PKCE method.', path: '/params/code_challenge_method',
      error: 'invalid_request', status: 400,
    }]);
    expect(d).not.toHaveProperty('engine_error');
  });

  it('explains every rule when asked (no authentication configured)', async () => {
    const viaBody = (await decide({ profile: 'mini-base', stage: 'par', facts: parFacts(), explain: true })).json() as { explain: Array<{ rule: string; outcome: string }> };
    expect(viaBody.explain.map((t) => t.rule).sort()).toEqual(['MINI-NONCE', 'MINI-PKCE', 'MINI-REDIRECT']);
    const viaQuery = (await decide({ profile: 'mini-base', stage: 'par', facts: parFacts() }, {}, '?explain=true')).json() as { explain: unknown[] };
    expect(viaQuery.explain).toHaveLength(3);
  });

  it('writes one decision log line per decision, without the facts', async () => {
    const secret = 'eyJhbGciOiJQUzI1NiJ9.secret-assertion.sig';
    const r = await decide({ profile: 'mini-base', stage: 'par', facts: { ...parFacts({ client_id: 'log-client' }), client: { client_id: 'log-client', jwks: { keys: [{ d: secret }] } } } }, { 'x-request-id': 'req-42' });
    const id = (r.json() as { decision_id: string }).decision_id;
    await vi.waitFor(() => expect(log.lines.some((l) => l.includes(id))).toBe(true));
    const line = log.lines.find((l) => l.includes(id))!;
    expect(line).not.toContain(secret);
    expect(line).not.toContain('code_challenge');
    const rec = JSON.parse(line) as Record<string, unknown>;
    expect(rec).toMatchObject({ decision_id: id, api: 'native', profile: 'mini-base', stage: 'par', result: 'allow', violations: [], client_id: 'log-client', request_id: 'req-42' });
    expect(rec.digest).toMatch(/^sha256:/);
    expect(typeof rec.latency_ms).toBe('number');
    expect(Math.abs((rec.time as number) - Date.now())).toBeLessThan(60_000);
  });

  it('echoes X-Request-ID when it is printable ASCII of at most 256 characters', async () => {
    const body = { profile: 'mini-base', stage: 'par', facts: parFacts() };
    expect((await decide(body, { 'x-request-id': 'abc-123' })).headers.get('x-request-id')).toBe('abc-123');
    expect((await decide(body, { 'x-request-id': 'trace 42 / span 7' })).headers.get('x-request-id')).toBe('trace 42 / span 7');
    expect((await decide(body, { 'x-request-id': 'r'.repeat(257) })).headers.get('x-request-id')).toBeNull();
  });

  it('accepts a UTF-8 byte order mark before the JSON (RFC 8259 §8.1)', async () => {
    const json = Buffer.from(JSON.stringify({ profile: 'mini-base', stage: 'par', facts: parFacts() }));
    const r = await request(`${base}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json]) });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ decision: 'allow' });
  });

  it('turns an exception inside evaluation into a flagged deny, never an allow', async () => {
    const spy = vi.spyOn(CompiledProfile.prototype, 'evaluate').mockImplementation(() => {
      throw new Error('boom');
    });
    try {
      const r = await decide({ profile: 'mini-base', stage: 'par', facts: parFacts() });
      expect(r.status).toBe(200);
      const d = r.json() as { decision_id: string };
      expect(d).toMatchObject({ decision: 'deny', engine_error: true, error: 'server_error', status: 500, violations: [{ rule: 'fapi-policy/internal', error: 'server_error', status: 500 }] });
      await vi.waitFor(() => expect(log.lines.some((l) => l.includes(d.decision_id))).toBe(true));
      expect(JSON.parse(log.lines.find((l) => l.includes(d.decision_id))!)).toMatchObject({ result: 'deny', error: 'server_error', engine_error: true });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('bad input gets a precise 4xx', () => {
  const cases: Array<[string, () => Promise<{ status: number; text: string }>, number, RegExp]> = [
    ['malformed JSON', () => decide('{"profile": '), 400, /"error":"invalid_json".*not valid JSON/],
    ['an empty body', () => decide(''), 400, /request body is empty/],
    ['a JSON array', () => decide([1, 2]), 400, /must be a JSON object/],
    ['an unknown member', () => decide({ profile: 'mini-base', stage: 'par', facts: {}, fact: {} }), 400, /unknown member 'fact'.*"path":"\/fact"/],
    ['a missing member', () => decide({ profile: 'mini-base', stage: 'par' }), 400, /missing member 'facts'.*"path":"\/facts"/],
    ['a non-boolean explain', () => decide({ profile: 'mini-base', stage: 'par', facts: {}, explain: 'yes' }), 400, /explain must be a boolean/],
    ['an unknown profile', () => decide({ profile: 'nope', stage: 'par', facts: {} }), 404, /"error":"unknown_profile".*unknown profile 'nope' \(loaded: mini-base\)/],
    ['an unknown stage', () => decide({ profile: 'mini-base', stage: 'checkout', facts: {} }), 400, /"error":"unknown_stage".*one of: discovery, registration, par/],
    ['a stage of the wrong type', () => decide({ profile: 'mini-base', stage: 7, facts: {} }), 400, /the stage must be a string/],
    ['facts that are not an object', () => decide({ profile: 'mini-base', stage: 'par', facts: [] }), 400, /"error":"invalid_facts".*facts must be a JSON object/],
    ['facts missing a required member', () => decide({ profile: 'mini-base', stage: 'par', facts: { time: 1 } }), 400, /"error":"invalid_facts".*missing fact \/issuer.*"path":"\/facts\/issuer"/],
    ['facts of the wrong type', () => decide({ profile: 'mini-base', stage: 'par', facts: parFacts({ code_challenge_method: 5 }) }), 400, /"path":"\/facts\/params\/code_challenge_method"/],
    ['facts with an unknown member', () => decide({ profile: 'mini-base', stage: 'par', facts: { ...parFacts(), extra: 1 } }), 400, /unknown fact \/extra/],
    ['JSON nested too deeply', () => decide({ profile: 'mini-base', stage: 'par', facts: { params: JSON.parse('['.repeat(40) + ']'.repeat(40)) } }), 400, /nesting is deeper than 16/],
    ['a body over the limit', () => decide({ profile: 'mini-base', stage: 'par', facts: { pad: 'x'.repeat(5000) } }), 413, /"error":"payload_too_large"/],
    ['a non-JSON content type', () => request(`${base}/v1/decide`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }), 415, /application\/json/],
    ['no content type', () => request(`${base}/v1/decide`, { method: 'POST', body: new Uint8Array([123, 125]) }), 415, /application\/json/],
    ['another charset', () => request(`${base}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json; charset=latin1' }, body: '{}' }), 415, /UTF-8/],
    ['invalid UTF-8', () => request(`${base}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0xff, 0x7d]) }), 400, /not valid UTF-8/],
    ['GET on the decision endpoint', () => request(`${base}/v1/decide`), 405, /method_not_allowed/],
    ['an unknown route', () => request(`${base}/v2/whatever`), 404, /"error":"not_found"/],
    ['POST on a read-only route', () => request(`${base}/v1/profiles`, { method: 'POST' }), 405, /method_not_allowed/],
    ['more than 100 header fields', () => decide({ profile: 'mini-base', stage: 'par', facts: parFacts() }, manyHeaders(101)), 431, /"error":"header_fields_too_large"/],
    ['more than 100 header fields on another route', () => request(`${base}/health`, { headers: manyHeaders(120) }), 431, /header_fields_too_large/],
    ['a hostile facts member name, echoed bounded and printable', () => decide({ profile: 'mini-base', stage: 'par', facts: { ...parFacts(), ['k'.repeat(300) + '\r\n\u001b[31mX']: 1 } }), 400,
      /"message":"facts for stage 'par': unknown fact \/k{128}…".*"path":"\/facts\/k{128}…"/],
  ];
  for (const [name, send, status, body] of cases) {
    it(`${name} -> ${status}`, async () => {
      const r = await send();
      expect(r.status).toBe(status);
      expect(r.text).toMatch(body);
    });
  }

  it('answers 405 with an Allow header', async () => {
    const r = await request(`${base}/v1/decide`, { method: 'PUT' });
    expect(r.headers.get('allow')).toBe('POST');
  });

  it('closes connections beyond --max-connections on arrival', async () => {
    const small = await startTestPdp({ profiles: [profileDir()], limits: { maxConnections: 2 } });
    const held = await Promise.all([0, 1].map(() => new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect(small.port, '127.0.0.1', () => resolve(socket));
    })));
    try {
      // The server counts a connection once it accepted it; give it a moment to see both.
      await new Promise((r) => setTimeout(r, 100));
      await expect(request(`${small.url}/health`)).rejects.toThrow();
      held[0]!.destroy();
      await new Promise((r) => setTimeout(r, 100));
      expect((await request(`${small.url}/health`)).status).toBe(200);
    } finally {
      for (const socket of held) socket.destroy();
      await small.close();
    }
  });

  it('times out a request whose body never arrives (408)', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(pdp.port, '127.0.0.1', () => {
        socket.write('POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pro');
      });
      let data = '';
      socket.on('data', (c) => (data += c.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 4000).unref();
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
  });

  it('keeps serving after all of that', async () => {
    expect((await decide({ profile: 'mini-base', stage: 'par', facts: parFacts() })).status).toBe(200);
  });
});

describe('profiles, health, metrics', () => {
  it('lists the active profiles', async () => {
    const r = await request(`${base}/v1/profiles`);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ generation: 1, profiles: [{ id: 'mini-base', version: '1', rules: 5, waivers: 0, extends: [] }] });
  });

  it('serves the effective compiled profile with its digest as ETag', async () => {
    const r = await request(`${base}/v1/profiles/mini-base`);
    expect(r.status).toBe(200);
    const p = r.json() as { digest: string; settings: { pkce: { methods: string[] } }; rules: Array<{ id: string; clause: string }> };
    expect(p.settings.pkce.methods).toEqual(['S256']);
    expect(p.rules.find((x) => x.id === 'MINI-PKCE')?.clause).toBe('Test §1-1');
    expect(r.headers.get('etag')).toBe(`"${p.digest}"`);
    const again = await request(`${base}/v1/profiles/mini-base`, { headers: { 'if-none-match': `"${p.digest}"` } });
    expect(again.status).toBe(304);
    expect((await request(`${base}/v1/profiles/nope`)).status).toBe(404);
    expect((await request(`${base}/v1/profiles/..%2F..%2Fetc`)).status).toBe(404);
  });

  it('derives discovery metadata for an issuer', async () => {
    const r = await request(`${base}/v1/profiles/mini-base/metadata?issuer=${encodeURIComponent('https://as.example')}`);
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ issuer: 'https://as.example', code_challenge_methods_supported: ['S256'] });
    const missing = await request(`${base}/v1/profiles/mini-base/metadata`);
    expect(missing.status).toBe(400);
    expect(missing.text).toMatch(/issuer is required/);
    const http = await request(`${base}/v1/profiles/mini-base/metadata?issuer=http://as.example`);
    expect(http.status).toBe(400);
    expect(http.text).toMatch(/https URL without query or fragment/);
    const twice = await request(`${base}/v1/profiles/mini-base/metadata?issuer=https://a.example&issuer=https://b.example`);
    expect(twice.status).toBe(400);
    // Each of these parses as a URL, but none is an issuer as written (RFC 8414 §2).
    for (const odd of ['https://a.example?', 'https://a.example#', ' https://a.example ', 'https://a.ex\tample', 'https:a.example', 'https://a.example\n/x']) {
      const r = await request(`${base}/v1/profiles/mini-base/metadata?issuer=${encodeURIComponent(odd)}`);
      expect(r.status, JSON.stringify(odd)).toBe(400);
    }
  });

  it('reports liveness and readiness', async () => {
    expect((await request(`${base}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await request(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, generation: 1, sources: [{ kind: 'directory', active: true, ok: true, files: 1 }], last_reload: { ok: true, errors: [] } });
  });

  it('exposes Prometheus metrics: decisions, latency histogram, reloads', async () => {
    const r = await request(`${base}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toMatch(/^fapi_policy_pdp_decisions_total\{profile="mini-base",stage="par",result="allow",engine_error="false"\} \d+$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_decisions_total\{profile="mini-base",stage="par",result="deny",engine_error="false"\} \d+$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_decision_request_duration_seconds_bucket\{api="native",le="\+Inf"\} \d+$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_reloads_total 1$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_reload_failures_total 0$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_request_errors_total\{status="400"\} \d+$/m);
    expect(r.text).toMatch(/^fapi_policy_pdp_ready 1$/m);
  });

  it('serves its OpenAPI document', async () => {
    const r = await request(`${base}/openapi.json`);
    expect(r.status).toBe(200);
    expect((r.json() as { openapi: string }).openapi).toBe('3.1.0');
  });
});
