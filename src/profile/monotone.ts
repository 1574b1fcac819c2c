/**
 * Lint's two proofs that an overlay decides at least as strictly as its base.
 *
 * 1. By construction: every read of a setting by a rule has a polarity (engine/logic/polarity.ts,
 *    engine/schema-polarity.ts). A setting moved in its tighter direction must only make the rule's
 *    `when` hold more often and its check pass less often; a read the other way, or one whose way
 *    cannot be told, is an error in the profile that writes the rule.
 * 2. By replay: every deny vector of every ancestor still denies under the overlay, unless a
 *    waiver declared below that ancestor covers a rule that stopped failing.
 */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { SettingRead } from '../engine/rule.js';
import { SETTING_KINDS, type RefineKind } from './schema.js';
import { positionOf } from './source.js';
import { vectorFacts, type TestSuite } from './vectors.js';

/** Kinds whose tighter direction is up (true, larger, more members). */
const TIGHTER_IS_UP: Readonly<Record<RefineKind, boolean>> = {
  require: true, minimum: true, 'required-list': true, permit: false, maximum: false, 'allow-list': false,
};

const TIGHTENING: Readonly<Record<RefineKind, string>> = {
  'allow-list': 'removing members', 'required-list': 'adding members', maximum: 'lowering it', minimum: 'raising it',
  require: 'turning it on', permit: 'turning it off',
};

export interface PolarityProblem {
  rule: string;
  field: SettingRead['field'];
  pointer: string;
  message: string;
}

/** Reads, by the rules `own` accepts, that run against their setting's direction. */
export function polarityProblems(profile: CompiledProfile, own: (rule: string) => boolean): PolarityProblem[] {
  const out = new Map<string, PolarityProblem>();
  for (const read of profile.reads) {
    const key = `${read.rule}|${read.field}|${read.pointer}|${read.setting}`;
    if (!own(read.rule) || out.has(key)) continue;
    const message = contradiction(read);
    if (message) out.set(key, { rule: read.rule, field: read.field, pointer: read.pointer, message });
  }
  return [...out.values()];
}

function contradiction(read: SettingRead & { rule: string }): string | undefined {
  const kind = SETTING_KINDS.get(read.setting);
  const name = `settings.${read.setting}`;
  if (!kind) return `rule ${read.rule} reads ${name}, which is not a single setting: lint cannot tell which way it tightens. Read one setting.`;
  const wanted = read.field === 'when' ? '+' : '-';
  const effect = read.polarity === '?' || read.polarity === '0' || TIGHTER_IS_UP[kind] ? read.polarity : read.polarity === '+' ? '-' : '+';
  if (effect === '0' || effect === wanted) return undefined;
  const detail = effect === '?'
    ? `lint cannot tell which way the rule moves when it tightens (${read.why ?? 'unknown'})`
    : `tightening it (${TIGHTENING[kind]}) ${read.field === 'when' ? 'can stop the rule from applying' : 'can make the check pass'}`;
  return `rule ${read.rule} reads ${name} (${kind}) against its direction in ${read.field}: ${detail}, so a tighter overlay could allow what the rule denies. Read the setting so that tightening it can only make the rule deny more.`;
}

export interface ReplayProblem {
  /** An overlay setting the surviving rules read, to point at; else the problem sits on `extends`. */
  setting?: string;
  message: string;
}

/**
 * Runs every deny vector of each ancestor (nearest first in `ancestors`) against the overlay. A
 * vector the overlay allows is a problem unless each of the ancestor's failed rules is explained
 * by a waiver declared below that ancestor: of the rule itself, or of a setting it reads.
 */
export function replayDenials(overlay: CompiledProfile, ancestors: readonly CompiledProfile[], suites: readonly TestSuite[], ownSettings: readonly string[]): ReplayProblem[] {
  const problems: ReplayProblem[] = [];
  ancestors.forEach((ancestor, depth) => {
    const below = new Set([overlay.id, ...overlay.resolved.extends.slice(0, depth)]);
    const waivers = overlay.waivers.filter((w) => below.has(w.profile));
    const explained = (rule: string) =>
      waivers.some((w) => w.rule === rule || (w.setting !== undefined && ancestor.reads.some((r) => r.rule === rule && r.setting === w.setting)));
    for (const suite of suites.filter((s) => s.profile === ancestor.id)) {
      suite.vectors.forEach((vector, index) => {
        const facts = vector.expect === 'deny' ? vectorFacts(suite, vector) : null;
        if (!facts) return;
        const before = ancestor.evaluate(vector.stage, facts);
        if (before.decision !== 'deny' || overlay.evaluate(vector.stage, facts).decision !== 'allow') return;
        const unexplained = [...new Set(before.violations.map((v) => v.rule))].filter((r) => !explained(r));
        if (!unexplained.length) return;
        const at = positionOf(suite.source, [...suite.pathPrefix, 'vectors', index]);
        const setting = ownSettings.find((s) => ancestor.reads.some((r) => unexplained.includes(r.rule) && r.setting === s));
        problems.push({
          ...(setting ? { setting } : {}),
          message: `deny vector '${vector.name}' of ${ancestor.id} (${suite.source.file}:${at.line}:${at.col}) is allowed by ${overlay.id}: `
            + `${ancestor.id} denies it by ${unexplained.join(', ')}${setting ? `, which read${unexplained.length > 1 ? '' : 's'} settings.${setting} changed here` : ''}, `
            + `and no waiver below ${ancestor.id} covers ${unexplained.length > 1 ? 'them' : 'it'}. Waive what you mean to loosen, with a reason.`,
        });
      });
    }
  });
  return problems;
}

/** For `compile`, `diff` and `lint`: the rules that read each setting, at any stage. */
export function readersOf(profile: CompiledProfile): Map<string, string[]> {
  const readers = new Map<string, string[]>([...SETTING_KINDS.keys()].map((s) => [s, []]));
  for (const { setting, rule } of profile.reads) {
    const list = readers.get(setting) ?? [];
    if (!list.includes(rule)) list.push(rule);
    readers.set(setting, list);
  }
  return readers;
}
