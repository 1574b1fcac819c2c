import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  OAUTH_ERROR_CODES, STAGE_ERRORS, STAGES, buildProfileSet, oauthErrorResponse, oauthStatus, runTests,
} from '../src/index.js';
import { build, errorsOf, miniBase, overlay, PAR_FACTS, profileWith, rule } from './helpers.js';

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const refuse = { logic: false };

describe('the OAuth error table', () => {
  it('is the enum of the profile schema, of test vectors and of the OpenAPI document', () => {
    const profile = json('schemas/profile.schema.json');
    expect(profile.$defs.rule.properties.error.enum).toEqual([...OAUTH_ERROR_CODES]);
    expect(profile.$defs.tests.properties.vectors.items.properties.error.enum).toEqual([...OAUTH_ERROR_CODES]);
    expect(json('schemas/tests.schema.json').properties.vectors.items.properties.error.enum).toEqual([...OAUTH_ERROR_CODES]);
    expect(json('schemas/openapi.json').components.schemas.OAuthError.enum).toEqual([...OAUTH_ERROR_CODES]);
  });

  it('gives every stage a registered default', () => {
    expect(Object.keys(STAGE_ERRORS).sort()).toEqual([...STAGES].sort());
    for (const code of Object.values(STAGE_ERRORS)) expect(OAUTH_ERROR_CODES).toContain(code);
  });

  it('maps codes to the status their specification gives, DPoP codes by who answers', () => {
    expect(oauthStatus('invalid_request')).toBe(400);
    expect(oauthStatus('invalid_client')).toBe(401);
    expect(oauthStatus('invalid_grant')).toBe(400);
    expect(oauthStatus('invalid_token', 'resource_server')).toBe(401);
    expect(oauthStatus('insufficient_scope', 'resource_server')).toBe(403);
    expect(oauthStatus('server_error')).toBe(500);
    expect(oauthStatus('use_dpop_nonce')).toBe(400);
    expect(oauthStatus('use_dpop_nonce', 'resource_server')).toBe(401);
    expect(oauthStatus('invalid_dpop_proof')).toBe(400);
    expect(oauthStatus('invalid_dpop_proof', 'resource_server')).toBe(401);
  });
});

describe('refusals carry their OAuth error', () => {
  it('takes the error a rule declares, else its stage default, on each violation and on the decision', () => {
    const p = profileWith(rule({ id: 'T-GRANT', error: 'invalid_scope', check: refuse }), rule({ id: 'T-PLAIN', check: refuse }));
    const d = p.evaluate('par', PAR_FACTS);
    expect(d.violations.map((v) => [v.rule, v.error, v.status])).toEqual([['T-GRANT', 'invalid_scope', 400], ['T-PLAIN', 'invalid_request', 400]]);
    expect(d).toMatchObject({ decision: 'deny', error: 'invalid_scope', status: 400 });
  });

  it('refuses with the first violation in rule order (base rules before the overlay)', () => {
    const p = profileWith(rule({ id: 'T-LATER', error: 'invalid_client', check: refuse }));
    const d = p.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, code_challenge_method: 'plain' } });
    expect(d.violations.map((v) => v.rule)).toEqual(['MINI-PKCE', 'T-LATER']);
    expect(d).toMatchObject({ error: 'invalid_request', status: 400 });
  });

  it('defaults per stage for a rule spanning stages', () => {
    const p = build().get('mini-base')!;
    const jwt = { header: { alg: 'none' }, claims: {}, signature_verified: true };
    const at = { time: 1, issuer: 'https://as.example' };
    expect(p.evaluate('client_auth', { ...at, endpoint: 'token', method: 'private_key_jwt', jwt })).toMatchObject({ error: 'invalid_client', status: 401 });
    expect(p.evaluate('request_object', { ...at, endpoint: 'par', jwt })).toMatchObject({ error: 'invalid_request_object', status: 400 });
    expect(p.rules.find((r) => r.id === 'MINI-ALG')?.errors).toEqual({ client_auth: 'invalid_client', request_object: 'invalid_request_object' });
  });

  it('lets a rule override the status (RFC 9126 §2.3: 405 for a PAR request that is not a POST)', () => {
    const d = profileWith(rule({ status: 405, check: refuse })).evaluate('par', PAR_FACTS);
    expect(d).toMatchObject({ error: 'invalid_request', status: 405 });
    expect(d.violations[0]).toMatchObject({ error: 'invalid_request', status: 405 });
  });

  it('answers DPoP refusals with 400 at the authorization server and 401 at a resource', () => {
    const p = profileWith(rule({ stage: 'dpop', error: 'use_dpop_nonce', check: refuse }));
    const proof = { time: 1, jwt: { header: { alg: 'ES256' }, claims: {}, signature_verified: true }, http: { method: 'POST', uri: 'https://as.example/token' }, jkt: 'x' };
    expect(p.evaluate('dpop', proof)).toMatchObject({ error: 'use_dpop_nonce', status: 400 });
    expect(p.evaluate('dpop', { ...proof, endpoint: 'token' })).toMatchObject({ error: 'use_dpop_nonce', status: 400 });
    expect(p.evaluate('dpop', { ...proof, endpoint: 'resource' })).toMatchObject({ error: 'use_dpop_nonce', status: 401 });
  });

  it('refuses facts outside their schema with the stage default', () => {
    const base = build().get('mini-base')!;
    expect(base.evaluate('par', { ...PAR_FACTS, surprise: 1 })).toMatchObject({ decision: 'deny', error: 'invalid_request', status: 400 });
    expect(base.evaluate('resource', { time: 1, http: { method: 'GET' }, access_token: { location: 'header' }, extra: 1 }))
      .toMatchObject({ error: 'invalid_token', status: 401 });
  });

  it('carries no error on an allow, warnings included', () => {
    const d = build().get('mini-base')!.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, nonce: 'n'.repeat(65) } });
    expect(d.decision).toBe('allow');
    expect(d.warnings[0]).toMatchObject({ error: 'invalid_request', status: 400 });
    expect(d).not.toHaveProperty('error');
    expect(d).not.toHaveProperty('status');
  });

  it('refuses a rule whose error is not a registered code, and a status outside 400-599', () => {
    expect(errorsOf(build(overlay('ov', { rules: [rule({ error: 'invalid_everything', check: refuse })] })), 'ov.yaml').join()).toMatch(/error/);
    expect(errorsOf(build(overlay('ov', { rules: [rule({ status: 302, check: refuse })] })), 'ov.yaml').join()).toMatch(/status/);
  });
});

describe('oauthErrorResponse', () => {
  it('names the rule and clause in error_description, in the characters RFC 6749 §5.2 allows', () => {
    const p = profileWith(rule({ id: 'T-Q', clause: 'Spec §5.3-1', error: 'invalid_scope', message: 'Say "please" \\ nicely…', check: refuse }));
    const response = oauthErrorResponse(p.evaluate('par', PAR_FACTS));
    expect(response).toEqual({ status: 400, error: 'invalid_scope', error_description: "T-Q (Spec section 5.3-1): Say 'please' / nicely..." });
    expect(response?.error_description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
  });

  it('is bounded, and undefined for an allow', () => {
    const p = profileWith(rule({ message: 'x'.repeat(490), check: refuse }));
    expect(oauthErrorResponse(p.evaluate('par', PAR_FACTS))?.error_description).toHaveLength(500);
    expect(oauthErrorResponse(build().get('mini-base')!.evaluate('par', PAR_FACTS))).toBeUndefined();
  });
});

describe('test vectors', () => {
  it('can assert the OAuth error of a deny', () => {
    const tests = (error: string) => `\ntests:\n  fixtures:\n    par: ${JSON.stringify(PAR_FACTS)}\n  vectors:\n    - name: plain PKCE\n      stage: par\n      facts: {params: {code_challenge_method: plain}}\n      expect: deny\n      violations: [MINI-PKCE]\n      error: ${error}\n`;
    const report = (error: string) => runTests(buildProfileSet([{ ...miniBase, text: miniBase.text + tests(error) }]));
    expect(report('invalid_request').failed).toBe(0);
    expect(report('invalid_client').results[0]?.problems).toEqual(['expected error invalid_client, got invalid_request']);
  });

  it('can run against changed settings (an option a profile ships switched off)', () => {
    const vector = (settings: string, expect: string) =>
      `    - name: ${JSON.stringify(`plain PKCE with ${settings}`)}\n      stage: par\n      settings: ${settings}\n      facts: {params: {code_challenge_method: plain}}\n      expect: ${expect}\n      violations: [MINI-PKCE]\n`;
    const report = (...vectors: string[]) => runTests(buildProfileSet([{
      ...miniBase, text: `${miniBase.text}\ntests:\n  fixtures:\n    par: ${JSON.stringify(PAR_FACTS)}\n  vectors:\n${vectors.join('')}`,
    }]));
    const ok = report(vector('{pkce.methods: [plain, S256]}', 'allow').replace('      violations: [MINI-PKCE]\n', ''), vector('{pkce.methods: [S256]}', 'deny'));
    expect(ok.results.map((r) => r.problems)).toEqual([[], []]);
    expect(report(vector('{pkce.nothing: true}', 'deny')).results[0]?.problems).toEqual(["settings: unknown setting 'pkce.nothing'"]);
    expect(report(vector('{pkce.methods: S256}', 'deny')).results[0]?.problems.join()).toMatch(/^settings: \/pkce\/methods .*array/);
    expect(report(vector('{clock_skew.accept_future: 100}', 'deny')).results[0]?.problems.join()).toMatch(/^settings: .*accept_future/);
  });
});
