/** Reading profile documents from disk: the only I/O of the profile layer, bounded in count and size. */
import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProfileSet, type DocumentInput, type ProfileSet } from './load.js';
import { ProfileLoadError } from './diagnostics.js';
import { YAML_LIMITS } from './source.js';

export const MAX_FILES = 1000;

/** The profiles shipped with the package. */
export const BUNDLED_PROFILES_DIR = fileURLToPath(new URL('../../../profiles', import.meta.url));

const YAML_FILE = /\.ya?ml$/;

const TESTS_FILE = /\.tests\.ya?ml$/;

/**
 * Lists the YAML files under the given files or directories (recursively, hidden entries skipped).
 * Sibling `*.tests.yaml` files are listed only when asked for: servers never need them.
 */
export async function findProfileFiles(paths: readonly string[], options: { tests?: boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      const entries = (await readdir(path)).filter((e) => !e.startsWith('.')).sort();
      for (const entry of entries) await visit(join(path, entry), false);
    } else if (explicit || (YAML_FILE.test(path) && (options.tests || !TESTS_FILE.test(path)))) {
      if (found.length >= MAX_FILES) throw new Error(`more than ${MAX_FILES} profile files`);
      found.push(path);
    }
  };
  for (const p of paths) await visit(p, true);
  return found;
}

/** Reads at most one byte past the size limit, so a huge file is refused without being held in memory. */
export async function readDocuments(files: readonly string[]): Promise<DocumentInput[]> {
  return Promise.all(
    files.map(async (file) => {
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(YAML_LIMITS.maxBytes + 1);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        return { file, text: buffer.subarray(0, bytesRead).toString('utf8') };
      } finally {
        await handle.close();
      }
    }),
  );
}

export interface LoadOptions {
  /** Throw ProfileLoadError when any document has an error (servers start only on a clean set). */
  strict?: boolean;
  /** Also read the sibling `<id>.tests.yaml` files (for `test` and `lint`). */
  tests?: boolean;
}

/** Loads every profile and test file under `paths` (default: the bundled profiles). */
export async function loadProfiles(paths: readonly string[] = [BUNDLED_PROFILES_DIR], options: LoadOptions = {}): Promise<ProfileSet> {
  const files = await findProfileFiles(paths.map((p) => resolve(p)), { tests: options.tests });
  const set = buildProfileSet(await readDocuments(files));
  if (options.strict && !set.ok) throw new ProfileLoadError([...set.diagnostics]);
  return set;
}
