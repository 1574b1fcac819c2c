import { describe, expect, it } from 'vitest';
import { buildProfileSet } from '../src/index.js';
import { build, doc, errorsOf, miniBase, MINI_BASE_TEXT, overlay, PAR_FACTS } from './helpers.js';

const rule = (over: Record<string, unknown> = {}) => ({
  id: 'T-1', clause: 'T §1', stage: 'par', severity: 'error', message: 'm',
  check: { logic: { '==': [{ var: 'facts.params.response_type' }, 'code'] } }, ...over,
});
const withRules = (rules: unknown[]) => overlay('ov', { rules });
/** A rule whose check is one pattern on params.state (bounded by maxLength, as rule schemas must be). */
const statePattern = (id: string, pattern: string, maxLength = 300) =>
  rule({ id, check: { schema: { properties: { params: { properties: { state: { type: 'string', maxLength, pattern } } } } } } });

describe('profile documents: bad input gets a precise, positioned error and no profile', () => {
  it('loads the mini base cleanly', () => {
    const set = build();
    expect(errorsOf(set)).toEqual([]);
    expect(set.get('mini-base')?.rules.length).toBe(5);
  });

  it('reports YAML syntax errors with line and column', () => {
    const set = buildProfileSet([{ file: '/v/broken.yaml', text: 'id: broken\ntitle: [unclosed\n' }]);
    expect(set.get('broken')).toBeUndefined();
    expect(set.diagnostics[0]).toMatchObject({ file: '/v/broken.yaml', severity: 'error' });
    expect(set.diagnostics[0]?.message).toMatch(/^YAML:/);
    expect(set.diagnostics[0]?.line).toBeGreaterThan(1);
  });

  it('reports duplicate YAML keys', () => {
    const set = buildProfileSet([{ file: '/v/dup.yaml', text: 'id: dup\nid: dup\n' }]);
    expect(set.diagnostics[0]?.message).toMatch(/unique|duplicate/i);
    expect(set.diagnostics[0]?.line).toBe(2);
  });

  it('reports unknown keys and wrong types at their position', () => {
    const set = build(overlay('ov', { colour: 'blue', version: 3 }));
    const errs = errorsOf(set, 'ov.yaml');
    expect(errs.some((e) => /unknown key 'colour'/.test(e))).toBe(true);
    expect(errs.some((e) => /\/version: must be string/.test(e))).toBe(true);
    expect(set.get('ov')).toBeUndefined();
  });

  it('requires a base profile to define every setting', () => {
    const set = buildProfileSet([doc('lonely', { settings: { par: { required: true } }, rules: [] })]);
    expect(errorsOf(set).join('\n')).toMatch(/missing required key 'signing_algs'/);
  });

  it('requires the id to equal the file name', () => {
    const set = build({ file: '/virtual/other-name.yaml', text: MINI_BASE_TEXT.replace('id: mini-base', 'id: mini-base') });
    expect(errorsOf(set, 'other-name.yaml').join()).toMatch(/must equal the file name 'other-name'/);
  });

  it('rejects duplicate rule ids within a document and against the base', () => {
    const inDoc = build(withRules([rule(), rule()]));
    expect(errorsOf(inDoc, 'ov.yaml').join()).toMatch(/duplicate rule id 'T-1'/);
    const againstBase = build(withRules([rule({ id: 'MINI-PKCE' })]));
    expect(errorsOf(againstBase, 'ov.yaml').join()).toMatch(/rule id 'MINI-PKCE' is already defined by mini-base/);
  });

  it('rejects an extends cycle and an unknown base', () => {
    const cycle = build(doc('a', { extends: 'b' }), doc('b', { extends: 'a' }));
    expect(errorsOf(cycle).join('\n')).toMatch(/extends cycle: (a -> b -> a|b -> a -> b)/);
    expect(cycle.get('a')).toBeUndefined();
    const unknown = build(doc('c', { extends: 'nowhere' }));
    expect(errorsOf(unknown, 'c.yaml').join()).toMatch(/unknown base profile 'nowhere'/);
  });

  it('rejects unknown json-logic operators and method/log, pointing into the rule', () => {
    for (const op of ['method', 'log', 'frobnicate']) {
      const set = build(withRules([rule({ check: { logic: { [op]: [{ var: 'facts.params' }, 'toString'] } } })]));
      const errs = set.diagnostics.filter((d) => d.file.endsWith('ov.yaml'));
      expect(errs[0]?.message).toMatch(new RegExp(`operator '${op}' is not in the vetted set`));
      expect(errs[0]?.line).toBeGreaterThan(5);
      expect(set.get('ov')).toBeUndefined();
    }
  });

  it('rejects unknown settings read by rules', () => {
    const set = build(withRules([rule({ check: { logic: { in: ['x', { var: 'settings.nope.nothing' }] } } })]));
    expect(errorsOf(set, 'ov.yaml').join()).toMatch(/unknown setting 'settings.nope.nothing'/);
  });

  it('stops YAML alias bombs (billion laughs)', () => {
    const lines = ['id: bomb', 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill('*' + String.fromCharCode(96 + i)).join(',')}]`);
    const started = Date.now();
    const set = buildProfileSet([{ file: '/v/bomb.yaml', text: lines.join('\n') }]);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(set.diagnostics[0]?.message).toMatch(/alias|resource exhaustion/i);
  });

  it('refuses YAML nested more than 64 levels with its position, however deep (no stack overflow)', () => {
    const cases: Array<[string, string, number, number]> = [
      ['flow', `id: flow\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 2, 67],
      ['maps', `id: maps\nx: ${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}\n`, 2, 256],
      ['block', `id: block\nx:\n  ${'- '.repeat(100_000)}a\n`, 3, 129],
    ];
    for (const [name, text, line, col] of cases) {
      const set = buildProfileSet([{ file: `/v/${name}.yaml`, text }]);
      expect(set.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`)).toEqual([`${line}:${col}: the document is nested more than 64 levels`]);
    }
    // 64 levels (the top-level mapping included) are within the bound: whatever else is wrong, not the depth.
    const edge = buildProfileSet([{ file: '/v/edge.yaml', text: `id: edge\nx: ${'['.repeat(63)}${']'.repeat(63)}\n` }]);
    expect(edge.diagnostics.map((d) => d.message).join()).not.toMatch(/nested/);
    // Aliases can build deep data from shallow text: the composed data is bounded as well.
    const aliased = buildProfileSet([{ file: '/v/aliased.yaml', text: `id: aliased\na: &a ${'['.repeat(40)}1${']'.repeat(40)}\nb: ${'['.repeat(40)}*a${']'.repeat(40)}\n` }]);
    expect(aliased.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^the document is nested more than 64 levels \(through aliases\) at \/b\//)]);
  });

  it('refuses very deep nesting and very large files', () => {
    const deep = buildProfileSet([{ file: '/v/deep.yaml', text: 'id: deep\nx: ' + '['.repeat(200) + ']'.repeat(200) }]);
    expect(deep.diagnostics[0]?.message).toBe('the document is nested more than 64 levels');
    const big = buildProfileSet([{ file: '/v/big.yaml', text: 'id: big\ndescription: "' + 'x'.repeat(1024 * 1024) + '"\n' }]);
    expect(big.diagnostics[0]?.message).toMatch(/larger than 1048576 bytes/);
  });

  it('refuses __proto__, constructor and prototype keys anywhere in a profile', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const text = `${MINI_BASE_TEXT}\ntests:\n  fixtures:\n    par:\n      params:\n        ${key}:\n          polluted: true\n`;
      const set = buildProfileSet([{ file: '/virtual/mini-base.yaml', text }]);
      expect(set.get('mini-base')).toBeUndefined();
      expect(set.diagnostics[0]?.message).toBe(`the key '${key}' is not allowed`);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('rejects a catastrophic pattern only when unbounded, and matches in linear time otherwise', () => {
    const unbounded = build(withRules([rule({ check: { schema: { properties: { params: { properties: { state: { type: 'string', pattern: '^(a+)+$' } } } } } } })]));
    expect(errorsOf(unbounded, 'ov.yaml').join()).toMatch(/unsafe for untrusted input.*maxLength/);
    const bounded = build(withRules([rule({ check: { schema: { properties: { params: { properties: { state: { type: 'string', maxLength: 8192, pattern: '^(a+)+$' } } } } } } })]));
    expect(errorsOf(bounded)).toEqual([]);
    const facts = { ...PAR_FACTS, params: { ...PAR_FACTS.params, state: 'a'.repeat(8000) + '!' } };
    // A backtracking engine would need about 2^8000 steps here; RE2 answers at once, and the test's
    // own timeout bounds it: no timing assertion needed.
    const decision = bounded.get('ov')!.evaluate('par', facts);
    expect(decision.violations.map((v) => v.rule)).toEqual(['T-1']);
  });

  it('runs one anchored character class natively, and keeps RE2 meaning for \\s', () => {
    const set = build(withRules([statePattern('C-1', '^[a-z0-9_~-]{2,4}$'), statePattern('C-2', '^[\\s]*$')]));
    expect(errorsOf(set)).toEqual([]);
    const failed = (state: string) => set.get('ov')!.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } }).violations.map((v) => v.rule);
    expect(failed('ab')).toEqual(['C-2']);
    expect(failed('a~_-')).toEqual(['C-2']);
    expect(failed('abcde')).toEqual(['C-1', 'C-2']);
    expect(failed('AB')).toEqual(['C-1', 'C-2']);
    expect(failed('a'.repeat(299) + '!')).toEqual(['C-1', 'C-2']);
    // RE2's \s is ASCII whitespace only; JavaScript's would also match a no-break space.
    expect(failed('  ')).toEqual(['C-1']);
    expect(failed('\u00a0\u00a0')).toEqual(['C-1', 'C-2']);

    const uuidish = build(withRules([statePattern('F-1', '^[0-9a-f]{4}-[0-9a-f]{2}\\.x$')])).get('ov')!;
    const fails = (state: string) => uuidish.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } }).violations.length > 0;
    expect(fails('0a9f-1b.x')).toBe(false);
    expect(['0a9f-1b-x', '0a9f-1bb.x', '0A9F-1b.x', '0a9f-1b.x ', ' 0a9f-1b.x'].map(fails)).toEqual([true, true, true, true, true]);
  });

  it('tests literal endings (a$|b$) with endsWith, as RE2 would match them', () => {
    const profile = build(withRules([statePattern('S-1', '_endpoint$|_iframe$'), statePattern('S-2', '\\.json\\$$')])).get('ov')!;
    const failed = (state: string) => profile.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } }).violations.map((v) => v.rule);
    expect(failed('token_endpoint')).toEqual(['S-2']);
    expect(failed('check_session_iframe')).toEqual(['S-2']);
    expect(failed('jwks.json$')).toEqual(['S-1']);
    expect(failed('token_endpoint ')).toEqual(['S-1', 'S-2']);
    expect(failed('_endpointx')).toEqual(['S-1', 'S-2']);
    expect(failed('jwks.json')).toEqual(['S-1', 'S-2']);
  });

  it('rejects absurdly nested rule schemas', () => {
    let schema: Record<string, unknown> = { type: 'string', maxLength: 5 };
    for (let i = 0; i < 20; i++) schema = { type: 'object', properties: { x: schema } };
    const set = build(withRules([rule({ check: { schema } })]));
    expect(errorsOf(set, 'ov.yaml').join()).toMatch(/nested deeper than 32/);
  });

  it('bounds RE2 work: an over-large pattern program is refused, a match over the step budget fails closed', () => {
    // Counted repeats expand: each {1000} is a thousand instructions.
    const huge = build(withRules([statePattern('T-1', 'x[a-z]{1000}[a-z]{1000}[a-z]{500}y', 8192)]));
    expect(errorsOf(huge, 'ov.yaml').join()).toMatch(/compiles to \d+ instructions; at most 2000/);
    const costly = build(withRules([statePattern('T-1', 'x[a-z]{500}y', 8192)]));
    expect(errorsOf(costly)).toEqual([]);
    const withState = (state: string) => costly.get('ov')!.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state } });
    expect(withState('x' + 'a'.repeat(500) + 'y').decision).toBe('allow');
    expect(withState('b'.repeat(600)).violations.map((v) => v.rule)).toEqual(['T-1']);
    const overBudget = withState('x' + 'a'.repeat(4000) + 'y');
    expect(overBudget.decision).toBe('deny');
    expect(overBudget).toMatchObject({ engine_error: true, error: 'server_error', status: 500 });
    expect(overBudget.violations[0]?.message).toMatch(/too costly for a string of 4002 characters/);
  });

  it('refuses a rule schema that is not a valid 2020-12 JSON Schema, saying where', () => {
    const set = build(withRules([rule({ check: { schema: { properties: { params: { properties: { state: { type: 'strnig' } } } } } } })]));
    expect(set.get('ov')).toBeUndefined();
    expect(errorsOf(set, 'ov.yaml').join()).toMatch(/schema is invalid: \/properties\/params\/properties\/state\/type: must be equal to one of the allowed values/);
    const negative = build(withRules([rule({ check: { schema: { properties: { params: { minProperties: -1 } } } } })]));
    expect(errorsOf(negative, 'ov.yaml').join()).toMatch(/schema is invalid: \/properties\/params\/minProperties: must be >= 0/);
  });

  it('refuses $async rule schemas (a Promise would pass every fact) and format (ajv would ignore it)', () => {
    const grantIsCode = { type: 'object', properties: { params: { properties: { code_challenge_method: { const: 'S256' } } } } };
    const asyncSet = build(withRules([rule({ check: { schema: { $async: true, ...grantIsCode } } })]));
    expect(asyncSet.get('ov')).toBeUndefined();
    expect(errorsOf(asyncSet, 'ov.yaml').join()).toMatch(/must not be \$async/);
    const nested = build(withRules([rule({ check: { schema: { properties: { params: { $async: true, type: 'object' } } } } })]));
    expect(errorsOf(nested, 'ov.yaml').join()).toMatch(/async schema in sync schema/);
    const format = build(withRules([rule({ check: { schema: { properties: { params: { properties: { redirect_uri: { type: 'string', maxLength: 99, format: 'uri' } } } } } } })]));
    expect(format.get('ov')).toBeUndefined();
    expect(errorsOf(format, 'ov.yaml').join()).toMatch(/unknown format "uri"/);
  });

  it('reports a wrong-typed constant in a folded expression as that rule\'s error, not a crash', () => {
    for (const words of [5, null, [[1]]]) {
      const set = build(withRules([rule({ check: { logic: { in: ['openid', { words }] } } })]), overlay('fine', {}));
      expect(set.get('ov')).toBeUndefined();
      expect(set.get('fine')).toBeDefined();
      expect(errorsOf(set, 'ov.yaml').join()).toMatch(/rule T-1: check: 'words' needs a string/);
    }
  });

  it('keeps two rule patterns apart (ajv caches compiled patterns by their text)', () => {
    const pat = (id: string, field: string, pattern: string) =>
      rule({ id, check: { schema: { properties: { params: { properties: { [field]: { type: 'string', maxLength: 100, pattern } } } } } } });
    const set = build(withRules([pat('P-1', 'state', '^s-'), pat('P-2', 'nonce', '^n-')]));
    const profile = set.get('ov')!;
    const ok = profile.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state: 's-1', nonce: 'n-1' } });
    expect(ok.violations.map((v) => v.rule)).toEqual([]);
    const bad = profile.evaluate('par', { ...PAR_FACTS, params: { ...PAR_FACTS.params, state: 'n-1', nonce: 's-1' } });
    expect(bad.violations.map((v) => v.rule)).toEqual(['P-1', 'P-2']);
  });

  it('reports a broken document without affecting the others', () => {
    const set = build(withRules([rule({ check: { logic: { method: [] } } })]), overlay('fine', {}));
    expect(set.get('fine')).toBeDefined();
    expect(set.get('ov')).toBeUndefined();
    expect(set.failed.has('ov')).toBe(true);
  });

  it('computes a digest that is stable across runs and changes with content', () => {
    const a = build().get('mini-base')!.digest;
    const b = buildProfileSet([miniBase]).get('mini-base')!.digest;
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b).toBe(a);
    const changed = buildProfileSet([{ ...miniBase, text: MINI_BASE_TEXT.replace('version: "1"', 'version: "2"') }]).get('mini-base')!.digest;
    expect(changed).not.toBe(a);
  });
});

describe('reading profile files', () => {
  it('reads a file of many chunks whole, and stops one byte past the size limit', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readDocuments } = await import('../src/profile/files.js');
    const dir = mkdtempSync(join(tmpdir(), 'fapi-read-'));
    const padded = MINI_BASE_TEXT + `# ${'p'.repeat(300_000)}\n`;
    const huge = 'x'.repeat(3 * 1024 * 1024);
    writeFileSync(join(dir, 'mini-base.yaml'), padded);
    writeFileSync(join(dir, 'huge.yaml'), huge);
    const [a, b] = await readDocuments([join(dir, 'mini-base.yaml'), join(dir, 'huge.yaml')]);
    expect(a?.text).toBe(padded);
    expect(b?.text.length).toBe(1024 * 1024 + 1);
    const set = buildProfileSet([a!, b!]);
    expect(set.get('mini-base')?.rules.length).toBe(5);
    expect(set.diagnostics.some((d) => d.file.endsWith('huge.yaml') && /larger than 1048576 bytes/.test(d.message))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});
