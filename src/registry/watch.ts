/**
 * File watching that survives the ways profiles are deployed. Every directory is watched on its own,
 * never recursively: on Linux, Node 20's recursive watch stops reporting a file once it has been
 * replaced by a rename (the atomic deploy), while a plain directory watch reports every entry that is
 * written, created, deleted or renamed, whatever its inode. What to watch is recomputed after every
 * reload and every periodic disk check, so directories that appear, disappear or are swapped (a
 * symlink flip, as a Kubernetes ConfigMap does with `..data`) are followed; a directory whose inode
 * changed under the same path is watched anew.
 *
 * The watch makes reloads prompt; it is not what makes them certain: the registry's periodic disk
 * check compares content digests and catches whatever a watch missed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join, parse, resolve, sep } from 'node:path';
import type { Logger } from 'pino';

/** A directory to watch (not recursively), for changes of the named entries only, or of any. */
export interface WatchTarget {
  dir: string;
  names?: readonly string[];
}

/** Symlinks followed while resolving one path, and directories walked under one root. */
const MAX_HOPS = 32;
const MAX_DIRS = 1000;

/**
 * The directory entries a path depends on: each symlink met while resolving it, and the entry it
 * finally resolves to (in its real parent). A missing component is watched for in the deepest
 * directory that exists, so the path is noticed when it appears.
 */
export async function entriesOf(path: string, hops = 0): Promise<WatchTarget[]> {
  const { root } = parse(path);
  const parts = path.slice(root.length).split(sep).filter(Boolean);
  const out: WatchTarget[] = [];
  let at = root;
  for (let k = 0; k < parts.length; k++) {
    const name = parts[k] as string;
    const next = join(at, name);
    const info = await lstat(next).catch(() => null);
    if (!info) return [...out, { dir: at, names: [name] }];
    if (info.isSymbolicLink() && hops < MAX_HOPS) {
      out.push({ dir: at, names: [name] });
      const target = resolve(at, await readlink(next));
      return [...out, ...(await entriesOf(join(target, ...parts.slice(k + 1)), hops + 1))];
    }
    at = next;
  }
  return at === root ? out : [...out, { dir: dirname(at), names: [basename(at)] }];
}

/**
 * The directories under `root` (itself included), hidden entries skipped as the profile loader
 * skips them, each real directory once (a symlink loop ends there), at most MAX_DIRS.
 */
export async function directoriesUnder(root: string): Promise<string[]> {
  const found: string[] = [];
  const seen = new Set<string>();
  const visit = async (dir: string): Promise<void> => {
    const info = await stat(dir).catch(() => null);
    const id = info?.isDirectory() ? `${info.dev}:${info.ino}` : null;
    if (!id || seen.has(id) || found.length >= MAX_DIRS) return;
    seen.add(id);
    found.push(dir);
    const entries = await readdir(dir).catch(() => [] as string[]);
    for (const entry of entries) if (!entry.startsWith('.')) await visit(join(dir, entry));
  };
  await visit(root);
  return found;
}

/** One watcher per directory: `names` undefined means every entry matters. */
interface Watched {
  watcher: FSWatcher;
  /** dev:ino of the directory when the watch was set: the same path may later name another. */
  id: string;
  names: ReadonlySet<string> | undefined;
}

export class DirectoryWatches {
  private readonly watched = new Map<string, Watched>();

  /** `onChange` hears the directory and the entry name (null when the platform gives none). */
  constructor(private readonly onChange: (dir: string, name: string | null) => void, private readonly log: Logger) {}

  /**
   * Watches exactly the directories of `targets` from now on; resolves how many watches began now
   * (a change made in those directories before this call was not seen). Never rejects.
   */
  async sync(targets: readonly WatchTarget[]): Promise<number> {
    const wanted = merge(targets);
    let started = 0;
    for (const dir of this.watched.keys()) if (!wanted.has(dir)) this.unwatch(dir);
    for (const [dir, names] of wanted) {
      const info = await stat(dir).catch(() => null);
      const id = info?.isDirectory() ? `${info.dev}:${info.ino}` : null;
      const current = this.watched.get(dir);
      if (current && current.id === id) {
        current.names = names;
        continue;
      }
      this.unwatch(dir);
      if (id && this.start(dir, id, names)) started++;
    }
    return started;
  }

  /** The directories watched now (for tests and status). */
  directories(): string[] {
    return [...this.watched.keys()].sort();
  }

  close(): void {
    for (const dir of [...this.watched.keys()]) this.unwatch(dir);
  }

  private start(dir: string, id: string, names: ReadonlySet<string> | undefined): boolean {
    try {
      const entry: Watched = { id, names, watcher: watch(dir, { persistent: false }, (_event, name) => {
        const entryName = name === null ? null : String(name);
        if (!entry.names || entryName === null || entry.names.has(entryName)) this.onChange(dir, entryName);
      }) };
      entry.watcher.on('error', (e) => {
        this.log.warn({ path: dir }, `file watch stopped: ${e.message}; the periodic disk check still applies`);
        if (this.watched.get(dir) === entry) this.unwatch(dir);
        this.onChange(dir, null);
      });
      this.watched.set(dir, entry);
      return true;
    } catch (e) {
      this.log.warn({ path: dir }, `cannot watch: ${(e as Error).message}; the periodic disk check still applies`);
      return false;
    }
  }

  private unwatch(dir: string): void {
    this.watched.get(dir)?.watcher.close();
    this.watched.delete(dir);
  }
}

/** One entry per directory; a target without names widens it to every entry. */
function merge(targets: readonly WatchTarget[]): Map<string, ReadonlySet<string> | undefined> {
  const out = new Map<string, Set<string> | undefined>();
  for (const t of targets) {
    if (out.has(t.dir) && out.get(t.dir) === undefined) continue;
    if (!t.names) out.set(t.dir, undefined);
    else out.set(t.dir, new Set([...(out.get(t.dir) ?? []), ...t.names]));
  }
  return out;
}
