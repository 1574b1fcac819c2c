import { readFile, writeFile } from 'node:fs/promises';
import { buildMatrix } from '../../profile/matrix.js';
import { runTests } from '../../profile/vectors.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import { matrixHtml, matrixMarkdown } from '../matrix-format.js';
import { json } from '../output.js';
import type { Command } from './command.js';

const FORMATS = ['md', 'html', 'json'] as const;

export const matrix: Command = {
  name: 'matrix',
  summary: 'The compliance matrix of a profile: every clause of its chain, how it is enforced, tested, waived or why not',
  usage: `fapi-policy matrix <id|file> [--format md|html|json] [-o <file>] [--profiles <dir>]

One row per clause of every document in the profile's chain (its bases first): the rules that enforce it
(severity, stages, the settings they read and their values, the vectors that show each rule passing and
failing), waivers with their reasons, and the clauses the documents' headers write down as unobservable.
md (the default) for a repository, html (one self-contained page, printable) for a web site, json for tools
(schemas/matrix.schema.json; --json is the same). Reads the test vectors too. -o writes a file instead of
standard output. Exit 0, or 2 when the profile does not load.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { format: { type: 'string' }, output: { type: 'string', short: 'o' } });
    if (positionals.length !== 1) throw new UsageError('matrix takes exactly one profile id or file');
    const format = values.json ? 'json' : (values.format as string | undefined) ?? 'md';
    if (!(FORMATS as readonly string[]).includes(format)) throw new UsageError(`--format, one of: ${FORMATS.join(', ')}`);
    const dirs = profileDirs(values.profiles as string[] | undefined);
    const { set, ids } = await loadFor(dirs, positionals, { tests: true });
    const profile = requireProfile(set, ids[0] as string);
    const chain = [profile.id, ...profile.resolved.extends];
    const headers = new Map(await Promise.all(chain.map(async (id) => [id, await headerOf(set.files.get(id))] as [string, string])));
    const result = buildMatrix(set, profile.id, runTests(set, new Set([profile.id])), headers);
    const text = format === 'json' ? json(result, true) : format === 'html' ? matrixHtml(result) : matrixMarkdown(result);
    if (values.output) await writeFile(values.output as string, `${text}\n`);
    else io.out(text);
    return EXIT.ok;
  },
};

/** A profile file's text, for its header comment (a document without a file has no header). */
async function headerOf(file: string | undefined): Promise<string> {
  return file ? readFile(file, 'utf8') : '';
}
