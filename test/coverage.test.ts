import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runTests } from '../src/index.js';
import { build, overlay, PAR_FACTS } from './helpers.js';

const type = (file: string, text: string) => ({ file, text });

const TOKEN = { time: 1000, issuer: 'https://as.example', params: { grant_type: 'authorization_code' }, code: { issued_at: 990, redeemed_before: false, client_id: 'c1' } };

/** Vectors covering MINI-PKCE and MINI-CODE-AGE both ways, as a tests file of `profile`. */
function suite(profile: string, extra: unknown[] = []) {
  const vectors = [
    { name: 'S256 passes', stage: 'par', expect: 'allow' },
    { name: 'plain fails', stage: 'par', facts: { params: { code_challenge_method: 'plain' } }, expect: 'deny', violations: ['MINI-PKCE'] },
    { name: 'fresh code passes', stage: 'token', expect: 'allow' },
    { name: 'old code fails', stage: 'token', facts: { code: { issued_at: 900 } }, expect: 'deny', violations: ['MINI-CODE-AGE'] },
    ...extra,
  ];
  return type(`/virtual/${profile}.tests.yaml`, stringify({ profile, fixtures: { par: PAR_FACTS, token: TOKEN }, vectors }));
}

const gapsOf = (report: ReturnType<typeof runTests>, profile: string) =>
  report.gaps.filter((g) => g.profile === profile).map((g) => `${g.rule} lacks ${g.lacks}`).sort();

describe('rule coverage of overlays', () => {
  it('counts the base vectors for an inherited rule the overlay decides as its base does', () => {
    const set = build(suite('mini-base'), overlay('ov', { settings: {} }), type('/virtual/ov.tests.yaml', stringify({ profile: 'ov', vectors: [] })));
    const report = runTests(set);
    expect(gapsOf(report, 'ov')).toEqual(gapsOf(report, 'mini-base'));
    expect(gapsOf(report, 'ov')).not.toContainEqual(expect.stringMatching(/^MINI-(PKCE|CODE-AGE) /));
    const pkce = report.coverage.get('ov')!.get('MINI-PKCE')!;
    expect(pkce.from).toBe('mini-base');
    expect(pkce.failing.map((v) => `${v.profile}: ${v.name}`)).toEqual(['mini-base: plain fails']);
  });

  it('asks the overlay for vectors of its own for an inherited rule reading a setting it changed', () => {
    const ov = overlay('ov', { settings: { 'lifetimes.authorization_code': { value: 30 } } });
    const without = runTests(build(suite('mini-base'), ov, type('/virtual/ov.tests.yaml', stringify({ profile: 'ov', vectors: [] }))));
    expect(gapsOf(without, 'ov').filter((g) => g.startsWith('MINI-CODE-AGE'))).toEqual(['MINI-CODE-AGE lacks a failing vector', 'MINI-CODE-AGE lacks a passing vector']);
    expect(gapsOf(without, 'ov')).not.toContainEqual(expect.stringMatching(/^MINI-PKCE /));
    // 20 s passed base and overlay; 40 s passes the base but not the overlay: its own vectors say so.
    const own = suite('ov', [{ name: 'a 40 s old code fails here', stage: 'token', facts: { code: { issued_at: 960 } }, expect: 'deny', violations: ['MINI-CODE-AGE'] }]);
    const withOwn = runTests(build(suite('mini-base'), ov, own));
    expect(gapsOf(withOwn, 'ov').filter((g) => g.startsWith('MINI-CODE-AGE'))).toEqual([]);
    expect(withOwn.coverage.get('ov')!.get('MINI-CODE-AGE')!.from).toBeUndefined();
  });

  it('holds a profile asked for by name to coverage even when it has no vectors at all', () => {
    const rules = [{ id: 'OV-1', clause: 'Ov §1', stage: 'par', severity: 'error', message: 'm', check: { logic: { '!!': { var: 'facts.params.client_id' } } } }];
    const set = build(suite('mini-base'), overlay('ov', { settings: {}, rules }));
    expect(runTests(set).gaps.filter((g) => g.profile === 'ov')).toEqual([]);
    expect(gapsOf(runTests(set, new Set(['ov'])), 'ov').filter((g) => !g.startsWith('MINI-'))).toEqual(['OV-1 lacks a failing vector', 'OV-1 lacks a passing vector']);
  });

  it('runs the ancestors of a profile asked for, but reports only that profile', () => {
    const set = build(suite('mini-base'), overlay('ov', { settings: {} }), type('/virtual/ov.tests.yaml', stringify({ profile: 'ov', vectors: [] })));
    const report = runTests(set, new Set(['ov']));
    expect(report.results).toEqual([]);
    expect(report.gaps.every((g) => g.profile === 'ov')).toBe(true);
    expect(report.coverage.get('ov')!.get('MINI-PKCE')!.passing.length).toBeGreaterThan(0);
  });
});
