/**
 * The authorization server's counters, exposed at GET /metrics in the Prometheus text format:
 * the decisions it enforced (by profile, stage and outcome) and what report-only shadow profiles
 * would have decided. Shadow findings are counted per (shadow profile, rule, client), the one
 * family whose labels grow with the clients: it holds at most `seriesLimit` series, and findings
 * past that are counted in a separate counter instead of being dropped silently.
 */
import { Exposition, LabeledCounter } from '../log/prometheus.js';
import { isStage } from '../engine/types.js';

const SHADOW_SERIES_LIMIT = 10_000;

/** allow, deny, or error: a deny that came from an engine failure (or a shadow profile that is not loaded). */
export type Outcome = 'allow' | 'deny' | 'error';
export type FindingKind = 'violation' | 'warning';

/** A stage label from the fixed list only, whatever a caller passed. */
const stageLabel = (stage: string) => (isStage(stage) ? stage : 'unknown');

export class AsMetrics {
  private readonly decisions = new LabeledCounter(['profile', 'stage', 'decision']);
  private readonly shadowDecisions = new LabeledCounter(['profile', 'shadow_profile', 'stage', 'decision']);
  private readonly findings: Record<FindingKind, LabeledCounter> = {
    violation: new LabeledCounter(['shadow_profile', 'rule', 'client_id']),
    warning: new LabeledCounter(['shadow_profile', 'rule', 'client_id']),
  };
  private readonly dropped = new LabeledCounter(['kind']);

  constructor(readonly seriesLimit = SHADOW_SERIES_LIMIT) {
    for (const kind of ['violation', 'warning']) this.dropped.add([kind], 0);
  }

  decision(profile: string, stage: string, outcome: Outcome): void {
    this.decisions.add([profile, stageLabel(stage), outcome]);
  }

  shadowDecision(profile: string, shadow: string, stage: string, outcome: Outcome): void {
    this.shadowDecisions.add([profile, shadow, stageLabel(stage), outcome]);
  }

  /** One request in which `rule` of the shadow profile would have refused (or warned). */
  shadowFinding(kind: FindingKind, shadow: string, rule: string, clientId: string): void {
    const values = [shadow, rule, clientId];
    const counter = this.findings[kind];
    if (!counter.has(values) && this.findings.violation.size + this.findings.warning.size >= this.seriesLimit) {
      this.dropped.add([kind]);
      return;
    }
    counter.add(values);
  }

  render(): string {
    const out = new Exposition();
    out.family('fapi_policy_as_decisions_total', 'counter', 'Decisions the authorization server enforced, by profile, stage and outcome (error: an engine failure, refused).');
    this.decisions.render(out, 'fapi_policy_as_decisions_total');
    out.family('fapi_policy_as_shadow_decisions_total', 'counter', 'Report-only evaluations of the enforced decisions under a shadow profile, by enforced profile, shadow profile, stage and what the shadow profile decided.');
    this.shadowDecisions.render(out, 'fapi_policy_as_shadow_decisions_total');
    out.family('fapi_policy_as_shadow_violations_total', 'counter', 'Requests in which a rule of the shadow profile would have refused, by shadow profile, rule and client.');
    this.findings.violation.render(out, 'fapi_policy_as_shadow_violations_total');
    out.family('fapi_policy_as_shadow_warnings_total', 'counter', 'Requests in which a rule of the shadow profile would have warned, by shadow profile, rule and client.');
    this.findings.warning.render(out, 'fapi_policy_as_shadow_warnings_total');
    out.family('fapi_policy_as_shadow_findings_dropped_total', 'counter', `Shadow findings not counted by rule and client because ${this.seriesLimit} series exist already (still logged).`);
    this.dropped.render(out, 'fapi_policy_as_shadow_findings_dropped_total');
    return out.text();
  }
}
