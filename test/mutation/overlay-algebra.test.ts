/**
 * The overlay algebra in isolation: the metadata_policy operators (src/profile/policy.ts) and the
 * tighten-only comparison (src/profile/refine.ts). Each case pins one check so that deleting or
 * weakening it fails a test (issue 13); overlay.test.ts covers the same code through whole profiles.
 */
import { describe, expect, it } from 'vitest';
import { diffProfiles } from '../../src/index.js';
import { applyPolicy, type PolicyOperators } from '../../src/profile/policy.js';
import { compareSetting, describeKind } from '../../src/profile/refine.js';
import type { RefineKind } from '../../src/profile/schema.js';
import { build, doc, errorsOf, overlay } from '../helpers.js';

const ok = (value: unknown) => ({ ok: true, value });
const refused = (message: string) => ({ ok: false, message });
const apply = (base: unknown, ops: PolicyOperators) => applyPolicy(base, ops);

describe('value', () => {
  it('replaces the base, falsy values included', () => {
    expect(apply(600, { value: 300 })).toEqual(ok(300));
    expect(apply(true, { value: false })).toEqual(ok(false));
    expect(apply(5, { value: 0 })).toEqual(ok(0));
    expect(apply(['a'], { value: [] })).toEqual(ok([]));
  });

  it('refuses null: it would remove the setting', () => {
    expect(apply(600, { value: null })).toEqual(refused('value: null would remove the setting; every setting needs a value'));
    expect(apply(undefined, { value: null, default: 5 })).toEqual(refused('value: null would remove the setting; every setting needs a value'));
  });

  it('leaves the base alone when absent', () => {
    expect(apply(600, {})).toEqual(ok(600));
    expect(apply(null, {})).toEqual(ok(null));
  });
});

describe('add', () => {
  it('appends the members the list lacks, in order, without duplicates', () => {
    expect(apply(['a', 'b'], { add: ['b', 'c', 'd'] })).toEqual(ok(['a', 'b', 'c', 'd']));
    expect(apply([], { add: ['x'] })).toEqual(ok(['x']));
    expect(apply(['a'], { add: [] })).toEqual(ok(['a']));
  });

  it('does not change the base list it was given', () => {
    const base = ['a'];
    apply(base, { add: ['b'] });
    expect(base).toEqual(['a']);
  });

  it('refuses a setting that is not a list (a string is not a list of its characters)', () => {
    expect(apply('PS256', { add: ['ES256'] })).toEqual(refused('add needs a list setting, the value is "PS256"'));
    expect(apply(600, { add: [1] })).toEqual(refused('add needs a list setting, the value is 600'));
    expect(apply(undefined, { add: ['x'] })).toEqual(refused('add needs a list setting, the value is undefined'));
    expect(apply({ a: 1 }, { add: ['a'] })).toEqual(refused('add needs a list setting, the value is {"a":1}'));
  });

  it('sees the result of value', () => {
    expect(apply('x', { value: ['a'], add: ['b'] })).toEqual(ok(['a', 'b']));
  });
});

describe('default', () => {
  it('fills in an absent or null value', () => {
    expect(apply(undefined, { default: 60 })).toEqual(ok(60));
    expect(apply(null, { default: ['S256'] })).toEqual(ok(['S256']));
  });

  it('never overwrites an existing value, however falsy', () => {
    for (const existing of [600, 0, false, true, '', 'x', [], ['PS256'], {}]) {
      expect(apply(existing, { default: 'other' }), JSON.stringify(existing)).toEqual(ok(existing));
    }
  });

  it('applies after value and add, before subset_of', () => {
    expect(apply(undefined, { value: 5, default: 9 })).toEqual(ok(5));
    expect(apply(undefined, { default: ['a', 'b'], subset_of: ['b'] })).toEqual(ok(['b']));
  });
});

describe('subset_of', () => {
  it('keeps the members also in the list, in the setting\'s order', () => {
    expect(apply(['PS256', 'ES256', 'EdDSA'], { subset_of: ['EdDSA', 'PS256', 'RS256'] })).toEqual(ok(['PS256', 'EdDSA']));
    expect(apply(['PS256'], { subset_of: [] })).toEqual(ok([]));
  });

  it('refuses a setting that is not a list (no substring matching)', () => {
    expect(apply('PS256', { subset_of: ['PS256'] })).toEqual(refused('subset_of needs a list setting, the value is "PS256"'));
    expect(apply(undefined, { subset_of: ['a'] })).toEqual(refused('subset_of needs a list setting, the value is undefined'));
    expect(apply(true, { subset_of: [true] })).toEqual(refused('subset_of needs a list setting, the value is true'));
  });
});

describe('one_of', () => {
  it('accepts a scalar that is one of the candidates and refuses one that is not', () => {
    expect(apply(600, { one_of: [90, 600] })).toEqual(ok(600));
    expect(apply(600, { one_of: [30, '600'] })).toEqual(refused('one_of: 600 is not one of [30,"600"]'));
  });

  it('compares a list setting by its members, not by identity or order', () => {
    expect(apply(['a', 'b'], { one_of: [['c'], ['b', 'a']] })).toEqual(ok(['a', 'b']));
    expect(apply(['a'], { one_of: [['a', 'b']] })).toEqual(refused('one_of: ["a"] is not one of [["a","b"]]'));
    expect(apply(['a', 'b'], { one_of: [['a']] })).toEqual(refused('one_of: ["a","b"] is not one of [["a"]]'));
    expect(apply(['a', 'a'], { one_of: [['a', 'b']] }).ok).toBe(false);
    expect(apply(['a', 'b'], { one_of: [['a', 'a']] }).ok).toBe(false);
    expect(apply(['a', 'a'], { one_of: [['a']] }).ok).toBe(false);
  });

  it('never matches a list with a scalar, either way round', () => {
    expect(apply('a', { one_of: [['a']] }).ok).toBe(false);
    expect(apply(['a'], { one_of: ['a'] }).ok).toBe(false);
  });

  it('checks the value after subset_of has filtered it', () => {
    expect(apply(['a', 'b'], { subset_of: ['a'], one_of: [['a']] })).toEqual(ok(['a']));
  });
});

describe('superset_of', () => {
  it('accepts a list holding every member and names the ones missing', () => {
    expect(apply(['S256', 'plain'], { superset_of: ['S256'] })).toEqual(ok(['S256', 'plain']));
    expect(apply(['S256'], { superset_of: ['S256', 'plain', 'x'] })).toEqual(refused('superset_of: ["S256"] lacks ["plain","x"]'));
  });

  it('refuses a setting that is not a list: a string containing the member is not a superset', () => {
    expect(apply('S256 plain', { superset_of: ['S256'] })).toEqual(refused('superset_of needs a list setting, the value is "S256 plain"'));
    expect(apply(undefined, { superset_of: [] })).toEqual(refused('superset_of needs a list setting, the value is undefined'));
  });

  it('checks the value after subset_of has filtered it', () => {
    expect(apply(['a', 'b'], { subset_of: ['a'], superset_of: ['b'] })).toEqual(refused('superset_of: ["a"] lacks ["b"]'));
  });
});

describe('essential', () => {
  it('refuses an absent, null or empty-list value', () => {
    for (const empty of [undefined, null, []]) {
      expect(apply(empty, { essential: true }), JSON.stringify(empty)).toEqual(refused('essential: the setting has no value'));
    }
    expect(apply(['a'], { subset_of: ['b'], essential: true })).toEqual(refused('essential: the setting has no value'));
  });

  it('accepts any present value, falsy scalars included', () => {
    for (const present of [0, false, '', ['a'], 600]) expect(apply(present, { essential: true })).toEqual(ok(present));
  });

  it('does nothing when false', () => {
    expect(apply(undefined, { essential: false })).toEqual(ok(undefined));
    expect(apply([], { essential: false })).toEqual(ok([]));
  });

  it('is satisfied by a default', () => {
    expect(apply(undefined, { default: 1, essential: true })).toEqual(ok(1));
  });
});

describe('compareSetting: the tighten-only direction of each kind', () => {
  const cases: Array<[RefineKind, unknown, unknown, string]> = [
    // identical values are the same, whatever the kind
    ['maximum', 60, 60, 'same'],
    ['allow-list', ['a', 'b'], ['a', 'b'], 'same'],
    // allow-lists may only lose members
    ['allow-list', ['a', 'b', 'c'], ['a', 'c'], 'tighter'],
    ['allow-list', ['a', 'b'], [], 'tighter'],
    ['allow-list', ['a', 'b'], ['a', 'x'], 'looser'],
    ['allow-list', ['a'], ['a', 'b'], 'looser'],
    ['allow-list', ['a', 'b'], ['b', 'a'], 'same'],
    // a missing list counts as empty
    ['allow-list', ['a'], undefined, 'tighter'],
    ['allow-list', undefined, ['a'], 'looser'],
    ['allow-list', undefined, [], 'same'],
    // required lists may only gain members
    ['required-list', ['exp'], ['exp', 'jti'], 'tighter'],
    ['required-list', ['exp', 'nbf'], ['exp'], 'looser'],
    ['required-list', ['exp', 'nbf'], ['nbf', 'exp'], 'same'],
    ['required-list', ['exp'], ['jti'], 'looser'],
    ['required-list', undefined, ['exp'], 'tighter'],
    // maxima may only fall, minima only rise; a value of another type is never a tightening
    ['maximum', 60, 30, 'tighter'],
    ['maximum', 60, 120, 'looser'],
    ['maximum', 60, '60', 'looser'],
    ['minimum', 2048, 4096, 'tighter'],
    ['minimum', 2048, 1024, 'looser'],
    ['minimum', 2048, '2048', 'looser'],
    // a requirement must stay on; a permission may only be withdrawn
    ['require', false, true, 'tighter'],
    ['require', true, false, 'looser'],
    ['require', true, undefined, 'looser'],
    ['require', true, 'true', 'looser'],
    ['permit', true, false, 'tighter'],
    ['permit', false, true, 'looser'],
    ['permit', true, undefined, 'looser'],
    ['permit', true, 0, 'looser'],
  ];
  for (const [kind, base, next, direction] of cases) {
    it(`${kind}: ${JSON.stringify(base)} -> ${JSON.stringify(next)} is ${direction}`, () => {
      expect(compareSetting(kind, base, next)).toBe(direction);
    });
  }

  it('describes each kind in the words lint prints', () => {
    const kinds: RefineKind[] = ['allow-list', 'required-list', 'maximum', 'minimum', 'require', 'permit'];
    expect(kinds.map(describeKind)).toEqual([
      'an allow-list may only lose members',
      'a required list may only gain members',
      'a maximum may only fall',
      'a minimum may only rise',
      'a requirement must stay on',
      'a permission may only be withdrawn',
    ]);
  });
});

describe('overlays turning a permission off', () => {
  it('is tightening: lint accepts it without a waiver and diff calls it tighter', () => {
    const base = build();
    const settings = structuredClone(base.get('mini-base')!.settings) as Record<string, Record<string, unknown>>;
    settings.refresh_tokens = { ...settings.refresh_tokens, rotation_allowed: true };
    const permissive = doc('permissive', { settings, rules: [] });
    const off = overlay('off', { settings: { 'refresh_tokens.rotation_allowed': { value: false } } });
    off.text = off.text.replace('extends: mini-base', 'extends: permissive');
    const set = build(permissive, off);
    expect(errorsOf(set)).toEqual([]);
    expect(set.diagnostics.filter((d) => d.file.endsWith('off.yaml'))).toEqual([]);
    const diff = diffProfiles(set.get('permissive')!, set.get('off')!);
    expect(diff.settings).toEqual([expect.objectContaining({ setting: 'refresh_tokens.rotation_allowed', from: true, to: false, change: 'tighter' })]);
  });
});
