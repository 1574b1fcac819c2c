/**
 * Resolving `extends`: an overlay's settings are its base's with the metadata_policy operators
 * applied, checked against the tighten-only invariant; its rules are its base's, minus the waived
 * ones, plus its own. Every level of a chain is checked against its own base.
 */
import type { ResolvedProfile } from '../engine/compiled-profile.js';
import { walk } from '../engine/logic/node.js';
import type { RuleSpec } from '../engine/rule.js';
import type { Settings, Waiver } from '../engine/types.js';
import { baseOf, extendsPath, type ProfileDoc, type Report } from './documents.js';
import { applyPolicy, type PolicyOperators } from './policy.js';
import { compareSetting, describeKind } from './refine.js';
import { resolvedSettingsProblems, setSetting, SETTING_KINDS } from './schema.js';
import { pointerToPath, positionOf, type Source } from './source.js';

/** Where a rule was written: the profile, its source and its index under `rules`. */
export interface Origin {
  profile: string;
  source: Source;
  index: number;
}

/** A waiver as declared: where, and for a setting the values it lets the overlay move between. */
export interface WaiverRecord extends Waiver {
  file: string;
  line: number;
  col: number;
  from?: unknown;
  to?: unknown;
}

export interface Resolution {
  resolved: ResolvedProfile;
  origins: Map<string, Origin>;
  /** Rule ids waived anywhere in the chain, with the profile that waived each: never reused below. */
  retired: Map<string, string>;
  /** This document's own waivers. */
  waivers: WaiverRecord[];
}

export interface ResolveContext {
  /** The base's resolution, or null when it failed (its own diagnostics say why). */
  resolveBase(id: string): Resolution | null;
  /** Whether a base id names a document of the set at all (loaded or not). */
  declared(id: string): boolean;
  /** Why a declared base failed, for the overlay's message. */
  failure(id: string): string;
  /** Documents of an extends cycle: the cycle error is their only one. */
  inCycle(id: string): boolean;
  report: Report;
}

export function resolveDocument(doc: ProfileDoc, source: Source, ctx: ResolveContext): Resolution | null {
  const origins = new Map<string, Origin>((doc.rules ?? []).map((r, index) => [r.id, { profile: doc.id, source, index }]));
  const identity = { id: doc.id, title: doc.title, version: doc.version, spec: doc.spec, ...(doc.description ? { description: doc.description } : {}) };
  const baseId = baseOf(doc);
  if (baseId === undefined) {
    const resolved = { ...identity, extends: [], settings: doc.settings as Settings, rules: doc.rules ?? [], waivers: [] };
    return { resolved, origins, retired: new Map(), waivers: [] };
  }
  const base = ctx.declared(baseId) ? ctx.resolveBase(baseId) : null;
  if (!base) {
    if (!ctx.inCycle(doc.id)) {
      ctx.report(source, extendsPath(doc), ctx.declared(baseId) ? `base profile '${baseId}' failed to load${ctx.failure(baseId)}` : `unknown base profile '${baseId}'`);
    }
    return null;
  }
  const waivers: WaiverRecord[] = [];
  const settings = overlaySettings(doc, source, base.resolved, waivers, ctx.report);
  const rules = overlayRules(doc, source, base, waivers, ctx.report);
  if (!settings || !rules) return null;
  const retired = new Map(base.retired);
  for (const w of doc.waive ?? []) if (w.rule) retired.set(w.rule, doc.id);
  const declared: Waiver[] = (doc.waive ?? []).map((w) => ({ ...w, profile: doc.id }));
  return {
    resolved: { ...identity, extends: [baseId, ...base.resolved.extends], settings, rules, waivers: [...base.resolved.waivers, ...declared] },
    origins: new Map([...base.origins, ...origins]),
    retired,
    waivers: waivers.sort((a, b) => a.line - b.line || a.col - b.col),
  };
}

function overlaySettings(doc: ProfileDoc, source: Source, base: ResolvedProfile, waivers: WaiverRecord[], report: Report): Settings | null {
  const settings = structuredClone(base.settings) as Record<string, unknown>;
  const waived = new Map<string, number>();
  (doc.waive ?? []).forEach((w, i) => w.setting && waived.set(w.setting, i));
  const used = new Set<string>();
  const moved = new Map<string, { from: unknown; to: unknown }>();
  let ok = true;
  for (const [path, ops] of Object.entries(doc.settings ?? {})) {
    const kind = SETTING_KINDS.get(path);
    if (!kind) {
      report(source, ['settings', path], `unknown setting '${path}'`);
      ok = false;
      continue;
    }
    const segments = path.split('.');
    const before = walk(settings, segments);
    const applied = applyPolicy(before, ops as PolicyOperators);
    if (!applied.ok) {
      report(source, ['settings', path], `settings.${path}: ${applied.message}`);
      ok = false;
      continue;
    }
    setSetting(settings, path, applied.value);
    moved.set(path, { from: before, to: applied.value });
    if (compareSetting(kind, before, applied.value) !== 'looser') continue;
    if (waived.has(path)) {
      used.add(path);
      continue;
    }
    report(source, ['settings', path],
      `settings.${path}: ${doc.id} loosens ${base.id}: ${JSON.stringify(before)} -> ${JSON.stringify(applied.value)}; ${describeKind(kind)}. Add a waive: entry with a reason to allow it.`);
    ok = false;
  }
  for (const p of resolvedSettingsProblems(settings)) {
    report(source, ['settings', pointerToPath(p.pointer).join('.')], `resolved settings: ${p.message}`);
    ok = false;
  }
  for (const [setting, i] of waived) {
    waivers.push(record(doc, source, i, moved.get(setting) ?? {}));
    if (!used.has(setting)) report(source, ['waive', i], `waiver for settings.${setting} is not needed: the overlay does not loosen it`, 'warning');
  }
  return ok ? settings : null;
}

function overlayRules(doc: ProfileDoc, source: Source, base: Resolution, waivers: WaiverRecord[], report: Report): RuleSpec[] | null {
  let ok = true;
  const fail = (path: Array<string | number>, message: string) => {
    report(source, path, message);
    ok = false;
  };
  const waivedRules = new Set<string>();
  (doc.waive ?? []).forEach((w, i) => {
    if (!w.rule) return;
    const by = base.retired.get(w.rule);
    if (by) fail(['waive', i, 'rule'], `rule '${w.rule}' was already waived by ${by}`);
    else if (!base.resolved.rules.some((r) => r.id === w.rule)) fail(['waive', i, 'rule'], `waived rule '${w.rule}' is not a rule of ${base.resolved.id}`);
    waivedRules.add(w.rule);
    waivers.push(record(doc, source, i, {}));
  });
  (doc.rules ?? []).forEach((rule, index) => {
    const waivedBy = base.retired.get(rule.id);
    if (waivedBy) {
      fail(['rules', index, 'id'], `rule id '${rule.id}' was waived by ${waivedBy}; a waived rule id is never reused. Give the new rule an id of its own.`);
    } else if (base.resolved.rules.some((r) => r.id === rule.id)) {
      fail(['rules', index, 'id'],
        `rule id '${rule.id}' is already defined by ${base.origins.get(rule.id)?.profile ?? base.resolved.id}; an overlay cannot redefine a rule. Waive it with a reason and add the replacement under a new id.`);
    }
  });
  if (!ok) return null;
  return [...base.resolved.rules.filter((r) => !waivedRules.has(r.id)), ...(doc.rules ?? [])];
}

function record(doc: ProfileDoc, source: Source, index: number, values: { from?: unknown; to?: unknown }): WaiverRecord {
  const w = (doc.waive ?? [])[index] as NonNullable<ProfileDoc['waive']>[number];
  return { ...w, profile: doc.id, file: source.file, ...positionOf(source, ['waive', index]), ...values };
}

