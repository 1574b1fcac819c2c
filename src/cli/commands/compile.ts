import { readersOf } from '../../profile/monotone.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import { json } from '../output.js';
import type { Command } from './command.js';

export const compile: Command = {
  name: 'compile',
  summary: 'Print the resolved, effective profile (settings, rules with clauses, digest) as JSON',
  usage: `fapi-policy compile <id|file> [--profiles <dir>] [--json]

Prints the profile after \`extends\` is resolved and overlays applied: settings, every rule with its
clause and stages, every waiver of its whole chain (with the profile that declared it and, for a
setting, the values it allows), the rules that read each setting (setting_readers; an empty list:
no rule decides on it), and the content digest. Pretty JSON by default, compact with --json.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {});
    if (positionals.length !== 1) throw new UsageError('compile takes exactly one profile id or file');
    const { set, ids } = await loadFor(profileDirs(values.profiles as string[] | undefined), positionals);
    const profile = requireProfile(set, ids[0] as string);
    const waivers = set.waiversOf(profile.id).map(({ file: _f, line: _l, col: _c, ...w }) => w);
    io.out(json({ ...profile.toJSON(), waivers, setting_readers: Object.fromEntries(readersOf(profile)) }, !values.json));
    return EXIT.ok;
  },
};
