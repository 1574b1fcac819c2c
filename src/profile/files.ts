/** Reading profile documents from disk: the only I/O of the profile layer, bounded in count and size. */
import { existsSync } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProfileSet, type DocumentInput, type ProfileSet, type ShippedProfile } from './load.js';
import { ProfileLoadError } from './diagnostics.js';
import { documentDigest, idFromFile } from './documents.js';
import { parseSource, YAML_LIMITS } from './source.js';

const MAX_FILES = 1000;

/** The profiles shipped with the package: `profiles/` beside its package.json (from src/ or dist/src/). */
export const BUNDLED_PROFILES_DIR = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 4 && !existsSync(join(dir, 'package.json')); up++) dir = dirname(dir);
  return join(dir, 'profiles');
})();

const YAML_FILE = /\.ya?ml$/;

const TESTS_FILE = /\.tests\.ya?ml$/;

/**
 * Lists the YAML files under the given files or directories (recursively, hidden entries skipped).
 * Sibling `*.tests.yaml` files are listed only when asked for: servers never need them.
 */
export async function findProfileFiles(paths: readonly string[], options: { tests?: boolean } = {}): Promise<string[]> {
  const found: string[] = [];
  // A file or directory reached twice (a file argument inside a directory argument, a symlink) is
  // one document, not two copies of an id.
  const seen = new Set<string>();
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const real = await realpath(path);
    if (seen.has(real)) return;
    seen.add(real);
    const info = await stat(path);
    if (info.isDirectory()) {
      const entries = (await readdir(path)).filter((e) => !e.startsWith('.')).sort();
      for (const entry of entries) await visit(join(path, entry), false);
    } else if (explicit || (YAML_FILE.test(path) && (options.tests || !TESTS_FILE.test(path)))) {
      if (found.length >= MAX_FILES) throw new Error(`more than ${MAX_FILES} profile files`);
      found.push(path);
      // A profile named on its own brings its sibling vectors along when vectors are wanted.
      const sibling = path.replace(YAML_FILE, '.tests.yaml');
      if (explicit && options.tests && !TESTS_FILE.test(path) && sibling !== path && existsSync(sibling)) await visit(sibling, false);
    }
  };
  for (const p of paths) await visit(p, true);
  return found;
}

const READ_CHUNK = 64 * 1024;

/**
 * Reads at most one byte past the size limit, so a huge file is refused without being held in
 * memory; memory follows the files' real sizes (a chunk at a time), not the limit times the count.
 */
export async function readDocuments(files: readonly string[]): Promise<DocumentInput[]> {
  return Promise.all(files.map(async (file) => ({ file, text: await readBoundedText(file, YAML_LIMITS.maxBytes + 1) })));
}

async function readBoundedText(file: string, max: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < max) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, max - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, total);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
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
  const set = buildProfileSet(await readDocuments(files), { shipped: await shippedCounterparts(files) });
  if (options.strict && !set.ok) throw new ProfileLoadError([...set.diagnostics]);
  return set;
}

/**
 * The shipped profiles that files of the set take the id of without being those files: their
 * document digests, so the set can tell a faithful copy from one that shadows the original.
 */
async function shippedCounterparts(files: readonly string[]): Promise<Map<string, ShippedProfile>> {
  const shipped = new Map<string, ShippedProfile>();
  for (const file of files) {
    if (TESTS_FILE.test(file)) continue;
    const id = idFromFile(file);
    const original = join(BUNDLED_PROFILES_DIR, `${id}.yaml`);
    if (shipped.has(id) || !existsSync(original) || (await realpath(file)) === (await realpath(original))) continue;
    const [document] = await readDocuments([original]);
    const parsed = parseSource(original, (document as DocumentInput).text);
    if (parsed.ok) shipped.set(id, { file: original, digest: documentDigest(parsed.source.data) });
  }
  return shipped;
}
