import { createReadStream } from 'node:fs';
import { parse } from '../args.js';
import { EXIT, UsageError, type Io } from '../context.js';
import { alignedTable, json, plural } from '../output.js';
import { MAX_ENTRIES, MAX_LINE_CHARS, ShadowReport } from '../shadow-report.js';
import type { Command } from './command.js';

const USAGE = `fapi-policy shadow report [<log>...|-] [--format text|json]

Reads the authorization server's log (its JSON lines: a file named by --log, or what it wrote to
stderr) and reports what its shadow (report-only) profiles would have refused: per shadow profile,
each rule with its clause and stages, and the clients that would fail it, how many requests, first
and last seen. Other lines are skipped; lines that are not JSON, or shadow lines of the wrong shape,
are counted as malformed. With no file, or -, reads standard input.

  --format text|json     aligned text (default) or JSON (also --json)

Bounds: lines longer than ${MAX_LINE_CHARS} characters are skipped (and counted); at most ${MAX_ENTRIES}
(shadow profile, rule, client) entries are kept, further findings are counted as dropped.
Exit 0 when the log was read (whatever it reports), 2 when a file cannot be read.`;

export const shadow: Command = {
  name: 'shadow',
  summary: 'Report what the AS\'s shadow (report-only) profiles would refuse, from its log',
  usage: USAGE,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { format: { type: 'string' } });
    const [action, ...sources] = positionals;
    if (action !== 'report') throw new UsageError(action ? `unknown shadow action '${action}' (report)` : 'shadow needs an action: report');
    const format = (values.format as string | undefined) ?? (values.json ? 'json' : 'text');
    if (format !== 'text' && format !== 'json') throw new UsageError('--format must be text or json');
    const report = new ShadowReport();
    for (const source of sources.length ? sources : ['-']) await readSource(report, source, io);
    if (format === 'json') io.out(json(report.toJSON(), true));
    else for (const line of textReport(report)) io.out(line);
    return EXIT.ok;
  },
};

async function readSource(report: ShadowReport, source: string, io: Io): Promise<void> {
  if (source === '-') {
    await report.read(io.stdin?.() ?? [await io.readStdin()]);
    return;
  }
  try {
    await report.read(createReadStream(source));
  } catch (e) {
    throw new UsageError(`cannot read ${source}: ${(e as Error).message}`);
  }
}

/** The report as aligned text: a block per shadow profile, a table of clients per rule. */
function textReport(report: ShadowReport): string[] {
  const data = report.toJSON();
  const l = report.lines;
  const out = [`${l.read} lines read: ${l.shadow} shadow, ${l.ignored} other, ${l.malformed} malformed, ${l.too_long} too long` +
    `${report.dropped ? `; ${report.dropped} findings dropped (more than ${MAX_ENTRIES} entries)` : ''}`];
  if (!data.shadow_profiles.length) out.push('', 'No shadow findings.');
  for (const p of data.shadow_profiles) {
    const clients = new Set(p.rules.flatMap((r) => r.clients.map((c) => c.client_id)));
    out.push('', `Shadow profile ${p.shadow_profile}: ${plural(p.requests, 'request')} with findings, from ${plural(clients.size, 'client')}`);
    for (const r of p.rules) {
      out.push('', `  ${r.rule}  ${r.severity === 'error' ? 'would refuse' : 'would warn'}  ${r.clause}  stages: ${r.stages.join(', ')}  requests: ${r.requests}`);
      out.push(...alignedTable(['client_id', 'profile', 'count', 'first seen', 'last seen'], r.clients.map((c) => [
        c.client_id || '(none)', c.profile, String(c.count), c.first_seen ?? '-', c.last_seen ?? '-',
      ]), [false, false, true, false, false]).map((row) => `    ${row}`));
    }
  }
  return out;
}

