/** Compares two compiled profiles: each setting and rule marked tighter, looser, added or removed (b against a). */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { canonicalJson } from '../engine/digest.js';
import { walk } from '../engine/logic/node.js';
import { stagesOf, type RuleSpec } from '../engine/rule.js';
import type { Stage, Waiver } from '../engine/types.js';
import { readersOf } from './monotone.js';
import { compareSetting, type Direction } from './refine.js';
import { SETTING_DESCRIPTIONS, SETTING_KINDS, type RefineKind } from './schema.js';

export interface SettingChange {
  setting: string;
  kind: RefineKind;
  from: unknown;
  to: unknown;
  change: Exclude<Direction, 'same'>;
  /** The rules of b that read the setting: none means the change decides nothing (yet). */
  readBy: string[];
  /** What the setting means (the profile schema's description). */
  description: string;
}

export interface RuleChange {
  rule: string;
  clause: string;
  change: 'added' | 'removed' | 'tighter' | 'looser' | 'changed';
  detail?: string;
  /** Where the rule decides, and what it asks (for an added or removed rule). */
  stages?: Stage[];
  severity?: RuleSpec['severity'];
  message?: string;
  /** For a removed rule: the waiver of b's chain that lifted it. */
  waived?: Waiver;
}

export interface DiffSide {
  id: string;
  title: string;
  version: string;
  digest: string;
  /** Its bases, nearest first. */
  extends: string[];
}

export interface ProfileDiff {
  from: DiffSide;
  to: DiffSide;
  settings: SettingChange[];
  rules: RuleChange[];
  waivers: Array<Waiver & { in: string }>;
}

export function diffProfiles(a: CompiledProfile, b: CompiledProfile): ProfileDiff {
  const settings: SettingChange[] = [];
  const readers = readersOf(b);
  for (const [setting, kind] of SETTING_KINDS) {
    const from = walk(a.settings, setting.split('.'));
    const to = walk(b.settings, setting.split('.'));
    const change = compareSetting(kind, from, to);
    if (change !== 'same') settings.push({ setting, kind, from, to, change, readBy: readers.get(setting) ?? [], description: SETTING_DESCRIPTIONS.get(setting) ?? '' });
  }
  const rules = diffRules(a.resolved.rules, b.resolved.rules).map((r) =>
    r.change === 'removed' ? { ...r, ...(b.waivers.find((w) => w.rule === r.rule) ? { waived: b.waivers.find((w) => w.rule === r.rule) } : {}) } : r);
  return {
    from: side(a),
    to: side(b),
    settings,
    rules,
    waivers: [...a.waivers.map((w) => ({ ...w, in: a.id })), ...b.waivers.map((w) => ({ ...w, in: b.id }))],
  };
}

function side(p: CompiledProfile): DiffSide {
  return { id: p.id, title: p.resolved.title, version: p.version, digest: p.digest, extends: [...p.resolved.extends] };
}

/** What an added or removed rule is: its stages and what it asks. */
function described(r: RuleSpec): Pick<RuleChange, 'stages' | 'severity' | 'message'> {
  return { stages: stagesOf(r), severity: r.severity, message: r.message };
}

function diffRules(before: readonly RuleSpec[], after: readonly RuleSpec[]): RuleChange[] {
  const old = new Map(before.map((r) => [r.id, r]));
  const now = new Map(after.map((r) => [r.id, r]));
  const out: RuleChange[] = [];
  for (const r of after) {
    const prev = old.get(r.id);
    if (!prev) out.push({ rule: r.id, clause: r.clause, change: 'added', ...described(r) });
    else if (canonicalJson(prev) !== canonicalJson(r)) out.push(changed(prev, r));
  }
  for (const r of before) if (!now.has(r.id)) out.push({ rule: r.id, clause: r.clause, change: 'removed', ...described(r) });
  return out;
}

/**
 * A rule of the same id in both. Only a severity raised with nothing else that decides changed is
 * proven tighter; a different check, `when` or stage may decide anything, so it is not.
 */
function changed(prev: RuleSpec, next: RuleSpec): RuleChange {
  const base = { rule: next.id, clause: next.clause };
  const differs = (f: keyof RuleSpec) => canonicalJson({ v: prev[f] }) !== canonicalJson({ v: next[f] });
  const deciding = (['check', 'when', 'stage'] as const).filter(differs);
  const severity = prev.severity !== next.severity ? `severity ${prev.severity} -> ${next.severity}` : undefined;
  if (severity && next.severity === 'warning') return { ...base, change: 'looser', detail: [severity, ...deciding.map((f) => `${f} differs`)].join('; ') };
  if (deciding.length) return { ...base, change: 'changed', detail: `not proven tighter: ${[...deciding.map((f) => `${f} differs`), ...(severity ? [severity] : [])].join('; ')}` };
  if (severity) return { ...base, change: 'tighter', detail: severity };
  const wording = (Object.keys({ ...prev, ...next }) as Array<keyof RuleSpec>).filter((f) => !['check', 'when', 'stage', 'severity'].includes(f) && differs(f));
  return { ...base, change: 'changed', detail: `decides the same; differs in ${wording.join(', ')}` };
}
