/** Class 1: a setting read against its declared direction; lint proves monotonicity two ways. */
import { describe, expect, it } from 'vitest';
import { CompiledProfile } from '../../src/engine/compiled-profile.js';
import { loadProfiles } from '../../src/profile/files.js';
import { polarityProblems, replayDenials } from '../../src/profile/monotone.js';
import { build, doc, errorsOf, miniBase } from '../helpers.js';
import { buildProfileSet } from '../../src/index.js';
import { cli, denialsLost, fixture } from './helpers.js';

describe('red team, class 1: settings read against their direction', () => {
  it('passes the issue\'s emptied sender-constraint list now that the rule no longer reads it, and every base deny still denies', async () => {
    const r = await cli('lint', fixture('direction/no-mtls.yaml'));
    expect(r.out).toMatch(/^0 error\(s\)/m);
    const { checked, lost } = await denialsLost(fixture('direction/no-mtls.yaml'));
    expect(checked).toBeGreaterThan(100);
    expect(lost).toEqual([]);
  });

  it('passes a raised nonce_max_length (a minimum), notes it decides nothing, and every base deny still denies', async () => {
    const r = await cli('lint', fixture('direction/nonce-raised.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^note: nonce-raised settings\.authorization_request\.nonce_max_length: 64 -> 4096 \(tighter\) changes no decision: no rule reads it$/m);
    const { checked, lost } = await denialsLost(fixture('direction/nonce-raised.yaml'));
    expect(checked).toBeGreaterThan(100);
    expect(lost).toEqual([]);
  });

  it('refuses an allow-list read in when, at the read', async () => {
    const r = await cli('lint', fixture('direction/allow-list-in-when.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('allow-list-in-when.yaml:13:29: rule RT-DIR-1 reads settings.sender_constraint.methods (allow-list) against its direction in when: '
      + 'tightening it (removing members) can stop the rule from applying, so a tighter overlay could allow what the rule denies.');
  });

  it('refuses a maximum read as a minimum, in a logic check and in a schema keyword', async () => {
    const r = await cli('lint', fixture('direction/maximum-as-minimum.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toContain('maximum-as-minimum.yaml:15:99: rule RT-DIR-2 reads settings.lifetimes.access_token (maximum) against its direction in check: tightening it (lowering it) can make the check pass');
    expect(r.out).toContain('maximum-as-minimum.yaml:26:37: rule RT-DIR-3 reads settings.par.request_uri_lifetime (maximum) against its direction in check: tightening it (lowering it) can make the check pass');
  });

  it('refuses reads whose direction cannot be told: an if on a setting, an equality, an or that hides a failing fact', async () => {
    const r = await cli('lint', fixture('direction/hidden-direction.yaml'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/hidden-direction\.yaml:17:19: rule RT-DIR-4 reads settings\.pkce\.required \(require\) against its direction in check: lint cannot tell which way the rule moves when it tightens \('if' is not monotone in a condition whose branches are not literals\)/);
    expect(r.out).toMatch(/hidden-direction\.yaml:25:25: rule RT-DIR-5 reads settings\.par\.request_uri_lifetime \(maximum\) against its direction in when: lint cannot tell .*\('==' is not monotone in this operand\)/);
    expect(r.out).toMatch(/hidden-direction\.yaml:33:23: rule RT-DIR-6 reads settings\.par\.required \(require\) against its direction in when: lint cannot tell .*\('or' would skip a later operand that can fail on a missing or malformed fact\)/);
  });

  it('holds base profiles to the same rule: the document that writes the rule gets the error', () => {
    const settings = (build().get('mini-base') as CompiledProfile).settings;
    const base = doc('bad-base', {
      settings,
      rules: [{ id: 'B-1', clause: 'B §1', stage: 'par', severity: 'error', message: 'm',
        check: { schema: { properties: { params: { properties: { nonce: { maxLength: { $setting: 'authorization_request.nonce_max_length' } } } } } } } }],
    });
    const over = { file: '/virtual/over.yaml', text: 'id: over\ntitle: t\nversion: "1"\nspec: https://example.com/x\nextends: bad-base\n' };
    const set = buildProfileSet([base, over]);
    expect(errorsOf(set as never, 'bad-base.yaml').join('\n')).toMatch(/rule B-1 reads settings\.authorization_request\.nonce_max_length \(minimum\) against its direction in check: tightening it \(raising it\) can make the check pass/);
    expect(errorsOf(set as never, 'over.yaml').join('\n')).toMatch(/base profile 'bad-base' failed to load/);
    expect(set.get('bad-base')).toBeUndefined();
  });

  it('finds nothing in the shipped profiles and the repository\'s overlays', async () => {
    // Every overlay of the repository meant to pass lint, red-team ones included.
    const passing = ['direction/no-mtls', 'direction/nonce-raised', 'chains/mid', 'chains/leaf', 'text/erasing-waiver', 'text/hidden-rule', 'wording/unread', 'identity/acme'];
    const set = await loadProfiles(['profiles', 'test/fixtures/overlays', ...passing.map((f) => fixture(`${f}.yaml`))], { tests: true });
    // loose-fapi2 is there to fail the refinement check; nothing may fail the monotonicity proofs.
    expect(set.diagnostics.filter((d) => /against its direction|deny vector/.test(d.message))).toEqual([]);
    expect(set.diagnostics.filter((d) => d.severity === 'error').every((d) => d.file.endsWith('loose-fapi2.yaml'))).toBe(true);
    expect(set.ids()).toEqual(expect.arrayContaining(['fapi1-baseline', 'fapi1-advanced', 'fapi2-security', 'fapi2-message-signing', 'waived-fapi2', ...passing.map((f) => f.split('/')[1])]));
    for (const id of set.ids()) {
      const profile = set.get(id) as CompiledProfile;
      expect({ id, problems: polarityProblems(profile, () => true) }).toEqual({ id, problems: [] });
      expect(profile.reads.length).toBeGreaterThan(0);
    }
  });

  it('replays deny vectors: a rule weakened under its own id, without a waiver, is caught', () => {
    const set = build();
    const base = set.get('mini-base') as CompiledProfile;
    const weakened = base.resolved.rules.map((r) => (r.id === 'MINI-PKCE' ? { ...r, check: { logic: true } } : r));
    const overlay = new CompiledProfile({ ...base.resolved, id: 'sneaky', extends: ['mini-base'], rules: weakened });
    const suite = buildProfileSet([miniBase, { file: '/virtual/mini-base.tests.yaml', text: [
      'profile: mini-base',
      'fixtures: {par: {time: 1, issuer: "https://as.example", client_authenticated: true, params: {response_type: code, client_id: c, redirect_uri: "https://c.example/cb", code_challenge_method: plain}}}',
      'vectors: [{name: plain PKCE is refused, stage: par, expect: deny, violations: [MINI-PKCE]}]',
    ].join('\n') }]).suites;
    const problems = replayDenials(overlay, [base], suite, ['pkce.methods']);
    expect(problems).toEqual([{ setting: 'pkce.methods', message: expect.stringMatching(
      /^deny vector 'plain PKCE is refused' of mini-base \(\/virtual\/mini-base\.tests\.yaml:3:11\) is allowed by sneaky: mini-base denies it by MINI-PKCE, which reads settings\.pkce\.methods changed here, and no waiver below mini-base covers it/) }]);
    const waived = new CompiledProfile({ ...overlay.resolved, waivers: [{ rule: 'MINI-PKCE', reason: 'r', profile: 'sneaky' }] });
    expect(replayDenials(waived, [base], suite, [])).toEqual([]);
  });

  it('lets a waiver cover a deny that turns into an allow', async () => {
    const r = await cli('lint', 'test/fixtures/overlays/waived-fapi2.yaml');
    expect(r.code).toBe(0);
    // The waived loosening really does allow a base deny vector: the waiver, not luck, covers it.
    const { lost } = await denialsLost('test/fixtures/overlays/waived-fapi2.yaml');
    expect(lost.length).toBeGreaterThan(0);
  });
});
