/**
 * The operational logs of the servers (pino JSON lines): start-up, reloads, refused bundles, and
 * for the authorization server one line per request naming the stages decided and the rules that
 * refused — never facts, tokens, assertions, keys or passwords.
 */
import type { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** `stdout`, `stderr`, `off`, a file path, or a stream (tests). */
export type LogTarget = 'stdout' | 'stderr' | 'off' | (string & {}) | Writable;

export const PINO_OPTIONS = {
  base: null,
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label: string) => ({ level: label }) },
};

/**
 * A named operational log. Synchronous by default, so an error is never lost in a buffer; a
 * server that logs every request passes `sync: false` and flushes when it stops.
 */
export function createOpsLog(target: LogTarget, name = 'fapi-policy-pdp', options: { sync?: boolean; level?: string } = {}): Logger {
  if (target === 'off') return pino({ enabled: false });
  const settings = { ...PINO_OPTIONS, name, level: options.level ?? 'info' };
  if (typeof target !== 'string') return pino(settings, target);
  const dest = target === 'stdout' ? 1 : target === 'stderr' ? 2 : target;
  const sync = options.sync ?? true;
  // Asynchronous logs are written in 4 KiB batches: a write per line would cost more than the line.
  return pino(settings, pino.destination({ dest, sync, mkdir: typeof dest === 'string', ...(sync ? {} : { minLength: 4096 }) }));
}
