import { describe, expect, it } from 'vitest';
import { loadProfiles, runTests, STAGES } from '../src/index.js';

const SHIPPED = ['fapi1-baseline', 'fapi1-advanced', 'fapi2-security', 'fapi2-message-signing'];
const set = await loadProfiles(['profiles'], { tests: true });
const report = runTests(set);

describe('the shipped FAPI profiles', () => {
  it('load without a single diagnostic', () => {
    expect(set.diagnostics).toEqual([]);
    expect(set.ids()).toEqual(expect.arrayContaining(SHIPPED));
  });

  it('pass every test vector', () => {
    const failures = report.results.filter((r) => !r.passed).map((r) => `${r.location.file}:${r.location.line} ${r.name}: ${r.problems.join('; ')}`);
    expect(failures).toEqual([]);
    expect(report.passed).toBeGreaterThan(400);
  });

  it('have, for every rule, a vector where it passes and one that names it failing', () => {
    expect(report.gaps).toEqual([]);
    for (const id of SHIPPED) expect(report.results.some((r) => r.profile === id)).toBe(true);
  });

  it('cite a clause for every rule and keep ids unique', () => {
    for (const id of SHIPPED) {
      const rules = set.get(id)!.rules;
      expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
      for (const r of rules) expect(r.clause).toMatch(/§/);
    }
  });

  it('refuse on a clause of a client section only with a server clause beside it; client duties alone warn', () => {
    const CLIENT_SECTIONS = [
      /^FAPI 2\.0 SP §5\.3\.3/, /^FAPI 2\.0 MS §5\.(3\.2|4\.2|5\.2)\b/,
      /^FAPI 1\.0 Part 1 §(5\.2\.3|5\.2\.4|6\.2\.2)\b/, /^FAPI 1\.0 Part 2 §(5\.2\.3|6\.2\.2)\b/,
    ];
    const clientOnly = (clause: string) => clause.split(';').every((part) => CLIENT_SECTIONS.some((re) => re.test(part.trim())));
    const offenders = SHIPPED.flatMap((id) => set.get(id)!.rules.filter((r) => r.severity === 'error' && clientOnly(r.clause)).map((r) => `${id} ${r.id}`));
    expect(offenders).toEqual([]);
    // The audit found these client duties the server only observes: they warn.
    const severity = (id: string, rule: string) => set.get(id)!.rules.find((r) => r.id === rule)?.severity;
    expect(severity('fapi2-security', 'FAPI2-SP-FINAL-5.3.3.2-6')).toBe('warning');
    expect(severity('fapi2-message-signing', 'FAPI2-MS-ID1-5.4.2-1')).toBe('warning');
    expect(severity('fapi1-advanced', 'FAPI1-ADV-5.2.3-9')).toBe('warning');
  });

  it('advertise only what they enforce: derived metadata passes their own discovery rules', () => {
    const issuer = 'https://as.example';
    const endpoints = {
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      pushed_authorization_request_endpoint: `${issuer}/par`,
      jwks_uri: `${issuer}/jwks`,
      introspection_endpoint: `${issuer}/introspect`,
      subject_types_supported: ['public'],
    };
    for (const id of SHIPPED) {
      const profile = set.get(id)!;
      const decision = profile.evaluate('discovery', { metadata: profile.metadata(issuer, endpoints) });
      expect({ id, violations: decision.violations }).toEqual({ id, violations: [] });
    }
  });

  it('give FAPI 2.0 rules for every stage a FAPI 2.0 AS decides at', () => {
    const fapi2 = set.get('fapi2-security')!;
    const covered = STAGES.filter((s) => fapi2.rulesFor(s).length > 0);
    expect(covered).toEqual([...STAGES]);
  });
});
