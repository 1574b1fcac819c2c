import { resolve, sep } from 'node:path';
import { formatDiagnostic } from '../../profile/diagnostics.js';
import { loadProfiles } from '../../profile/files.js';
import { parse } from '../args.js';
import { EXIT, profileDirs, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { json } from '../output.js';

export const lint: Command = {
  name: 'lint',
  summary: 'Check profiles: schema, semantics and the tighten-only refinement of overlays',
  usage: `fapi-policy lint <file|dir>... [--profiles <dir>] [--json]

Reports every problem as file:line:col: message. Bases named by \`extends\` are looked up in the
given paths and in --profiles (default ./profiles, else the bundled profiles). Waivers are listed.
Exit 0 when clean, 1 on any error, 2 on bad usage.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {});
    if (!positionals.length) throw new UsageError('lint needs at least one file or directory');
    const targets = positionals.map((p) => resolve(p));
    const set = await loadProfiles([...new Set([...targets, ...profileDirs(values.profiles as string[] | undefined)])], { tests: true });
    const mine = (file: string) => targets.some((t) => file === t || file.startsWith(t + sep));
    const diagnostics = set.diagnostics.filter((d) => mine(d.file));
    const waivers = set.ids()
      .filter((id) => mine(set.files.get(id) ?? ''))
      .flatMap((id) => set.get(id)?.waivers.filter((w) => w.profile === id) ?? []);
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    if (values.json) {
      io.out(json({ ok: errors === 0, diagnostics, waivers }, true));
    } else {
      for (const d of diagnostics) io.out(formatDiagnostic(d));
      for (const w of waivers) io.out(`waiver: ${w.profile} ${w.setting ? `settings.${w.setting}` : `rule ${w.rule}`}: ${w.reason}`);
      io.out(`${errors} error(s), ${diagnostics.length - errors} warning(s), ${set.ids().length} profile(s) loaded`);
    }
    return errors ? EXIT.deny : EXIT.ok;
  },
};
