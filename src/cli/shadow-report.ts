/**
 * The report of a shadow log: which clients would fail which rules of a shadow profile, how often,
 * first and last seen. The input is the authorization server's operational log (pino JSON lines);
 * only its shadow lines (src/as/shadow.ts) count, any other line is skipped. A log is untrusted
 * input: lines are bounded in length (a longer one is skipped whole and counted), values in size,
 * and the report in the (shadow profile, rule, client) entries it keeps (findings past the bound
 * are counted, not kept).
 */
import { StringDecoder } from 'node:string_decoder';
import { SHADOW_MESSAGE } from '../as/shadow.js';

export const MAX_LINE_CHARS = 64 * 1024;
export const MAX_ENTRIES = 100_000;
/** Longest id, rule, clause or stage taken from a line; a longer one makes the line malformed. */
const MAX_VALUE_CHARS = 256;

export type Severity = 'error' | 'warning';

interface ClientTally {
  client_id: string;
  /** The profile the client was held to, as of its last finding. */
  profile: string;
  count: number;
  first: number;
  last: number;
}

interface RuleTally {
  rule: string;
  clause: string;
  severity: Severity;
  stages: Set<string>;
  requests: number;
  clients: Map<string, ClientTally>;
}

export interface LineCounts {
  read: number;
  shadow: number;
  /** JSON lines that are not shadow lines. */
  ignored: number;
  /** Lines that are not JSON, and shadow lines of the wrong shape. */
  malformed: number;
  /** Lines longer than MAX_LINE_CHARS, skipped. */
  too_long: number;
}

interface Finding {
  stage: string;
  rule: string;
  clause: string;
}

interface ShadowLine {
  time: number;
  client_id: string;
  profile: string;
  shadow_profile: string;
  violations: Finding[];
  warnings: Finding[];
}

export interface ClientRow {
  client_id: string;
  profile: string;
  count: number;
  first_seen: string | null;
  last_seen: string | null;
}

export interface RuleRow {
  rule: string;
  clause: string;
  severity: Severity;
  stages: string[];
  requests: number;
  clients: ClientRow[];
}

export interface ProfileRow {
  shadow_profile: string;
  requests: number;
  rules: RuleRow[];
}

export interface ReportJson {
  lines: LineCounts;
  dropped_findings?: number;
  shadow_profiles: ProfileRow[];
}

export class ShadowReport {
  readonly lines: LineCounts = { read: 0, shadow: 0, ignored: 0, malformed: 0, too_long: 0 };
  /** Findings not kept because MAX_ENTRIES entries exist. */
  dropped = 0;
  private entries = 0;
  private readonly profiles = new Map<string, { requests: number; rules: Map<string, RuleTally> }>();

  constructor(private readonly maxEntries = MAX_ENTRIES) {}

  /** Reads a stream of log text (files, stdin), line by line, never holding more than one bounded line. */
  async read(chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): Promise<void> {
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let skipping = false;
    for await (const chunk of chunks) {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let start = 0;
      let newline: number;
      while ((newline = text.indexOf('\n', start)) >= 0) {
        const rest = text.slice(start, newline);
        if (skipping) skipping = false;
        else if (pending.length + rest.length > MAX_LINE_CHARS) this.tooLong();
        else this.line(pending + rest);
        pending = '';
        start = newline + 1;
      }
      if (skipping) continue;
      pending += text.slice(start);
      if (pending.length > MAX_LINE_CHARS) {
        this.tooLong();
        skipping = true;
        pending = '';
      }
    }
    pending += decoder.end();
    if (!skipping) this.line(pending);
  }

  private tooLong(): void {
    this.lines.read++;
    this.lines.too_long++;
  }

  /** One line of the log. */
  line(text: string): void {
    if (text.length > MAX_LINE_CHARS) return this.tooLong();
    if (!text.trim()) return;
    this.lines.read++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.lines.malformed++;
      return;
    }
    if (!isObject(value) || value.msg !== SHADOW_MESSAGE) {
      this.lines.ignored++;
      return;
    }
    const parsed = shadowLine(value);
    if (!parsed) {
      this.lines.malformed++;
      return;
    }
    this.lines.shadow++;
    this.add(parsed);
  }

  private add(line: ShadowLine): void {
    let profile = this.profiles.get(line.shadow_profile);
    if (!profile) this.profiles.set(line.shadow_profile, (profile = { requests: 0, rules: new Map() }));
    profile.requests++;
    for (const [severity, findings] of [['error', line.violations], ['warning', line.warnings]] as const) {
      for (const f of findings) this.tally(profile.rules, severity, f, line);
    }
  }

  private tally(rules: Map<string, RuleTally>, severity: Severity, f: Finding, line: ShadowLine): void {
    const key = `${severity} ${f.rule}`;
    let rule = rules.get(key);
    let client = rule?.clients.get(line.client_id);
    if (!client && this.entries >= this.maxEntries) {
      this.dropped++;
      return;
    }
    if (!rule) rules.set(key, (rule = { rule: f.rule, clause: f.clause, severity, stages: new Set(), requests: 0, clients: new Map() }));
    if (!client) {
      this.entries++;
      rule.clients.set(line.client_id, (client = { client_id: line.client_id, profile: line.profile, count: 0, first: line.time, last: line.time }));
    }
    // Stages are a fixed list in a well-formed log; a hostile one cannot grow this set past a few dozen.
    if (rule.stages.size < 32) rule.stages.add(f.stage);
    rule.requests++;
    client.count++;
    if (!(line.time < client.last)) {
      client.last = Number.isNaN(line.time) ? client.last : line.time;
      client.profile = line.profile;
    }
    if (line.time < client.first || Number.isNaN(client.first)) client.first = line.time;
  }

  toJSON(): ReportJson {
    return {
      lines: this.lines,
      ...(this.dropped ? { dropped_findings: this.dropped } : {}),
      shadow_profiles: [...this.profiles].sort(([a], [b]) => compare(a, b)).map(([id, p]) => ({
        shadow_profile: id,
        requests: p.requests,
        rules: [...p.rules.values()].sort(byWeight).map((r) => ({
          rule: r.rule, clause: r.clause, severity: r.severity, stages: [...r.stages].sort(), requests: r.requests,
          clients: [...r.clients.values()].sort((a, b) => b.count - a.count || compare(a.client_id, b.client_id)).map((c) => ({
            client_id: c.client_id, profile: c.profile, count: c.count, first_seen: iso(c.first), last_seen: iso(c.last),
          })),
        })),
      })),
    };
  }
}

/** Errors first, then the rules that fired most. */
function byWeight(a: RuleTally, b: RuleTally): number {
  if (a.severity !== b.severity) return a.severity === 'error' ? -1 : 1;
  return b.requests - a.requests || compare(a.rule, b.rule);
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function iso(ms: number): string | null {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const bounded = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_VALUE_CHARS;

/** pino writes `time` as epoch milliseconds or (our servers) as an ISO string; anything else is unknown (NaN). */
function timeOf(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : NaN;
  return typeof v === 'string' && v.length <= 64 ? Date.parse(v) : NaN;
}

function findings(v: unknown): Finding[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > 1000) return undefined;
  const out: Finding[] = [];
  for (const f of v) {
    if (!isObject(f) || !bounded(f.rule) || !f.rule || !bounded(f.stage) || (f.clause !== undefined && !bounded(f.clause))) return undefined;
    out.push({ stage: f.stage, rule: f.rule, clause: (f.clause as string | undefined) ?? '' });
  }
  return out;
}

function shadowLine(v: Record<string, unknown>): ShadowLine | undefined {
  const violations = findings(v.shadow_violations);
  const warnings = findings(v.shadow_warnings);
  const clientId = v.client_id ?? '';
  if (!violations || !warnings || !bounded(v.shadow_profile) || !v.shadow_profile || !bounded(v.profile) || !bounded(clientId)) return undefined;
  return { time: timeOf(v.time), client_id: clientId, profile: v.profile, shadow_profile: v.shadow_profile, violations, warnings };
}
