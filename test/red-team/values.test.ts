/** Class 4: values that serialize ambiguously must not reach a digest or a cache key. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Digest } from '../../src/engine/digest.js';
import { cli, fixture } from './helpers.js';

describe('red team, class 4: values without one faithful serialization', () => {
  it('refuses .nan in an overlay setting, at its position', async () => {
    const r = await cli('lint', fixture('values/nan-lifetime.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/nan-lifetime\.yaml:9:36: numbers must be finite: \.nan has no JSON form/);
  });

  it('refuses an infinity written as 1e999 inside a rule schema', async () => {
    const r = await cli('lint', fixture('values/inf-key-size.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/inf-key-size\.yaml:18:34: numbers must be finite: 1e999 has no JSON form/);
  });

  it('refuses rule schemas that could reach, or be reached from, another profile of the set', async () => {
    const ref = await cli('lint', fixture('values/foreign-ref.yaml'));
    expect(ref.code).toBe(1);
    expect(ref.out).toMatch(/foreign-ref\.yaml:14:23: rule RT-REF-1: check: \$ref must point inside the rule's own schema/);
    const id = await cli('lint', fixture('values/foreign-id.yaml'));
    expect(id.code).toBe(1);
    expect(id.out).toMatch(/foreign-id\.yaml:13:22: rule RT-REF-2: check: schema may not declare \$id/);
  });

  it('serializes faithfully: no two different values share a digest, and non-JSON values are refused', () => {
    expect(canonicalJson({ b: [1, 'x', null], a: { d: true, c: -0.5 } })).toBe('{"a":{"c":-0.5,"d":true},"b":[1,"x",null]}');
    expect(sha256Digest({ a: null })).not.toBe(sha256Digest({}));
    // An absent member and one set to undefined are the same object to every reader.
    expect(canonicalJson({ a: undefined })).toBe('{}');
    for (const bad of [NaN, Infinity, -Infinity, [undefined], { a: [NaN] }, () => 1, 1n]) {
      expect(() => canonicalJson(bad)).toThrow(/canonical JSON/);
    }
  });
});
