import { describe, expect, it } from 'vitest';
import { diffProfiles } from '../src/index.js';
import { build, doc, errorsOf, overlay } from './helpers.js';

const settingsOf = (set: ReturnType<typeof build>, id: string) => set.get(id)!.settings as Record<string, Record<string, unknown>>;

describe('overlays: metadata_policy operators', () => {
  it('applies value, add, subset_of, default and the checks', () => {
    const set = build(overlay('ov', {
      settings: {
        'signing_algs.request_object': { subset_of: ['PS256', 'RS256'] },
        'lifetimes.access_token': { value: 300 },
        'request_object.required_claims': { add: ['jti', 'exp'] },
        'pkce.methods': { superset_of: ['S256'], essential: true },
        'par.request_uri_lifetime': { one_of: [600, 90] },
      },
    }));
    expect(errorsOf(set)).toEqual([]);
    const s = settingsOf(set, 'ov');
    expect(s.signing_algs?.request_object).toEqual(['PS256']);
    expect(s.lifetimes?.access_token).toBe(300);
    expect(s.request_object?.required_claims).toEqual(['exp', 'nbf', 'aud', 'jti']);
    // the base is untouched
    expect(settingsOf(set, 'mini-base').lifetimes?.access_token).toBe(600);
  });

  it('fails a check operator with the setting and the values', () => {
    const set = build(overlay('ov', { settings: { 'pkce.methods': { superset_of: ['plain'] }, 'par.request_uri_lifetime': { one_of: [30] } } }));
    const errs = errorsOf(set, 'ov.yaml').join('\n');
    expect(errs).toMatch(/settings\.pkce\.methods: superset_of: \["S256"\] lacks \["plain"\]/);
    expect(errs).toMatch(/settings\.par\.request_uri_lifetime: one_of: 600 is not one of \[30\]/);
  });

  it('keeps a tolerance at or below its ceiling, however each side refines (x-at-most)', () => {
    // Raising accept_future is tightening on its own (a minimum rises) but would widen the future-iat rules.
    const raised = errorsOf(build(overlay('ov', { settings: { 'clock_skew.accept_future': { value: 3600 } } })), 'ov.yaml').join('\n');
    expect(raised).toMatch(/resolved settings: clock_skew\.accept_future \(3600\) must not exceed clock_skew\.reject_future \(60\)/);
    const lowered = errorsOf(build(overlay('ov', { settings: { 'clock_skew.reject_future': { value: 5 } } })), 'ov.yaml').join('\n');
    expect(lowered).toMatch(/clock_skew\.accept_future \(10\) must not exceed clock_skew\.reject_future \(5\)/);
    const minimum = errorsOf(build(overlay('ov', { settings: { 'lifetimes.access_token_min': { value: 900 } } })), 'ov.yaml').join('\n');
    expect(minimum).toMatch(/lifetimes\.access_token_min \(900\) must not exceed lifetimes\.access_token \(600\)/);
    const within = build(overlay('ov', { settings: { 'clock_skew.accept_future': { value: 60 }, 'lifetimes.access_token_min': { value: 600 } } }));
    expect(errorsOf(within)).toEqual([]);
    const base = build(doc('bad-base', { settings: { ...settingsOf(build(), 'mini-base'), clock_skew: { accept_future: 61, reject_future: 60 } }, rules: [] }));
    expect(errorsOf(base, 'bad-base.yaml').join('\n')).toMatch(/clock_skew\.accept_future \(61\) must not exceed clock_skew\.reject_future \(60\)/);
  });

  it('rejects unknown setting paths and wrongly typed results', () => {
    const set = build(overlay('ov', { settings: { 'par.colour': { value: 1 }, 'lifetimes.access_token': { value: 'soon' } } }));
    const errs = errorsOf(set, 'ov.yaml').join('\n');
    expect(errs).toMatch(/unknown setting 'par.colour'/);
    expect(errs).toMatch(/resolved settings: \/lifetimes\/access_token: must be integer/);
  });

  it('lets rules follow the overlay settings', () => {
    const set = build(overlay('ov', { settings: { 'signing_algs.client_auth': { subset_of: ['ES256'] } } }));
    const facts = { time: 1, issuer: 'https://as.example', endpoint: 'token', method: 'private_key_jwt', jwt: { header: { alg: 'PS256' }, claims: {}, signature_verified: true } };
    expect(set.get('mini-base')!.evaluate('client_auth', facts).decision).toBe('allow');
    const denied = set.get('ov')!.evaluate('client_auth', facts);
    expect(denied.violations.map((v) => v.rule)).toEqual(['MINI-ALG']);
  });
});

describe('overlays: the tighten-only invariant', () => {
  const loosening = {
    'signing_algs.request_object': { add: ['RS256'] },
    'lifetimes.authorization_code': { value: 120 },
    'keys.rsa_min_bits': { value: 1024 },
    'par.required': { value: false },
    'refresh_tokens.rotation_allowed': { value: true },
    'request_object.required_claims': { value: ['exp'] },
  };

  it('fails lint for every loosening, naming the setting and both values', () => {
    const set = build(overlay('loose', { settings: loosening }));
    expect(set.get('loose')).toBeUndefined();
    const errs = errorsOf(set, 'loose.yaml').join('\n');
    expect(errs).toMatch(/settings\.signing_algs\.request_object: loose loosens mini-base: \["PS256","PS384","PS512"\] -> \["PS256","PS384","PS512","RS256"\]; an allow-list may only lose members/);
    expect(errs).toMatch(/settings\.lifetimes\.authorization_code: .* 60 -> 120; a maximum may only fall/);
    expect(errs).toMatch(/settings\.keys\.rsa_min_bits: .* 2048 -> 1024; a minimum may only rise/);
    expect(errs).toMatch(/settings\.par\.required: .* true -> false; a requirement must stay on/);
    expect(errs).toMatch(/settings\.refresh_tokens\.rotation_allowed: .* false -> true; a permission may only be withdrawn/);
    expect(errs).toMatch(/settings\.request_object\.required_claims: .* \["exp","nbf","aud"\] -> \["exp"\]; a required list may only gain members/);
  });

  it('accepts the same loosening when waived, and reports every waiver', () => {
    const waive = Object.keys(loosening).map((setting) => ({ setting, reason: `legacy clients need ${setting} for now` }));
    const set = build(overlay('waived', { settings: loosening, waive: [...waive, { rule: 'MINI-NONCE', reason: 'nonces are not used in this ecosystem' }] }));
    expect(errorsOf(set)).toEqual([]);
    const profile = set.get('waived')!;
    expect(profile.waivers.map((w) => w.setting ?? w.rule)).toEqual([...Object.keys(loosening), 'MINI-NONCE']);
    expect(profile.rules.map((r) => r.id)).not.toContain('MINI-NONCE');
    expect(profile.toJSON().waivers).toHaveLength(7);
    const diff = diffProfiles(set.get('mini-base')!, profile);
    expect(diff.waivers).toHaveLength(7);
    expect(diff.settings.find((s) => s.setting === 'lifetimes.authorization_code')).toMatchObject({ from: 60, to: 120, change: 'looser' });
    expect(diff.rules).toContainEqual(expect.objectContaining({ rule: 'MINI-NONCE', clause: 'Test §1-3', change: 'removed', waived: expect.objectContaining({ rule: 'MINI-NONCE' }) }));
  });

  it('warns about a waiver that waives nothing and refuses a waiver of an unknown rule', () => {
    const set = build(overlay('ov', { waive: [{ setting: 'par.required', reason: 'not actually loosened' }, { rule: 'NOPE-1', reason: 'no such rule at all' }] }));
    expect(set.diagnostics.some((d) => d.severity === 'warning' && /waiver for settings.par.required is not needed/.test(d.message))).toBe(true);
    expect(errorsOf(set, 'ov.yaml').join()).toMatch(/waived rule 'NOPE-1' is not a rule of mini-base/);
  });

  it('treats tightening as tightening in diff', () => {
    const set = build(overlay('tight', { settings: { 'lifetimes.authorization_code': { value: 30 }, 'signing_algs.dpop': { subset_of: ['PS256'] } } }));
    const diff = diffProfiles(set.get('mini-base')!, set.get('tight')!);
    expect(diff.settings.map((s) => [s.setting, s.change])).toEqual([
      ['signing_algs.dpop', 'tighter'],
      ['lifetimes.authorization_code', 'tighter'],
    ]);
  });

  it('resolves chains of overlays, checking each level against its own base', () => {
    const mid = overlay('mid', { settings: { 'lifetimes.authorization_code': { value: 30 } } });
    const leaf = { ...overlay('leaf', { settings: { 'lifetimes.authorization_code': { value: 45 } } }) };
    leaf.text = leaf.text.replace('extends: mini-base', 'extends: mid');
    const set = build(mid, leaf);
    expect(errorsOf(set, 'leaf.yaml').join()).toMatch(/leaf loosens mid: 30 -> 45/);
    expect(set.get('mid')!.toJSON().extends).toEqual(['mini-base']);
  });
});
