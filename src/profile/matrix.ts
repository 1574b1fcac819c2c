/**
 * The compliance matrix of a profile: one row per clause of every document of its chain (the farthest base
 * first), saying how the clause is held to: by which rules (severity, stages, the settings they read, the
 * vectors that show them passing and failing), whether a waiver below the document lifted a rule or moved
 * a setting it reads, or whether the document wrote the clause down as unobservable. Pure data; the CLI
 * renders it as Markdown, HTML or JSON (schemas/matrix.schema.json).
 */
import type { CompiledProfile, RuleSummary } from '../engine/compiled-profile.js';
import { walk } from '../engine/logic/node.js';
import type { Stage } from '../engine/types.js';
import type { ProfileSet, WaiverRecord } from './load.js';
import { unobservableClauses } from './unobservable.js';
import type { RuleCoverage, TestReport, VectorRef } from './vectors.js';

export interface MatrixWaiver {
  /** The profile that declared it. */
  by: string;
  rule?: string;
  setting?: string;
  reason: string;
  from?: unknown;
  to?: unknown;
}

export interface MatrixRule {
  id: string;
  severity: RuleSummary['severity'];
  stages: Stage[];
  /** The full clause the rule cites (the row is keyed by its first reference). */
  clause: string;
  message: string;
  /** Settings the rule reads, with their values in the profile the matrix is for (a waived rule: where it was written). */
  settings: Array<{ setting: string; value: unknown }>;
  passing: VectorRef[];
  failing: VectorRef[];
  /** The profile whose vectors cover this rule here, when the rule decides as it does there. */
  covered_by?: string;
  /** Present when a document below this one waived the rule: it is not enforced. */
  waived?: MatrixWaiver;
}

export interface MatrixRow {
  /** The profile (document) that states the clause. */
  document: string;
  clause: string;
  status: 'enforced' | 'waived' | 'unobservable';
  rules: MatrixRule[];
  /** Waivers below the document of settings the row's rules read (rule waivers sit on the rule). */
  waivers: MatrixWaiver[];
  /** Why the clause is not enforced, as the document's header says (unobservable rows). */
  unobservable?: string;
  /** Where the clause is written down: the header line of an unobservable clause. */
  line?: number;
}

export interface MatrixDocument {
  id: string;
  title: string;
  version: string;
  spec: string;
  extends?: string;
  file?: string;
  digest: string;
}

export interface Matrix {
  profile: { id: string; title: string; version: string; digest: string };
  /** The chain, farthest base first, ending with the profile itself. */
  documents: MatrixDocument[];
  rows: MatrixRow[];
  waivers: MatrixWaiver[];
  summary: { clauses: number; enforced: number; waived: number; unobservable: number; rules: number; vectors: number };
}

/**
 * Builds the matrix of `id`. `headers` gives each document's file text (its header comment holds the
 * unobservable clauses); `report` is a test run that covers the chain (runTests with `id`).
 */
export function buildMatrix(set: ProfileSet, id: string, report: TestReport, headers: ReadonlyMap<string, string>): Matrix {
  const profile = set.get(id) as CompiledProfile;
  const chain = [...profile.resolved.extends].reverse().concat(id).map((d) => set.get(d) as CompiledProfile);
  const waivers = set.waiversOf(id).map(waiverOf);
  const readers = settingsRead(profile);
  const rows: MatrixRow[] = [];
  chain.forEach((doc, depth) => {
    const below = new Set(chain.slice(depth + 1).map((p) => p.id));
    const own = doc.rules.filter((r) => (r.from ?? doc.id) === doc.id);
    const groups = new Map<string, MatrixRule[]>();
    for (const rule of own) {
      const waived = waivers.find((w) => w.rule === rule.id && below.has(w.by));
      const at = waived ? doc : profile;
      const coverage = report.coverage.get(at.id)?.get(rule.id) ?? { passing: [], failing: [] };
      const key = firstReference(rule.clause);
      const names = (waived ? settingsRead(doc).get(rule.id) : readers.get(rule.id)) ?? [];
      const settings = names.map((setting) => ({ setting, value: walk(at.settings, setting.split('.')) }));
      groups.set(key, [...(groups.get(key) ?? []), matrixRule(rule, settings, coverage, waived)]);
    }
    for (const [clause, rules] of groups) {
      const read = new Set(rules.flatMap((r) => r.settings.map((x) => x.setting)));
      const settingWaivers = waivers.filter((w) => w.setting && read.has(w.setting) && below.has(w.by));
      rows.push({ document: doc.id, clause, status: rules.every((r) => r.waived) ? 'waived' : 'enforced', rules, waivers: settingWaivers });
    }
    const prefix = citationPrefix(own);
    for (const u of unobservableClauses(headers.get(doc.id) ?? '')) {
      rows.push({ document: doc.id, clause: cited(prefix, u.clause), status: 'unobservable', rules: [], waivers: [], unobservable: u.text, line: u.line });
    }
  });
  const documents = chain.map((p) => ({
    id: p.id, title: p.resolved.title, version: p.version, spec: p.resolved.spec,
    ...(p.resolved.extends[0] ? { extends: p.resolved.extends[0] } : {}), ...(set.files.get(p.id) ? { file: set.files.get(p.id) } : {}), digest: p.digest,
  }));
  const byDocument = (row: MatrixRow) => chain.findIndex((p) => p.id === row.document);
  rows.sort((a, b) => byDocument(a) - byDocument(b) || a.clause.localeCompare(b.clause, 'en', { numeric: true }) || a.status.localeCompare(b.status));
  const count = (status: MatrixRow['status']) => rows.filter((r) => r.status === status).length;
  const vectors = new Set(rows.flatMap((r) => r.rules.flatMap((x) => [...x.passing, ...x.failing].map((v) => `${v.file}:${v.line}:${v.col}`))));
  return {
    profile: { id, title: profile.resolved.title, version: profile.version, digest: profile.digest },
    documents,
    rows,
    waivers,
    summary: { clauses: rows.length, enforced: count('enforced'), waived: count('waived'), unobservable: count('unobservable'), rules: rows.reduce((n, r) => n + r.rules.length, 0), vectors: vectors.size },
  };
}

function matrixRule(rule: RuleSummary, settings: MatrixRule['settings'], coverage: RuleCoverage, waived: MatrixWaiver | undefined): MatrixRule {
  return {
    id: rule.id, severity: rule.severity, stages: rule.stages, clause: rule.clause, message: rule.message, settings,
    passing: coverage.passing, failing: coverage.failing, ...(coverage.from ? { covered_by: coverage.from } : {}), ...(waived ? { waived } : {}),
  };
}

function waiverOf(w: WaiverRecord): MatrixWaiver {
  return { by: w.profile, ...(w.rule ? { rule: w.rule } : {}), ...(w.setting ? { setting: w.setting } : {}), reason: w.reason, ...('from' in w ? { from: w.from, to: w.to } : {}) };
}

/** The settings each rule reads, once each, in the order first read. */
function settingsRead(profile: CompiledProfile): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { rule, setting } of profile.reads) {
    const list = out.get(rule) ?? out.set(rule, []).get(rule) as string[];
    if (!list.includes(setting)) list.push(setting);
  }
  return out;
}

/** A rule's clause may cite several references (`A §1; B §2`): the row is the first. */
function firstReference(clause: string): string {
  return (clause.split(';')[0] as string).trim();
}

/** The document name a document's own rules cite most (`FAPI 2.0 SP` of `FAPI 2.0 SP §5.3.2.1-1`). */
function citationPrefix(rules: readonly RuleSummary[]): string {
  const counts = new Map<string, number>();
  for (const r of rules) {
    const at = firstReference(r.clause).indexOf(' §');
    if (at > 0) {
      const prefix = r.clause.slice(0, at);
      counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
}

/** An unobservable entry's clause as a citation: `§5.2.1-3` gets the document's name, a named one keeps it. */
function cited(prefix: string, clause: string): string {
  if (clause.startsWith('§')) return prefix ? `${prefix} ${clause}` : clause;
  if (clause.includes('§') || !prefix) return clause;
  return `${prefix}: ${clause}`;
}
