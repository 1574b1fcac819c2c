import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectoryWatches, directoriesUnder, entriesOf } from '../src/registry/watch.js';
import { tempDir, until } from './pdp-helpers.js';

describe('what a path depends on', () => {
  it('a plain path: its entry in its parent', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'a.yaml'), 'x');
    expect(await entriesOf(join(dir, 'a.yaml'))).toEqual([{ dir, names: ['a.yaml'] }]);
  });

  it('a ConfigMap file: its own link, the ..data link, and the file in the current stamp directory', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..stamp_1'));
    writeFileSync(join(dir, '..stamp_1', 'a.yaml'), 'x');
    symlinkSync('..stamp_1', join(dir, '..data'));
    symlinkSync('..data/a.yaml', join(dir, 'a.yaml'));
    expect(await entriesOf(join(dir, 'a.yaml'))).toEqual([
      { dir, names: ['a.yaml'] },
      { dir, names: ['..data'] },
      { dir: join(dir, '..stamp_1'), names: ['a.yaml'] },
    ]);
  });

  it('a missing path: the deepest directory that exists, for the name that would appear there', async () => {
    const dir = tempDir();
    expect(await entriesOf(join(dir, 'not', 'yet'))).toEqual([{ dir, names: ['not'] }]);
  });

  it('a symlink loop ends after a bounded number of hops', async () => {
    const dir = tempDir();
    symlinkSync(join(dir, 'b'), join(dir, 'a'));
    symlinkSync(join(dir, 'a'), join(dir, 'b'));
    const entries = await entriesOf(join(dir, 'a'));
    expect(entries.length).toBeGreaterThan(2);
    expect(entries.length).toBeLessThanOrEqual(34);
  });

  it('directories under a root: hidden ones skipped, each real directory once (a loop ends)', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'x', 'y'), { recursive: true });
    mkdirSync(join(dir, '.hidden'));
    symlinkSync(dir, join(dir, 'x', 'loop'));
    expect((await directoriesUnder(dir)).sort()).toEqual([dir, join(dir, 'x'), join(dir, 'x', 'y')]);
  });
});

describe('DirectoryWatches', () => {
  let watches: DirectoryWatches | undefined;
  afterEach(() => watches?.close());

  it('reports only the named entries of a directory, and any entry of one watched whole', async () => {
    const named = tempDir();
    const whole = tempDir();
    const heard: string[] = [];
    watches = new DirectoryWatches((dir, name) => heard.push(`${dir === named ? 'named' : 'whole'}/${name}`), pino({ enabled: false }));
    expect(await watches.sync([{ dir: named, names: ['a.yaml'] }, { dir: whole }])).toBe(2);
    writeFileSync(join(named, 'other'), 'x');
    writeFileSync(join(named, 'a.yaml'), 'x');
    // Events of one inotify queue arrive in order: once the last write is heard, so was anything before it.
    writeFileSync(join(whole, 'sentinel'), 'x');
    await until(() => heard.includes('whole/sentinel'));
    expect(heard).toContain('named/a.yaml');
    expect(heard).not.toContain('named/other');
    expect(await watches.sync([{ dir: named, names: ['a.yaml'] }, { dir: named }])).toBe(0);
    writeFileSync(join(named, 'other'), 'y');
    await until(() => heard.includes('named/other'));
  });

  it('watches a path anew once it names another directory, and drops what is no longer wanted', async () => {
    const base = tempDir();
    mkdirSync(join(base, 'r1'));
    mkdirSync(join(base, 'r2'));
    symlinkSync(join(base, 'r1'), join(base, 'current'));
    let n = 0;
    watches = new DirectoryWatches(() => n++, pino({ enabled: false }));
    expect(await watches.sync([{ dir: join(base, 'current') }, { dir: join(base, 'r2') }])).toBe(2);
    symlinkSync(join(base, 'r2'), join(base, 'next'));
    renameSync(join(base, 'next'), join(base, 'current'));
    rmSync(join(base, 'r1'), { recursive: true });
    expect(await watches.sync([{ dir: join(base, 'current') }])).toBe(1);
    expect(watches.directories()).toEqual([join(base, 'current')]);
    const before = n;
    writeFileSync(join(base, 'r2', 'a.yaml'), 'x');
    await until(() => n > before);
    expect(await watches.sync([{ dir: join(base, 'gone') }])).toBe(0);
    expect(watches.directories()).toEqual([]);
  });
});
