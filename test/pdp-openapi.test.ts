import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import openapi from '../schemas/openapi.json' with { type: 'json' };
import oas31 from './fixtures/oas-3.1.schema.json' with { type: 'json' };
import type { PdpServer } from '../src/pdp/server.js';
import { MINI_BASE_TEXT, evaluation, manyHeaders, parFacts, profileDir, request, startTestPdp } from './pdp-helpers.js';

const DOC_ID = 'https://fapi-policy.dev/schemas/openapi.json';
type Json = Record<string, unknown>;

/** The routes the service implements; the document must describe exactly these. */
const ROUTES = [
  'post /v1/decide', 'post /access/v1/evaluation', 'post /access/v1/evaluations', 'get /.well-known/authzen-configuration',
  'get /v1/profiles', 'get /v1/profiles/{id}', 'get /v1/profiles/{id}/metadata', 'get /health', 'get /health/ready', 'get /metrics', 'get /openapi.json',
];

function newAjv() {
  return new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', () => {
    // ajv resolves $dynamicRef only to anchors at a resource root; in the default dialect "#meta"
    // means exactly $defs/schema, so point there directly.
    const schema = JSON.parse(JSON.stringify(oas31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')) as object;
    const validate = newAjv().compile(schema);
    const ok = validate(openapi);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(validate({ openapi: '3.1.0', paths: {} })).toBe(false);
    expect(validate({ ...openapi, paths: { '/x': { get: { responses: { 200: {} } } } } })).toBe(false);
    expect(validate({ ...openapi, components: { ...openapi.components, schemas: { Bad: 5 } } })).toBe(false);
  });

  it('compiles every schema it declares and resolves every $ref', () => {
    const ajv = newAjv();
    ajv.addSchema({ ...openapi, $id: DOC_ID });
    for (const name of Object.keys(openapi.components.schemas)) expect(() => ajv.getSchema(`${DOC_ID}#/components/schemas/${name}`)).not.toThrow();
    const decideResponse = ajv.getSchema(`${DOC_ID}#/components/schemas/DecideResponse`)!;
    expect(decideResponse({ decision: 'maybe', profile: { id: 'a', version: '1', digest: 'x' }, stage: 'par', violations: [], warnings: [] })).toBe(false);
    const refs = JSON.stringify(openapi).match(/"\$ref":"#[^"]+"/g) ?? [];
    for (const ref of refs) expect(resolvePointer(openapi, ref.slice(9, -1)), ref).toBeDefined();
  });

  it('describes exactly the routes the service implements', () => {
    const documented = Object.entries(openapi.paths as Record<string, Json>).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`));
    expect(documented.sort()).toEqual([...ROUTES].sort());
  });
});

function resolvePointer(doc: unknown, pointer: string): unknown {
  return pointer.replace(/^#\/?/, '').split('/').filter(Boolean)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, token) => (node as Json | undefined)?.[token], doc);
}

const escape = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1');

/** The documented response of an operation for a status, with $refs to components followed. */
function documentedResponse(template: string, method: string, status: number): { pointer: string; response: Json } | null {
  let pointer = `#/paths/${escape(template)}/${method}/responses/${status}`;
  let response = resolvePointer(openapi, pointer) as Json | undefined;
  if (response && typeof response.$ref === 'string') {
    pointer = response.$ref;
    response = resolvePointer(openapi, pointer) as Json;
  }
  return response ? { pointer, response } : null;
}

describe('real responses match the document', () => {
  let open: PdpServer;
  let guarded: PdpServer;
  let broken: PdpServer;
  const ajv = newAjv();

  beforeAll(async () => {
    ajv.addSchema({ ...openapi, $id: DOC_ID });
    open = await startTestPdp({ profiles: [profileDir()], limits: { maxBodyBytes: 2048 } });
    guarded = await startTestPdp({ profiles: [profileDir()], tokens: ['openapi-test-token-0123456789'] });
    const dir = profileDir();
    writeFileSync(join(dir, 'mini-base.yaml'), MINI_BASE_TEXT.replace('severity: error', 'severity: fatal'));
    broken = await startTestPdp({ profiles: [dir] });
  });
  afterAll(async () => {
    await Promise.all([open, guarded, broken].map((s) => s.close()));
  });

  type Case = [string, 'open' | 'guarded' | 'broken', string, string, string, RequestInit?];
  const tooManyHeaders = manyHeaders(101);
  const json = (body: unknown, extra: Json = {}): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json', ...(extra as Record<string, string>) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const deny = parFacts({ code_challenge_method: 'plain' });
  const hostile = `\r\n\u202e\u0000${'k'.repeat(300)}`;
  const cases: Case[] = [
    ['decide allow', 'open', '/v1/decide', '/v1/decide', 'post', json({ profile: 'mini-base', stage: 'par', facts: parFacts() })],
    ['decide deny + explain', 'open', '/v1/decide?explain=true', '/v1/decide', 'post', json({ profile: 'mini-base', stage: 'par', facts: deny })],
    ['decide engine-level deny', 'open', '/v1/decide', '/v1/decide', 'post', json({ profile: 'mini-base', stage: 'par', facts: parFacts({ code_challenge_method: null }) })],
    ['decide bad JSON', 'open', '/v1/decide', '/v1/decide', 'post', json('{')],
    ['decide bad facts', 'open', '/v1/decide', '/v1/decide', 'post', json({ profile: 'mini-base', stage: 'par', facts: { time: 1 } })],
    ['decide unknown profile', 'open', '/v1/decide', '/v1/decide', 'post', json({ profile: 'x', stage: 'par', facts: {} })],
    ['decide too large', 'open', '/v1/decide', '/v1/decide', 'post', json({ pad: 'x'.repeat(4000) })],
    ['decide not JSON', 'open', '/v1/decide', '/v1/decide', 'post', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }],
    ['decide gzip', 'open', '/v1/decide', '/v1/decide', 'post', json({}, { 'content-encoding': 'gzip' })],
    ['decide NUL body', 'open', '/v1/decide', '/v1/decide', 'post', json('\u0000')],
    ['decide hostile member name', 'open', '/v1/decide', '/v1/decide', 'post', json({ profile: 'mini-base', stage: 'par', facts: { ...parFacts(), [hostile]: 1 } })],
    ['decide unauthenticated', 'guarded', '/v1/decide', '/v1/decide', 'post', json({})],
    ['decide wrong method', 'open', '/v1/decide', '/v1/decide', 'post', { method: 'PUT' }],
    ['decide too many header fields', 'open', '/v1/decide', '/v1/decide', 'post', json({}, tooManyHeaders)],
    ['evaluation permit', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json(evaluation(), { 'x-request-id': 'r1' })],
    ['evaluation deny + explain', 'open', '/access/v1/evaluation?explain', '/access/v1/evaluation', 'post', json(evaluation(deny))],
    ['evaluation bad request', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json({ subject: {} })],
    ['evaluation unknown profile', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json(evaluation(parFacts(), { resource: { type: 'fapi_profile', id: 'x' } }))],
    ['evaluation too large', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json({ pad: 'x'.repeat(4000) })],
    ['evaluation not JSON', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', { method: 'POST', body: 'x' }],
    ['evaluation gzip', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json({}, { 'content-encoding': 'gzip' })],
    ['evaluation CR LF in a bad body', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json('{\r\n"subject": x\r\n}')],
    ['evaluation unauthenticated', 'guarded', '/access/v1/evaluation', '/access/v1/evaluation', 'post', json(evaluation())],
    ['evaluation wrong method', 'open', '/access/v1/evaluation', '/access/v1/evaluation', 'post', { method: 'GET' }],
    ['evaluations too many header fields', 'open', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({}, tooManyHeaders)],
    ['evaluations batch', 'open', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({ ...evaluation(), evaluations: [{}, { context: deny }, { resource: { type: 'fapi_profile', id: 'x' } }] })],
    ['evaluations hostile member names', 'open', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({ ...evaluation(), evaluations: [{ context: { ...parFacts(), params: { ...parFacts().params, [hostile]: 1 } } }, { action: { name: hostile } }] })],
    ['evaluations single form', 'open', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({ ...evaluation(), evaluations: [] })],
    ['evaluations bad semantic', 'open', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({ ...evaluation(), options: { evaluations_semantic: 'x' }, evaluations: [{}] })],
    ['evaluations unauthenticated', 'guarded', '/access/v1/evaluations', '/access/v1/evaluations', 'post', json({})],
    ['authzen configuration', 'open', '/.well-known/authzen-configuration', '/.well-known/authzen-configuration', 'get'],
    ['profiles', 'open', '/v1/profiles', '/v1/profiles', 'get'],
    ['profiles unauthenticated', 'guarded', '/v1/profiles', '/v1/profiles', 'get'],
    ['profile', 'open', '/v1/profiles/mini-base', '/v1/profiles/{id}', 'get'],
    ['profile unknown', 'open', '/v1/profiles/nope', '/v1/profiles/{id}', 'get'],
    ['profile unauthenticated', 'guarded', '/v1/profiles/mini-base', '/v1/profiles/{id}', 'get'],
    ['metadata', 'open', '/v1/profiles/mini-base/metadata?issuer=https://as.example', '/v1/profiles/{id}/metadata', 'get'],
    ['metadata bad issuer', 'open', '/v1/profiles/mini-base/metadata?issuer=ftp://x', '/v1/profiles/{id}/metadata', 'get'],
    ['metadata unknown profile', 'open', '/v1/profiles/nope/metadata?issuer=https://as.example', '/v1/profiles/{id}/metadata', 'get'],
    ['metadata unauthenticated', 'guarded', '/v1/profiles/mini-base/metadata?issuer=https://as.example', '/v1/profiles/{id}/metadata', 'get'],
    ['health', 'open', '/health', '/health', 'get'],
    ['ready', 'open', '/health/ready', '/health/ready', 'get'],
    ['not ready', 'broken', '/health/ready', '/health/ready', 'get'],
    ['metrics', 'open', '/metrics', '/metrics', 'get'],
    ['metrics unauthenticated', 'guarded', '/metrics', '/metrics', 'get'],
    ['openapi', 'open', '/openapi.json', '/openapi.json', 'get'],
  ];

  for (const [name, server, path, template, method, init] of cases) {
    it(`${name}: ${method.toUpperCase()} ${path}`, async () => {
      const base = { open, guarded, broken }[server].url;
      const r = await request(`${base}${path}`, init ?? {});
      const documented = documentedResponse(template, method, r.status);
      expect(documented, `status ${r.status} of ${method} ${template} is not documented`).not.toBeNull();
      const content = documented!.response.content as Record<string, { schema: unknown }> | undefined;
      if (!content) {
        expect(r.text).toBe('');
        return;
      }
      const mediaType = (r.headers.get('content-type') ?? '').split(';')[0]!.trim();
      expect(Object.keys(content)).toContain(mediaType);
      const validate = ajv.getSchema(`${DOC_ID}${documented!.pointer}/content/${escape(mediaType)}/schema`)!;
      const body = mediaType === 'application/json' ? r.json() : r.text;
      const ok = validate(body);
      expect(validate.errors ?? [], JSON.stringify(body).slice(0, 400)).toEqual([]);
      expect(ok).toBe(true);
    });
  }

  it('documents 304 for a matching If-None-Match', async () => {
    const digest = open.registry.current.profiles.get('mini-base')!.digest;
    const r = await request(`${open.url}/v1/profiles/mini-base`, { headers: { 'if-none-match': `"${digest}"` } });
    expect(r.status).toBe(304);
    expect(documentedResponse('/v1/profiles/{id}', 'get', 304)).not.toBeNull();
  });
});
