import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

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
