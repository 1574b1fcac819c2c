/** Compares two compiled profiles: each setting and rule marked tighter, looser, added or removed (b against a). */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { canonicalJson } from '../engine/digest.js';
import { walk } from '../engine/logic/node.js';
import type { RuleSpec } from '../engine/rule.js';
import type { Waiver } from '../engine/types.js';
import { readersOf } from './monotone.js';
import { compareSetting, type Direction } from './refine.js';
import { SETTING_KINDS, type RefineKind } from './schema.js';

export interface SettingChange {
  setting: string;
  kind: RefineKind;
  from: unknown;
  to: unknown;
  change: Exclude<Direction, 'same'>;
  /** The rules of b that read the setting: none means the change decides nothing (yet). */
  readBy: string[];
}

export interface RuleChange {
  rule: string;
  clause: string;
  change: 'added' | 'removed' | 'tighter' | 'looser' | 'changed';
  detail?: string;
}

export interface ProfileDiff {
  from: { id: string; digest: string };
  to: { id: string; digest: string };
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
    if (change !== 'same') settings.push({ setting, kind, from, to, change, readBy: readers.get(setting) ?? [] });
  }
  return {
    from: { id: a.id, digest: a.digest },
    to: { id: b.id, digest: b.digest },
    settings,
    rules: diffRules(a.resolved.rules, b.resolved.rules),
    waivers: [...a.waivers.map((w) => ({ ...w, in: a.id })), ...b.waivers.map((w) => ({ ...w, in: b.id }))],
  };
}

function diffRules(before: readonly RuleSpec[], after: readonly RuleSpec[]): RuleChange[] {
  const old = new Map(before.map((r) => [r.id, r]));
  const now = new Map(after.map((r) => [r.id, r]));
  const out: RuleChange[] = [];
  for (const r of after) {
    const prev = old.get(r.id);
    if (!prev) out.push({ rule: r.id, clause: r.clause, change: 'added' });
    else if (canonicalJson(prev) !== canonicalJson(r)) out.push(changed(prev, r));
  }
  for (const r of before) if (!now.has(r.id)) out.push({ rule: r.id, clause: r.clause, change: 'removed' });
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
