/** `fapi-policy init`: an overlay skeleton a regulator starts from, clean as written and as uncommented. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './red-team/helpers.js';
import { loadProfiles } from '../src/profile/files.js';
import { SETTING_KINDS } from '../src/profile/schema.js';
import { tempDir } from './temp.js';

const lintErrors = async (file: string) => {
  const r = await cli('lint', file, '--profiles', 'profiles');
  return { code: r.code, errors: r.out.split('\n').filter((l) => l.startsWith(file)) };
};

describe('fapi-policy init', () => {
  it.each(['fapi2-security', 'au-cdr'])('writes an overlay of %s listing every setting with its value and direction, which lints clean', async (base) => {
    const dir = tempDir('fapi-init-');
    const file = join(dir, 'nz-open-finance.yaml');
    const r = await cli('init', 'nz-open-finance', '--extends', base, '-o', file, '--profiles', 'profiles');
    expect(r.code, r.err).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(new RegExp(`^extends: ${base}$`, 'm'));
    const set = await loadProfiles(['profiles'], { strict: true });
    for (const [setting, kind] of SETTING_KINDS) {
      // Optional settings the base does not have are not listed (nothing to refine).
      if (setting.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], set.get(base)!.settings) === undefined) {
        expect(text).not.toContain(`# ${setting}:`);
        continue;
      }
      expect(text).toMatch(new RegExp(`^  # ${setting.replaceAll('.', '\\.')}: \\{(subset_of|add|value): .+\\}$`, 'm'));
      expect(text).toContain(`(${kind}: tighter = `);
    }
    expect(await lintErrors(file)).toEqual({ code: 0, errors: [] });
    // Every setting line uncommented as written keeps the base's values: still clean.
    writeFileSync(file, text.replace(/^ {2}# ([a-z_]+(\.[a-z_]+)*: \{)/gm, '  $1'));
    expect(await lintErrors(file)).toEqual({ code: 0, errors: [] });
  });

  it('leads to lint naming the setting when a value moves the looser way', async () => {
    const file = join(tempDir('fapi-init-'), 'loose.yaml');
    expect((await cli('init', 'loose', '--extends', 'fapi2-security', '-o', file, '--profiles', 'profiles')).code).toBe(0);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('  # lifetimes.access_token: {value: 3600}', '  lifetimes.access_token: {value: 300}'));
    expect(await lintErrors(file)).toEqual({ code: 0, errors: [] });
    writeFileSync(file, text.replace('  # lifetimes.authorization_code: {value: 60}', '  lifetimes.authorization_code: {value: 120}'));
    const loose = await lintErrors(file);
    expect(loose.code).toBe(1);
    expect(loose.errors).toEqual([expect.stringMatching(/loose\.yaml:\d+:\d+: settings\.lifetimes\.authorization_code: loose loosens fapi2-security: 60 -> 120; a maximum may only fall/)]);
  });

  it('prints with -o -, refuses to replace a file, a bad id, a missing or unknown base', async () => {
    const printed = await cli('init', 'x-1', '--extends', 'ksa', '-o', '-', '--profiles', 'profiles');
    expect(printed.code).toBe(0);
    expect(printed.out).toMatch(/^id: x-1$/m);
    const file = join(tempDir('fapi-init-'), 'taken.yaml');
    writeFileSync(file, 'keep me');
    const taken = await cli('init', 'taken', '--extends', 'ksa', '-o', file, '--profiles', 'profiles');
    expect(taken).toMatchObject({ code: 2, err: expect.stringMatching(/exists; use --force/) });
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    expect((await cli('init', 'taken', '--extends', 'ksa', '-o', file, '--force', '--profiles', 'profiles')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^extends: ksa$/m);
    expect((await cli('init', 'Bad_Id', '--extends', 'ksa', '-o', '-')).err).toMatch(/is not a profile id/);
    expect((await cli('init', 'x', '-o', '-')).err).toMatch(/needs --extends/);
    const unknown = await cli('init', 'x', '--extends', 'no-such-base', '-o', join(tempDir('fapi-init-'), 'x.yaml'), '--profiles', 'profiles');
    expect(unknown).toMatchObject({ code: 2, err: expect.stringMatching(/unknown profile 'no-such-base'/) });
    expect(existsSync('x.yaml')).toBe(false);
  });
});
