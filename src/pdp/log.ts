/**
 * Two logs: the decision log (one JSON line per decision, pino) and the operational log (reloads,
 * refused bundles, startup). Neither ever carries facts, tokens, assertions or keys: a decision line
 * names the decision, not what it was about.
 */
import pino, { type Logger } from 'pino';
import type { Writable } from 'node:stream';

/** `stdout`, `stderr`, `off`, a file path, or a stream (tests). */
export type LogTarget = 'stdout' | 'stderr' | 'off' | (string & {}) | Writable;

export interface DecisionRecord {
  decision_id: string;
  api: 'native' | 'authzen';
  profile: string;
  digest: string;
  stage: string;
  result: 'allow' | 'deny';
  /** Set when the deny came from an engine failure. */
  error?: true;
  violations: string[];
  warnings: string[];
  latency_ms: number;
  client_id?: string;
  request_id?: string;
}

export interface DecisionLog {
  readonly enabled: boolean;
  write(record: DecisionRecord): void;
  flush(): void;
}

export function createLogger(target: LogTarget, name: string): Logger | null {
  if (target === 'off') return null;
  const options = {
    name,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (typeof target !== 'string') return pino(options, target);
  const dest = target === 'stdout' ? 1 : target === 'stderr' ? 2 : target;
  return pino(options, pino.destination({ dest, sync: false, mkdir: typeof dest === 'string' }));
}

export function createDecisionLog(target: LogTarget): DecisionLog {
  const logger = createLogger(target, 'decision');
  if (!logger) return { enabled: false, write() {}, flush() {} };
  return {
    enabled: true,
    write: (record) => logger.info(record),
    flush: () => logger.flush(),
  };
}

/** The operational log; a no-op logger when switched off. */
export function createOpsLog(target: LogTarget): Logger {
  return createLogger(target, 'fapi-policy-pdp') ?? pino({ enabled: false });
}

/** Client ids and request ids are caller-chosen: bounded and printable before they reach a log. */
export function loggable(value: unknown, max = 128): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > max || /[^\x20-\x7e]/.test(value) ? value.slice(0, max).replace(/[^\x20-\x7e]/g, '?') : value;
}
