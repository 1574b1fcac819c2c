/**
 * The decision service's metrics, in the Prometheus text format (src/log/prometheus.ts). Label
 * values come from loaded profile ids and the fixed stage list, so cardinality stays bounded
 * whatever callers send.
 */
import { esc, Exposition } from '../log/prometheus.js';

const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2] as const;

class Histogram {
  readonly counts = new Array<number>(BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count++;
  }
}

export interface SourceGauge {
  location: string;
  revision?: number;
  ok: boolean;
  /** Local sources only. */
  stale?: boolean;
  disk_digest?: string;
  active_digest?: string;
}

export class Metrics {
  private readonly decisions = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly errors = new Map<number, number>();
  private reloads = 0;
  private reloadFailures = 0;

  decision(profile: string, stage: string, result: 'allow' | 'deny', engineError: boolean): void {
    const key = `${profile}\u0000${stage}\u0000${result}\u0000${engineError ? 1 : 0}`;
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
  }

  /** Wall time of one decision request, from the first byte handled to the response written. */
  observe(api: 'native' | 'authzen', seconds: number): void {
    let h = this.latency.get(api);
    if (!h) this.latency.set(api, (h = new Histogram()));
    h.observe(seconds);
  }

  requestError(status: number): void {
    this.errors.set(status, (this.errors.get(status) ?? 0) + 1);
  }

  reload(ok: boolean): void {
    this.reloads++;
    if (!ok) this.reloadFailures++;
  }

  render(state: { profiles: number; generation: number; ready: boolean; sources: readonly SourceGauge[]; logDropped: number }): string {
    const out = new Exposition();
    const family = (name: string, type: 'counter' | 'gauge' | 'histogram', help: string) => out.family(name, type, help);

    family('fapi_policy_pdp_decisions_total', 'counter', 'Decisions made, by profile, stage and result.');
    for (const [key, n] of [...this.decisions].sort()) {
      const [profile, stage, result, error] = key.split('\u0000') as [string, string, string, string];
      out.push(`fapi_policy_pdp_decisions_total{profile="${esc(profile)}",stage="${esc(stage)}",result="${result}",engine_error="${error === '1'}"} ${n}`);
    }
    family('fapi_policy_pdp_decision_request_duration_seconds', 'histogram', 'Time to answer a decision request (native or AuthZEN).');
    for (const [api, h] of [...this.latency].sort()) out.push(...histogramLines('fapi_policy_pdp_decision_request_duration_seconds', `api="${api}"`, h));
    family('fapi_policy_pdp_request_errors_total', 'counter', 'Requests answered with an HTTP error status.');
    for (const [status, n] of [...this.errors].sort((a, b) => a[0] - b[0])) out.push(`fapi_policy_pdp_request_errors_total{status="${status}"} ${n}`);
    family('fapi_policy_pdp_reloads_total', 'counter', 'Profile set reloads attempted.');
    out.push(`fapi_policy_pdp_reloads_total ${this.reloads}`);
    family('fapi_policy_pdp_reload_failures_total', 'counter', 'Reloads that kept the previous profile set.');
    out.push(`fapi_policy_pdp_reload_failures_total ${this.reloadFailures}`);
    family('fapi_policy_pdp_decision_log_dropped_total', 'counter', 'Decision log lines dropped because the log destination could not keep up.');
    out.push(`fapi_policy_pdp_decision_log_dropped_total ${state.logDropped}`);
    family('fapi_policy_pdp_profiles_loaded', 'gauge', 'Profiles in the active set.');
    out.push(`fapi_policy_pdp_profiles_loaded ${state.profiles}`);
    family('fapi_policy_pdp_profile_set_generation', 'gauge', 'Generation of the active profile set (1 = first load).');
    out.push(`fapi_policy_pdp_profile_set_generation ${state.generation}`);
    family('fapi_policy_pdp_ready', 'gauge', '1 when every configured profile source is loaded and verified.');
    out.push(`fapi_policy_pdp_ready ${state.ready ? 1 : 0}`);
    family('fapi_policy_pdp_source_ok', 'gauge', '1 when the last load of a profile source succeeded.');
    for (const s of state.sources) out.push(`fapi_policy_pdp_source_ok{source="${esc(s.location)}"} ${s.ok ? 1 : 0}`);
    family('fapi_policy_pdp_bundle_revision', 'gauge', 'Revision of the active bundle of each bundle source.');
    for (const s of state.sources) if (s.revision !== undefined) out.push(`fapi_policy_pdp_bundle_revision{source="${esc(s.location)}"} ${s.revision}`);
    const local = state.sources.filter((s) => s.stale !== undefined);
    family('fapi_policy_pdp_source_stale', 'gauge', '1 when the files of a local source on disk differ from those the active set was built from.');
    for (const s of local) out.push(`fapi_policy_pdp_source_stale{source="${esc(s.location)}"} ${s.stale ? 1 : 0}`);
    family('fapi_policy_pdp_source_digest_info', 'gauge', 'Digest of the files of a local source on disk and of those active (always 1).');
    for (const s of local) {
      out.push(`fapi_policy_pdp_source_digest_info{source="${esc(s.location)}",disk="${s.disk_digest ?? ''}",active="${s.active_digest ?? ''}"} 1`);
    }
    return out.text();
  }
}

function histogramLines(name: string, labels: string, h: Histogram): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  BUCKETS.forEach((le, i) => {
    cumulative += h.counts[i] as number;
    lines.push(`${name}_bucket{${labels},le="${le}"} ${cumulative}`);
  });
  lines.push(`${name}_bucket{${labels},le="+Inf"} ${h.count}`, `${name}_sum{${labels}} ${h.sum}`, `${name}_count{${labels}} ${h.count}`);
  return lines;
}
