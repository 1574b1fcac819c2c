import { describe, expect, it } from 'vitest';
import { build, PAR_FACTS, profileWith, rule } from './helpers.js';


describe('decisions', () => {
  const base = build().get('mini-base')!;

  it('has the documented shape', () => {
    const d = base.evaluate('par', PAR_FACTS);
    expect(d).toEqual({ decision: 'allow', profile: { id: 'mini-base', version: '1', digest: base.digest }, stage: 'par', violations: [], warnings: [] });
  });

  it('denies with rule, clause, severity, message and the JSON pointer of the fact', () => {
    const d = base.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, code_challenge_method: 'plain' } });
    expect(d.decision).toBe('deny');
    expect(d.violations).toEqual([{
      rule: 'MINI-PKCE', clause: 'Test §1-1', severity: 'error', message: 'Use an allowed PKCE method.', path: '/params/code_challenge_method',
      error: 'invalid_request', status: 400,
    }]);
    expect(d).toMatchObject({ error: 'invalid_request', status: 400 });
  });

  it('keeps warnings out of the decision', () => {
    const d = base.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, nonce: 'n'.repeat(65) } });
    expect(d.decision).toBe('allow');
    expect(d.warnings.map((w) => [w.rule, w.severity, w.path])).toEqual([['MINI-NONCE', 'warning', '/params/nonce']]);
  });

  it('uses the rule path when one is declared', () => {
    const facts = { time: 1000, issuer: 'https://as.example', params: { grant_type: 'authorization_code' }, code: { issued_at: 900, redeemed_before: false, client_id: 'c1' } };
    const d = base.evaluate('token', facts);
    expect(d.violations).toEqual([expect.objectContaining({ rule: 'MINI-CODE-AGE', path: '/code/issued_at' })]);
    expect(base.evaluate('token', { ...facts, time: 950 }).decision).toBe('allow');
  });
});

describe('fail closed', () => {
  const base = build().get('mini-base')!;

  it('denies when a fact an applicable rule needs is missing, naming it', () => {
    const { code_challenge_method: _, ...params } = PAR_FACTS.params;
    const d = base.evaluate('par', { ...PAR_FACTS, params });
    expect(d.decision).toBe('deny');
    expect(d.violations[0]).toMatchObject({ rule: 'MINI-PKCE', path: '/params/code_challenge_method' });
    expect(d.violations[0]?.message).toMatch(/missing fact \/params\/code_challenge_method/);
  });

  it('denies when a fact in `when` is missing: applicability cannot be decided', () => {
    const p = profileWith(rule({ when: { '==': [{ var: 'facts.params.prompt' }, 'none'] }, check: { logic: true } }));
    const d = p.evaluate('par', PAR_FACTS);
    expect(d.violations).toEqual([expect.objectContaining({ rule: 'T-1', path: '/params/prompt' })]);
  });

  it('does not fail open through negation of a missing fact', () => {
    const p = profileWith(rule({ check: { logic: { '!': { var: 'facts.params.request' } } } }));
    expect(p.evaluate('par', PAR_FACTS).decision).toBe('deny');
    expect(p.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, request: '' } }).decision).toBe('allow');
  });

  it('denies on facts of the wrong shape before any rule runs', () => {
    for (const [facts, path] of [
      [{ ...PAR_FACTS, time: 'now' }, '/time'],
      [{ ...PAR_FACTS, surprise: 1 }, '/surprise'],
      [{ ...PAR_FACTS, params: { ...PAR_FACTS.params, code_challenge_method: 256 } }, '/params/code_challenge_method'],
      [[], ''],
      [null, ''],
    ] as const) {
      const d = base.evaluate('par', facts);
      expect(d.decision).toBe('deny');
      expect(d.violations).toEqual([expect.objectContaining({ rule: 'fapi-policy/facts', path })]);
    }
  });

  it('denies facts carrying prototype keys, even in free-form members', () => {
    const facts = JSON.parse('{"time":1,"issuer":"https://as.example","client_authenticated":true,"params":{"nested":{"__proto__":{"admin":true}}}}');
    const d = base.evaluate('par', facts);
    expect(d.violations[0]).toMatchObject({ rule: 'fapi-policy/facts', path: '/params/nested/__proto__' });
    const withConstructor = { ...PAR_FACTS, params: { ...PAR_FACTS.params, constructor: 'x' } };
    expect(base.evaluate('par', withConstructor).violations[0]?.path).toBe('/params/constructor');
  });

  it('bounds the depth of facts', () => {
    let nested: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) nested = { a: nested };
    const d = base.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, deep: nested } });
    expect(d.violations[0]).toMatchObject({ rule: 'fapi-policy/facts' });
    expect(d.violations[0]?.message).toMatch(/nested too deeply at \/params\/deep(\/a)+/);
  });

  it('turns a type error inside a rule into a deny with the offending fact', () => {
    const p = profileWith(rule({ check: { logic: { '<': [{ var: 'facts.params.claims' }, 5] } } }));
    const d = p.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, claims: '{}' } });
    expect(d.decision).toBe('deny');
    expect(d.violations[0]).toMatchObject({ path: '/params/claims' });
    expect(d.violations[0]?.message).toMatch(/malformed fact: '<' needs a number, got string/);
  });

  it('denies an unknown stage with the engine-error flag and server_error', () => {
    const d = base.evaluate('sideways', {});
    expect(d).toMatchObject({ decision: 'deny', engine_error: true, error: 'server_error', status: 500 });
    expect(d.violations[0]).toMatchObject({ rule: 'fapi-policy/stage', error: 'server_error', status: 500 });
  });

  it('explains what happened to each rule of the stage', () => {
    const d = base.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, code_challenge_method: 'plain' } }, { explain: true });
    expect(d.explain?.map((t) => [t.rule, t.outcome])).toEqual([['MINI-PKCE', 'failed'], ['MINI-NONCE', 'not_applicable'], ['MINI-REDIRECT', 'passed']]);
    expect(d.explain?.[1]?.detail).toMatch(/when was false/);
  });
});

describe('multi-stage rules and settings', () => {
  const base = build().get('mini-base')!;
  const jwt = (alg: string) => ({ header: { alg }, claims: {}, signature_verified: true });

  it('compiles one rule per stage, reading the stage-keyed setting', () => {
    const ca = { time: 1, issuer: 'https://as.example', endpoint: 'token', method: 'private_key_jwt', jwt: jwt('EdDSA') };
    const ro = { time: 1, issuer: 'https://as.example', endpoint: 'par', jwt: jwt('EdDSA') };
    expect(base.evaluate('client_auth', ca).violations.map((v) => v.rule)).toEqual(['MINI-ALG']);
    expect(base.evaluate('request_object', ro).violations.map((v) => v.rule)).toEqual(['MINI-ALG']);
    expect(base.evaluate('client_auth', { ...ca, jwt: jwt('PS256') }).decision).toBe('allow');
  });

  it('rejects a substring of an allowed algorithm', () => {
    const d = base.evaluate('client_auth', { time: 1, issuer: 'https://as.example', endpoint: 'token', method: 'private_key_jwt', jwt: jwt('PS') });
    expect(d.decision).toBe('deny');
  });

  it('derives discovery metadata from the settings', () => {
    const m = base.metadata('https://as.example', { token_endpoint: 'https://as.example/token' });
    expect(m).toMatchObject({
      issuer: 'https://as.example',
      token_endpoint: 'https://as.example/token',
      require_pushed_authorization_requests: true,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_signing_alg_values_supported: ['PS256', 'PS384', 'PS512'],
      tls_client_certificate_bound_access_tokens: true,
      dpop_signing_alg_values_supported: ['PS256', 'PS384', 'PS512'],
      authorization_signing_alg_values_supported: ['PS256', 'PS384', 'PS512'],
    });
  });

  it('freezes the effective settings', () => {
    expect(Object.isFrozen(base.settings)).toBe(true);
    expect(() => {
      (base.settings as { par: { required: boolean } }).par.required = false;
    }).toThrow();
  });
});

describe('rule schema patterns', () => {
  const pattern = (p: string) =>
    profileWith(rule({ check: { schema: { properties: { params: { properties: { state: { type: 'string', maxLength: 100, pattern: p } } } } } } }));
  const verdict = (p: ReturnType<typeof pattern>, state: string) => p.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } }).decision;

  it('treat anchored literals exactly as the regex would', () => {
    const prefix = pattern('^https://');
    expect([verdict(prefix, 'https://a'), verdict(prefix, 'http://a'), verdict(prefix, 'xhttps://')]).toEqual(['allow', 'deny', 'deny']);
    const exact = pattern('^a\\.b$');
    expect([verdict(exact, 'a.b'), verdict(exact, 'axb'), verdict(exact, 'a.bc')]).toEqual(['allow', 'deny', 'deny']);
    const dot = pattern('^a.b');
    expect([verdict(dot, 'axb'), verdict(dot, 'ab')]).toEqual(['allow', 'deny']);
  });
});
