/** The polarity of a rule in each setting it reads, operator by operator and keyword by keyword. */
import { describe, expect, it } from 'vitest';
import { compileLogic } from '../src/engine/logic/compile.js';
import { logicPolarity } from '../src/engine/logic/polarity.js';
import { SchemaCompiler } from '../src/engine/rule-schema.js';
import { schemaPolarity } from '../src/engine/schema-polarity.js';

const settings = { l: ['a', 'b'], n: 60, b: true };
const v = (path: string) => ({ var: path });
const fact = (path: string, dflt?: unknown) => (dflt === undefined ? { var: `facts.${path}` } : { var: [`facts.${path}`, dflt] });

/** Compiles the expression (the compiler records the read sites) and gives the polarity at each. */
function polarities(expr: unknown, field: 'when' | 'check' = 'check'): string[] {
  const { settingReads } = compileLogic(expr, { settings, stage: 'par' });
  expect(settingReads.length).toBeGreaterThan(0);
  return settingReads.map((site) => logicPolarity(expr, site.at, settings[site.setting.slice(0) as keyof typeof settings], field).polarity);
}

describe('logic polarity', () => {
  it.each([
    ['membership grows with the list', { in: ['a', v('settings.l')] }, '+'],
    ['negation reverses it', { '!': { in: ['a', v('settings.l')] } }, '-'],
    ['subset grows with its outer list', { subset: [fact('xs'), v('settings.l')] }, '+'],
    ['subset shrinks with its inner list', { subset: [v('settings.l'), fact('xs')] }, '-'],
    ['a number as an upper bound', { '<=': [fact('n'), v('settings.n')] }, '+'],
    ['a number as a lower bound', { '>=': [fact('n'), v('settings.n')] }, '-'],
    ['scaled by a negative literal', { '<=': [fact('n'), { '*': [v('settings.n'), -2] }] }, '-'],
    ['scaled by a fact: unknown', { '<=': [fact('n'), { '*': [v('settings.n'), fact('k')] }] }, '?'],
    ['the middle of a range: unknown', { '<=': [1, v('settings.n'), fact('n')] }, '?'],
    ['a number read for its truth: unknown', { '!!': v('settings.n') }, '?'],
    ['a list read for its truth grows with it', { '!!': v('settings.l') }, '+'],
    ['some over a list grows with it', { some: [v('settings.l'), { '===': [{ var: '' }, 'a'] }] }, '+'],
    ['none over a list', { none: [v('settings.l'), { '===': [{ var: '' }, 'a'] }] }, '-'],
    ['all over a list: unknown ([] is false)', { all: [v('settings.l'), { '===': [{ var: '' }, 'a'] }] }, '?'],
    ['an if with literal branches, true first', { if: [v('settings.b'), true, false] }, '+'],
    ['an if with literal branches, false first', { if: [v('settings.b'), false, true] }, '-'],
    ['an if choosing between fact tests: unknown', { if: [v('settings.b'), fact('x'), fact('y')] }, '?'],
    ['a setting in a branch keeps its direction', { in: [fact('x'), { if: [fact('y'), v('settings.l'), []] }] }, '+'],
    ['equality: unknown', { '===': [v('settings.b'), true] }, '?'],
    ['the value looked for: unknown', { in: [v('settings.n'), fact('ns')] }, '?'],
    ['merged lists grow together', { in: [fact('x'), { merge: [v('settings.l'), ['z']] }] }, '+'],
    ['a setting as a fact\'s default', { '<=': [fact('n'), { var: ['facts.m', v('settings.n')] }] }, '+'],
    ['the length of a list', { '<=': [fact('n'), { length: v('settings.l') }] }, '+'],
  ])('%s', (_name, expr, expected) => {
    expect(polarities(expr)).toEqual([expected]);
  });

  it('counts failures that short-circuiting hides or lets through', () => {
    // A when that fails (missing fact) denies outright: an or that stops reading it can only allow more.
    expect(polarities({ or: [v('settings.b'), fact('x')] }, 'when')).toEqual(['?']);
    expect(polarities({ or: [v('settings.b'), fact('x', null)] }, 'when')).toEqual(['+']);
    expect(polarities({ and: [v('settings.b'), fact('x')] }, 'when')).toEqual(['+']);
    // A check that fails denies as false does: either way round is harmless there.
    expect(polarities({ or: [v('settings.b'), fact('x')] }, 'check')).toEqual(['+']);
    expect(polarities({ and: [v('settings.b'), fact('x')] }, 'check')).toEqual(['+']);
    // Under a negation in when, the failure sits beyond false: and's later failure becomes a pass.
    expect(polarities({ '!': { and: [v('settings.b'), fact('x')] } }, 'when')).toEqual(['?']);
    expect(polarities({ '!': { and: [v('settings.b'), fact('x')] } }, 'check')).toEqual(['-']);
  });

  it('gives each read its own polarity', () => {
    expect(polarities({ and: [{ in: ['a', v('settings.l')] }, { '!': v('settings.b') }] })).toEqual(['+', '-']);
  });
});

describe('schema polarity', () => {
  const schemas = new SchemaCompiler();
  const at = (schema: unknown) => {
    const { settingReads } = schemas.compile(schema, settings, 'par');
    return settingReads.map((site) => schemaPolarity(schema, site.at, settings[site.setting as keyof typeof settings]).polarity);
  };
  const inParams = (inner: unknown) => ({ properties: { params: inner } });

  it.each([
    ['enum grows with its list', inParams({ properties: { x: { enum: { $setting: 'l' } } } }), '+'],
    ['required shrinks with its list', inParams({ required: { $setting: 'l' } }), '-'],
    ['a minimum shrinks as it rises', inParams({ properties: { n: { minimum: { $setting: 'n' } } } }), '-'],
    ['a maxLength grows', inParams({ properties: { s: { type: 'string', maxLength: { $setting: 'n' } } } }), '+'],
    ['not reverses', inParams({ properties: { x: { not: { enum: { $setting: 'l' } } } } }), '-'],
    ['a boolean setting as a schema', { anyOf: [{ required: ['a'] }, { allOf: [{ $setting: 'b' }, { required: ['b'] }] }] }, '+'],
    ['an if condition with only then', { if: { $setting: 'b' }, then: { required: ['x'] } }, '-'],
    ['an if condition with only else', { if: { $setting: 'b' }, else: { required: ['x'] } }, '+'],
    ['an if with both branches: unknown', { if: { $setting: 'b' }, then: { required: ['x'] }, else: { required: ['y'] } }, '?'],
    ['a pattern in the if condition: unknown', { if: { anyOf: [{ $setting: 'b' }, { properties: { s: { type: 'string', maxLength: 9, pattern: '^a' } } }] }, then: { required: ['x'] } }, '?'],
    ['oneOf: unknown', { oneOf: [{ $setting: 'b' }, { required: ['x'] }] }, '?'],
    ['contains with maxContains: unknown', inParams({ properties: { xs: { contains: { enum: { $setting: 'l' } }, maxContains: 2, maxItems: 9 } } }), '?'],
    ['dependentRequired shrinks', inParams({ dependentRequired: { a: { $setting: 'l' } } }), '-'],
    ['a $ref anywhere: unknown', { $defs: { d: { enum: { $setting: 'l' } } }, properties: { x: { $ref: '#/$defs/d' } } }, '?'],
    ['const: unknown', inParams({ properties: { x: { const: { $setting: 'n' } } } }), '?'],
  ])('%s', (_name, schema, expected) => {
    expect(at(schema)).toEqual([expected]);
  });
});
