import { resolve, sep } from 'node:path';
import { formatDiagnostic } from '../../profile/diagnostics.js';
import { loadProfiles } from '../../profile/files.js';
import { runTests } from '../../profile/vectors.js';
import { parse } from '../args.js';
import { EXIT, profileDirs, type Io } from '../context.js';
import type { Command } from './command.js';
import { json } from '../output.js';

export const test: Command = {
  name: 'test',
  summary: 'Run the test vectors of profiles and report rule coverage',
  usage: `fapi-policy test [dir|file]... [--profiles <dir>] [--profile <id>]... [--allow-gaps] [--json]

Runs every vector (profile \`tests:\` and sibling <id>.tests.yaml files) and checks that every rule has
a vector where it passes and one that names it failing. Ends with "N passed, M failed". Given files or
directories, it tests the profiles they declare, with their bases found in --profiles (default
./profiles, else the bundled profiles), as lint does.
Exit 0 when all pass, 1 on a failing vector, a load error or a coverage gap, 2 on bad usage.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {
      profile: { type: 'string', multiple: true },
      'allow-gaps': { type: 'boolean' },
    });
    // As lint does: the given files are tested, their bases found in --profiles (default ./profiles).
    const targets = positionals.map((p) => resolve(p));
    const bases = profileDirs(values.profiles as string[] | undefined);
    const set = await loadProfiles(targets.length ? [...new Set([...targets, ...bases])] : bases, { tests: true });
    const mine = (file: string) => targets.some((t) => file === t || file.startsWith(t + sep));
    const only = values.profile ? new Set(values.profile as string[]) : targets.length ? new Set(set.ids().filter((id) => mine(set.files.get(id) ?? ''))) : undefined;
    const report = runTests(set, only);
    const errors = set.diagnostics.filter((d) => d.severity === 'error');
    const gaps = values['allow-gaps'] ? [] : report.gaps;
    if (values.json) {
      io.out(json({ passed: report.passed, failed: report.failed, gaps: report.gaps, errors,
        results: report.results.map(({ decision: _d, ...r }) => r) }, true));
    } else {
      for (const d of errors) io.out(formatDiagnostic(d));
      for (const r of report.results.filter((x) => !x.passed)) {
        io.out(`FAIL ${r.location.file}:${r.location.line}:${r.location.col}: [${r.profile}] ${r.name}`);
        for (const p of r.problems) io.out(`     ${p}`);
      }
      for (const g of report.gaps) io.out(`${values['allow-gaps'] ? 'note' : 'GAP'} [${g.profile}] rule ${g.rule} lacks ${g.lacks}`);
      const perProfile = new Map<string, number>();
      for (const r of report.results) perProfile.set(r.profile, (perProfile.get(r.profile) ?? 0) + 1);
      for (const [id, n] of [...perProfile].sort()) io.out(`${id}: ${n} vector(s), ${set.get(id)?.rules.length ?? 0} rule(s)`);
      io.out(`${report.passed} passed, ${report.failed} failed`);
    }
    return report.failed || errors.length || gaps.length ? EXIT.deny : EXIT.ok;
  },
};
