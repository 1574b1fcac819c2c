/**
 * What the CLI prints comes largely from profiles, which are untrusted: a reason, message, clause or
 * id could carry terminal control sequences that rewrite or hide lines. Every line goes through the
 * engine's printable-text function, and JSON is written in ASCII (\u escapes), so that pass leaves
 * it intact.
 */
import { printable } from '../engine/text.js';
import type { Io } from './context.js';

/** Each line as printable ASCII; lines are not cut (profiles are size-bounded already). */
export function shown(text: string): string {
  return text.split('\n').map((line) => printable(line, Infinity)).join('\n');
}

/** An Io whose every printed line is shown(), whichever command prints it. */
export function printableIo(io: Io): Io {
  return { ...io, out: (text) => io.out(shown(text)), err: (text) => io.err(shown(text)) };
}

/** JSON output: the same data, with every character outside printable ASCII escaped. */
export function json(value: unknown, pretty = false): string {
  const text = JSON.stringify(value, null, pretty ? 2 : undefined) ?? 'null';
  return text.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A setting value in a line of text: lists as `[a, b]`, anything else as JSON. */
export function showValue(value: unknown): string {
  return Array.isArray(value) ? `[${value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}]` : JSON.stringify(value) ?? 'undefined';
}

/** One waiver: what it waives and, for a setting, the values it lets the overlay move between. */
export function describeWaiver(w: { setting?: string; rule?: string; from?: unknown; to?: unknown }): string {
  if (w.rule) return `rule ${w.rule}`;
  return `settings.${w.setting}${'from' in w && 'to' in w ? `: ${showValue(w.from)} -> ${showValue(w.to)}` : ''}`;
}

/** Rows as aligned columns under a header: each padded to its widest cell, `right` columns right-aligned. */
export function alignedTable(head: readonly string[], rows: readonly string[][], right: readonly boolean[] = []): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (right[i] ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** "1 rule", "2 rules": a count with its noun. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
