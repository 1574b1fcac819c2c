import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { idFromFile } from '../../src/profile/documents.js';
import { loadProfiles } from '../../src/profile/files.js';
import { vectorFacts } from '../../src/profile/vectors.js';

/** The red-team fixtures: overlays and sets written to slip past lint. */
export const RED_TEAM = fileURLToPath(new URL('./fixtures/', import.meta.url));

export const fixture = (path: string) => `${RED_TEAM}${path}`;

/** Runs the CLI in-process (bases resolve from ./profiles, the shipped set) and captures its output. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), readStdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * Loads the shipped profiles with an overlay and lists every deny vector of the overlay's bases
 * that the overlay allows: lint passing must mean this is empty (or covered by a waiver).
 */
export async function denialsLost(overlayFile: string, dirs: readonly string[] = ['profiles']): Promise<{ checked: number; lost: string[] }> {
  const set = await loadProfiles([...dirs, overlayFile], { tests: true });
  const overlay = set.get(idFromFile(overlayFile));
  if (!overlay) throw new Error(`${overlayFile} did not load: ${set.diagnostics.map((d) => d.message).join('; ')}`);
  let checked = 0;
  const lost: string[] = [];
  for (const suite of set.suites.filter((s) => overlay.resolved.extends.includes(s.profile))) {
    // A vector with settings of its own describes a variant of its profile, not the profile: left out.
    for (const vector of suite.vectors.filter((v) => v.expect === 'deny' && !v.settings)) {
      const facts = vectorFacts(suite, vector) as Record<string, unknown>;
      checked++;
      if (overlay.evaluate(vector.stage, facts).decision !== 'deny') lost.push(`${suite.profile}: ${vector.name}`);
    }
  }
  return { checked, lost };
}
