/**
 * From YAML texts to compiled profiles: parse (bounded) → validate against the language schema →
 * resolve `extends` with metadata_policy operators → check the tighten-only invariant → compile.
 * A broken document yields positioned diagnostics and no profile; it never yields half a profile.
 */
import { basename } from 'node:path';
import { CompiledProfile, type ResolvedProfile } from '../engine/compiled-profile.js';
import { walk } from '../engine/logic/node.js';
import { RuleCompileError, type RuleSpec } from '../engine/rule.js';
import { SchemaCompiler } from '../engine/rule-schema.js';
import type { Settings, Waiver } from '../engine/types.js';
import type { Diagnostic } from './diagnostics.js';
import { applyPolicy, type PolicyOperators } from './policy.js';
import { compareSetting, describeKind } from './refine.js';
import { profileSchemaProblems, settingCeilingProblems, settingsSchemaProblems, SETTING_KINDS, testsFileSchemaProblems } from './schema.js';
import { parseSource, pointerToPath, positionOf, type Source } from './source.js';
import type { TestSuite, TestVector } from './vectors.js';

export interface DocumentInput {
  file: string;
  text: string;
}

interface ProfileDoc {
  id: string;
  title: string;
  version: string;
  spec: string;
  description?: string;
  extends?: string;
  settings: Record<string, unknown>;
  waive?: Array<{ setting?: string; rule?: string; reason: string }>;
  rules?: RuleSpec[];
  tests?: { fixtures?: Record<string, Record<string, unknown>>; vectors?: TestVector[] };
}

interface Origin {
  profile: string;
  source: Source;
  index: number;
}

interface Resolution {
  resolved: ResolvedProfile;
  origins: Map<string, Origin>;
}

export class ProfileSet {
  constructor(
    readonly profiles: ReadonlyMap<string, CompiledProfile>,
    readonly diagnostics: readonly Diagnostic[],
    readonly suites: readonly TestSuite[],
    /** Ids of documents that were found but failed to load. */
    readonly failed: ReadonlySet<string>,
    /** The file each loaded profile came from. */
    readonly files: ReadonlyMap<string, string> = new Map(),
  ) {}

  get(id: string): CompiledProfile | undefined {
    return this.profiles.get(id);
  }

  ids(): string[] {
    return [...this.profiles.keys()].sort();
  }

  get ok(): boolean {
    return !this.diagnostics.some((d) => d.severity === 'error');
  }
}

const TESTS_FILE = /\.tests\.ya?ml$/;

export function buildProfileSet(inputs: readonly DocumentInput[]): ProfileSet {
  const diagnostics: Diagnostic[] = [];
  const docs = new Map<string, { doc: ProfileDoc; source: Source }>();
  const failed = new Set<string>();
  const testSources: Source[] = [];
  const report = (source: Source, path: ReadonlyArray<string | number>, message: string, severity: Diagnostic['severity'] = 'error') =>
    diagnostics.push({ file: source.file, ...positionOf(source, path), severity, message });

  for (const input of inputs) {
    const parsed = parseSource(input.file, input.text);
    if (!parsed.ok) {
      diagnostics.push(...parsed.diagnostics);
      failed.add(idFromFile(input.file));
      continue;
    }
    if (TESTS_FILE.test(input.file)) {
      testSources.push(parsed.source);
      continue;
    }
    const accepted = acceptDocument(parsed.source, report);
    if (!accepted) {
      failed.add(idFromFile(input.file));
      continue;
    }
    const clash = docs.get(accepted.id);
    if (clash) {
      report(parsed.source, ['id'], `profile id '${accepted.id}' is already defined in ${clash.source.file}`);
      failed.add(accepted.id);
      continue;
    }
    docs.set(accepted.id, { doc: accepted, source: parsed.source });
  }

  const resolutions = new Map<string, Resolution | null>();
  const resolve = (id: string, chain: string[]): Resolution | null => {
    if (resolutions.has(id)) return resolutions.get(id) ?? null;
    const entry = docs.get(id);
    if (!entry) return null;
    if (chain.includes(id)) {
      report(entry.source, ['extends'], `extends cycle: ${[...chain, id].join(' -> ')}`);
      return null;
    }
    const result = resolveDocument(entry.doc, entry.source, (base) => resolve(base, [...chain, id]), docs, failed, report);
    resolutions.set(id, result);
    return result;
  };

  const profiles = new Map<string, CompiledProfile>();
  const schemas = new SchemaCompiler();
  for (const [id, { source }] of docs) {
    const resolution = resolve(id, []);
    if (!resolution) {
      failed.add(id);
      continue;
    }
    try {
      profiles.set(id, new CompiledProfile(resolution.resolved, new Map([...resolution.origins].map(([rule, o]) => [rule, o.profile])), schemas));
    } catch (e) {
      if (!(e instanceof RuleCompileError)) throw e;
      const origin = resolution.origins.get(e.rule);
      const at = origin ?? { source, index: 0 };
      report(at.source, ['rules', at.index, e.field, ...pointerToPath(e.pointer)], e.message);
      failed.add(id);
    }
  }

  const suites = collectSuites(docs, testSources, report);
  const files = new Map([...docs].map(([id, d]) => [id, d.source.file]));
  return new ProfileSet(profiles, diagnostics, suites, failed, files);
}

function idFromFile(file: string): string {
  return basename(file).replace(/\.(tests\.)?ya?ml$/, '');
}

type Report = (source: Source, path: ReadonlyArray<string | number>, message: string, severity?: Diagnostic['severity']) => void;

/** Schema and single-document semantic checks. */
function acceptDocument(source: Source, report: Report): ProfileDoc | null {
  const problems = profileSchemaProblems(source.data);
  for (const p of problems) report(source, pointerToPath(p.pointer), p.message);
  if (problems.length) return null;
  const doc = source.data as ProfileDoc;
  let ok = true;
  const expected = idFromFile(source.file);
  if (doc.id !== expected) {
    report(source, ['id'], `profile id '${doc.id}' must equal the file name '${expected}'`);
    ok = false;
  }
  if (!doc.extends) {
    for (const p of settingCeilingProblems(doc.settings)) {
      report(source, ['settings', ...pointerToPath(p.pointer)], p.message);
      ok = false;
    }
  }
  const seen = new Map<string, number>();
  (doc.rules ?? []).forEach((rule, index) => {
    const first = seen.get(rule.id);
    if (first !== undefined) {
      report(source, ['rules', index, 'id'], `duplicate rule id '${rule.id}' (first at rules[${first}])`);
      ok = false;
    } else seen.set(rule.id, index);
  });
  return ok ? doc : null;
}

function resolveDocument(
  doc: ProfileDoc,
  source: Source,
  resolveBase: (id: string) => Resolution | null,
  docs: ReadonlyMap<string, unknown>,
  failed: ReadonlySet<string>,
  report: Report,
): Resolution | null {
  const ownOrigins = new Map<string, Origin>((doc.rules ?? []).map((r, index) => [r.id, { profile: doc.id, source, index }]));
  const identity = { id: doc.id, title: doc.title, version: doc.version, spec: doc.spec, ...(doc.description ? { description: doc.description } : {}) };
  if (!doc.extends) {
    return { resolved: { ...identity, extends: [], settings: doc.settings as Settings, rules: doc.rules ?? [], waivers: [] }, origins: ownOrigins };
  }
  if (!docs.has(doc.extends)) {
    report(source, ['extends'], failed.has(doc.extends) ? `base profile '${doc.extends}' failed to load` : `unknown base profile '${doc.extends}'`);
    return null;
  }
  const base = resolveBase(doc.extends);
  if (!base) {
    report(source, ['extends'], `base profile '${doc.extends}' failed to load`);
    return null;
  }
  const settings = overlaySettings(doc, source, base.resolved, report);
  const rules = overlayRules(doc, source, base, ownOrigins, report);
  if (!settings || !rules) return null;
  const waivers: Waiver[] = [...base.resolved.waivers, ...(doc.waive ?? []).map((w) => ({ ...w, profile: doc.id }))];
  return {
    resolved: { ...identity, extends: [doc.extends, ...base.resolved.extends], settings, rules, waivers },
    origins: new Map([...base.origins, ...ownOrigins]),
  };
}

function overlaySettings(doc: ProfileDoc, source: Source, base: ResolvedProfile, report: Report): Settings | null {
  const settings = structuredClone(base.settings) as Record<string, unknown>;
  const waived = new Set((doc.waive ?? []).flatMap((w) => (w.setting ? [w.setting] : [])));
  const used = new Set<string>();
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
    setIn(settings, segments, applied.value);
    if (compareSetting(kind, before, applied.value) !== 'looser') continue;
    if (waived.has(path)) {
      used.add(path);
      continue;
    }
    report(source, ['settings', path],
      `settings.${path}: ${doc.id} loosens ${base.id}: ${JSON.stringify(before)} -> ${JSON.stringify(applied.value)}; ${describeKind(kind)}. Add a waive: entry with a reason to allow it.`);
    ok = false;
  }
  const problems = settingsSchemaProblems(settings);
  for (const p of problems.length ? problems : settingCeilingProblems(settings)) {
    report(source, ['settings', pointerToPath(p.pointer).join('.')], `resolved settings: ${p.message}`);
    ok = false;
  }
  (doc.waive ?? []).forEach((w, i) => {
    if (w.setting && !used.has(w.setting)) report(source, ['waive', i], `waiver for settings.${w.setting} is not needed: the overlay does not loosen it`, 'warning');
  });
  return ok ? settings : null;
}

function overlayRules(doc: ProfileDoc, source: Source, base: Resolution, own: ReadonlyMap<string, Origin>, report: Report): RuleSpec[] | null {
  let ok = true;
  const waivedRules = new Set<string>();
  (doc.waive ?? []).forEach((w, i) => {
    if (!w.rule) return;
    if (!base.resolved.rules.some((r) => r.id === w.rule)) {
      report(source, ['waive', i, 'rule'], `waived rule '${w.rule}' is not a rule of ${base.resolved.id}`);
      ok = false;
    }
    waivedRules.add(w.rule);
  });
  for (const [id, origin] of own) {
    if (base.resolved.rules.some((r) => r.id === id)) {
      report(source, ['rules', origin.index, 'id'], `rule id '${id}' is already defined by ${base.origins.get(id)?.profile ?? base.resolved.id}`);
      ok = false;
    }
  }
  if (!ok) return null;
  return [...base.resolved.rules.filter((r) => !waivedRules.has(r.id)), ...(doc.rules ?? [])];
}

function setIn(root: Record<string, unknown>, segments: string[], value: unknown): void {
  let node = root;
  for (const s of segments.slice(0, -1)) node = node[s] as Record<string, unknown>;
  node[segments[segments.length - 1] as string] = value;
}

function collectSuites(docs: ReadonlyMap<string, { doc: ProfileDoc; source: Source }>, testSources: Source[], report: Report): TestSuite[] {
  const suites: TestSuite[] = [];
  for (const [id, { doc, source }] of docs) {
    if (doc.tests) suites.push({ profile: id, source, pathPrefix: ['tests'], fixtures: doc.tests.fixtures ?? {}, vectors: doc.tests.vectors ?? [] });
  }
  for (const source of testSources) {
    const problems = testsFileSchemaProblems(source.data);
    for (const p of problems) report(source, pointerToPath(p.pointer), p.message);
    if (problems.length) continue;
    const data = source.data as { profile: string; fixtures?: Record<string, Record<string, unknown>>; vectors?: TestVector[] };
    if (!docs.has(data.profile)) report(source, ['profile'], `tests for unknown profile '${data.profile}'`);
    suites.push({ profile: data.profile, source, pathPrefix: [], fixtures: data.fixtures ?? {}, vectors: data.vectors ?? [] });
  }
  return suites;
}
