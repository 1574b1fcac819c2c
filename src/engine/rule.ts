/** A rule compiled for one stage: its applicability and its check are closures built once. */
import { compileLogic, type Evaluator, type SettingSite } from './logic/compile.js';
import { walk, type SlotTable } from './logic/node.js';
import { logicPolarity, type Polarity } from './logic/polarity.js';
import { schemaPolarity } from './schema-polarity.js';
import type { SchemaCompiler } from './rule-schema.js';
import { LogicCompileError } from './errors.js';
import { canonicalJson } from './digest.js';
import { STAGE_ERRORS, type OAuthError } from './oauth-errors.js';
import type { Settings, Severity, Stage } from './types.js';

/** A rule as written in a profile (after resolution). */
export interface RuleSpec {
  id: string;
  clause: string;
  catalogue?: string;
  stage: Stage | Stage[];
  severity: Severity;
  when?: unknown;
  check: { logic?: unknown; schema?: unknown };
  message: string;
  path?: string;
  /** The OAuth error a refusal maps to; the stage's default (STAGE_ERRORS) when absent. */
  error?: OAuthError;
  /** The HTTP status of the refusal when it is not the one `error` implies (RFC 9126 §2.3: 405). */
  status?: number;
  note?: string;
}

export interface Failure {
  path: string;
  /** Extra detail appended to the rule's message (e.g. which fact was malformed). */
  detail?: string;
}

export interface CompiledRule {
  id: string;
  clause: string;
  severity: Severity;
  message: string;
  error: OAuthError;
  status?: number;
  when?: Evaluator;
  /** Canonical text of `when`: rules of a stage with the same applicability share one evaluation. */
  whenKey?: string;
  /** Truthy when the facts satisfy the rule: the only call on the hot path. */
  test: (input: unknown) => unknown;
  /** What `test` reads: the stage's fact slots (logic checks) or the facts object (schema checks). */
  input: 'slots' | 'facts';
  /** Called right after a failed `test` to say where and why. */
  failure: () => Failure;
  /** Every setting the rule reads at this stage, where, and which way the rule moves with it. */
  reads: readonly SettingRead[];
}

/**
 * One read of a setting by a rule: the setting, where (the field and the JSON pointer in it, as
 * lint positions it: `/logic/…` or `/schema/…` under `check`), and the polarity of that field in it.
 */
export interface SettingRead {
  setting: string;
  field: 'when' | 'check';
  pointer: string;
  polarity: Polarity;
  why?: string;
}

/** Where in the rule a compile error sits, for lint positions. */
export class RuleCompileError extends Error {
  override name = 'RuleCompileError';
  constructor(message: string, readonly rule: string, readonly field: 'when' | 'check', readonly pointer: string) {
    super(message);
  }
}

export function stagesOf(rule: RuleSpec): Stage[] {
  return Array.isArray(rule.stage) ? rule.stage : [rule.stage];
}

/** Compiles a rule for one stage; its logic reads the stage's fact slots. */
export function compileRule(rule: RuleSpec, stage: Stage, settings: Settings, schemas: SchemaCompiler, slots: SlotTable): CompiledRule {
  const options = { settings, stage, slots };
  const reads: SettingRead[] = [];
  const read = (field: SettingRead['field'], prefix: string, sites: SettingSite[], polarity: (site: SettingSite, value: unknown) => ReturnType<typeof logicPolarity>) => {
    for (const site of sites) reads.push({ setting: site.setting, field, pointer: prefix + site.at, ...polarity(site, walk(settings, site.setting.split('.'))) });
  };
  const when = rule.when === undefined ? undefined : guard(rule, 'when', '', () => {
    const logic = compileLogic(rule.when, options);
    read('when', '', logic.settingReads, (site, value) => logicPolarity(rule.when, site.at, value, 'when'));
    return logic.run;
  });
  const check = guard(rule, 'check', rule.check.logic !== undefined ? '/logic' : '/schema', (): Pick<CompiledRule, 'test' | 'input' | 'failure'> => {
    if (rule.check.logic !== undefined) {
      const logic = compileLogic(rule.check.logic, options);
      read('check', '/logic', logic.settingReads, (site, value) => logicPolarity(rule.check.logic, site.at, value, 'check'));
      const failure: Failure = Object.freeze({ path: rule.path ?? logic.factReads[0] ?? '' });
      return { test: logic.run, input: 'slots', failure: () => failure };
    }
    const schema = schemas.compile(rule.check.schema, settings, stage);
    read('check', '/schema', schema.settingReads, (site, value) => schemaPolarity(rule.check.schema, site.at, value));
    return {
      test: schema.test,
      input: 'facts',
      failure: () => {
        const failed = schema.lastFailure();
        return { path: rule.path ?? failed.path, detail: failed.message };
      },
    };
  });
  const whenKey = when ? canonicalJson(rule.when) : undefined;
  const refusal = { error: rule.error ?? STAGE_ERRORS[stage], ...(rule.status !== undefined ? { status: rule.status } : {}) };
  return { id: rule.id, clause: rule.clause, severity: rule.severity, message: rule.message, ...refusal, ...(when ? { when, whenKey } : {}), ...check, reads };
}

function guard<T>(rule: RuleSpec, field: 'when' | 'check', prefix: string, build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof LogicCompileError) throw new RuleCompileError(`rule ${rule.id}: ${field}: ${e.message}`, rule.id, field, prefix + e.pointer);
    // A compiler fault is still this rule's load error: one bad rule must not abort the whole set.
    throw new RuleCompileError(`rule ${rule.id}: ${field}: internal compile error: ${(e as Error)?.message ?? String(e)}`, rule.id, field, prefix);
  }
}
