/**
 * The decision procedure: validate the facts, run every rule of the stage, deny on any
 * error-severity failure. Every path that is not a clean pass ends in a violation (fail closed).
 */
import { checkFacts } from './facts.js';
import { MalformedFactError, MissingFactError } from './errors.js';
import { CompiledStage } from './stage.js';
import { truthy } from './logic/values.js';
import { STAGE_ERRORS, oauthStatus, roleOf, type OAuthError, type ServerRole } from './oauth-errors.js';
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
    // Facts outside their schema describe a malformed request: the stage's own error answers it.
    const error = STAGE_ERRORS[stage];
    const status = oauthStatus(error, roleOf(stage, isFacts(facts) ? facts : {}));
    return deny(profile, stage, [
      { rule: 'fapi-policy/facts', clause: `schemas/facts/${stage}.schema.json`, severity: 'error', message: problem.message, path: problem.path, error, status },
    ]);
  }
  const violations: Violation[] = [];
  const warnings: Violation[] = [];
  const trace: RuleTrace[] | undefined = options?.explain ? [] : undefined;
  let failedClosed = false;
  const role = roleOf(stage, facts as Facts);
  const slots = compiled.load(facts);
  const rules = compiled.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    const outcome = runRule(compiled, i, rule, facts as Facts, slots, role);
    if (trace) trace.push(toTrace(rule, outcome));
    if (outcome.kind === 'passed' || outcome.kind === 'not_applicable') continue;
    if (outcome.kind === 'error') failedClosed = true;
    (rule.severity === 'error' || outcome.kind === 'error' ? violations : warnings).push(outcome.violation);
  }
  const decision = refusal({ decision: 'allow', profile, stage, violations, warnings });
  if (failedClosed) decision.engine_error = true;
  if (trace) decision.explain = trace;
  return decision;
}

/**
 * A decision with violations is a deny, refused with the first violation's error: rules run in the
 * order the profile lists them (base rules before an overlay's), so the author orders refusals.
 */
function refusal(decision: Decision): Decision {
  const first = decision.violations[0];
  if (!first) return decision;
  const { profile, stage, violations, warnings } = decision;
  return { decision: 'deny', profile, stage, error: first.error, status: first.status, violations, warnings };
}

type Outcome =
  | { kind: 'passed' }
  | { kind: 'not_applicable' }
  | { kind: 'failed' | 'missing_fact' | 'error'; violation: Violation; detail?: string };

const PASSED: Outcome = { kind: 'passed' };
const NOT_APPLICABLE: Outcome = { kind: 'not_applicable' };

function runRule(stage: CompiledStage, index: number, rule: CompiledRule, facts: Facts, slots: unknown[], role: ServerRole): Outcome {
  try {
    if (!stage.applies(index, slots)) return NOT_APPLICABLE;
    if (truthy(rule.test(rule.input === 'slots' ? slots : facts))) return PASSED;
    const failure = rule.failure();
    const message = failure.detail ? `${rule.message} (${failure.detail})` : rule.message;
    return { kind: 'failed', violation: refused(rule, role, message, failure.path), detail: failure.detail };
  } catch (e) {
    if (e instanceof MissingFactError) {
      return { kind: 'missing_fact', violation: refused(rule, role, `${rule.message} (missing fact ${e.pointer})`, e.pointer), detail: e.message };
    }
    if (e instanceof MalformedFactError) {
      return { kind: 'missing_fact', violation: refused(rule, role, `${rule.message} (malformed fact: ${e.message})`, e.pointer ?? ''), detail: e.message };
    }
    // The engine broke, not the request: the refusal is the server's own error.
    const detail = `evaluation failed: ${(e as Error)?.message ?? String(e)}`;
    return { kind: 'error', violation: violation(rule, `${rule.message} (${detail})`, '', 'server_error', oauthStatus('server_error')), detail };
  }
}

/** The rule's own refusal: its error, and its status (declared, else the error's for this role). */
function refused(rule: CompiledRule, role: ServerRole, message: string, path: string): Violation {
  return violation(rule, message, path, rule.error, rule.status ?? oauthStatus(rule.error, role));
}

function violation(rule: CompiledRule, message: string, path: string, error: OAuthError, status: number): Violation {
  return { rule: rule.id, clause: rule.clause, severity: rule.severity, message, path, error, status };
}

function toTrace(rule: CompiledRule, outcome: Outcome): RuleTrace {
  const base = { rule: rule.id, clause: rule.clause, severity: rule.severity, outcome: outcome.kind };
  if (outcome.kind === 'passed') return { ...base, detail: rule.when ? 'when held, check passed' : 'no when, check passed' };
  if (outcome.kind === 'not_applicable') return { ...base, detail: 'when was false' };
  return { ...base, detail: outcome.detail ?? `check failed at ${outcome.violation.path || '/'}` };
}

function deny(profile: ProfileRef, stage: Stage, violations: Violation[]): Decision {
  return refusal({ decision: 'deny', profile, stage, violations, warnings: [] });
}

function isFacts(value: unknown): value is Facts {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A deny caused by the engine itself rather than by a rule: flagged so callers can alert on it. */
export function engineDeny(profile: ProfileRef, stage: Stage, rule: string, message: string, path: string): Decision {
  const error = 'server_error';
  return { ...deny(profile, stage, [{ rule, clause: 'fapi-policy', severity: 'error', message, path, error, status: oauthStatus(error) }]), engine_error: true };
}
