import { resolve, sep } from 'node:path';
import { formatDiagnostic, oneLine } from '../../profile/diagnostics.js';
import { diffProfiles } from '../../profile/diff.js';
import { loadProfiles } from '../../profile/files.js';
import type { ProfileSet, WaiverRecord } from '../../profile/load.js';
import { parse } from '../args.js';
import { EXIT, profileDirs, UsageError, type Io } from '../context.js';
import { describeWaiver, json, showValue } from '../output.js';
import type { Command } from './command.js';

export const lint: Command = {
  name: 'lint',
  summary: 'Check profiles: schema, semantics and the tighten-only refinement of overlays',
  usage: `fapi-policy lint <file|dir>... [--profiles <dir>] [--json]

Reports every problem as file:line:col: message. Bases named by \`extends\` are looked up in the
given paths and in --profiles (default ./profiles, else the bundled profiles). Every waiver of each
linted profile's whole chain is listed with the values it allows and where it was declared; a
setting an overlay changes that no rule reads is noted (it changes no decision).
Exit 0 when clean, 1 on any error, 2 on bad usage.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {});
    if (!positionals.length) throw new UsageError('lint needs at least one file or directory');
    const targets = positionals.map((p) => resolve(p));
    const set = await loadProfiles([...new Set([...targets, ...profileDirs(values.profiles as string[] | undefined)])], { tests: true });
    const mine = (file: string) => targets.some((t) => file === t || file.startsWith(t + sep));
    const diagnostics = set.diagnostics.filter((d) => mine(d.file));
    const linted = set.ids().filter((id) => mine(set.files.get(id) ?? ''));
    const waivers = chainWaivers(set, linted);
    const notes = linted.flatMap((id) => unreadChanges(set, id));
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    if (values.json) {
      io.out(json({ ok: errors === 0, diagnostics, waivers, notes }, true));
    } else {
      for (const d of diagnostics) io.out(formatDiagnostic(d));
      for (const w of waivers) io.out(oneLine(`waiver: ${w.profile} ${describeWaiver(w)}: ${w.reason} (${w.file}:${w.line}:${w.col})`));
      for (const n of notes) io.out(`note: ${n.profile} settings.${n.setting}: ${showValue(n.from)} -> ${showValue(n.to)} (${n.change}) changes no decision: no rule reads it`);
      io.out(`${errors} error(s), ${diagnostics.length - errors} warning(s), ${set.ids().length} profile(s) loaded`);
    }
    return errors ? EXIT.deny : EXIT.ok;
  },
};

/** Every waiver of the linted profiles' chains, once each, in chain order. */
function chainWaivers(set: ProfileSet, ids: readonly string[]): WaiverRecord[] {
  const seen = new Map<string, WaiverRecord>();
  for (const id of ids) for (const w of set.waiversOf(id)) seen.set(`${w.file}:${w.line}:${w.col}`, w);
  return [...seen.values()];
}

/** Settings an overlay changes that no rule of it reads: tighter or not, they decide nothing. */
function unreadChanges(set: ProfileSet, id: string) {
  const profile = set.get(id);
  const base = profile && set.get(profile.resolved.extends[0] ?? '');
  if (!profile || !base) return [];
  return diffProfiles(base, profile).settings.filter((s) => !s.readBy.length).map((s) => ({ profile: id, setting: s.setting, from: s.from, to: s.to, change: s.change }));
}
