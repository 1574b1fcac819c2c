/**
 * Test vectors: facts plus the expected decision and rule ids, run against a compiled profile.
 * Also measures rule coverage: every rule should pass in some vector and be named by a failing one.
 */
import { CompiledProfile } from '../engine/compiled-profile.js';
import { canonicalJson } from '../engine/digest.js';
import { walk } from '../engine/logic/node.js';
import type { Decision, Stage } from '../engine/types.js';
import type { Diagnostic } from './diagnostics.js';
import type { ProfileSet } from './load.js';
import { resolvedSettingsProblems, setSetting, SETTING_KINDS } from './schema.js';
import { positionOf, type Source } from './source.js';

export interface TestVector {
  name: string;
  stage: Stage;
  fixture?: string;
  facts?: Record<string, unknown>;
  expect: 'allow' | 'deny';
  violations?: string[];
  warnings?: string[];
  /** The OAuth error the decision must refuse with. */
  error?: string;
  /** Leaf settings (dotted paths) changed for this vector, as an overlay's `value` would change them. */
  settings?: Record<string, unknown>;
}

export interface TestSuite {
  profile: string;
  source: Source;
  /** Where the vectors sit in the source document ([] for a sibling tests file). */
  pathPrefix: string[];
  fixtures: Record<string, Record<string, unknown>>;
  vectors: TestVector[];
}

export interface VectorResult {
  profile: string;
  name: string;
  location: Pick<Diagnostic, 'file' | 'line' | 'col'>;
  passed: boolean;
  problems: string[];
  decision?: Decision;
}

export interface CoverageGap {
  profile: string;
  rule: string;
  lacks: 'a passing vector' | 'a failing vector';
}

/** A vector, by where it is written. */
export interface VectorRef {
  profile: string;
  name: string;
  file: string;
  line: number;
  col: number;
}

/**
 * The vectors in which a rule of a profile passes and those that name it failing. An inherited
 * rule whose settings are the same as in the base decides as in the base, so the base's vectors
 * count for it too (`from` names the profile whose vectors were inherited); a rule whose settings
 * the overlay changed needs vectors of the overlay's own.
 */
export interface RuleCoverage {
  passing: VectorRef[];
  failing: VectorRef[];
  from?: string;
}

export interface TestReport {
  results: VectorResult[];
  gaps: CoverageGap[];
  passed: number;
  failed: number;
  /** Per profile with vectors in its chain, per rule. */
  coverage: Map<string, Map<string, RuleCoverage>>;
}

/** Runs the vectors of `only` (default: every profile) and of their ancestors, whose vectors count for inherited rules. */
export function runTests(set: ProfileSet, only?: ReadonlySet<string>): TestReport {
  const wanted = only ? new Set([...only].flatMap((id) => [id, ...(set.get(id)?.resolved.extends ?? [])])) : undefined;
  const variants = new Map<string, CompiledProfile | string>();
  const all: VectorResult[] = [];
  const own = new Map<string, Map<string, RuleCoverage>>();
  const mark = (profile: string, rule: string, kind: 'passing' | 'failing', ref: VectorRef) => {
    const rules = own.get(profile) ?? own.set(profile, new Map()).get(profile) as Map<string, RuleCoverage>;
    const entry = rules.get(rule) ?? rules.set(rule, { passing: [], failing: [] }).get(rule) as RuleCoverage;
    entry[kind].push(ref);
  };
  for (const suite of set.suites) {
    if (wanted && !wanted.has(suite.profile)) continue;
    suite.vectors.forEach((vector, index) => {
      const location = { file: suite.source.file, ...positionOf(suite.source, [...suite.pathPrefix, 'vectors', index]) };
      const result = runVector(set, suite, vector, location, variants);
      all.push(result);
      const ref = { profile: suite.profile, name: vector.name, ...location };
      for (const t of result.decision?.explain ?? []) if (t.outcome === 'passed') mark(suite.profile, t.rule, 'passing', ref);
      if (result.passed) for (const id of new Set([...(vector.violations ?? []), ...(vector.warnings ?? [])])) mark(suite.profile, id, 'failing', ref);
    });
  }
  const coverage = inheritCoverage(set, own);
  const reported = (id: string) => !only || only.has(id);
  const gaps: CoverageGap[] = [];
  for (const id of set.ids()) {
    // A profile asked for by name is held to coverage even without vectors of its own.
    if (!reported(id) || (!only && !set.suites.some((s) => s.profile === id))) continue;
    for (const rule of set.get(id)?.rules ?? []) {
      const c = coverage.get(id)?.get(rule.id);
      if (!c?.passing.length) gaps.push({ profile: id, rule: rule.id, lacks: 'a passing vector' });
      if (!c?.failing.length) gaps.push({ profile: id, rule: rule.id, lacks: 'a failing vector' });
    }
  }
  const results = all.filter((r) => reported(r.profile));
  const passed = results.filter((r) => r.passed).length;
  return { results, gaps, passed, failed: results.length - passed, coverage };
}

/** Own coverage plus, for inherited rules the overlay decides as its base does, the base's (bases first). */
function inheritCoverage(set: ProfileSet, own: ReadonlyMap<string, ReadonlyMap<string, RuleCoverage>>): Map<string, Map<string, RuleCoverage>> {
  const coverage = new Map<string, Map<string, RuleCoverage>>();
  const profiles = set.ids().map((id) => set.get(id) as CompiledProfile).sort((a, b) => a.resolved.extends.length - b.resolved.extends.length);
  for (const profile of profiles) {
    const base = set.get(profile.resolved.extends[0] ?? '');
    const rules = new Map<string, RuleCoverage>();
    for (const { id } of profile.rules) {
      const mine = own.get(profile.id)?.get(id) ?? { passing: [], failing: [] };
      const inherited = base && decidesAsIn(profile, base, id) ? coverage.get(base.id)?.get(id) : undefined;
      rules.set(id, inherited
        ? { passing: [...mine.passing, ...inherited.passing], failing: [...mine.failing, ...inherited.failing], from: inherited.from ?? base?.id }
        : { passing: [...mine.passing], failing: [...mine.failing] });
    }
    coverage.set(profile.id, rules);
  }
  return coverage;
}

/** A rule of both profiles that reads no setting whose value differs between them. */
function decidesAsIn(profile: CompiledProfile, base: CompiledProfile, rule: string): boolean {
  if (!base.rules.some((r) => r.id === rule)) return false;
  const value = (p: CompiledProfile, setting: string) => canonicalJson({ v: walk(p.settings, setting.split('.')) });
  return profile.reads.every((r) => r.rule !== rule || value(profile, r.setting) === value(base, r.setting));
}

function runVector(
  set: ProfileSet, suite: TestSuite, vector: TestVector, location: VectorResult['location'], variants: Map<string, CompiledProfile | string>,
): VectorResult {
  const base = { profile: suite.profile, name: vector.name, location };
  const loaded = set.get(suite.profile);
  if (!loaded) return { ...base, passed: false, problems: [`profile '${suite.profile}' did not load`] };
  const profile = vector.settings ? variantOf(loaded, vector.settings, variants) : loaded;
  if (typeof profile === 'string') return { ...base, passed: false, problems: [profile] };
  const facts = vectorFacts(suite, vector);
  if (!facts) return { ...base, passed: false, problems: [`unknown fixture '${vector.fixture}'`] };
  const decision = profile.evaluate(vector.stage, facts, { explain: true });
  return { ...base, decision, ...judge(vector, decision) };
}

/** A vector's facts: its patch over its fixture (the one named after its stage by default); null for an unknown fixture. */
export function vectorFacts(suite: TestSuite, vector: TestVector): Record<string, unknown> | null {
  const fixture = suite.fixtures[vector.fixture ?? vector.stage];
  if (vector.fixture && !fixture) return null;
  return mergePatch(structuredClone(fixture ?? {}), vector.facts ?? {});
}

function judge(vector: TestVector, decision: Decision): { passed: boolean; problems: string[] } {
  const problems: string[] = [];
  const got = [...new Set(decision.violations.map((v) => v.rule))].sort();
  if (decision.decision !== vector.expect) problems.push(`expected ${vector.expect}, got ${decision.decision}${got.length ? ` (${got.join(', ')})` : ''}`);
  if (vector.expect === 'deny' && !vector.violations?.length) problems.push('a deny vector must name the rules it expects in violations');
  if (vector.violations) {
    const want = [...new Set(vector.violations)].sort();
    if (want.join() !== got.join()) problems.push(`expected violations [${want.join(', ')}], got [${got.join(', ')}]`);
  }
  if (vector.error !== undefined && decision.error !== vector.error) problems.push(`expected error ${vector.error}, got ${decision.error ?? 'none'}`);
  const warned = new Set(decision.warnings.map((w) => w.rule));
  const lacking = (vector.warnings ?? []).filter((w) => !warned.has(w));
  if (lacking.length) problems.push(`expected warnings [${lacking.join(', ')}] missing; got [${[...warned].join(', ')}]`);
  return { passed: problems.length === 0, problems };
}

/**
 * The profile with some leaf settings replaced, compiled once per distinct change. Lets a profile's
 * vectors exercise rules that an option setting (off as shipped) turns on.
 */
function variantOf(profile: CompiledProfile, changes: Record<string, unknown>, cache: Map<string, CompiledProfile | string>): CompiledProfile | string {
  const key = `${profile.id} ${canonicalJson(changes)}`;
  let variant = cache.get(key);
  if (variant === undefined) {
    variant = compileVariant(profile, changes);
    cache.set(key, variant);
  }
  return variant;
}

function compileVariant(profile: CompiledProfile, changes: Record<string, unknown>): CompiledProfile | string {
  const settings = structuredClone(profile.resolved.settings) as Record<string, unknown>;
  for (const [path, value] of Object.entries(changes)) {
    if (!SETTING_KINDS.has(path)) return `settings: unknown setting '${path}'`;
    setSetting(settings, path, value);
  }
  const problem = resolvedSettingsProblems(settings)[0];
  if (problem) return `settings: ${problem.pointer} ${problem.message}`;
  try {
    return new CompiledProfile({ ...profile.resolved, settings });
  } catch (e) {
    return `settings: the profile does not compile with them: ${(e as Error).message}`;
  }
}

/** RFC 7396 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): Record<string, unknown> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch as Record<string, unknown>;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? (target as Record<string, unknown>) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}
