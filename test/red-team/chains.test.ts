/** Class 3: chains must not hide what their middle does. */
import { describe, expect, it } from 'vitest';
import type { CompiledProfile } from '../../src/engine/compiled-profile.js';
import { diffProfiles } from '../../src/index.js';
import { build, doc } from '../helpers.js';
import { cli, denialsLost, fixture } from './helpers.js';

const chain = fixture('chains');

describe('red team, class 3: chains hide what their middle does', () => {
  it('lists, when linting the leaf, every waiver of its chain with its values and where it was declared', async () => {
    const r = await cli('lint', fixture('chains/leaf.yaml'), '--profiles', 'profiles', '--profiles', chain);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`waiver: mid settings.tls.versions: [TLSv1.2, TLSv1.3] -> [TLSv1.2, TLSv1.3, TLSv1]: Two legacy gateways of the ecosystem speak TLS 1.0 until their 2027 replacement. (${chain}/mid.yaml:11:5)`);
    expect(r.out).toContain(`waiver: mid rule FAPI2-SP-FINAL-5.2.2-1: The legacy gateways cannot negotiate the recommended TLS 1.2 suites either. (${chain}/mid.yaml:13:5)`);
    const compiled = JSON.parse((await cli('compile', fixture('chains/leaf.yaml'), '--profiles', 'profiles', '--profiles', chain, '--json')).out);
    expect(compiled.waivers).toEqual([
      { setting: 'tls.versions', reason: expect.stringMatching(/^Two legacy/), profile: 'mid', from: ['TLSv1.2', 'TLSv1.3'], to: ['TLSv1.2', 'TLSv1.3', 'TLSv1'] },
      { rule: 'FAPI2-SP-FINAL-5.2.2-1', reason: expect.stringMatching(/^The legacy/), profile: 'mid' },
    ]);
    // Lint passes because the waivers cover what the chain loosens, not because nothing loosens.
    expect((await denialsLost(fixture('chains/leaf.yaml'), ['profiles', chain])).lost.length).toBeGreaterThan(0);
  });

  it('never reuses a rule id a base waived', async () => {
    const r = await cli('lint', fixture('chains/leaf-reuses-waived.yaml'), '--profiles', 'profiles', '--profiles', chain);
    expect(r.code).toBe(1);
    expect(r.out).toContain('leaf-reuses-waived.yaml:9:9: rule id \'FAPI2-SP-FINAL-5.2.2-1\' was waived by mid; a waived rule id is never reused. Give the new rule an id of its own.');
    const check = await cli('check', '--profile', fixture('chains/leaf-reuses-waived.yaml'), '--profiles', 'profiles', '--profiles', chain, '--stage', 'tls', fixture('chains/tls10.json'), '--explain');
    expect(check.code).toBe(2);
    expect(check.err).toMatch(/profile 'leaf-reuses-waived' failed to load:\n.*was waived by mid/);
  });

  it('never lets an overlay redefine a rule of its chain', async () => {
    const r = await cli('lint', fixture('chains/leaf-redefines.yaml'), '--profiles', 'profiles', '--profiles', chain);
    expect(r.code).toBe(1);
    expect(r.out).toContain('leaf-redefines.yaml:8:9: rule id \'FAPI2-SP-FINAL-5.2.1-2\' is already defined by fapi2-security; an overlay cannot redefine a rule. Waive it with a reason and add the replacement under a new id.');
  });

  it('diff: a rule whose check, when or stage differs is not proven tighter; only a raised severity alone is', () => {
    const settings = (build().get('mini-base') as CompiledProfile).settings;
    const rule = (over: Record<string, unknown>) => ({ id: 'R-1', clause: 'R §1', stage: 'token', severity: 'warning', message: 'm',
      check: { logic: { '<=': [{ var: 'facts.time' }, 100] } }, ...over });
    const profile = (id: string, over: Record<string, unknown>) => doc(id, { settings, rules: [rule(over)] });
    const set = build(profile('alpha', {}), profile('beta', { severity: 'error', check: { logic: true } }), profile('gamma', { severity: 'error' }),
      profile('delta', { message: 'other words' }), profile('epsilon', { when: false }), profile('zeta', { stage: 'par', severity: 'error' }));
    const change = (id: string) => diffProfiles(set.get('alpha') as CompiledProfile, set.get(id) as CompiledProfile).rules;
    expect(change('beta')).toEqual([{ rule: 'R-1', clause: 'R §1', change: 'changed', detail: 'not proven tighter: check differs; severity warning -> error' }]);
    expect(change('gamma')).toEqual([{ rule: 'R-1', clause: 'R §1', change: 'tighter', detail: 'severity warning -> error' }]);
    expect(change('delta')).toEqual([{ rule: 'R-1', clause: 'R §1', change: 'changed', detail: 'decides the same; differs in message' }]);
    expect(change('epsilon')).toEqual([{ rule: 'R-1', clause: 'R §1', change: 'changed', detail: 'not proven tighter: when differs' }]);
    expect(change('zeta')).toEqual([{ rule: 'R-1', clause: 'R §1', change: 'changed', detail: 'not proven tighter: stage differs; severity warning -> error' }]);
    expect(diffProfiles(set.get('gamma') as CompiledProfile, set.get('alpha') as CompiledProfile).rules[0]).toMatchObject({ change: 'looser', detail: 'severity error -> warning' });
  });
});
