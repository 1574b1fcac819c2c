/** Class 2: two documents with one id, and a base that is not the one the overlay was written against. */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProfileSet } from '../../src/index.js';
import { loadProfiles } from '../../src/profile/files.js';
import { cli, fixture } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'fapi-red-identity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SHIPPED = resolve('profiles/fapi2-security.yaml');
const shippedText = readFileSync(SHIPPED, 'utf8');
/** Where the shipped fapi2-security.yaml declares its id (line:column), for positioned messages. */
const ID_AT = `:${shippedText.split('\n').findIndex((l) => l.startsWith('id: ')) + 1}:5`;
/** The weakened base: FAPI 2.0 with TLS 1.0 and 1.1 allowed again. */
const weakenedText = shippedText.replace('versions: [TLSv1.2, TLSv1.3]', 'versions: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]');

/** A directory holding the given files: name -> text. */
function set(name: string, files: Record<string, string>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

const acmeText = readFileSync(fixture('identity/acme.yaml'), 'utf8');

describe('red team, class 2: two documents with one id', () => {
  it('fails an overlay whose bundle ships its own weakened base beside the shipped one, on every command', async () => {
    const bundle = set('bundle', { 'fapi2-security.yaml': weakenedText, 'acme.yaml': acmeText });
    // Linting the bundle (with ./profiles, the default): its copy and its overlay both fail.
    const lint = await cli('lint', bundle);
    expect(lint.code).toBe(1);
    expect(lint.out).toContain(`${join(bundle, 'fapi2-security.yaml')}${ID_AT}: profile id 'fapi2-security' is defined more than once: here and in ${SHIPPED}; none of them is loaded`);
    expect(lint.out).toMatch(/bundle\/acme\.yaml:6:10: base profile 'fapi2-security' failed to load \(.*fapi2-security\.yaml:\d+:5: profile id 'fapi2-security' is defined more than once/);
    // Reported against both files: the bundle's copy and the shipped one.
    const loaded = await loadProfiles(['profiles', bundle]);
    const files = loaded.diagnostics.filter((d) => /^profile id 'fapi2-security' is defined more than once/.test(d.message)).map((d) => d.file).sort();
    expect(files).toEqual([join(bundle, 'fapi2-security.yaml'), SHIPPED].sort());
    expect(loaded.get('fapi2-security')).toBeUndefined();
    const facts = join(tmp, 'tls.json');
    writeFileSync(facts, JSON.stringify({ protocol: 'TLSv1', endpoint_kind: 'api' }));
    for (const argv of [['check', '--profile', 'fapi2-security', '--stage', 'tls', facts], ['compile', 'fapi2-security'], ['diff', 'fapi2-security', 'acme']]) {
      const r = await cli(...argv, '--profiles', 'profiles', '--profiles', bundle);
      expect({ argv, code: r.code }).toEqual({ argv, code: 2 });
      expect(r.err).toMatch(/failed to load:\n.*(defined more than once|base profile 'fapi2-security' failed to load)/);
    }
    const test = await cli('test', 'profiles', bundle);
    expect(test.code).toBe(1);
    expect(test.out).toMatch(/profile id 'fapi2-security' is defined more than once/);
  });

  it('refuses the same: a decision service set (in-memory documents) with one id twice', () => {
    const built = buildProfileSet([{ file: '/a/fapi2-security.yaml', text: shippedText }, { file: '/b/fapi2-security.yaml', text: weakenedText }]);
    expect(built.ok).toBe(false);
    expect(built.get('fapi2-security')).toBeUndefined();
    expect(built.diagnostics.map((d) => d.file).sort()).toEqual(['/a/fapi2-security.yaml', '/b/fapi2-security.yaml']);
  });

  it('counts a file reached twice (an argument inside a directory argument, a symlink) as one document', async () => {
    const shipped = (await loadProfiles(['profiles'])).ids().length;
    expect((await cli('lint', 'profiles/fapi2-security.yaml')).out).toMatch(new RegExp(`^0 error\\(s\\), 0 warning\\(s\\), ${shipped} profile\\(s\\) loaded$`, 'm'));
    const link = join(tmp, 'linked-profiles');
    symlinkSync(resolve('profiles'), link);
    expect((await cli('lint', link)).out).toMatch(/^0 error\(s\)/m);
  });

  it('never lets an explicit file silently lose to a directory copy, even an identical one', async () => {
    const copy = set('copy', {});
    copyFileSync(SHIPPED, join(copy, 'fapi2-security.yaml'));
    const facts = join(tmp, 'tls13.json');
    writeFileSync(facts, JSON.stringify({ protocol: 'TLSv1.3', endpoint_kind: 'api' }));
    const r = await cli('check', '--profile', join(copy, 'fapi2-security.yaml'), '--stage', 'tls', facts);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^fapi-policy check: profile 'fapi2-security' failed to load:$/m);
    expect(r.err).toContain(`${join(copy, 'fapi2-security.yaml')}${ID_AT}: profile id 'fapi2-security' is defined more than once: here and in ${SHIPPED}`);
  });
});

describe('red team, class 2: pinning and shadowing a base', () => {
  it('refuses a pin that is not the loaded base\'s digest, at the pin', async () => {
    const r = await cli('lint', fixture('identity/pinned-wrong.yaml'));
    expect(r.code).toBe(1);
    const digest = JSON.parse((await cli('compile', 'fapi2-security', '--json')).out).digest as string;
    expect(r.out).toContain(`pinned-wrong.yaml:9:11: extends pins fapi2-security at sha256:${'0'.repeat(64)}, but the fapi2-security of this set is ${digest}`);
    const right = set('pinned', { 'pinned-right.yaml': readFileSync(fixture('identity/pinned-wrong.yaml'), 'utf8').replace('pinned-wrong', 'pinned-right').replace(/sha256:0+/, digest) });
    expect((await cli('lint', join(right, 'pinned-right.yaml'))).out).toMatch(/^0 error\(s\)/m);
  });

  it('reports a base that shadows a shipped profile, and fails an overlay that does not pin it', async () => {
    const pinned = (digest: string) => acmeText.replace('id: acme', 'id: acme-pinned').replace('extends: fapi2-security', `extends: {id: fapi2-security, digest: "${digest}"}`);
    const dir = set('shadow', { 'fapi2-security.yaml': weakenedText, 'acme.yaml': acmeText });
    const digest = JSON.parse((await cli('compile', 'fapi2-security', '--json', '--profiles', dir)).out).digest as string;
    writeFileSync(join(dir, 'acme-pinned.yaml'), pinned(digest));
    const r = await cli('lint', dir, '--profiles', dir);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(new RegExp(`shadow/fapi2-security\\.yaml:\\d+:5: warning: fapi2-security shadows the shipped fapi2-security \\(${SHIPPED.replaceAll('/', '\\/')}\\): its content differs`));
    expect(r.out).toContain(`shadow/acme.yaml:6:10: extends fapi2-security, which shadows the shipped fapi2-security with different content: pin the base you mean, extends: {id: fapi2-security, digest: ${digest}}`);
    expect(r.out).not.toMatch(/acme-pinned\.yaml/);
    expect(r.out).toMatch(/^1 error\(s\), 1 warning\(s\)/m);
  });

  it('does not report a faithful copy of a shipped profile', async () => {
    const dir = set('faithful', { 'fapi2-security.yaml': `# vendored\n${shippedText}`, 'acme.yaml': acmeText });
    const r = await cli('lint', dir, '--profiles', dir);
    expect(r.out).toMatch(/^0 error\(s\), 0 warning\(s\)/m);
  });
});
