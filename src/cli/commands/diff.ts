import { STAGES, type Stage } from '../../engine/types.js';
import { diffProfiles, type ProfileDiff, type SettingChange } from '../../profile/diff.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { describeWaiver, json, plural, showValue } from '../output.js';

export const diff: Command = {
  name: 'diff',
  summary: 'Compare two profiles: settings and rules marked tighter, looser, added or removed',
  usage: `fapi-policy diff <a> <b> [--profiles <dir>] [--json]

Reads <b> against <a> as a regulator's summary: how the two relate, a one-paragraph summary, then each
setting that differs (tighter or looser by the setting's refinement kind, the new value in words and
what the setting means; marked when no rule of <b> reads it, so it changes no decision), each rule
added, removed (with the waiver that lifted it), tighter (only the severity rose), looser (severity
fell) or changed (a different check, when or stage is "not proven tighter"), grouped by stage with
what it asks, and the waivers: those <b> adds with their reasons and values, those both chains share.`,
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

/** The new value in words, by what the kind of setting means. */
function meaning(s: SettingChange): string {
  switch (s.kind) {
    case 'allow-list': return Array.isArray(s.to) && s.to.length ? `only ${(s.to as unknown[]).join(', ')} allowed` : 'nothing allowed';
    case 'required-list': return `required: ${Array.isArray(s.to) && s.to.length ? (s.to as unknown[]).join(', ') : 'nothing'}`;
    case 'maximum': return `at most ${showValue(s.to)}`;
    case 'minimum': return `at least ${showValue(s.to)}`;
    case 'require': return s.to === true ? 'now required' : 'no longer required';
    case 'permit': return s.to === true ? 'now permitted' : 'no longer permitted';
  }
}

/** Rules read in the order a flow meets their stages (discovery first). */
const stageOrder = (r: { stages?: readonly string[] }) => (r.stages?.length ? STAGES.indexOf(r.stages[0] as Stage) : STAGES.length);


function relation(d: ProfileDiff): string {
  const [a, b] = [d.from, d.to];
  const via = (chain: string[], to: string) => chain.slice(0, chain.indexOf(to));
  if (b.extends.includes(a.id)) {
    const through = via(b.extends, a.id);
    return `${b.id} builds on ${a.id}${through.length ? ` through ${through.join(', ')}` : ' directly'}.`;
  }
  if (a.extends.includes(b.id)) return `${a.id} builds on ${b.id}: this reads the base against its overlay.`;
  return `${a.id} and ${b.id} do not build on one another; every difference is listed.`;
}

function summary(d: ProfileDiff, waivers: DiffWaiver[]): string {
  const n = (c: string) => d.settings.filter((s) => s.change === c).length;
  const r = (c: string) => d.rules.filter((x) => x.change === c).length;
  const own = waivers.filter((w) => w.in === d.to.id && !waivers.some((o) => o.in === d.from.id && sameWaiver(o, w)));
  return `${d.to.id} is stricter than ${d.from.id} in ${plural(n('tighter'), 'setting')} and looser in ${n('looser') ? plural(n('looser'), 'setting') : 'none'}`
    + `${n('changed') ? ` (${plural(n('changed'), 'other change')})` : ''}; it adds ${plural(r('added'), 'rule')}, removes ${r('removed') || 'none'}`
    + `${r('tighter') + r('looser') + r('changed') ? `, and changes ${r('tighter') + r('looser') + r('changed')}` : ''}; `
    + `it declares ${own.length ? plural(own.length, 'waiver') : 'no waiver'} beyond ${d.from.id}'s.`;
}

type DiffWaiver = ProfileDiff['waivers'][number] & { from?: unknown; to?: unknown };

const sameWaiver = (x: DiffWaiver, y: DiffWaiver) => x.profile === y.profile && x.rule === y.rule && x.setting === y.setting;

/** A regulator's summary of b against a: what is stricter, what is new, what is waived, and why. */
function humanDiff(d: ProfileDiff & { waivers: DiffWaiver[] }): string {
  const lines = [
    `${d.to.id}: ${d.to.title} ${d.to.version}`,
    `  against ${d.from.id}: ${d.from.title} ${d.from.version}`,
    `  ${relation(d)}`, '', `Summary: ${summary(d, d.waivers)}`, '', `Settings (${d.settings.length} differ):`,
  ];
  const width = Math.max(0, ...d.settings.map((s) => s.setting.length));
  for (const s of d.settings) {
    lines.push(`  ${s.change.padEnd(7)} ${s.setting.padEnd(width)}  ${change(s.from, s.to)}${s.readBy.length ? '' : '  (no rule reads it: changes no decision)'}`);
    lines.push(`          ${meaning(s)}. ${s.description}`);
    const waiver = s.change === 'looser' && d.waivers.find((w) => w.in === d.to.id && w.setting === s.setting);
    if (waiver) lines.push(`          waived by ${waiver.profile}: ${waiver.reason}`);
  }
  const order = ['added', 'removed', 'tighter', 'looser', 'changed'];
  lines.push('', `Rules (${d.rules.length} differ):`);
  const sorted = [...d.rules].sort((a, b) => order.indexOf(a.change) - order.indexOf(b.change)
    || stageOrder(a) - stageOrder(b) || a.rule.localeCompare(b.rule));
  for (const r of sorted) {
    lines.push(`  ${r.change.padEnd(7)} ${r.rule}  [${r.clause}]${r.detail ? `  ${r.detail}` : ''}`);
    if (r.message) lines.push(`          at ${(r.stages ?? []).join(', ')} (${r.severity === 'warning' ? 'warns' : 'refuses'}): ${r.message}`);
    if (r.waived) lines.push(`          waived by ${r.waived.profile}: ${r.waived.reason}`);
  }
  const fresh = d.waivers.filter((w) => w.in === d.to.id && !d.waivers.some((o) => o.in === d.from.id && sameWaiver(o, w)));
  const shared = d.waivers.filter((w) => w.in === d.from.id && d.waivers.some((o) => o.in === d.to.id && sameWaiver(o, w)));
  const gone = d.waivers.filter((w) => w.in === d.from.id && !shared.includes(w));
  if (fresh.length || shared.length || gone.length) {
    lines.push('', 'Waivers:');
    for (const w of fresh) lines.push(`  ${w.in}: ${describeWaiver(w)} (declared by ${w.profile}): ${w.reason}`);
    if (shared.length) lines.push(`  unchanged from ${d.from.id}'s chain: ${shared.map((w) => `${w.rule ?? `settings.${w.setting}`} (${w.profile})`).join(', ')}`);
    for (const w of gone) lines.push(`  only in ${d.from.id}'s chain: ${describeWaiver(w)} (declared by ${w.profile}): ${w.reason}`);
  }
  const unread = d.settings.filter((s) => !s.readBy.length);
  if (unread.length) lines.push('', `Note: ${plural(unread.length, 'changed setting')} no rule of ${d.to.id} reads (${unread.map((s) => s.setting).join(', ')}): an authorization server configuring itself from them behaves differently, but no decision changes.`);
  return lines.join('\n');
}
