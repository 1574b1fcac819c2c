import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CompiledProfile } from '../src/engine/compiled-profile.js';
import type { PdpServer } from '../src/pdp/server.js';
import { MINI_CLIENT_TEXT, evaluation, parFacts, post, profileDir, request, startTestPdp } from './pdp-helpers.js';

let pdp: PdpServer;
let base: string;

beforeAll(async () => {
  pdp = await startTestPdp({ profiles: [profileDir({ 'mini-client.yaml': MINI_CLIENT_TEXT })], limits: { maxBatch: 5 } });
  base = pdp.url;
});
afterAll(() => pdp.close());

interface Item {
  decision: boolean;
  context?: {
    decision_id?: string; profile?: { id: string; digest: string }; violations?: Array<{ rule: string; clause: string; path: string }>;
    oauth_error?: { error: string; status: number }; error?: { status: number; message: string }; explain?: unknown[];
  };
}

const single = (body: unknown, headers?: Record<string, string>) => post(`${base}/access/v1/evaluation`, body, headers);
const batch = (body: unknown) => post(`${base}/access/v1/evaluations`, body);
const deny = parFacts({ code_challenge_method: 'plain' });

describe('GET /.well-known/authzen-configuration', () => {
  it('publishes the PDP identifier and both evaluation endpoints', async () => {
    const r = await request(`${base}/.well-known/authzen-configuration`);
    expect(r.status).toBe(200);
    expect(r.json()).toEqual({
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}/access/v1/evaluation`,
      access_evaluations_endpoint: `${base}/access/v1/evaluations`,
    });
  });
});

describe('POST /access/v1/evaluation', () => {
  it('permits: decision true, with the decision id and profile digest in context', async () => {
    const r = await single(evaluation());
    expect(r.status).toBe(200);
    const d = r.json() as Item;
    expect(d.decision).toBe(true);
    expect(d.context?.decision_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(d.context?.profile).toEqual(pdp.registry.current.profiles.get('mini-base')!.ref);
    expect(d.context?.violations).toEqual([]);
    expect(d.context).not.toHaveProperty('oauth_error');
  });

  it('denies with HTTP 200, decision false and the violated rule and clause in context', async () => {
    const r = await single(evaluation(deny));
    expect(r.status).toBe(200);
    const d = r.json() as Item;
    expect(d.decision).toBe(false);
    expect(d.context?.violations).toEqual([expect.objectContaining({
      rule: 'MINI-PKCE', clause: 'Test §1-1', path: '/params/code_challenge_method', error: 'invalid_request', status: 400,
    })]);
    // The OAuth error of the refusal; context.error keeps its AuthZEN meaning (the item could not be decided).
    expect(d.context?.oauth_error).toEqual({ error: 'invalid_request', status: 400 });
    expect(d.context?.error).toBeUndefined();
  });

  it('flags an engine failure in context.error (500) and refuses with server_error', async () => {
    const spy = vi.spyOn(CompiledProfile.prototype, 'evaluate').mockImplementation(() => {
      throw new Error('boom');
    });
    try {
      const d = (await single(evaluation())).json() as Item;
      expect(d.decision).toBe(false);
      expect(d.context?.error).toEqual({ status: 500, message: expect.stringMatching(/fail closed/) });
      expect(d.context?.oauth_error).toEqual({ error: 'server_error', status: 500 });
    } finally {
      spy.mockRestore();
    }
  });

  it('maps subject properties to facts.client (client metadata rules see them)', async () => {
    const ok = (await single(evaluation(parFacts(), { resource: { type: 'fapi_profile', id: 'mini-client' } }))).json() as Item;
    expect(ok.decision).toBe(true);
    const bad = (await single(evaluation(parFacts(), {
      resource: { type: 'fapi_profile', id: 'mini-client' },
      subject: { type: 'client', id: 'c1', properties: { token_endpoint_auth_method: 'client_secret_basic' } },
    }))).json() as Item;
    expect(bad.decision).toBe(false);
    expect(bad.context?.violations?.[0]).toMatchObject({ rule: 'MINI-CLIENT-AUTH', clause: 'Test §2-1', path: '/client/token_endpoint_auth_method' });
  });

  it('ignores unknown members, as AuthZEN requires', async () => {
    const r = await single({ ...evaluation(), extension: { x: 1 }, action: { name: 'par', properties: { method: 'POST' } } });
    expect(r.status).toBe(200);
    expect((r.json() as Item).decision).toBe(true);
  });

  it('ignores context members that are not facts of the stage, and still denies on the facts that are', async () => {
    const extra = { vendor_trace: { span: 'a1' }, __proto__x: 1 };
    const allowed = await single(evaluation({ ...parFacts(), ...extra }));
    expect(allowed.status).toBe(200);
    expect((allowed.json() as Item).decision).toBe(true);
    const denied = await single(evaluation({ ...parFacts({ code_challenge_method: 'plain' }), ...extra }));
    expect(denied.status).toBe(200);
    expect((denied.json() as Item).context?.violations?.[0]?.rule).toBe('MINI-PKCE');
  });

  it('echoes X-Request-ID and explains on request', async () => {
    const r = await post(`${base}/access/v1/evaluation?explain=1`, evaluation(), { 'x-request-id': 'authzen-1' });
    expect(r.headers.get('x-request-id')).toBe('authzen-1');
    expect((r.json() as Item).context?.explain).toHaveLength(3);
  });

  const bad: Array<[string, unknown, number, RegExp]> = [
    ['no subject', { ...evaluation(), subject: undefined }, 400, /subject is required/],
    ['no action', { ...evaluation(), action: undefined }, 400, /action is required/],
    ['no resource', { ...evaluation(), resource: undefined }, 400, /resource is required/],
    ['a subject without id', evaluation(parFacts(), { subject: { type: 'client' } }), 400, /subject\.id is required/],
    ['a subject id that is a number', evaluation(parFacts(), { subject: { type: 'client', id: 7 } }), 400, /subject\.id is required and must be a string/],
    ['a resource without type', evaluation(parFacts(), { resource: { id: 'mini-base' } }), 400, /resource\.type is required/],
    ['an action without name', evaluation(parFacts(), { action: {} }), 400, /action\.name is required/],
    ['a subject that is not a client', evaluation(parFacts(), { subject: { type: 'user', id: 'alice' } }), 400, /subject\.type must be "client"/],
    ['a resource that is not a profile', evaluation(parFacts(), { resource: { type: 'document', id: 'x' } }), 400, /resource\.type must be "fapi_profile"/],
    ['properties that are not an object', evaluation(parFacts(), { subject: { type: 'client', id: 'c1', properties: [] } }), 400, /subject\.properties must be an object/],
    ['a context that is not an object', evaluation(parFacts(), { context: 'x' }), 400, /context must be an object/],
    ['client metadata in the context', evaluation({ ...parFacts(), client: { client_id: 'c1' } }), 400, /not context\.client/],
    ['a client_id that contradicts the subject', evaluation(parFacts(), { subject: { type: 'client', id: 'c1', properties: { client_id: 'c2' } } }), 400, /differs from subject\.id/],
    ['an unknown stage', evaluation(parFacts(), { action: { name: 'checkout' } }), 400, /unknown stage 'checkout'/],
    ['facts of the wrong shape', evaluation({ time: 'now' }), 400, /facts for stage 'par'/],
    ['subject metadata of the wrong shape', evaluation(parFacts(), { subject: { type: 'client', id: 'c1', properties: { redirect_uris: 'x' } } }), 400, /fact \/client\/redirect_uris/],
    // AuthZEN's transport errors are 400/401/403/500: an unknown profile is a bad request here (404 inside batch items).
    ['an unknown profile', evaluation(parFacts(), { resource: { type: 'fapi_profile', id: 'nope' } }), 400, /unknown profile 'nope'/],
    ['a top-level array', [evaluation()], 400, /must be a JSON object/],
    ['malformed JSON', '{"subject":', 400, /not valid JSON/],
  ];
  for (const [name, body, status, message] of bad) {
    it(`${name} -> ${status}, with the error message string as the body`, async () => {
      const r = await single(body);
      expect(r.status).toBe(status);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(r.text).toMatch(message);
    });
  }

  it('refuses GET and PUT', async () => {
    expect((await request(`${base}/access/v1/evaluation`)).status).toBe(405);
    expect((await request(`${base}/access/v1/evaluation`, { method: 'PUT', body: '{}' })).status).toBe(405);
  });
});

describe('POST /access/v1/evaluations', () => {
  const resource = (id: string) => ({ resource: { type: 'fapi_profile', id } });
  const ctx = (facts: unknown) => ({ context: facts });

  it('applies top-level defaults; an item member overrides its default', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' }, context: parFacts(),
      evaluations: [{}, ctx(deny), { action: { name: 'token' } }, { ...resource('mini-client'), subject: { type: 'client', id: 'c1', properties: { token_endpoint_auth_method: 'private_key_jwt' } } }, resource('mini-client')],
    });
    expect(r.status).toBe(200);
    const { evaluations } = r.json() as { evaluations: Item[] };
    expect(evaluations.map((e) => e.decision)).toEqual([true, false, false, true, false]);
    expect(evaluations[1]?.context?.violations?.[0]?.rule).toBe('MINI-PKCE');
    expect(evaluations[2]?.context?.error).toMatchObject({ status: 400 });
    expect(evaluations[3]?.context?.profile?.id).toBe('mini-client');
    expect(evaluations[4]?.context?.violations?.[0]?.rule).toBe('MINI-CLIENT-AUTH');
  });

  it('execute_all (the default) evaluates every item, in order', async () => {
    const body = { subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' }, evaluations: [ctx(parFacts()), ctx(deny), ctx(parFacts())] };
    const implicit = (await batch(body)).json() as { evaluations: Item[] };
    const explicit = (await batch({ ...body, options: { evaluations_semantic: 'execute_all' } })).json() as { evaluations: Item[] };
    expect(implicit.evaluations.map((e) => e.decision)).toEqual([true, false, true]);
    expect(explicit.evaluations.map((e) => e.decision)).toEqual([true, false, true]);
  });

  it('deny_on_first_deny stops after the first deny', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' },
      options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: [ctx(parFacts()), ctx(deny), ctx(parFacts())],
    });
    expect((r.json() as { evaluations: Item[] }).evaluations.map((e) => e.decision)).toEqual([true, false]);
  });

  it('deny_on_first_deny counts an item error as a deny', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, context: parFacts(),
      options: { evaluations_semantic: 'deny_on_first_deny' }, evaluations: [resource('mini-base'), resource('nope'), resource('mini-base')],
    });
    const { evaluations } = r.json() as { evaluations: Item[] };
    expect(evaluations).toHaveLength(2);
    expect(evaluations[1]).toEqual({ decision: false, context: { error: { status: 404, message: expect.stringMatching(/unknown profile 'nope'/) } } });
  });

  it('permit_on_first_permit stops after the first permit', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' },
      options: { evaluations_semantic: 'permit_on_first_permit' }, evaluations: [ctx(deny), ctx(parFacts()), ctx(deny)],
    });
    expect((r.json() as { evaluations: Item[] }).evaluations.map((e) => e.decision)).toEqual([false, true]);
  });

  it('permit_on_first_permit returns every deny when nothing permits', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' },
      options: { evaluations_semantic: 'permit_on_first_permit' }, evaluations: [ctx(deny), ctx(deny)],
    });
    expect((r.json() as { evaluations: Item[] }).evaluations.map((e) => e.decision)).toEqual([false, false]);
  });

  it('reports per-item errors inside the batch and keeps going', async () => {
    const r = await batch({
      subject: { type: 'client', id: 'c1' }, action: { name: 'par' }, resource: { type: 'fapi_profile', id: 'mini-base' }, context: parFacts(),
      evaluations: ['not an object', { subject: { type: 'user', id: 'x' } }, { context: { time: 'bad' } }, {}],
    });
    const { evaluations } = r.json() as { evaluations: Item[] };
    expect(evaluations.map((e) => e.context?.error?.status ?? 'ok')).toEqual([400, 400, 400, 'ok']);
    expect(evaluations[1]?.context?.error?.message).toMatch(/subject\.type must be "client" \(at \/evaluations\/1\/subject\/type\)/);
    expect(evaluations[2]?.context?.error?.message).toMatch(/facts for stage 'par'.*\(at \/evaluations\/2\/context\/issuer\)/);
    expect(evaluations[3]?.decision).toBe(true);
  });

  it('behaves as a single evaluation without evaluations or with an empty array', async () => {
    for (const extra of [{}, { evaluations: [] }]) {
      const r = await batch({ ...evaluation(deny), ...extra });
      expect(r.status).toBe(200);
      const d = r.json() as Item;
      expect(d.decision).toBe(false);
      expect(d.context?.violations?.[0]?.rule).toBe('MINI-PKCE');
    }
  });

  it('uses one profile set for the whole batch', async () => {
    const r = await batch({ ...evaluation(), evaluations: [{}, {}, {}] });
    const digests = new Set((r.json() as { evaluations: Item[] }).evaluations.map((e) => e.context?.profile?.digest));
    expect(digests.size).toBe(1);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['an unknown semantic', { ...evaluation(), options: { evaluations_semantic: 'first_come' }, evaluations: [{}] }, /unknown evaluations_semantic 'first_come'/],
    ['options that are not an object', { ...evaluation(), options: 'fast', evaluations: [{}] }, /options must be an object/],
    ['evaluations that are not an array', { ...evaluation(), evaluations: {} }, /evaluations must be an array/],
    ['more evaluations than allowed', { ...evaluation(), evaluations: [{}, {}, {}, {}, {}, {}] }, /at most 5 evaluations/],
  ];
  for (const [name, body, message] of bad) {
    it(`${name} -> 400`, async () => {
      const r = await batch(body);
      expect(r.status).toBe(400);
      expect(r.text).toMatch(message);
    });
  }
});
