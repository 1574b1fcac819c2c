import { diffProfiles, type ProfileDiff } from '../../profile/diff.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { describeWaiver, json, showValue } from '../output.js';

export const diff: Command = {
  name: 'diff',
  summary: 'Compare two profiles: settings and rules marked tighter, looser, added or removed',
  usage: `fapi-policy diff <a> <b> [--profiles <dir>] [--json]

Reads <b> against <a>: a setting of <b> is "tighter" when it is stricter than in <a> by the setting's
refinement kind, and marked when no rule of <b> reads it (it changes no decision). Rules are added,
removed, tighter (only the severity rose), looser (severity fell) or changed: a different check,
when or stage is "not proven tighter". Waivers of both chains are listed with the values they allow.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {});
    if (positionals.length !== 2) throw new UsageError('diff takes two profile ids or files');
    const { set, ids } = await loadFor(profileDirs(values.profiles as string[] | undefined), positionals);
    const [a, b] = [requireProfile(set, ids[0] as string), requireProfile(set, ids[1] as string)];
    const detailed = (id: string) => set.waiversOf(id).map(({ file: _f, line: _l, col: _c, ...w }) => ({ ...w, in: id }));
    const result = { ...diffProfiles(a, b), waivers: [...detailed(a.id), ...detailed(b.id)] };
    io.out(values.json ? json(result, true) : humanDiff(result));
    return EXIT.ok;
  },
};

/** Lists read better as what was added and taken away than as two long lists. */
function change(from: unknown, to: unknown): string {
  if (!Array.isArray(from) || !Array.isArray(to)) return `${showValue(from)} -> ${showValue(to)}`;
  const added = to.filter((x) => !from.includes(x)).map((x) => `+${x}`);
  const removed = from.filter((x) => !to.includes(x)).map((x) => `-${x}`);
  return [...added, ...removed].join(' ') || `${showValue(from)} -> ${showValue(to)}`;
}

export function humanDiff(d: ProfileDiff): string {
  const lines = [`${d.from.id} -> ${d.to.id}`, '', `Settings (${d.settings.length} differ):`];
  const width = Math.max(0, ...d.settings.map((s) => s.setting.length));
  for (const s of d.settings) {
    lines.push(`  ${s.change.padEnd(7)} ${s.setting.padEnd(width)}  ${change(s.from, s.to)}${s.readBy.length ? '' : '  (no rule reads it: changes no decision)'}`);
  }
  const order = ['added', 'removed', 'tighter', 'looser', 'changed'];
  lines.push('', `Rules (${d.rules.length} differ):`);
  for (const r of [...d.rules].sort((a, b) => order.indexOf(a.change) - order.indexOf(b.change) || a.rule.localeCompare(b.rule))) {
    lines.push(`  ${r.change.padEnd(7)} ${r.rule}  [${r.clause}]${r.detail ? `  ${r.detail}` : ''}`);
  }
  if (d.waivers.length) {
    lines.push('', 'Waivers:');
    for (const w of d.waivers) lines.push(`  ${w.in}: ${describeWaiver(w)} (declared by ${w.profile}): ${w.reason}`);
  }
  return lines.join('\n');
}
