/** What every command shares: where profiles come from, output mode, exit codes. */
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { BUNDLED_PROFILES_DIR, loadProfiles, type LoadOptions } from '../profile/files.js';
import type { ProfileSet } from '../profile/load.js';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { formatDiagnostic } from '../profile/diagnostics.js';

export const EXIT = { ok: 0, deny: 1, usage: 2 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
  /** Standard input as a stream, for commands that read more than readStdin's bound (shadow report). */
  stdin?: () => AsyncIterable<Buffer | string>;
}

/** Directories searched for profile ids: --profiles, else ./profiles, else the bundled set. */
export function profileDirs(given: readonly string[] | undefined): string[] {
  if (given?.length) return given.map((d) => resolve(d));
  const local = resolve('profiles');
  return existsSync(local) && statSync(local).isDirectory() ? [local] : [BUNDLED_PROFILES_DIR];
}

/** Loads the search dirs plus any explicit file arguments; returns the set and the ids the arguments name. */
export async function loadFor(dirs: readonly string[], refs: readonly string[], options: LoadOptions = {}): Promise<{ set: ProfileSet; ids: string[] }> {
  const files = refs.filter((r) => /\.ya?ml$/.test(r) && existsSync(r)).map((r) => resolve(r));
  const set = await loadProfiles([...new Set([...dirs, ...files])], options);
  return { set, ids: refs.map((r) => (/\.ya?ml$/.test(r) ? basename(r).replace(/\.ya?ml$/, '') : r)) };
}

/** The profile, or a usage error that says why it is not there: never "unknown" for one that failed to load. */
export function requireProfile(set: ProfileSet, id: string): CompiledProfile {
  const profile = set.get(id);
  if (profile) return profile;
  const files = set.filesOf(id);
  if (files.length) {
    const own = set.diagnostics.filter((d) => d.severity === 'error' && files.includes(d.file));
    throw new UsageError(`profile '${id}' failed to load:\n${own.map(formatDiagnostic).join('\n') || `(see ${files.join(', ')})`}`);
  }
  throw new UsageError(`unknown profile '${id}' (known: ${set.ids().join(', ') || 'none'})`);
}
