/**
 * The decision procedure (src/engine/evaluate.ts) and the facts check (src/engine/facts.ts),
 * driven in-process. Most cases run `decide` over a hand-built stage whose rules do exactly what
 * the case needs (throw, fail, pass), so every branch of the procedure is pinned by a test that
 * fails without it (issue 13); engine.test.ts covers the same code through compiled profiles.
 */
import { describe, expect, it } from 'vitest';
import { MalformedFactError, MissingFactError } from '../../src/engine/errors.js';
import { decide, engineDeny } from '../../src/engine/evaluate.js';
import type { ErrorObject } from 'ajv/dist/2020.js';
import { checkFacts, factsAjv, factsProblem, factsValidators, FACTS_SCHEMAS } from '../../src/engine/facts.js';
import type { CompiledRule } from '../../src/engine/rule.js';
import { CompiledStage } from '../../src/engine/stage.js';
import { STAGES, type Decision, type Stage } from '../../src/engine/types.js';
import { build, overlay, PAR_FACTS, rule } from '../helpers.js';

const PROFILE = { id: 'p', version: '1', digest: 'sha256:00' };

/** A compiled rule of the test's making: passes unless `over` says otherwise. */
function synthetic(over: Partial<CompiledRule> = {}): CompiledRule {
  return {
    id: 'S-1', clause: 'S §1', severity: 'error', message: 'Fix it.', error: 'invalid_request',
    test: () => true, input: 'facts', failure: () => ({ path: '/params/x' }), reads: [], ...over,
  };
}

const throwing = (e: unknown) => () => {
  throw e;
};

function stages(rules: CompiledRule[], stage: Stage = 'par'): Map<Stage, CompiledStage> {
  const compiled = new CompiledStage();
  for (const r of rules) compiled.add(r);
  return new Map([[stage, compiled]]);
}

const run = (rules: CompiledRule[], facts: unknown = PAR_FACTS, explain?: boolean): Decision =>
  decide(PROFILE, stages(rules), 'par', facts, explain === undefined ? undefined : { explain });

const DPOP_FACTS = {
  time: 1767225600, jkt: 'j', http: { method: 'GET', uri: 'https://rs.example/accounts' },
  jwt: { header: { alg: 'PS256' }, claims: {}, signature_verified: true },
};

describe('a rule whose evaluation throws (the engine broke, not the request)', () => {
  for (const severity of ['error', 'warning'] as const) {
    it(`denies with server_error and the engine-error flag, for a${severity === 'error' ? 'n' : ''} ${severity} rule`, () => {
      const d = run([synthetic({ severity, test: throwing(new Error('boom')) })]);
      expect(d).toEqual({
        decision: 'deny', profile: PROFILE, stage: 'par', error: 'server_error', status: 500, engine_error: true,
        violations: [{ rule: 'S-1', clause: 'S §1', severity, message: 'Fix it. (evaluation failed: boom)', path: '', error: 'server_error', status: 500 }],
        warnings: [],
      });
    });
  }

  it('denies when a shared when-test throws, too', () => {
    const d = run([synthetic({ severity: 'warning', when: throwing(new Error('when broke')), whenKey: 'k' })]);
    expect(d).toMatchObject({ decision: 'deny', engine_error: true, error: 'server_error' });
    expect(d.violations[0]?.message).toBe('Fix it. (evaluation failed: when broke)');
  });

  it('names what was thrown when it is not an Error', () => {
    expect(run([synthetic({ test: throwing('a string') })]).violations[0]?.message).toBe('Fix it. (evaluation failed: a string)');
    expect(run([synthetic({ test: throwing(null) })]).violations[0]?.message).toBe('Fix it. (evaluation failed: null)');
    expect(run([synthetic({ test: throwing(undefined) })]).violations[0]?.message).toBe('Fix it. (evaluation failed: undefined)');
  });

  it('denies from a compiled warning rule whose pattern match runs over its step budget', () => {
    const pattern = { properties: { params: { properties: { state: { type: 'string', maxLength: 8192, pattern: 'x[a-z]{500}y' } } } } };
    const set = build(overlay('ov', { rules: [rule({ severity: 'warning', check: { schema: pattern } })] }));
    const p = set.get('ov')!;
    const withState = (state: string) => p.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } });
    expect(withState('b'.repeat(600))).toMatchObject({ decision: 'allow', warnings: [{ rule: 'T-1', severity: 'warning' }] });
    const overBudget = withState('x' + 'a'.repeat(4000) + 'y');
    expect(overBudget).toMatchObject({ decision: 'deny', engine_error: true, error: 'server_error', status: 500, warnings: [] });
    expect(overBudget.violations).toEqual([expect.objectContaining({ rule: 'T-1', severity: 'warning', error: 'server_error', status: 500 })]);
  });
});

describe('rules that fail', () => {
  it('an error rule denies with its own error, status and the failure path', () => {
    const d = run([synthetic({ test: () => false })]);
    expect(d).toEqual({
      decision: 'deny', profile: PROFILE, stage: 'par', error: 'invalid_request', status: 400,
      violations: [{ rule: 'S-1', clause: 'S §1', severity: 'error', message: 'Fix it.', path: '/params/x', error: 'invalid_request', status: 400 }],
      warnings: [],
    });
  });

  it('a warning rule only warns: the decision stays allow, with no error, status or engine flag', () => {
    const d = run([synthetic({ severity: 'warning', test: () => 0 })]);
    expect(d).toEqual({
      decision: 'allow', profile: PROFILE, stage: 'par', violations: [],
      warnings: [{ rule: 'S-1', clause: 'S §1', severity: 'warning', message: 'Fix it.', path: '/params/x', error: 'invalid_request', status: 400 }],
    });
  });

  it('appends the failure detail to the message', () => {
    const d = run([synthetic({ test: () => false, failure: () => ({ path: '/params/y', detail: 'got 7' }) })]);
    expect(d.violations[0]).toMatchObject({ message: 'Fix it. (got 7)', path: '/params/y' });
  });

  it('uses the status a rule declares over the one its error implies', () => {
    const d = run([synthetic({ test: () => false, error: 'access_denied', status: 451 })]);
    expect(d).toMatchObject({ error: 'access_denied', status: 451 });
    expect(d.violations[0]).toMatchObject({ error: 'access_denied', status: 451 });
  });

  it('refuses with the first violation in rule order, and keeps every violation', () => {
    const d = run([
      synthetic({ id: 'A', severity: 'warning', test: () => false, error: 'invalid_scope' }),
      synthetic({ id: 'B', test: () => false, error: 'unauthorized_client' }),
      synthetic({ id: 'C', test: () => false, error: 'access_denied' }),
    ]);
    expect(d).toMatchObject({ decision: 'deny', error: 'unauthorized_client', status: 400 });
    expect(d.violations.map((v) => v.rule)).toEqual(['B', 'C']);
    expect(d.warnings.map((v) => v.rule)).toEqual(['A']);
    expect(d).not.toHaveProperty('engine_error');
  });

  it('a missing fact fails the rule with its own error, naming the fact', () => {
    const d = run([synthetic({ test: throwing(new MissingFactError('/params/nonce')) })]);
    expect(d).toMatchObject({ decision: 'deny', error: 'invalid_request', status: 400 });
    expect(d.violations).toEqual([{ rule: 'S-1', clause: 'S §1', severity: 'error', message: 'Fix it. (missing fact /params/nonce)', path: '/params/nonce', error: 'invalid_request', status: 400 }]);
    expect(d).not.toHaveProperty('engine_error');
    const warned = run([synthetic({ severity: 'warning', test: throwing(new MissingFactError('/params/nonce')) })]);
    expect(warned).toMatchObject({ decision: 'allow', violations: [], warnings: [{ rule: 'S-1', path: '/params/nonce' }] });
  });

  it('a malformed fact fails the rule with its own error, at the fact when known', () => {
    const at = run([synthetic({ test: throwing(new MalformedFactError("'<' needs a number, got string", '/params/claims')) })]);
    expect(at.violations[0]).toMatchObject({ message: "Fix it. (malformed fact: '<' needs a number, got string)", path: '/params/claims', error: 'invalid_request' });
    const nowhere = run([synthetic({ test: throwing(new MalformedFactError('bad')) })]);
    expect(nowhere.violations[0]).toMatchObject({ message: 'Fix it. (malformed fact: bad)', path: '' });
    expect(nowhere).not.toHaveProperty('engine_error');
  });

  it('answers a DPoP refusal at a resource server with 401 and at the authorization server with 400', () => {
    const dpopRule = synthetic({ test: () => false, error: 'invalid_dpop_proof' });
    const at = (facts: unknown) => decide(PROFILE, stages([dpopRule], 'dpop'), 'dpop', facts);
    expect(at({ ...DPOP_FACTS, endpoint: 'resource' })).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 401 });
    expect(at({ ...DPOP_FACTS, endpoint: 'token' })).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 400 });
    expect(at(DPOP_FACTS)).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 400 });
  });
});

describe('rules that pass or do not apply', () => {
  it('gives logic rules the fact slots and schema rules the facts object', () => {
    const seen: unknown[] = [];
    const d = run([
      synthetic({ input: 'slots', test: (x) => seen.push(x) }),
      synthetic({ input: 'facts', test: (x) => seen.push(x) }),
    ]);
    expect(d.decision).toBe('allow');
    expect(Array.isArray(seen[0])).toBe(true);
    expect(seen[1]).toBe(PAR_FACTS);
  });

  it('skips a rule whose when is false, and never runs its check', () => {
    let ran = false;
    const d = run([synthetic({ when: () => false, whenKey: 'never', test: () => (ran = true) && false })]);
    expect(d).toEqual({ decision: 'allow', profile: PROFILE, stage: 'par', violations: [], warnings: [] });
    expect(ran).toBe(false);
  });
});

describe('explain', () => {
  const rules = () => [
    synthetic({ id: 'PASS', clause: 'C1' }),
    synthetic({ id: 'WHEN-PASS', clause: 'C2', severity: 'warning', when: () => true, whenKey: 'yes' }),
    synthetic({ id: 'SKIP', clause: 'C3', when: () => false, whenKey: 'no' }),
    synthetic({ id: 'FAIL', clause: 'C4', test: () => false }),
    synthetic({ id: 'FAIL-ROOT', clause: 'C5', test: () => false, failure: () => ({ path: '' }) }),
    synthetic({ id: 'DETAIL', clause: 'C6', test: () => false, failure: () => ({ path: '/a', detail: 'why' }) }),
    synthetic({ id: 'MISSING', clause: 'C7', test: throwing(new MissingFactError('/params/n')) }),
    synthetic({ id: 'BROKEN', clause: 'C8', test: throwing(new Error('boom')) }),
    synthetic({ id: 'MALFORMED', clause: 'C9', test: throwing(new MalformedFactError('not a list', '/params/l')) }),
  ];

  it('traces what happened to each rule, in order', () => {
    const d = run(rules(), PAR_FACTS, true);
    expect(d.explain).toEqual([
      { rule: 'PASS', clause: 'C1', severity: 'error', outcome: 'passed', detail: 'no when, check passed' },
      { rule: 'WHEN-PASS', clause: 'C2', severity: 'warning', outcome: 'passed', detail: 'when held, check passed' },
      { rule: 'SKIP', clause: 'C3', severity: 'error', outcome: 'not_applicable', detail: 'when was false' },
      { rule: 'FAIL', clause: 'C4', severity: 'error', outcome: 'failed', detail: 'check failed at /params/x' },
      { rule: 'FAIL-ROOT', clause: 'C5', severity: 'error', outcome: 'failed', detail: 'check failed at /' },
      { rule: 'DETAIL', clause: 'C6', severity: 'error', outcome: 'failed', detail: 'why' },
      { rule: 'MISSING', clause: 'C7', severity: 'error', outcome: 'missing_fact', detail: 'missing fact /params/n' },
      { rule: 'BROKEN', clause: 'C8', severity: 'error', outcome: 'error', detail: 'evaluation failed: boom' },
      { rule: 'MALFORMED', clause: 'C9', severity: 'error', outcome: 'missing_fact', detail: 'not a list' },
    ]);
    expect(d.engine_error).toBe(true);
  });

  it('is absent unless asked for', () => {
    expect(run(rules(), PAR_FACTS)).not.toHaveProperty('explain');
    expect(run(rules(), PAR_FACTS, false)).not.toHaveProperty('explain');
  });
});

describe('denials before any rule runs', () => {
  it('an unknown stage is an engine error at discovery, even one named like an Object member', () => {
    for (const name of ['sideways', 'constructor', '__proto__', 'toString']) {
      expect(decide(PROFILE, stages([synthetic()]), name, PAR_FACTS)).toEqual(engineDeny(PROFILE, 'discovery', 'fapi-policy/stage', `unknown stage '${name}'`, ''));
    }
    expect(engineDeny(PROFILE, 'par', 'fapi-policy/x', 'broke', '/a')).toEqual({
      decision: 'deny', profile: PROFILE, stage: 'par', error: 'server_error', status: 500, engine_error: true,
      violations: [{ rule: 'fapi-policy/x', clause: 'fapi-policy', severity: 'error', message: 'broke', path: '/a', error: 'server_error', status: 500 }],
      warnings: [],
    });
  });

  it('facts outside the stage schema get the stage\'s own error, and no rule runs', () => {
    let ran = false;
    const d = run([synthetic({ test: () => (ran = true) })], { ...PAR_FACTS, time: 'now' });
    expect(d).toEqual({
      decision: 'deny', profile: PROFILE, stage: 'par', error: 'invalid_request', status: 400,
      violations: [{ rule: 'fapi-policy/facts', clause: 'schemas/facts/par.schema.json', severity: 'error', message: 'fact /time must be integer', path: '/time', error: 'invalid_request', status: 400 }],
      warnings: [],
    });
    expect(ran).toBe(false);
  });

  it('answers malformed DPoP facts with 401 at a resource server, 400 elsewhere, whatever their shape', () => {
    const at = (facts: unknown) => decide(PROFILE, stages([synthetic()], 'dpop'), 'dpop', facts);
    expect(at({ endpoint: 'resource' })).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 401 });
    expect(at({ endpoint: 'token' })).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 400 });
    for (const facts of [null, [], 'resource', 7]) {
      expect(at(facts), JSON.stringify(facts)).toMatchObject({ decision: 'deny', error: 'invalid_dpop_proof', status: 400 });
    }
  });
});

describe('checkFacts', () => {
  const par = (facts: unknown) => checkFacts('par', facts);

  it('accepts facts that match the stage schema', () => {
    expect(par(PAR_FACTS)).toBeNull();
    expect(checkFacts('dpop', DPOP_FACTS)).toBeNull();
  });

  it('refuses a stage it has no schema for', () => {
    expect(checkFacts('constructor' as Stage, {})).toEqual({ path: '', message: "unknown stage 'constructor'" });
  });

  it('names a forbidden key at its escaped pointer', () => {
    const facts = JSON.parse('{"time":1,"issuer":"https://as.example","client_authenticated":true,"params":{"a/b":{"__proto__":1}}}');
    expect(par(facts)).toEqual({ path: '/params/a~1b/__proto__', message: "facts may not contain the key '__proto__'" });
  });

  it('cuts a long hostile key in the pointer it echoes', () => {
    const key = 'k'.repeat(300);
    expect(par({ ...PAR_FACTS, [key]: 1 })).toEqual({ path: `/${'k'.repeat(128)}…`, message: `unknown fact /${'k'.repeat(128)}…` });
  });

  it('says where facts are nested too deeply', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { a: deep };
    const problem = par({ ...PAR_FACTS, params: { ...PAR_FACTS.params, deep } });
    expect(problem?.path).toMatch(/^\/params\/deep(\/a)+$/);
    expect(problem?.message).toBe(`facts are nested too deeply at ${problem?.path}`);
  });

  it('names a missing fact at its pointer', () => {
    const { time: _, ...noTime } = PAR_FACTS;
    expect(par(noTime)).toEqual({ path: '/time', message: 'missing fact /time' });
    expect(checkFacts('dpop', { ...DPOP_FACTS, http: { method: 'GET' } })).toEqual({ path: '/http/uri', message: 'missing fact /http/uri' });
  });

  it('names an unknown fact at its pointer', () => {
    expect(par({ ...PAR_FACTS, surprise: 1 })).toEqual({ path: '/surprise', message: 'unknown fact /surprise' });
    expect(checkFacts('dpop', { ...DPOP_FACTS, http: { ...DPOP_FACTS.http, 'x\ny': 1 } })).toEqual({ path: '/http/x\ny', message: 'unknown fact /http/x?y' });
  });

  it('describes any other mismatch with ajv\'s words, at the fact (or the root)', () => {
    expect(par({ ...PAR_FACTS, client_authenticated: 'yes' })).toEqual({ path: '/client_authenticated', message: 'fact /client_authenticated must be boolean' });
    expect(par([])).toEqual({ path: '', message: 'fact / must be object' });
    expect(par(null)).toEqual({ path: '', message: 'fact / must be object' });
  });

  it('has one validator per stage, the same one on every call', () => {
    const validators = factsValidators();
    expect([...validators.keys()]).toEqual([...STAGES]);
    expect(factsValidators()).toBe(validators);
  });

  it('builds an ajv instance holding every stage schema under its stage name', () => {
    const ajv = factsAjv();
    for (const stage of STAGES) expect(ajv.getSchema(stage)?.schema).toBe(FACTS_SCHEMAS[stage]);
    expect(ajv.getSchema('par')?.(PAR_FACTS)).toBe(true);
  });

  describe('factsProblem, for errors the shipped schemas do not produce today', () => {
    const error = (over: Partial<ErrorObject>): ErrorObject => ({ keyword: 'type', instancePath: '/params', schemaPath: '#/type', params: {}, message: 'must be object', ...over });

    it('falls back to a general message when ajv gives no error or no message', () => {
      expect(factsProblem([])).toEqual({ path: '', message: 'facts do not match the stage schema' });
      expect(factsProblem([error({ message: undefined })])).toEqual({ path: '/params', message: 'fact /params is invalid' });
    });

    it('reads missingProperty as a missing fact only from a required error', () => {
      const dependent = error({ keyword: 'dependentRequired', params: { property: 'a', missingProperty: 'b', deps: 'b', depsCount: 1 }, message: 'must have property b when property a is present' });
      expect(factsProblem([dependent])).toEqual({ path: '/params', message: 'fact /params must have property b when property a is present' });
    });

    it('prefers a forbidden key to the first error', () => {
      const forbidden = error({ keyword: 'not', instancePath: '/params', propertyName: 'constructor', message: 'must NOT be valid' });
      expect(factsProblem([error({}), forbidden])).toEqual({ path: '/params/constructor', message: "facts may not contain the key 'constructor'" });
    });
  });
});
