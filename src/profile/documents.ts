/** One profile document on its own: its shape, identity and the checks that need no other document. */
import { basename } from 'node:path';
import { sha256Digest } from '../engine/digest.js';
import type { RuleSpec } from '../engine/rule.js';
import type { Diagnostic } from './diagnostics.js';
import { profileSchemaProblems, settingCeilingProblems } from './schema.js';
import { pointerToPath, type Source } from './source.js';
import type { TestVector } from './vectors.js';

export interface ProfileDoc {
  id: string;
  title: string;
  version: string;
  spec: string;
  description?: string;
  /** The base, by id, or by id and the digest of the compiled base it was written against. */
  extends?: string | { id: string; digest: string };
  /** Null in an overlay that changes no setting. */
  settings: Record<string, unknown> | null;
  waive?: Array<{ setting?: string; rule?: string; reason: string }>;
  rules?: RuleSpec[];
  tests?: { fixtures?: Record<string, Record<string, unknown>>; vectors?: TestVector[] };
}

export type Report = (source: Source, path: ReadonlyArray<string | number>, message: string, severity?: Diagnostic['severity']) => void;

/** The id of the base an overlay extends, if any. */
export function baseOf(doc: ProfileDoc): string | undefined {
  return typeof doc.extends === 'object' ? doc.extends.id : doc.extends;
}

/** Where `extends` names its base, for diagnostics: the id inside the pinned form. */
export function extendsPath(doc: ProfileDoc): string[] {
  return typeof doc.extends === 'object' ? ['extends', 'id'] : ['extends'];
}

export function idFromFile(file: string): string {
  return basename(file).replace(/\.(tests\.)?ya?ml$/, '');
}

/**
 * The digest of what a document says, test vectors aside (they decide nothing): two files with
 * the same digest define the same profile, however they are formatted.
 */
export function documentDigest(data: unknown): string {
  const { tests: _tests, ...rest } = data as Record<string, unknown>;
  return sha256Digest(rest);
}

/** Violations the engine itself reports use this prefix; a profile's rule may not pose as one. */
const ENGINE_RULE_PREFIX = 'fapi-policy/';

/** Schema and single-document semantic checks. */
export function acceptDocument(source: Source, report: Report): ProfileDoc | null {
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
    if (rule.id.toLowerCase().startsWith(ENGINE_RULE_PREFIX)) {
      report(source, ['rules', index, 'id'], `rule id '${rule.id}': ids starting with '${ENGINE_RULE_PREFIX}' belong to the engine's own violations`);
      ok = false;
    } else if (first !== undefined) {
      report(source, ['rules', index, 'id'], `duplicate rule id '${rule.id}' (first at rules[${first}])`);
      ok = false;
    } else seen.set(rule.id, index);
  });
  return ok ? doc : null;
}
