/** Class 5: profile text the CLI prints must not be able to drive the terminal. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, denialsLost, fixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'fapi-red-text-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Printable ASCII, newlines between lines, and the two marks printable() keeps. */
const PRINTABLE = /^[\x20-\x7e\n§…]*$/;

describe('red team, class 5: text that hides itself', () => {
  it('shows a self-erasing waiver reason as inert text, on the line of the waiver', async () => {
    const r = await cli('lint', fixture('text/erasing-waiver.yaml'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(PRINTABLE);
    expect(r.out).toMatch(/^waiver: erasing-waiver settings\.lifetimes\.authorization_code.*: \?\[1A\?\[2K\?Nothing to see here/m);
    const json = await cli('lint', fixture('text/erasing-waiver.yaml'), '--json');
    expect(json.out).toMatch(PRINTABLE);
    expect(JSON.parse(json.out).waivers[0].reason).toBe('\u001b[1A\u001b[2K\rNothing to see here, all settings tighter.');
  });

  it('neutralizes control characters and bidi overrides in clauses, messages, titles and vector names', async () => {
    const facts = join(tmp, 'browser.json');
    writeFileSync(facts, JSON.stringify({ protocol: 'TLSv1.3', endpoint_kind: 'browser', cipher: 'TLS_AES_128_GCM_SHA256' }));
    const check = await cli('check', '--profile', fixture('text/hidden-rule.yaml'), '--stage', 'tls', facts, '--explain');
    expect(check.code).toBe(1);
    expect(check.out).toMatch(PRINTABLE);
    expect(check.out).toMatch(/^  x RT-TEXT-1 \[Red team \?1§ txet\] at \/endpoint_kind: Use the API endpoint\.\?\?\[2KALLOW$/m);
    const diff = await cli('diff', 'fapi2-security', fixture('text/hidden-rule.yaml'));
    expect(diff.out).toMatch(PRINTABLE);
    expect(diff.out).toMatch(/added +RT-TEXT-1 +\[Red team \?1§ txet\]/);
    const compiled = await cli('compile', fixture('text/hidden-rule.yaml'));
    expect(compiled.out).toMatch(PRINTABLE);
    expect(JSON.parse(compiled.out).title).toBe('Hidden \u001b]0;owned\u0007 rule');
    const tests = await cli('test', fixture('text/hidden-rule.yaml'), 'profiles', '--json');
    expect(tests.out).toMatch(PRINTABLE);
    expect(JSON.parse(tests.out).results.some((r: { name: string; passed: boolean }) => r.name === 'a browser endpoint is refused \u001b[31m' && r.passed)).toBe(true);
    // Lint rightly passes this overlay (it only adds a rule): every base deny vector still denies.
    expect((await denialsLost(fixture('text/hidden-rule.yaml'))).lost).toEqual([]);
  });
});
