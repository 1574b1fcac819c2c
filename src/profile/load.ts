/**
 * From YAML texts to compiled profiles: parse (bounded) → validate against the language schema →
 * one document per id → resolve `extends` with metadata_policy operators → check the tighten-only
 * invariant → compile → prove monotonicity (monotone.ts). A broken document yields positioned
 * diagnostics and no profile; it never yields half a profile, and nothing built on it loads.
 */
import { CompiledProfile } from '../engine/compiled-profile.js';
import { RuleCompileError, type RuleSpec } from '../engine/rule.js';
import { SchemaCompiler } from '../engine/rule-schema.js';
import type { Diagnostic } from './diagnostics.js';
import { acceptDocument, baseOf, documentDigest, extendsPath, idFromFile, type ProfileDoc, type Report } from './documents.js';
import { polarityProblems, replayDenials } from './monotone.js';
import { resolveDocument, type Resolution, type ResolveContext, type WaiverRecord } from './resolve.js';
import { testsFileSchemaProblems } from './schema.js';
import { parseSource, pointerToPath, positionOf, type Source } from './source.js';
import type { TestSuite, TestVector } from './vectors.js';

export type { WaiverRecord } from './resolve.js';

export interface DocumentInput {
  file: string;
  text: string;
}

/** A shipped profile: its file and its document digest (documents.ts documentDigest). */
export interface ShippedProfile {
  file: string;
  digest: string;
}

export interface BuildOptions {
  /**
   * The shipped profiles a document of the set shares an id with but is not the file of (files.ts
   * finds them). A document whose content differs shadows the shipped profile: reported, and an
   * overlay may build on it only by pinning its digest.
   */
  shipped?: ReadonlyMap<string, ShippedProfile>;
}

interface DocumentInfo {
  waivers: WaiverRecord[];
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
    /** Every file that declared each id, loaded or not. */
    private readonly declared: ReadonlyMap<string, readonly string[]> = new Map(),
    private readonly documents: ReadonlyMap<string, DocumentInfo> = new Map(),
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

  /** The files that declare `id` (more than one is an error), whether or not it loaded. */
  filesOf(id: string): readonly string[] {
    return this.declared.get(id) ?? [];
  }

  /** Every waiver of a loaded profile's chain, farthest base first, each where it was declared. */
  waiversOf(id: string): WaiverRecord[] {
    const profile = this.get(id);
    if (!profile) return [];
    return [...profile.resolved.extends].reverse().concat(id).flatMap((p) => this.documents.get(p)?.waivers ?? []);
  }
}

const TESTS_FILE = /\.tests\.ya?ml$/;

interface Declaration {
  file: string;
  source?: Source;
  doc?: ProfileDoc | null;
}

export function buildProfileSet(inputs: readonly DocumentInput[], options: BuildOptions = {}): ProfileSet {
  const diagnostics: Diagnostic[] = [];
  const report: Report = (source, path, message, severity = 'error') =>
    diagnostics.push({ file: source.file, ...positionOf(source, path), severity, message });
  const failed = new Set<string>();
  const declarations = new Map<string, Declaration[]>();
  const testSources: Source[] = [];
  const declare = (id: string, d: Declaration) => declarations.set(id, [...(declarations.get(id) ?? []), d]);

  for (const input of inputs) {
    const parsed = parseSource(input.file, input.text);
    const isTests = TESTS_FILE.test(input.file);
    if (!parsed.ok) {
      diagnostics.push(...parsed.diagnostics);
      if (!isTests) declare(idFromFile(input.file), { file: input.file });
    } else if (isTests) testSources.push(parsed.source);
    else {
      const doc = acceptDocument(parsed.source, report);
      declare(doc?.id ?? idFromFile(input.file), { file: input.file, source: parsed.source, doc });
    }
  }

  const docs = singleDocuments(declarations, failed, diagnostics, report);
  const shadowing = shadowsOfShipped(docs, options.shipped, report);
  /** " (file:line:col: its first error)", for messages about a base that failed. */
  const failure = (id: string) => {
    const first = diagnostics.find((d) => d.severity === 'error' && declarations.get(id)?.some((x) => x.file === d.file));
    return first ? ` (${first.file}:${first.line}:${first.col}: ${first.message})` : '';
  };
  const resolutions = resolveAll(docs, { declared: (id) => declarations.has(id), failure, report });
  const profiles = new Map<string, CompiledProfile>();
  const documents = new Map<string, DocumentInfo>();
  const schemas = new SchemaCompiler();
  for (const [id, { doc, source }] of docs) {
    const resolution = resolutions.get(id);
    const compiled = resolution ? compile(doc, source, resolution, schemas, report) : null;
    if (!compiled || !resolution) {
      failed.add(id);
      continue;
    }
    profiles.set(id, compiled);
    documents.set(id, { waivers: resolution.waivers });
  }

  const suites = collectSuites(docs, testSources, (id) => declarations.has(id), report);
  vet(profiles, docs, { failed, shadowing, suites, report, failure });
  const files = new Map([...profiles.keys()].map((id) => [id, (docs.get(id) as { source: Source }).source.file]));
  const declared = new Map([...declarations].map(([id, ds]) => [id, ds.map((d) => d.file)]));
  return new ProfileSet(profiles, diagnostics, suites, failed, files, declared, documents);
}

/**
 * One document per id. An id declared twice, by two files or two copies, is an error on every copy
 * and loads neither: which one a command would use must never depend on the order of paths.
 */
function singleDocuments(declarations: ReadonlyMap<string, Declaration[]>, failed: Set<string>, diagnostics: Diagnostic[], report: Report) {
  const docs = new Map<string, { doc: ProfileDoc; source: Source }>();
  for (const [id, all] of declarations) {
    if (all.length > 1) {
      for (const d of all) {
        const message = `profile id '${id}' is defined more than once: here and in ${all.filter((o) => o !== d).map((o) => o.file).join(', ')}; none of them is loaded`;
        if (d.source) report(d.source, ['id'], message);
        else diagnostics.push({ file: d.file, line: 1, col: 1, severity: 'error', message });
      }
      failed.add(id);
      continue;
    }
    const [only] = all as [Declaration];
    if (only.doc && only.source) docs.set(id, { doc: only.doc, source: only.source });
    else failed.add(id);
  }
  return docs;
}

/** Documents that take a shipped profile's id with other content: reported, and remembered for their overlays. */
function shadowsOfShipped(docs: ReadonlyMap<string, { doc: ProfileDoc; source: Source }>, shipped: BuildOptions['shipped'], report: Report): Set<string> {
  const shadowing = new Set<string>();
  for (const [id, { source }] of docs) {
    const original = shipped?.get(id);
    if (!original || original.digest === documentDigest(source.data)) continue;
    shadowing.add(id);
    report(source, ['id'], `${id} shadows the shipped ${id} (${original.file}): its content differs. An overlay can build on it only by pinning its digest.`, 'warning');
  }
  return shadowing;
}

/** Resolves every document; each member of an extends cycle gets the cycle as its one error. */
function resolveAll(docs: ReadonlyMap<string, { doc: ProfileDoc; source: Source }>, ctx: Pick<ResolveContext, 'declared' | 'failure' | 'report'>): Map<string, Resolution | null> {
  const { report } = ctx;
  const resolutions = new Map<string, Resolution | null>();
  const cyclic = new Set<string>();
  const resolve = (id: string, chain: string[]): Resolution | null => {
    if (resolutions.has(id)) return resolutions.get(id) ?? null;
    const entry = docs.get(id);
    if (!entry) return null;
    const start = chain.indexOf(id);
    if (start >= 0) {
      const members = chain.slice(start);
      members.forEach((member, k) => {
        cyclic.add(member);
        const loop = [...members.slice(k), ...members.slice(0, k), member];
        const { doc, source } = docs.get(member) as { doc: ProfileDoc; source: Source };
        report(source, extendsPath(doc), members.length === 1 ? `profile '${member}' extends itself` : `extends cycle: ${loop.join(' -> ')}`);
      });
      return null;
    }
    const result = resolveDocument(entry.doc, entry.source, {
      ...ctx,
      resolveBase: (base) => resolve(base, [...chain, id]),
      inCycle: (member) => cyclic.has(member),
    });
    resolutions.set(id, result);
    return result;
  };
  for (const id of docs.keys()) resolve(id, []);
  return resolutions;
}

/**
 * Compiles a resolved profile. A rule that fails to compile is reported where it was written; an
 * inherited one that only this overlay's settings break is reported at the overlay's setting.
 */
function compile(doc: ProfileDoc, source: Source, resolution: Resolution, schemas: SchemaCompiler, report: Report): CompiledProfile | null {
  try {
    return new CompiledProfile(resolution.resolved, new Map([...resolution.origins].map(([rule, o]) => [rule, o.profile])), schemas);
  } catch (e) {
    if (!(e instanceof RuleCompileError)) throw e;
    const origin = resolution.origins.get(e.rule) ?? { profile: doc.id, source, index: 0 };
    if (origin.profile === doc.id) {
      report(origin.source, ['rules', origin.index, e.field, ...pointerToPath(e.pointer)], e.message);
      return null;
    }
    const rule = resolution.resolved.rules.find((r) => r.id === e.rule) as RuleSpec;
    const setting = Object.keys(doc.settings ?? {}).find((s) => readsSetting(rule, s));
    if (setting) report(source, ['settings', setting], `settings.${setting}: breaks rule ${e.rule} of ${origin.profile}, which reads it: ${e.message}`);
    else report(source, extendsPath(doc), `rule ${e.rule} of ${origin.profile} does not compile with the settings of ${doc.id}: ${e.message}`);
    return null;
  }
}

/** Whether a rule names a setting (`settings.x` in a var, `$setting: x`), `${stage}` standing for any stage. */
function readsSetting(node: unknown, setting: string): boolean {
  if (node === null || typeof node !== 'object') return false;
  const names = (name: unknown) =>
    typeof name === 'string' && new RegExp(`^${name.replace(/[.]/g, '\\.').replace('${stage}', '[a-z_]+')}$`).test(setting);
  return Object.entries(node).some(([key, value]) => {
    if (key === 'var') {
      const path = Array.isArray(value) ? value[0] : value;
      if (typeof path === 'string' && path.startsWith('settings.') && names(path.slice('settings.'.length))) return true;
    }
    if (key === '$setting' && names(value)) return true;
    return readsSetting(value, setting);
  });
}

interface VetContext {
  failed: Set<string>;
  failure: (id: string) => string;
  shadowing: ReadonlySet<string>;
  suites: readonly TestSuite[];
  report: Report;
}

/**
 * Checks that need the compiled chain, bases before overlays: the base a pin names, the shadowing
 * of a shipped base, the polarity of each document's own rules, and the replay of every deny vector
 * of every ancestor. A profile that fails any of them, or whose base failed, is not loaded.
 */
function vet(profiles: Map<string, CompiledProfile>, docs: ReadonlyMap<string, { doc: ProfileDoc; source: Source }>, ctx: VetContext): void {
  const order = [...profiles.values()].sort((a, b) => a.resolved.extends.length - b.resolved.extends.length);
  for (const profile of order) {
    const { doc, source } = docs.get(profile.id) as { doc: ProfileDoc; source: Source };
    const errors: Array<[ReadonlyArray<string | number>, string]> = [];
    const brokenBase = profile.resolved.extends.find((b) => ctx.failed.has(b));
    if (brokenBase) errors.push([extendsPath(doc), `base profile '${brokenBase}' failed to load${ctx.failure(brokenBase)}`]);
    else errors.push(...baseProblems(doc, profiles, ctx.shadowing));
    const own = new Map((doc.rules ?? []).map((r, index) => [r.id, index]));
    for (const p of polarityProblems(profile, (rule) => own.has(rule))) {
      errors.push([['rules', own.get(p.rule) as number, p.field, ...pointerToPath(p.pointer)], p.message]);
    }
    if (!errors.length && !brokenBase) {
      const ancestors = profile.resolved.extends.map((id) => profiles.get(id) as CompiledProfile);
      for (const p of replayDenials(profile, ancestors, ctx.suites, Object.keys(doc.settings ?? {}))) {
        errors.push([p.setting ? ['settings', p.setting] : extendsPath(doc), p.message]);
      }
    }
    for (const [path, message] of errors) ctx.report(source, path, message);
    if (errors.length) {
      ctx.failed.add(profile.id);
      profiles.delete(profile.id);
    }
  }
}

/** The pinned digest must be the base's; a base shadowing a shipped profile must be pinned. */
function baseProblems(doc: ProfileDoc, profiles: ReadonlyMap<string, CompiledProfile>, shadowing: ReadonlySet<string>): Array<[string[], string]> {
  const id = baseOf(doc);
  if (id === undefined) return [];
  const base = profiles.get(id) as CompiledProfile;
  if (typeof doc.extends === 'object') {
    const pinned = doc.extends.digest;
    return pinned === base.digest ? [] : [[['extends', 'digest'], `extends pins ${id} at ${pinned}, but the ${id} of this set is ${base.digest}`]];
  }
  if (!shadowing.has(id)) return [];
  return [[['extends'], `extends ${id}, which shadows the shipped ${id} with different content: pin the base you mean, extends: {id: ${id}, digest: ${base.digest}}`]];
}

function collectSuites(docs: ReadonlyMap<string, { doc: ProfileDoc; source: Source }>, testSources: Source[], declared: (id: string) => boolean, report: Report): TestSuite[] {
  const suites: TestSuite[] = [];
  for (const [id, { doc, source }] of docs) {
    if (doc.tests) suites.push({ profile: id, source, pathPrefix: ['tests'], fixtures: doc.tests.fixtures ?? {}, vectors: doc.tests.vectors ?? [] });
  }
  for (const source of testSources) {
    const problems = testsFileSchemaProblems(source.data);
    for (const p of problems) report(source, pointerToPath(p.pointer), p.message);
    if (problems.length) continue;
    const data = source.data as { profile: string; fixtures?: Record<string, Record<string, unknown>>; vectors?: TestVector[] };
    if (!declared(data.profile)) report(source, ['profile'], `tests for unknown profile '${data.profile}'`);
    suites.push({ profile: data.profile, source, pathPrefix: [], fixtures: data.fixtures ?? {}, vectors: data.vectors ?? [] });
  }
  return suites;
}
