/** The profile language schema: validation of documents and the refinement kind of every setting. */
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { trustedAjv } from '../engine/ajv.js';
import { walk } from '../engine/logic/node.js';
import { loadPrecompiled } from '../engine/precompiled.js';
import profileSchema from '../../schemas/profile.schema.json' with { type: 'json' };
import testsSchema from '../../schemas/tests.schema.json' with { type: 'json' };

export type RefineKind = 'allow-list' | 'required-list' | 'maximum' | 'minimum' | 'require' | 'permit';

/**
 * Two validators per schema, both compiled on first use: a quick one that stops at the first
 * error (every load runs it), and a thorough one that lists all errors, compiled only once a
 * document is known to be broken, so `lint` can report everything at once.
 */
class LazyValidator {
  private thorough?: ValidateFunction;

  constructor(
    private readonly key: 'profile' | 'tests',
    private quick: ValidateFunction | undefined,
  ) {}

  problems(data: unknown): SchemaProblem[] {
    this.quick ??= profileAjv({ allErrors: false }).getSchema(this.key) as ValidateFunction;
    if (this.quick(data)) return [];
    this.thorough ??= profileAjv({ allErrors: true }).getSchema(this.key) as ValidateFunction;
    this.thorough(data);
    return problems(this.thorough.errors);
  }
}

/** The profile language schemas, keyed `profile` and `tests`; `source` keeps the code for precompiling. */
export function profileAjv(options: { allErrors: boolean; source?: boolean }): Ajv2020 {
  const ajv = trustedAjv(options);
  ajv.addKeyword({ keyword: 'x-refine', schemaType: 'string' });
  ajv.addKeyword({ keyword: 'x-at-most', schemaType: 'string' });
  ajv.addSchema(profileSchema, 'profile');
  ajv.addSchema(testsSchema, 'tests');
  return ajv;
}

/** The quick validators come precompiled when the build made them (engine/precompiled.ts). */
const precompiled = await loadPrecompiled('profile-validators', ['profile', 'tests']);
const profileValidator = new LazyValidator('profile', precompiled?.get('profile'));
const testsFileValidator = new LazyValidator('tests', precompiled?.get('tests'));

export interface SchemaProblem {
  pointer: string;
  message: string;
}

function problems(errors: ErrorObject[] | null | undefined): SchemaProblem[] {
  const seen = new Set<string>();
  const out: SchemaProblem[] = [];
  for (const e of errors ?? []) {
    if (e.keyword === 'if' || e.keyword === 'oneOf' || e.keyword === 'anyOf') continue;
    const p = e.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
    let message = e.message ?? 'is invalid';
    if (p.additionalProperty) message = `unknown key '${p.additionalProperty}'`;
    else if (p.missingProperty) message = `missing required key '${p.missingProperty}'`;
    else if (p.allowedValues) message = `must be one of ${p.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    const pointer = p.additionalProperty ? `${e.instancePath}/${p.additionalProperty}` : e.instancePath;
    const key = `${pointer}|${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ pointer, message: `${pointer || '/'}: ${message}` });
    }
  }
  return out;
}

export function profileSchemaProblems(data: unknown): SchemaProblem[] {
  return profileValidator.problems(data);
}

export function testsFileSchemaProblems(data: unknown): SchemaProblem[] {
  return testsFileValidator.problems(data);
}

/** Checks a fully resolved settings tree (after an overlay's operators) against the settings schema. */
function settingsSchemaProblems(settings: unknown): SchemaProblem[] {
  // Checked as the settings of a minimal base document: one compiled validator serves both uses.
  const probe = { id: 'settings-check', title: 'settings', version: '0', spec: 'https://settings.invalid', settings, rules: [] };
  return profileValidator
    .problems(probe)
    .map((p) => ({ pointer: p.pointer.replace(/^\/settings/, ''), message: p.message.replace(/^\/settings/, '') }));
}

interface SettingSchemaNode {
  description?: string;
  'x-refine'?: RefineKind;
  'x-at-most'?: string;
  properties?: Record<string, SettingSchemaNode>;
}

/** Every leaf setting of the schema ('a.b', the nodes that declare `x-refine`), in schema order. */
const SETTING_LEAVES: ReadonlyArray<[string, SettingSchemaNode]> = (() => {
  const leaves: Array<[string, SettingSchemaNode]> = [];
  const visit = (node: SettingSchemaNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (child['x-refine']) leaves.push([path, child]);
      else visit(child, path);
    }
  };
  visit(profileSchema.$defs.settings as SettingSchemaNode, '');
  return leaves;
})();

/** Every leaf setting path with the refinement kind the schema declares for it. */
export const SETTING_KINDS: ReadonlyMap<string, RefineKind> = new Map(SETTING_LEAVES.map(([path, node]) => [path, node['x-refine'] as RefineKind]));

/** What each leaf setting means, as the schema describes it (for reports a person reads). */
export const SETTING_DESCRIPTIONS: ReadonlyMap<string, string> = new Map(SETTING_LEAVES.map(([path, node]) => [path, node.description ?? '']));

/**
 * Pairs of settings where the first may not exceed the second (`x-at-most`). Each refines on its
 * own (a minimum may rise), so the pair is checked on the result: a tolerance that grew past its
 * ceiling would otherwise widen the rules that read both.
 */
const SETTING_CEILINGS: ReadonlyArray<[string, string]> = SETTING_LEAVES.flatMap(([path, node]) => {
  const ceiling = node['x-at-most'];
  if (ceiling === undefined) return [];
  // A misspelt ceiling would silently check nothing; the shipped schema must name a real setting.
  if (!SETTING_KINDS.has(ceiling)) throw new Error(`profile.schema.json: ${path} names an unknown x-at-most setting '${ceiling}'`);
  return [[path, ceiling] as [string, string]];
});

/** Settings that exceed the setting named as their ceiling; for a complete, schema-valid settings tree. */
export function settingCeilingProblems(settings: unknown): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const [path, ceiling] of SETTING_CEILINGS) {
    const value = walk(settings, path.split('.'));
    const limit = walk(settings, ceiling.split('.'));
    if (typeof value === 'number' && typeof limit === 'number' && value > limit) {
      out.push({ pointer: `/${path.replaceAll('.', '/')}`, message: `${path} (${value}) must not exceed ${ceiling} (${limit})` });
    }
  }
  return out;
}

/** Problems of a whole settings object: the schema's, else (once its shape is right) the ceilings between settings. */
export function resolvedSettingsProblems(settings: unknown): SchemaProblem[] {
  const problems = settingsSchemaProblems(settings);
  return problems.length ? problems : settingCeilingProblems(settings);
}

/** Sets the leaf setting at a dotted path (its parents exist: the settings schema requires them). */
export function setSetting(settings: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let node = settings;
  for (const s of segments.slice(0, -1)) node = node[s] as Record<string, unknown>;
  node[segments[segments.length - 1] as string] = value;
}
