/**
 * The decision procedure: validate the facts, run every rule of the stage, deny on any
 * error-severity failure. Every path that is not a clean pass ends in a violation (fail closed).
 */
import { checkFacts } from './facts.js';
import { MalformedFactError, MissingFactError } from './errors.js';
import { CompiledStage } from './stage.js';
import { truthy } from './logic/values.js';
import type { CompiledRule } from './rule.js';
import { type Decision, type Facts, type ProfileRef, type RuleTrace, type Stage, type Violation } from './types.js';

export interface EvaluateOptions {
  explain?: boolean;
}

export function decide(
  profile: ProfileRef,
  stages: ReadonlyMap<Stage, CompiledStage>,
  requested: string,
  facts: unknown,
  options?: EvaluateOptions,
): Decision {
  // The Map lookup is also the stage check: an unknown name finds nothing.
  const compiled = stages.get(requested as Stage);
  if (!compiled) return engineDeny(profile, 'discovery', 'fapi-policy/stage', `unknown stage '${String(requested)}'`, '');
  const stage = requested as Stage;
  const problem = checkFacts(stage, facts);
  if (problem) {
    return deny(profile, stage, [
      { rule: 'fapi-policy/facts', clause: `schemas/facts/${stage}.schema.json`, severity: 'error', message: problem.message, path: problem.path },
    ]);
  }
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  const trace: RuleTrace[] | undefined = options?.explain ? [] : undefined;
  let failedClosed = false;
  const slots = compiled.load(facts);
  const rules = compiled.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    const outcome = runRule(compiled, i, rule, facts as Facts, slots);
    if (trace) trace.push(toTrace(rule, outcome));
    if (outcome.kind === 'passed' || outcome.kind === 'not_applicable') continue;
    if (outcome.kind === 'error') failedClosed = true;
    (rule.severity === 'error' || outcome.kind === 'error' ? violations : warnings).push(outcome.violation);
  }
  const decision: Decision = {
    decision: violations.length ? 'deny' : 'allow',
    profile,
    stage,
    violations,
    warnings,
  };
  if (failedClosed) decision.error = true;
  if (trace) decision.explain = trace;
  return decision;
}

type Outcome =
  | { kind: 'passed' }
  | { kind: 'not_applicable' }
  | { kind: 'failed' | 'missing_fact' | 'error'; violation: Violation; detail?: string };

const PASSED: Outcome = { kind: 'passed' };
const NOT_APPLICABLE: Outcome = { kind: 'not_applicable' };

function runRule(stage: CompiledStage, index: number, rule: CompiledRule, facts: Facts, slots: unknown[]): Outcome {
  try {
    if (!stage.applies(index, slots)) return NOT_APPLICABLE;
    if (truthy(rule.test(rule.input === 'slots' ? slots : facts))) return PASSED;
    const failure = rule.failure();
    const message = failure.detail ? `${rule.message} (${failure.detail})` : rule.message;
    return { kind: 'failed', violation: violation(rule, message, failure.path), detail: failure.detail };
  } catch (e) {
    if (e instanceof MissingFactError) {
      return { kind: 'missing_fact', violation: violation(rule, `${rule.message} (missing fact ${e.pointer})`, e.pointer), detail: e.message };
    }
    if (e instanceof MalformedFactError) {
      return { kind: 'missing_fact', violation: violation(rule, `${rule.message} (malformed fact: ${e.message})`, e.pointer ?? ''), detail: e.message };
    }
    const detail = `evaluation failed: ${(e as Error)?.message ?? String(e)}`;
    return { kind: 'error', violation: violation(rule, `${rule.message} (${detail})`, ''), detail };
  }
}

function violation(rule: CompiledRule, message: string, path: string): Violation {
  return { rule: rule.id, clause: rule.clause, severity: rule.severity, message, path };
}

function toTrace(rule: CompiledRule, outcome: Outcome): RuleTrace {
  const base = { rule: rule.id, clause: rule.clause, severity: rule.severity, outcome: outcome.kind };
  if (outcome.kind === 'passed') return { ...base, detail: rule.when ? 'when held, check passed' : 'no when, check passed' };
  if (outcome.kind === 'not_applicable') return { ...base, detail: 'when was false' };
  return { ...base, detail: outcome.detail ?? `check failed at ${outcome.violation.path || '/'}` };
}

function deny(profile: ProfileRef, stage: Stage, violations: Violation[]): Decision {
  return { decision: 'deny', profile, stage, violations, warnings: [] };
}

/** A deny caused by the engine itself rather than by a rule: flagged so callers can alert on it. */
export function engineDeny(profile: ProfileRef, stage: Stage, rule: string, message: string, path: string): Decision {
  return { ...deny(profile, stage, [{ rule, clause: 'fapi-policy', severity: 'error', message, path }]), error: true };
}
