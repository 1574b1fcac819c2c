/** Where lint or diff said the wrong thing about an overlay. */
import { describe, expect, it } from 'vitest';
import { SETTING_KINDS } from '../../src/index.js';
import { cli, fixture } from './helpers.js';

describe('red team: lint, check, compile and diff say the right thing', () => {
  it('reports an emptied enum list against the overlay\'s setting, and check says the profile failed to load and why', async () => {
    const r = await cli('lint', fixture('wording/no-dpop.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/no-dpop\.yaml:9:22: settings\.signing_algs\.dpop: breaks rule FAPI2-SP-FINAL-5\.4\.1-1\.2-metadata of fapi2-security, which reads it: .*enum must have non-empty array/);
    for (const argv of [['check', '--stage', 'tls', fixture('chains/tls10.json'), '--profile', fixture('wording/no-dpop.yaml')], ['compile', fixture('wording/no-dpop.yaml')]]) {
      const failed = await cli(...argv);
      expect(failed.code).toBe(2);
      expect(failed.err).toMatch(/profile 'no-dpop' failed to load:\n.*no-dpop\.yaml:9:22: settings\.signing_algs\.dpop: breaks rule/);
      expect(failed.err).not.toMatch(/unknown profile/);
    }
  });

  it('says which settings no rule reads: compile for every setting, diff and lint for the changed ones', async () => {
    const compiled = JSON.parse((await cli('compile', fixture('wording/unread.yaml'), '--json')).out);
    expect(Object.keys(compiled.setting_readers).sort()).toEqual([...SETTING_KINDS.keys()].sort());
    expect(compiled.setting_readers['request_object.required']).toEqual([]);
    expect(compiled.setting_readers['encryption_algs.content']).toEqual(['RFC8725-3.2-id-token-encryption']);
    expect(compiled.setting_readers['lifetimes.authorization_code']).toEqual(['FAPI2-SP-FINAL-5.3.2.1-11']);
    const diff = await cli('diff', 'fapi2-security', fixture('wording/unread.yaml'));
    expect(diff.out).toMatch(/^  tighter request_object\.required +false -> true  \(no rule reads it: changes no decision\)$/m);
    expect(diff.out).toMatch(/^  tighter lifetimes\.authorization_code +60 -> 30$/m);
    const lint = await cli('lint', fixture('wording/unread.yaml'));
    expect(lint.code).toBe(0);
    expect(lint.out).toMatch(/^note: unread settings\.request_object\.required: false -> true \(tighter\) changes no decision: no rule reads it$/m);
    expect(lint.out).toMatch(/^note: unread settings\.introspection\.signed_response_required: false -> true/m);
    expect(lint.out).not.toMatch(/note: unread settings\.lifetimes/);
  });

  it('lets one_of name a list value', async () => {
    const r = await cli('lint', fixture('wording/one-of-list.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).not.toMatch(/pkce\.methods/);
    expect(r.out).toMatch(/one-of-list\.yaml:9:17: settings\.tls\.versions: one_of: \["TLSv1\.2","TLSv1\.3"\] is not one of \[\["TLSv1\.3"\]\]/);
  });

  it('gives one error for extends of itself', async () => {
    const r = await cli('lint', fixture('wording/self.yaml'));
    expect(r.out).toMatch(/^.*self\.yaml:6:10: profile 'self' extends itself\n1 error\(s\)/m);
  });

  it('keeps the engine\'s violation ids for the engine', async () => {
    const r = await cli('lint', fixture('wording/engine-id.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/engine-id\.yaml:8:9: rule id 'fapi-policy\/facts': ids starting with 'fapi-policy\/' belong to the engine's own violations/);
  });
});
