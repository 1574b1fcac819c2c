import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import type { CompiledProfile } from '../../engine/compiled-profile.js';
import { walk } from '../../engine/logic/node.js';
import { describeKind } from '../../profile/refine.js';
import { SETTING_DESCRIPTIONS, SETTING_KINDS, type RefineKind } from '../../profile/schema.js';
import { parse } from '../args.js';
import { EXIT, loadFor, profileDirs, requireProfile, UsageError, type Io } from '../context.js';
import type { Command } from './command.js';

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const init: Command = {
  name: 'init',
  summary: 'Write a commented overlay skeleton listing every setting of its base, with its value and tighter direction',
  usage: `fapi-policy init <id> --extends <base> [-o <file>|-] [--force] [--profiles <dir>]

Writes <id>.yaml (or the -o file; "-" prints it): an overlay of <base> with a header to fill in (what it
changes, figures chosen, requirements no stage can observe), and every setting of <base> as a commented
line with its current value, its kind and which way is tighter, ready to uncomment. The skeleton lints
clean as written. An existing file is not replaced without --force. Exit 0, or 2 on bad usage.`,
  async run(argv: string[], io: Io) {
    const { values, positionals } = parse(argv, { extends: { type: 'string' }, output: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
    const [id] = positionals;
    if (positionals.length !== 1 || !id) throw new UsageError('init takes exactly one new profile id');
    if (!ID.test(id)) throw new UsageError(`'${id}' is not a profile id: lower-case letters, digits and -, at most 64`);
    if (!values.extends) throw new UsageError('init needs --extends <base>');
    const { set, ids } = await loadFor(profileDirs(values.profiles as string[] | undefined), [values.extends as string]);
    const base = requireProfile(set, ids[0] as string);
    const text = skeleton(id, base);
    const out = (values.output as string | undefined) ?? `${id}.yaml`;
    if (out === '-') {
      io.out(text);
      return EXIT.ok;
    }
    if (existsSync(out) && !values.force) throw new UsageError(`${out} exists; use --force to replace it`);
    await writeFile(out, text);
    io.out(`wrote ${out}: an overlay of ${base.id} (${text.match(/^ {2}# [a-z_]+(\.[a-z_]+)*: \{/gm)?.length ?? 0} settings listed). Next: fapi-policy lint ${out}`);
    return EXIT.ok;
  },
};

/** Which way each kind tightens, in a few words. */
const TIGHTER: Readonly<Record<RefineKind, string>> = {
  'allow-list': 'tighter = fewer members', 'required-list': 'tighter = more members', maximum: 'tighter = lower',
  minimum: 'tighter = higher', require: 'tighter = on (true)', permit: 'tighter = off (false)',
};

/** The operator a regulator would start from: narrowing a list, or replacing a value. */
function example(kind: RefineKind, value: unknown): string {
  // One line, whatever its length: a commented line must stay one line to be uncommented.
  const scalar = (v: unknown) => stringify(v).trim();
  const flow = (v: unknown) => (Array.isArray(v) ? `[${v.map(scalar).join(', ')}]` : scalar(v));
  if (kind === 'allow-list') return `{subset_of: ${flow(value)}}`;
  if (kind === 'required-list') return `{add: ${flow(value)}}`;
  return `{value: ${flow(value)}}`;
}

export function skeleton(id: string, base: CompiledProfile): string {
  const settings: string[] = [];
  let group = '';
  for (const [path, kind] of SETTING_KINDS) {
    const value = walk(base.settings, path.split('.'));
    // An optional setting the base does not have (resource.signature_max_age under FAPI 1.0): nothing to refine.
    if (value === undefined) continue;
    const head = path.split('.')[0] as string;
    if (head !== group) settings.push('', `  # ${head}`);
    group = head;
    settings.push(`  #   ${SETTING_DESCRIPTIONS.get(path) ?? ''} (${kind}: ${TIGHTER[kind]}; ${describeKind(kind)})`);
    settings.push(`  # ${path}: ${example(kind, value)}`);
  }
  const title = base.resolved.title;
  return [
    `# ${id}: <the ecosystem's or organisation's security profile, its version and date> as an overlay of ${base.id}.`,
    '#',
    `# Written by \`fapi-policy init ${id} --extends ${base.id}\` from ${base.id} ${base.version} (${title}),`,
    `# digest ${base.digest}.`,
    '# Say here what the document is built on and how its clauses are cited',
    '# (rules cite "<document> §<clause>[-<item>]"; ids are the ecosystem\'s own).',
    '#',
    `# What changes over ${base.id}`,
    '#   * settings: <each setting moved, and the clause that moves it>',
    '#   * rules: <each requirement added as a rule, with its clause>',
    '#   * waivers: <none, or each loosening with the clause that requires it>',
    '#',
    '# Figures the stored text leaves open, and what was chosen (unverified)',
    '#   * <a figure the text does not fix, the value chosen, and why>',
    '#',
    '# Requirements no stage can observe, written down instead of as rules:',
    '#   §<clause>  <what it asks>: <why no facts show it, or what facts would be needed>',
    `id: ${id}`,
    'title: "<title>"',
    'version: "0.1"',
    `spec: https://example.invalid/${id}`,
    `extends: ${base.id}`,
    '',
    '# Every setting of the base with its current value, as the operator that keeps it. Uncomment a line and',
    '# change the value to move the setting: {subset_of: [...]} keeps only the listed members of an allow-list,',
    '# {add: [...]} adds members to a required list, {value: ...} replaces a value. Moving a setting the looser',
    '# way fails lint unless it is listed under waive: with a reason.',
    'settings:',
    ...settings,
    '',
    '# waive:',
    '#   - setting: <a setting moved the looser way>',
    '#     reason: <the clause that requires it, and until when>',
    '#   - rule: <a base rule that does not apply>',
    '#     reason: <why, and which rule of this overlay replaces it, if any>',
    '',
    '# Rules: each requirement of the document that facts can show, citing its clause; give each a passing and a',
    `# failing vector in ${id}.tests.yaml (fapi-policy test). See the README's profile authoring guide.`,
    'rules: []',
    '',
  ].join('\n');
}
