/** Compares two compiled profiles: each setting and rule marked tighter, looser, added or removed (b against a). */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { canonicalJson } from '../engine/digest.js';
import { walk } from '../engine/logic/node.js';
import type { RuleSpec } from '../engine/rule.js';
import type { Waiver } from '../engine/types.js';
import { compareSetting, type Direction } from './refine.js';
import { SETTING_KINDS, type RefineKind } from './schema.js';

export interface SettingChange {
  setting: string;
  kind: RefineKind;
  from: unknown;
  to: unknown;
  change: Exclude<Direction, 'same'>;
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
  for (const [setting, kind] of SETTING_KINDS) {
    const from = walk(a.settings, setting.split('.'));
    const to = walk(b.settings, setting.split('.'));
    const change = compareSetting(kind, from, to);
    if (change !== 'same') settings.push({ setting, kind, from, to, change });
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

function changed(prev: RuleSpec, next: RuleSpec): RuleChange {
  const base = { rule: next.id, clause: next.clause };
  if (prev.severity !== next.severity) {
    return { ...base, change: next.severity === 'error' ? 'tighter' : 'looser', detail: `severity ${prev.severity} -> ${next.severity}` };
  }
  // Wrapped, so an absent `when` or `path` serializes differently from one written as null.
  const fields = (['clause', 'stage', 'when', 'check', 'message', 'path'] as const).filter((f) => canonicalJson({ v: prev[f] }) !== canonicalJson({ v: next[f] }));
  return { ...base, change: 'changed', detail: `differs in ${fields.join(', ')}` };
}
