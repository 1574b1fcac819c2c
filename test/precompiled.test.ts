/**
 * The build precompiles the shipped schemas into dist/generated (scripts/precompile-validators.ts);
 * the tests run from the sources, which compile them at run time. Both must judge every input the
 * same way: here they meet over every fact set of the shipped test vectors, hostile facts, the
 * shipped profiles, broken profile documents, and rule schemas valid, invalid and unsafe.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { draft2020MetaAjv, META_VALIDATORS, secureMetaAjv } from '../src/engine/ajv.js';
import { factsValidators } from '../src/engine/facts.js';
import { STAGES } from '../src/engine/types.js';
import { loadProfiles, mergePatch } from '../src/index.js';
import { profileAjv } from '../src/profile/schema.js';
import { FIXTURES } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const generated = async (name: string) => (await import(pathToFileURL(join(ROOT, 'dist', 'generated', `${name}.js`)).href)) as Record<string, ValidateFunction>;

/** What a caller sees of a verdict: valid or not, and where and why the first error is. */
function verdict(validate: ValidateFunction, data: unknown): string {
  if (validate(data)) return 'valid';
  const e = (validate.errors as ErrorObject[])[0]!;
  return `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`;
}

describe('precompiled validators agree with run-time compiled ones', () => {
  let facts: Record<string, ValidateFunction>;
  let profiles: Record<string, ValidateFunction>;
  beforeAll(async () => {
    facts = await generated('facts-validators');
    profiles = await generated('profile-validators');
  });

  it('on the facts of every shipped test vector, and on hostile facts', async () => {
    const set = await loadProfiles([join(ROOT, 'profiles')], { tests: true });
    const cases: Array<[string, unknown]> = [];
    for (const suite of set.suites) {
      for (const v of suite.vectors) cases.push([v.stage, mergePatch(structuredClone(suite.fixtures[v.fixture ?? v.stage] ?? {}), v.facts ?? {})]);
    }
    const deep = JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40));
    for (const stage of STAGES) {
      cases.push([stage, {}], [stage, null], [stage, []], [stage, { time: 'now' }], [stage, JSON.parse('{"__proto__": {"x": 1}}')], [stage, { params: deep, extensions: deep }]);
    }
    expect(cases.length).toBeGreaterThan(700);
    const runtime = factsValidators();
    let invalid = 0;
    for (const [stage, data] of cases) {
      const expected = verdict(runtime.get(stage)!, data);
      if (expected !== 'valid') invalid++;
      expect(verdict(facts[stage]!, data), `${stage}: ${JSON.stringify(data).slice(0, 120)}`).toBe(expected);
    }
    expect(invalid).toBeGreaterThan(STAGES.length * 5);
  });

  it('on the shipped profiles and on broken profile documents', async () => {
    const runtime = profileAjv({ allErrors: false });
    const docs: unknown[] = ['fapi1-baseline', 'fapi1-advanced', 'fapi2-security', 'fapi2-message-signing']
      .map((id) => parse(readFileSync(join(ROOT, 'profiles', `${id}.yaml`), 'utf8')) as unknown);
    docs.push(parse(readFileSync(join(FIXTURES, 'profiles', 'mini-base.yaml'), 'utf8')));
    const base = docs[2] as Record<string, unknown>;
    docs.push({ ...base, unknown_key: 1 }, { ...base, id: 'Bad Id' }, { ...base, rules: [{ id: 'X' }] }, { ...base, settings: { par: { required: 'yes' } } }, {});
    for (const doc of docs) {
      expect(verdict(profiles.profile!, doc)).toBe(verdict(runtime.getSchema('profile') as ValidateFunction, doc));
    }
    const tests = parse(readFileSync(join(ROOT, 'profiles', 'fapi2-security.tests.yaml'), 'utf8')) as unknown;
    for (const doc of [tests, { profile: 'x', vectors: 'no' }]) {
      expect(verdict(profiles.tests!, doc)).toBe(verdict(runtime.getSchema('tests') as ValidateFunction, doc));
    }
  });

  it('on rule schemas: the shipped ones, invalid ones and unsafe ones', async () => {
    const meta = await generated('meta-validators');
    const secure = await generated('secure-validators');
    const runtimeMeta = draft2020MetaAjv().getSchema(META_VALIDATORS.draft2020) as ValidateFunction;
    const runtimeSecure = secureMetaAjv().getSchema(META_VALIDATORS.secure) as ValidateFunction;
    const set = await loadProfiles([join(ROOT, 'profiles')]);
    // As written, with their {$setting} placeholders: some are invalid until compiled, which is fine here.
    const shipped: unknown[] = set.ids().flatMap((id) => set.get(id)!.resolved.rules.flatMap((r) => (r.check.schema ? [r.check.schema] : [])));
    expect(shipped.length).toBeGreaterThan(10);
    const hostile: unknown[] = [
      { type: 'strnig' }, { properties: { x: { properties: { y: { minLength: -1 } } } } }, { items: { $ref: 5 } },
      { type: 'string', pattern: '^(a+)+$' }, { type: 'array', uniqueItems: true }, { patternProperties: { '^a': {} } },
    ];
    const judged = (schema: unknown, meta2020: ValidateFunction, safe: ValidateFunction) => [verdict(meta2020, schema), verdict(safe, schema)];
    for (const schema of [...shipped, ...hostile]) {
      expect(judged(schema, meta.draft2020!, secure.secure!), JSON.stringify(schema).slice(0, 120)).toEqual(judged(schema, runtimeMeta, runtimeSecure));
    }
    expect(hostile.filter((schema) => judged(schema, runtimeMeta, runtimeSecure).some((v) => v !== 'valid'))).toEqual(hostile);
  });
});
