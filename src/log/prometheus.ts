/**
 * Prometheus text exposition (format 0.0.4), written by hand for both servers: a few counters and
 * one histogram do not justify a client library. Every label value goes through `esc`.
 */

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label value escaping of the text format: backslash, double quote and newline. */
export function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",…` with every value escaped. */
export function labels(values: Readonly<Record<string, string>>): string {
  return Object.entries(values).map(([k, v]) => `${k}="${esc(v)}"`).join(',');
}

/** The lines of one exposition: `# HELP` and `# TYPE` ahead of each family, then its samples. */
export class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  /** A sample; `labelText` is already formatted (see `labels`), empty for none. */
  sample(name: string, labelText: string, value: number): this {
    this.lines.push(labelText ? `${name}{${labelText}} ${value}` : `${name} ${value}`);
    return this;
  }

  push(...lines: string[]): this {
    this.lines.push(...lines);
    return this;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

/**
 * Counters keyed by their label values, joined by NUL (which no label value of ours contains
 * unescaped: profile ids, stage names, rule ids and client ids are printable).
 */
export class LabeledCounter {
  private readonly counts = new Map<string, number>();

  constructor(readonly names: readonly string[]) {}

  get size(): number {
    return this.counts.size;
  }

  has(values: readonly string[]): boolean {
    return this.counts.has(values.join('\u0000'));
  }

  add(values: readonly string[], n = 1): void {
    const key = values.join('\u0000');
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  /** Samples in a stable (sorted) order. */
  render(out: Exposition, name: string): void {
    for (const [key, n] of [...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      const values = key.split('\u0000');
      out.sample(name, labels(Object.fromEntries(this.names.map((label, i) => [label, values[i] ?? '']))), n);
    }
  }
}
