import { loadProfiles } from '../../profile/files.js';
import { parse } from '../args.js';
import { EXIT, profileDirs, type Io } from '../context.js';
import type { Command } from './command.js';

/** `npm start`: until the servers exist, shows what is loaded and how to use the CLI. */
export const start: Command = {
  name: 'start',
  summary: 'Show the loaded profiles (the decision service and reference AS will start here)',
  usage: `fapi-policy start [--profiles <dir>]`,
  async run(argv: string[], io: Io) {
    const { values } = parse(argv, {});
    const set = await loadProfiles(profileDirs(values.profiles as string[] | undefined));
    io.out('Loaded profiles:');
    for (const id of set.ids()) {
      const p = set.get(id)!;
      io.out(`  ${id.padEnd(24)} ${p.version.padEnd(10)} ${String(p.rules.length).padStart(3)} rules  ${p.digest.slice(0, 19)}…`);
    }
    for (const id of set.failed) io.out(`  ${id.padEnd(24)} FAILED to load (run: fapi-policy lint profiles)`);
    return set.ok ? EXIT.ok : EXIT.deny;
  },
};
