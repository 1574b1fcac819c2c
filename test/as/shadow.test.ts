/**
 * Shadow (report-only) mode: a FAPI 1.0 Advanced client is served under its own profile while every
 * decision is also evaluated under fapi2-security; what FAPI 2.0 would refuse shows in the log, in
 * /metrics and in `fapi-policy shadow report`, and never in the answers. A shadow profile that is not
 * loaded, an engine error or a shadow evaluation that throws is counted, never a failure.
 */
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledProfile } from '../../src/engine/compiled-profile.js';
import type { Exchange } from '../../src/as/exchange.js';
import { AsMetrics } from '../../src/as/metrics.js';
import { shadowDecide } from '../../src/as/shadow.js';
import { startAs } from '../../src/as/server.js';
import { main } from '../../src/cli/main.js';
import { snapshotOf, startTestAs, tempDir, type TestAs } from './helpers.js';
import { REDIRECT_URI } from './flow.js';
import { TestPki } from './pki.js';
import { b64, dpopProof, keyPair, pkce, RawClient, type Response } from './raw.js';

const SHADOW_LINE_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'endpoint', 'client_id', 'profile', 'shadow_profile', 'shadow_decision', 'shadow_violations', 'shadow_warnings', 'shadow_errors', 'shadow_truncated']);

type Line = Record<string, unknown> & { shadow_violations?: Array<{ stage: string; rule: string; clause: string }>; shadow_warnings?: Array<{ stage: string; rule: string; clause: string }> };

const pki = new TestPki();
/** One data directory for every server of this file: its keys and certificate are made once. */
const dataDir = tempDir();
let as: TestAs;
let shift = 0;
const clock = () => Math.floor(Date.now() / 1000) + shift;

beforeAll(async () => {
  as = await startTestAs({ dataDir, shadowProfile: 'fapi2-security', now: clock });
});
afterAll(async () => {
  await as?.close();
});

function shadowLines(server: TestAs, clientId: string): Line[] {
  return server.logs.lines.map((l) => JSON.parse(l) as Line).filter((l) => l.msg === 'shadow findings' && l.client_id === clientId);
}

/** Shadow lines are published when the response is done: wait for the line of the last request. */
async function settled(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

const rules = (lines: Line[], endpoint: string, kind: 'shadow_violations' | 'shadow_warnings' = 'shadow_violations') =>
  lines.filter((l) => l.endpoint === endpoint).flatMap((l) => (l[kind] ?? []).map((f) => f.rule));

/** A FAPI 1.0 Advanced client: private_key_jwt (ES256), certificate-bound tokens, hybrid and JARM. */
async function fapi1Client(server: TestAs): Promise<RawClient> {
  const c = new RawClient(server, await keyPair(), pki.issue(`CN=fapi1-${b64(4)},O=Tests,C=AU`), 'ES256', clock);
  const res = await c.register({
    fapi_profile: 'fapi1-advanced', response_types: ['code id_token', 'code'],
    dpop_bound_access_tokens: undefined, tls_client_certificate_bound_access_tokens: true,
  });
  expect(res.status, res.text).toBe(201);
  return c;
}

async function requestObject(c: RawClient, claims: Record<string, unknown>): Promise<string> {
  const now = clock();
  return new SignJWT({
    iss: c.clientId, aud: c.as.issuer, client_id: c.clientId, redirect_uri: REDIRECT_URI, scope: 'openid accounts',
    state: b64(8), nonce: b64(8), nbf: now, exp: now + 300, ...claims,
  }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(c.signing.privateKey);
}

/** The code of an authorization response: in the fragment (hybrid) or inside the JARM response. */
function codeOf(back: Response): string {
  expect(back.status, back.text).toBe(303);
  const location = new URL(back.headers.get('location')!);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const jarm = location.searchParams.get('response');
  if (jarm) return (JSON.parse(Buffer.from(jarm.split('.')[1]!, 'base64url').toString()) as { code: string }).code;
  expect(fragment.get('id_token')).toBeTruthy();
  return fragment.get('code')!;
}

async function redeem(c: RawClient, code: string, verifier?: string): Promise<Response> {
  return c.request('/token', { form: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...(verifier ? { code_verifier: verifier } : {}), ...(await c.authForm()) } });
}

async function metricsText(server: TestAs, headers: Record<string, string> = {}): Promise<Response> {
  return new RawClient(server, await keyPair()).request('/metrics', { headers });
}

async function report(lines: string[], args: string[] = []): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const text = lines.map((l) => `${l}\n`).join('');
  // Fed in uneven chunks, so lines arrive split across them.
  const chunks = [text.slice(0, 100), text.slice(100, 5000), text.slice(5000)].map((t) => Buffer.from(t));
  const code = await main(['shadow', 'report', ...args], { out: (t) => out.push(t), err: (t) => err.push(t), readStdin: async () => '', stdin: async function* () { yield* chunks; } });
  return { code, out, err };
}

describe('a FAPI 1.0 Advanced client under report-only fapi2-security', () => {
  let c: RawClient;
  beforeAll(async () => {
    c = await fapi1Client(as);
  });

  it('is served: hybrid through PAR, a request object by value, JARM, mTLS-bound tokens at the resource', async () => {
    const { verifier, challenge } = pkce();
    const par = await c.request('/par', { form: { client_id: c.clientId, request: await requestObject(c, { response_type: 'code id_token', code_challenge: challenge, code_challenge_method: 'S256' }), ...(await c.authForm()) } });
    expect(par.status, par.text).toBe(201);
    // The hybrid client repeats response_type and scope beside the request_uri, as FAPI 1.0 clients do.
    const back = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: par.json.request_uri as string, response_type: 'code id_token', scope: 'openid accounts' })}`);
    const token = await redeem(c, codeOf(back), verifier);
    expect(token.status, token.text).toBe(200);
    const api = await c.request('/api/accounts', { headers: { Authorization: `Bearer ${token.json.access_token}` } });
    expect(api.status, api.text).toBe(200);

    const byValue = await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, response_type: 'code id_token', scope: 'openid accounts', request: await requestObject(c, { response_type: 'code id_token' }) })}`);
    expect((await redeem(c, codeOf(byValue))).status).toBe(200);

    const jarm = pkce();
    const pushed = await c.request('/par', { form: { client_id: c.clientId, request: await requestObject(c, { response_type: 'code', response_mode: 'jwt', code_challenge: jarm.challenge, code_challenge_method: 'S256' }), ...(await c.authForm()) } });
    const code = codeOf(await c.request(`/authorize?${new URLSearchParams({ client_id: c.clientId, request_uri: pushed.json.request_uri as string })}`));
    // Redeemed 90 s later: within FAPI 1.0's ten minutes, past FAPI 2.0's sixty seconds.
    shift = 90;
    try {
      expect((await redeem(c, code, jarm.verifier)).status).toBe(200);
    } finally {
      shift = 0;
    }
    await settled();
    const served = as.logs.lines.map((l) => JSON.parse(l) as Line).filter((l) => l.client_id === c.clientId && l.msg !== 'shadow findings');
    expect(served.length).toBeGreaterThan(5);
    expect(served.every((l) => l.error === undefined && l.violations === undefined && l.profile === 'fapi1-advanced')).toBe(true);
  });

  it('logs what FAPI 2.0 would refuse: one line per request, rule ids, stages and clauses only', async () => {
    const lines = shadowLines(as, c.clientId);
    expect(rules(lines, 'registration')).toEqual(['FAPI2-SP-FINAL-5.3.2.2-1-registration']);
    // Only the hybrid push: the JARM one asks for response_type code, which FAPI 2.0 allows.
    expect(rules(lines, 'par')).toEqual(['FAPI2-SP-FINAL-5.3.2.2-1']);
    expect(new Set(rules(lines, 'authorization'))).toEqual(new Set(['FAPI2-SP-FINAL-5.3.2.2-1', 'FAPI2-SP-FINAL-5.3.2.2-3']));
    expect(rules(lines, 'authorization', 'shadow_warnings')).toContain('FAPI2-SP-FINAL-5.3.3.2-6');
    // The code of the unpushed request came without PKCE (RFC 7636, required by FAPI 2.0); the JARM one was redeemed late.
    expect(lines.filter((l) => l.endpoint === 'token').map((l) => rules([l], 'token').sort())).toEqual([['RFC7636-4.1', 'RFC7636-4.6'], ['FAPI2-SP-FINAL-5.3.2.1-11']]);
    const nonPar = lines.find((l) => rules([l], 'authorization').includes('FAPI2-SP-FINAL-5.3.2.2-3'))!;
    expect(nonPar).toMatchObject({ profile: 'fapi1-advanced', shadow_profile: 'fapi2-security', shadow_decision: 'deny' });
    expect(nonPar.shadow_violations).toContainEqual({ stage: 'authorization', rule: 'FAPI2-SP-FINAL-5.3.2.2-3', clause: 'FAPI 2.0 SP §5.3.2.2-3' });
    for (const line of lines) {
      expect(Object.keys(line).filter((k) => !SHADOW_LINE_KEYS.has(k))).toEqual([]);
      expect(JSON.stringify(line)).not.toMatch(/eyJ|client_assertion|access_token|BEGIN/);
    }
    // A rule decided twice in one request (authorization, then again at approval) is reported once.
    for (const line of lines) expect(new Set(line.shadow_violations?.map((v) => `${v.stage} ${v.rule}`)).size).toBe(line.shadow_violations?.length ?? 0);
  });

  it('counts them in /metrics by shadow profile, rule and client, beside the decisions enforced', async () => {
    const res = await metricsText(as);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = res.text;
    expect(text).toContain(`fapi_policy_as_shadow_violations_total{shadow_profile="fapi2-security",rule="FAPI2-SP-FINAL-5.3.2.1-11",client_id="${c.clientId}"} 1`);
    expect(text).toContain(`fapi_policy_as_shadow_violations_total{shadow_profile="fapi2-security",rule="FAPI2-SP-FINAL-5.3.2.2-1",client_id="${c.clientId}"} 3`);
    expect(text).toContain(`fapi_policy_as_shadow_warnings_total{shadow_profile="fapi2-security",rule="FAPI2-SP-FINAL-5.3.3.2-6",client_id="${c.clientId}"} 2`);
    expect(text).toMatch(/^fapi_policy_as_shadow_decisions_total\{profile="fapi1-advanced",shadow_profile="fapi2-security",stage="token",decision="deny"\} 2$/m);
    expect(text).toMatch(/^fapi_policy_as_decisions_total\{profile="fapi1-advanced",stage="token",decision="allow"\} [3-9]$/m);
    expect(text).toContain('# TYPE fapi_policy_as_shadow_violations_total counter');
    expect(text).toContain('fapi_policy_as_shadow_findings_dropped_total{kind="violation"} 0');
  });

  it('`fapi-policy shadow report` lists the client under each rule it would fail, with counts', async () => {
    const asJson = await report(as.logs.lines, ['--format', 'json']);
    expect(asJson.code).toBe(0);
    const data = JSON.parse(asJson.out.join('\n')) as { lines: Record<string, number>; shadow_profiles: Array<{ shadow_profile: string; rules: Array<{ rule: string; severity: string; stages: string[]; clients: Array<{ client_id: string; profile: string; count: number; first_seen: string; last_seen: string }> }> }> };
    expect(data.lines.malformed).toBe(0);
    expect(data.lines.ignored).toBeGreaterThan(0);
    const fapi2 = data.shadow_profiles.find((p) => p.shadow_profile === 'fapi2-security')!;
    const code = fapi2.rules.find((r) => r.rule === 'FAPI2-SP-FINAL-5.3.2.2-1')!;
    expect(code.stages).toEqual(['authorization', 'par']);
    expect(code.clients.find((x) => x.client_id === c.clientId)).toMatchObject({ profile: 'fapi1-advanced', count: 3 });
    const lifetime = fapi2.rules.find((r) => r.rule === 'FAPI2-SP-FINAL-5.3.2.1-11')!;
    expect(lifetime.clients).toEqual([expect.objectContaining({ client_id: c.clientId, count: 1 })]);
    expect(Date.parse(lifetime.clients[0]!.first_seen)).toBeGreaterThan(0);
    expect(fapi2.rules.at(-1)!.severity).toBe('warning');

    const text = await report(as.logs.lines);
    expect(text.code).toBe(0);
    const block = text.out.join('\n');
    expect(block).toContain('Shadow profile fapi2-security:');
    expect(block).toMatch(/FAPI2-SP-FINAL-5\.3\.2\.1-11 {2}would refuse {2}FAPI 2\.0 SP §5\.3\.2\.1-11 {2}stages: token {2}requests: 1/);
    const rule = text.out.findIndex((l) => l.includes('FAPI2-SP-FINAL-5.3.2.1-11'));
    const [head, row] = [text.out[rule + 1]!, text.out[rule + 2]!];
    expect(head.trim()).toMatch(/^client_id +profile +count +first seen +last seen$/);
    expect(row).toContain(c.clientId);
    // Aligned: each column starts where its header does.
    expect(row.indexOf('fapi1-advanced')).toBe(head.indexOf('profile'));
  });
});

describe('shadow profiles per client', () => {
  it('a client\'s own fapi_shadow_profile replaces the server\'s; one equal to its profile evaluates nothing', async () => {
    const signed = new RawClient(as, await keyPair());
    expect((await signed.register({ fapi_shadow_profile: 'fapi2-message-signing' })).status).toBe(201);
    const same = new RawClient(as, await keyPair());
    expect((await same.register({ fapi_shadow_profile: 'fapi2-security' })).status).toBe(201);
    for (const client of [signed, same]) {
      const { challenge } = pkce();
      const par = await client.request('/par', { form: { client_id: client.clientId, response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid accounts', code_challenge: challenge, code_challenge_method: 'S256', ...(await client.authForm()) } });
      expect(par.status, par.text).toBe(201);
    }
    await settled();
    const lines = shadowLines(as, signed.clientId);
    expect(lines.map((l) => l.shadow_profile)).toEqual(['fapi2-message-signing']);
    expect(rules(lines, 'par')).toEqual(['FAPI2-MS-ID1-5.3.1-1']);
    expect(shadowLines(as, same.clientId)).toEqual([]);
  });

  it('refuses an unknown, malformed or unservable fapi_shadow_profile at registration and at update', async () => {
    const server = await startTestAs({ dataDir });
    try {
      server.setSnapshot(await snapshotOf(['profiles', 'test/fixtures/profiles']));
      const c = new RawClient(server, await keyPair());
      const unknown = await c.register({ fapi_shadow_profile: 'no-such-profile' });
      expect(unknown.status).toBe(400);
      expect(unknown.json.error).toBe('invalid_client_metadata');
      expect(unknown.json.error_description).toContain("fapi_shadow_profile 'no-such-profile' is not loaded");
      const malformed = await c.register({ fapi_shadow_profile: '../Fapi2' });
      expect(malformed.json.error).toBe('invalid_client_metadata');
      expect(malformed.json.error_description).toContain('fapi_shadow_profile');
      const unservable = await c.register({ fapi_shadow_profile: 'mini-base' });
      expect(unservable.json.error_description).toContain("fapi_shadow_profile 'mini-base' cannot be served");

      const created = await c.register({});
      expect(created.status).toBe(201);
      const path = `/register/${c.clientId}`;
      const headers = { Authorization: `Bearer ${created.json.registration_access_token}`, 'Content-Type': 'application/json' };
      const refused = await c.request(path, { method: 'PUT', headers, body: JSON.stringify({ ...created.json, fapi_shadow_profile: 'no-such-profile' }) });
      expect(refused.json.error).toBe('invalid_client_metadata');
      const updated = await c.request(path, { method: 'PUT', headers, body: JSON.stringify({ ...created.json, fapi_shadow_profile: 'fapi1-advanced' }) });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.json.fapi_shadow_profile).toBe('fapi1-advanced');
    } finally {
      await server.close();
    }
  });
});

describe('the server\'s shadow profile', () => {
  const start = (shadowProfile: string, paths = ['profiles']) => snapshotOf(paths).then((current) => startAs({
    port: 0, host: '127.0.0.1', dev: true, store: 'memory', dataDir, shadowProfile, profiles: { current }, log: pino({ level: 'silent' }),
  }));

  it('must be loaded and servable, or the server does not start', async () => {
    await expect(start('no-such-profile')).rejects.toThrow(/the shadow profile 'no-such-profile' is not loaded/);
    await expect(start('mini-base', ['profiles', 'test/fixtures/profiles'])).rejects.toThrow(/the shadow profile 'mini-base' cannot be served/);
  });

  it('fapi-policy as --shadow-profile: an unknown one is a usage error (exit 2)', async () => {
    const err: string[] = [];
    const code = await main(['as', '--shadow-profile', 'no-such-profile', '--port', '0', '--store', 'memory', '--data-dir', dataDir, '--no-watch', '--log', 'off', '--profiles', 'profiles'], { out: () => {}, err: (t) => err.push(t), readStdin: async () => '' });
    expect(code).toBe(2);
    expect(err.join('\n')).toContain("the shadow profile 'no-such-profile' is not loaded");
  });
});

describe('a shadow evaluation never fails the request', () => {
  it('one that throws, or a shadow profile no longer loaded, is counted as an error and the request is served', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'candidate.yaml'), 'id: candidate\ntitle: Candidate\nversion: "1"\nspec: https://example.com/candidate\nextends: fapi2-security\n');
    const server = await startTestAs({ dataDir });
    try {
      const snapshot = await snapshotOf(['profiles', dir]);
      server.setSnapshot(snapshot);
      const c = new RawClient(server, await keyPair());
      expect((await c.register({ fapi_shadow_profile: 'candidate' })).status).toBe(201);
      const real = snapshot.profiles.get('candidate')!;
      const throwing = Object.create(real, { evaluate: { value: () => { throw new Error('shadow engine failure'); } } }) as CompiledProfile;
      server.setSnapshot({ ...snapshot, profiles: new Map([...snapshot.profiles, ['candidate', throwing]]) });
      const cc = async () => c.request('/token', { form: { grant_type: 'client_credentials', scope: 'accounts', ...(await c.authForm()) }, headers: { DPoP: await dpopProof(c.signing, 'POST', `${server.issuer}/token`) } });
      const first = await cc();
      expect(first.status, first.text).toBe(200);
      server.setSnapshot({ ...snapshot, profiles: new Map([...snapshot.profiles].filter(([id]) => id !== 'candidate')), ids: snapshot.ids.filter((id) => id !== 'candidate') });
      const second = await cc();
      expect(second.status, second.text).toBe(200);
      await settled();
      const lines = shadowLines(server, c.clientId).filter((l) => l.endpoint === 'token');
      const reasons = lines.map((l) => new Set((l.shadow_errors as Array<{ stage: string; reason: string }>).map((e) => `${e.stage} ${e.reason}`)));
      // Every stage of each request: client_auth, tls (once per connection), dpop, token, token_response.
      expect(reasons[0]).toEqual(new Set(['client_auth exception', 'dpop exception', 'token exception', 'token_response exception', ...(reasons[0]!.has('tls exception') ? ['tls exception'] : [])]));
      expect([...reasons[1]!].every((r) => r.endsWith(' not_loaded'))).toBe(true);
      expect(reasons.length).toBe(2);
      expect(JSON.stringify(lines)).not.toContain('shadow engine failure');
      const metrics = (await metricsText(server)).text;
      expect(metrics).toContain('fapi_policy_as_shadow_decisions_total{profile="fapi2-security",shadow_profile="candidate",stage="token",decision="error"} 2');
    } finally {
      await server.close();
    }
  });

  it('an unknown stage is an engine error, counted under stage "unknown"', async () => {
    const res = new EventEmitter();
    const x = { ctx: as.ctx, endpoint: 'test', res, snapshot: as.snapshot, profile: as.snapshot.profiles.get('fapi1-advanced')!, shadow: 'fapi2-security', decisions: { stages: [], violations: [], warnings: [] } } as unknown as Exchange;
    shadowDecide(x, 'no-such-stage', {}, 'fapi1-advanced');
    res.emit('close');
    expect(x.shadowReports?.[0]?.errors).toEqual([{ stage: 'no-such-stage', reason: 'engine' }]);
    expect(as.ctx.metrics.render()).toContain('fapi_policy_as_shadow_decisions_total{profile="fapi1-advanced",shadow_profile="fapi2-security",stage="unknown",decision="error"} 1');
  });
});

describe('metrics', () => {
  it('bounds the (shadow profile, rule, client) series and counts what did not fit', () => {
    const m = new AsMetrics(2);
    m.shadowFinding('violation', 'p', 'r1', 'c1');
    m.shadowFinding('warning', 'p', 'r2', 'c1');
    m.shadowFinding('violation', 'p', 'r1', 'c2');
    m.shadowFinding('violation', 'p', 'r1', 'c1');
    const text = m.render();
    expect(text).toContain('fapi_policy_as_shadow_violations_total{shadow_profile="p",rule="r1",client_id="c1"} 2');
    expect(text).not.toContain('client_id="c2"');
    expect(text).toContain('fapi_policy_as_shadow_findings_dropped_total{kind="violation"} 1');
    expect(text).toContain('fapi_policy_as_shadow_findings_dropped_total{kind="warning"} 0');
  });

  it('escapes label values', () => {
    const m = new AsMetrics();
    m.shadowFinding('violation', 'p', 'rule "q" \\ x\nnext', 'c');
    expect(m.render()).toContain('rule="rule \\"q\\" \\\\ x\\nnext"');
  });

  it('are served to loopback callers without a token; with tokens configured, only to their holders; behind a proxy, never without one', async () => {
    const TOKEN = 'metrics-token-0123456789';
    const tokened = await startTestAs({ dataDir, metricsTokens: [TOKEN] });
    const proxied = await startTestAs({ dataDir, trustProxyCertHeader: true });
    try {
      const none = await metricsText(tokened);
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expect((await metricsText(tokened, { Authorization: 'Bearer wrong-token-0123456789' })).status).toBe(401);
      expect((await metricsText(tokened, { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
      const behindProxy = await metricsText(proxied);
      expect(behindProxy.status).toBe(403);
      expect(behindProxy.json.error_description).toContain('--metrics-token-file');
    } finally {
      await tokened.close();
      await proxied.close();
    }
  });
});

describe('fapi-policy shadow report on hostile input', () => {
  const good = (client: string, time: string | number) => JSON.stringify({ level: 30, time, msg: 'shadow findings', client_id: client, profile: 'fapi1-advanced', shadow_profile: 'fapi2-security', shadow_violations: [{ stage: 'par', rule: 'R-1', clause: 'C 1' }] });

  it('counts malformed, unrelated and over-long lines, and reports the rest', async () => {
    const lines = [
      'not json at all',
      '{"msg":"request served","endpoint":"par"}',
      '{"msg":"shadow findings","shadow_profile":"fapi2-security","profile":"p","shadow_violations":"R-1"}',
      '{"msg":"shadow findings","shadow_profile":"fapi2-security","profile":"p","shadow_violations":[{"stage":"par"}]}',
      '[1,2,3]',
      '{"msg":"shadow findings","shadow_profile":"' + 'x'.repeat(70_000) + '"}',
      good('client-b', '2026-01-01T00:00:02.000Z'),
      good('client-a', 1767225600000),
      good('client-b', '2026-01-01T00:00:01.000Z'),
      '{"truncated json',
    ];
    const { code, out } = await report(lines, ['--json']);
    expect(code).toBe(0);
    const data = JSON.parse(out.join('\n'));
    expect(data.lines).toEqual({ read: 10, shadow: 3, ignored: 2, malformed: 4, too_long: 1 });
    expect(data.shadow_profiles[0].rules[0].clients).toEqual([
      { client_id: 'client-b', profile: 'fapi1-advanced', count: 2, first_seen: '2026-01-01T00:00:01.000Z', last_seen: '2026-01-01T00:00:02.000Z' },
      { client_id: 'client-a', profile: 'fapi1-advanced', count: 1, first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  it('reads files, says when there is nothing to report, and refuses a file it cannot read (exit 2)', async () => {
    const dir = tempDir();
    const file = join(dir, 'as.log');
    writeFileSync(file, '{"msg":"request served"}\n');
    const empty = await report([], [file]);
    expect(empty.code).toBe(0);
    expect(empty.out.join('\n')).toContain('No shadow findings.');
    const missing = await report([], [join(dir, 'missing.log')]);
    expect(missing.code).toBe(2);
    expect(missing.err.join('\n')).toContain('cannot read');
    expect((await report([], ['--format', 'xml'])).code).toBe(2);
  });
});
