/**
 * Shadow (report-only) mode. Every decision the server enforces is also evaluated, with the same
 * stage and facts, under the request's shadow profile: the client's `fapi_shadow_profile`, else
 * the server's (`--shadow-profile`). What the shadow profile would have refused or warned about is
 * never enforced: it is counted in /metrics and logged, one line per request that had any, so a
 * vendor sees which clients would break before moving them to another profile.
 *
 * Nothing here may fail a request: every evaluation and every report runs inside a catch-all, and
 * a shadow profile that is not loaded, an engine failure or an exception is only counted (outcome
 * `error`). The facts are those gathered for the enforced profile; a fact only the shadow profile
 * would have asked for is missing, and a rule that needs it reports itself violated (fail closed).
 */
import type { Decision } from '../engine/types.js';
import type { AsConfig } from './context.js';
import type { ClientMetadata } from './clients.js';
import type { Exchange } from './exchange.js';
import type { FindingKind } from './metrics.js';

/** Findings named in one request's log line, at most, of each kind; the rest are counted (`shadow_truncated`). */
const MAX_LOGGED_FINDINGS = 64;

export interface ShadowFinding {
  stage: string;
  rule: string;
  clause: string;
}

export type ShadowErrorReason = 'not_loaded' | 'engine' | 'exception';

/** What one shadow profile made of one request's decisions. */
export interface ShadowReport {
  shadow: string;
  violations: ShadowFinding[];
  warnings: ShadowFinding[];
  errors: Array<{ stage: string; reason: ShadowErrorReason }>;
  /** `kind stage rule` of the findings kept, so a rule decided twice is reported once (bounded by the profile's rules). */
  seen: Set<string>;
}

/** The profile a client's decisions are also evaluated under: its own member, else the server's. */
export function shadowProfileId(config: AsConfig, metadata?: ClientMetadata): string | undefined {
  return metadata?.fapi_shadow_profile ?? config.shadowProfile;
}

/** Evaluates a decision just taken under the `enforced` profile again under the request's shadow profile. Never throws. */
export function shadowDecide(x: Exchange, stage: string, facts: object, enforced: string): void {
  const shadow = x.shadow;
  if (shadow === undefined || shadow === enforced) return;
  try {
    const report = reportFor(x, shadow);
    const profile = x.snapshot.profiles.get(shadow);
    if (!profile) return failed(x, report, enforced, stage, 'not_loaded');
    record(x, report, enforced, stage, profile.evaluate(stage, facts));
  } catch {
    quietly(() => failed(x, reportFor(x, shadow), enforced, stage, 'exception'));
  }
}

function record(x: Exchange, report: ShadowReport, enforced: string, stage: string, decision: Decision): void {
  if (decision.engine_error) return failed(x, report, enforced, stage, 'engine');
  x.ctx.metrics.shadowDecision(enforced, report.shadow, stage, decision.decision);
  for (const v of decision.violations) note(report, 'violation', { stage, rule: v.rule, clause: v.clause });
  for (const w of decision.warnings) note(report, 'warning', { stage, rule: w.rule, clause: w.clause });
}

function failed(x: Exchange, report: ShadowReport, enforced: string, stage: string, reason: ShadowErrorReason): void {
  x.ctx.metrics.shadowDecision(enforced, report.shadow, stage, 'error');
  if (report.errors.length < MAX_LOGGED_FINDINGS) report.errors.push({ stage, reason });
}

function note(report: ShadowReport, kind: FindingKind, finding: ShadowFinding): void {
  const key = `${kind} ${finding.stage} ${finding.rule}`;
  if (report.seen.has(key)) return;
  report.seen.add(key);
  (kind === 'violation' ? report.violations : report.warnings).push(finding);
}

/**
 * The request's report for this shadow profile. The first one of a request arranges for the
 * reports to be published when the response is done, after every decision of the request.
 */
function reportFor(x: Exchange, shadow: string): ShadowReport {
  const reports = (x.shadowReports ??= []);
  const last = reports[reports.length - 1];
  if (last?.shadow === shadow) return last;
  const report: ShadowReport = { shadow, violations: [], warnings: [], errors: [], seen: new Set() };
  if (!reports.length) x.res.once('close', () => quietly(() => publish(x, reports)));
  reports.push(report);
  return report;
}

/**
 * One log line per shadow profile per request with anything to report, and the per-rule, per-client
 * counters. Rule ids, clauses and stages only: never facts, tokens or keys.
 */
function publish(x: Exchange, reports: readonly ShadowReport[]): void {
  const clientId = x.client?.client_id ?? '';
  for (const r of reports) {
    if (!r.violations.length && !r.warnings.length && !r.errors.length) continue;
    for (const v of r.violations) x.ctx.metrics.shadowFinding('violation', r.shadow, v.rule, clientId);
    for (const w of r.warnings) x.ctx.metrics.shadowFinding('warning', r.shadow, w.rule, clientId);
    const truncated = Math.max(0, r.violations.length - MAX_LOGGED_FINDINGS) + Math.max(0, r.warnings.length - MAX_LOGGED_FINDINGS);
    x.ctx.log.info({
      endpoint: x.endpoint,
      ...(clientId ? { client_id: clientId } : {}),
      profile: x.profile.id,
      shadow_profile: r.shadow,
      shadow_decision: r.violations.length ? 'deny' : 'allow',
      ...(r.violations.length ? { shadow_violations: r.violations.slice(0, MAX_LOGGED_FINDINGS) } : {}),
      ...(r.warnings.length ? { shadow_warnings: r.warnings.slice(0, MAX_LOGGED_FINDINGS) } : {}),
      ...(r.errors.length ? { shadow_errors: r.errors } : {}),
      ...(truncated ? { shadow_truncated: truncated } : {}),
    }, SHADOW_MESSAGE);
  }
}

/** The message of a shadow log line: what `fapi-policy shadow report` looks for. */
export const SHADOW_MESSAGE = 'shadow findings';

function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // Report-only: a failure to report is not the request's failure.
  }
}
