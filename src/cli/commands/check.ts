import { readFile, stat } from 'node:fs/promises';
import type { Decision } from '../../engine/types.js';
import { isStage, STAGES } from '../../engine/types.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';
import { json } from '../output.js';

const MAX_FACTS_BYTES = 1024 * 1024;

export const check: Command = {
  name: 'check',
  summary: 'Decide whether facts comply with a profile at a stage',
  usage: `fapi-policy check --profile <id> --stage <stage> <facts.json|-> [--explain] [--json]

Stages: ${STAGES.join(', ')}.
Prints the decision: a readable summary by default, the decision JSON with --json.
--explain adds, for each rule of the stage, whether it applied and why it passed or failed.
Exit 0 allow, 1 deny, 2 bad usage or unreadable facts.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, {
      profile: { type: 'string' },
      stage: { type: 'string' },
      explain: { type: 'boolean' },
    });
    const id = values.profile as string | undefined;
    const stage = values.stage as string | undefined;
    if (!id) throw new UsageError('check needs --profile <id>');
    if (!stage || !isStage(stage)) throw new UsageError(`check needs --stage, one of: ${STAGES.join(', ')}`);
    if (positionals.length !== 1) throw new UsageError('check takes one facts file, or - for standard input');
    const facts = await readFacts(positionals[0] as string, io);
    const { set, ids } = await loadFor(profileDirs(values.profiles as string[] | undefined), [id]);
    const profile = requireProfile(set, ids[0] as string);
    const decision = profile.evaluate(stage, facts, { explain: Boolean(values.explain) });
    io.out(values.json ? json(decision) : humanDecision(decision));
    return decision.decision === 'allow' ? EXIT.ok : EXIT.deny;
  },
};

async function readFacts(source: string, io: Io): Promise<unknown> {
  let text: string;
  try {
    if (source === '-') text = await io.readStdin();
    else {
      if ((await stat(source)).size > MAX_FACTS_BYTES) throw new UsageError(`facts file is larger than ${MAX_FACTS_BYTES} bytes`);
      text = await readFile(source, 'utf8');
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read facts from ${source}: ${(e as Error).message}`);
  }
  if (text.length > MAX_FACTS_BYTES) throw new UsageError(`facts are larger than ${MAX_FACTS_BYTES} bytes`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`facts are not valid JSON: ${(e as Error).message}`);
  }
}

function humanDecision(d: Decision): string {
  const lines = [`${d.decision.toUpperCase()}  ${d.profile.id} ${d.profile.version} (${d.profile.digest})  stage ${d.stage}${d.error ? `  ${d.error} (${d.status})` : ''}${d.engine_error ? '  [engine error]' : ''}`];
  for (const v of d.violations) lines.push(`  x ${v.rule} [${v.clause}] at ${v.path || '/'}: ${v.message}`);
  for (const w of d.warnings) lines.push(`  ! ${w.rule} [${w.clause}] at ${w.path || '/'}: ${w.message}`);
  for (const t of d.explain ?? []) lines.push(`  - ${t.rule} ${t.outcome}${t.detail ? `: ${t.detail}` : ''}`);
  return lines.join('\n');
}
