/**
 * A profile compiled once: settings frozen, every rule compiled per stage, a content digest.
 * `evaluate` is the hot path; everything else is description.
 */
import { SchemaCompiler } from './rule-schema.js';
import { sha256Digest } from './digest.js';
import { decide, type EvaluateOptions } from './evaluate.js';
import { deriveMetadata, type MetadataEndpoints } from './metadata.js';
import { STAGE_ERRORS, type OAuthError } from './oauth-errors.js';
import { compileRule, stagesOf, type RuleSpec, type SettingRead } from './rule.js';
import { CompiledStage } from './stage.js';
import { STAGES, type Decision, type ProfileRef, type Settings, type Stage, type Waiver } from './types.js';

/** The input of the compiler: a profile with `extends` already resolved. */
export interface ResolvedProfile {
  id: string;
  title: string;
  version: string;
  spec: string;
  description?: string;
  /** The chain of bases, nearest first. */
  extends: string[];
  settings: Settings;
  rules: RuleSpec[];
  waivers: Waiver[];
}

export interface RuleSummary {
  id: string;
  clause: string;
  catalogue?: string;
  stages: Stage[];
  severity: RuleSpec['severity'];
  message: string;
  /** The OAuth error a refusal maps to, per stage (a rule without its own takes each stage's default). */
  errors: Partial<Record<Stage, OAuthError>>;
  /** The HTTP status of a refusal, when the rule overrides the one its error implies. */
  status?: number;
  /** The profile that declared the rule (the overlay or one of its bases). */
  from?: string;
}

export class CompiledProfile {
  readonly id: string;
  readonly version: string;
  readonly digest: string;
  readonly settings: Settings;
  readonly ref: ProfileRef;
  readonly rules: readonly RuleSummary[];
  readonly waivers: readonly Waiver[];
  /** Every read of a setting by a rule, per stage: which rules a setting can move, and which way. */
  readonly reads: ReadonlyArray<SettingRead & { rule: string; stage: Stage }>;
  private readonly byStage: Map<Stage, CompiledStage>;

  constructor(readonly resolved: ResolvedProfile, origins: ReadonlyMap<string, string> = new Map(), schemas = new SchemaCompiler()) {
    this.id = resolved.id;
    this.version = resolved.version;
    this.settings = deepFreeze(structuredClone(resolved.settings));
    this.digest = sha256Digest(resolved);
    this.ref = Object.freeze({ id: this.id, version: this.version, digest: this.digest });
    this.waivers = Object.freeze(resolved.waivers.map((w) => Object.freeze({ ...w })));
    this.rules = Object.freeze(resolved.rules.map((r) => summarize(r, origins.get(r.id))));
    this.byStage = new Map(STAGES.map((s) => [s, new CompiledStage()]));
    const reads: Array<SettingRead & { rule: string; stage: Stage }> = [];
    for (const rule of resolved.rules) {
      for (const stage of stagesOf(rule)) {
        const compiled = this.byStage.get(stage) as CompiledStage;
        const compiledRule = compileRule(rule, stage, this.settings, schemas, compiled.slots);
        compiled.add(compiledRule);
        for (const read of compiledRule.reads) reads.push({ ...read, rule: rule.id, stage });
      }
    }
    this.reads = Object.freeze(reads);
  }

  /** Decides whether facts observed at a stage comply with this profile. Never throws. */
  evaluate(stage: Stage | string, facts: unknown, options?: EvaluateOptions): Decision {
    return decide(this.ref, this.byStage, stage, facts, options);
  }

  /** The discovery metadata these settings imply, for an AS at `issuer`. */
  metadata(issuer: string, endpoints?: MetadataEndpoints): Record<string, unknown> {
    return deriveMetadata(this.settings, issuer, endpoints);
  }

  rulesFor(stage: Stage): readonly RuleSummary[] {
    return this.rules.filter((r) => r.stages.includes(stage));
  }

  /** The effective profile as published by `fapi-policy compile` and the decision service. */
  toJSON(): Record<string, unknown> {
    const { title, spec, description, extends: chain } = this.resolved;
    return {
      id: this.id, title, version: this.version, spec, ...(description ? { description } : {}),
      extends: chain, digest: this.digest, settings: this.settings, waivers: this.waivers, rules: this.rules,
    };
  }
}

function summarize(rule: RuleSpec, from: string | undefined): RuleSummary {
  const stages = stagesOf(rule);
  return {
    id: rule.id, clause: rule.clause, ...(rule.catalogue ? { catalogue: rule.catalogue } : {}),
    stages, severity: rule.severity, message: rule.message,
    errors: Object.fromEntries(stages.map((s) => [s, rule.error ?? STAGE_ERRORS[s]])),
    ...(rule.status !== undefined ? { status: rule.status } : {}), ...(from ? { from } : {}),
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
