/** The profile language schema: validation of documents and the refinement kind of every setting. */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { trustedAjv } from '../engine/ajv.js';
import profileSchema from '../../schemas/profile.schema.json' with { type: 'json' };
import testsSchema from '../../schemas/tests.schema.json' with { type: 'json' };

export type RefineKind = 'allow-list' | 'required-list' | 'maximum' | 'minimum' | 'require' | 'permit';

interface Validators {
  profile: ValidateFunction;
  testsFile: ValidateFunction;
  settings: ValidateFunction;
}

let compiled: Validators | undefined;

/** Compiled on first use, so importing the library stays cheap. */
function validators(): Validators {
  if (!compiled) {
    const ajv = trustedAjv({ allErrors: true });
    ajv.addKeyword({ keyword: 'x-refine', schemaType: 'string' });
    ajv.addSchema(profileSchema);
    ajv.addSchema(testsSchema);
    compiled = {
      profile: ajv.getSchema(profileSchema.$id) as ValidateFunction,
      testsFile: ajv.getSchema(testsSchema.$id) as ValidateFunction,
      settings: ajv.getSchema(`${profileSchema.$id}#/$defs/settings`) as ValidateFunction,
    };
  }
  return compiled;
}

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

function check(validate: ValidateFunction, data: unknown): SchemaProblem[] {
  return validate(data) ? [] : problems(validate.errors);
}

export function profileSchemaProblems(data: unknown): SchemaProblem[] {
  return check(validators().profile, data);
}

export function testsFileSchemaProblems(data: unknown): SchemaProblem[] {
  return check(validators().testsFile, data);
}

/** Checks a fully resolved settings tree (after an overlay's operators) against the settings schema. */
export function settingsSchemaProblems(settings: unknown): SchemaProblem[] {
  return check(validators().settings, settings);
}

interface SettingSchemaNode {
  'x-refine'?: RefineKind;
  properties?: Record<string, SettingSchemaNode>;
}

/** Every leaf setting path ('a.b') with the refinement kind the schema declares for it. */
export const SETTING_KINDS: ReadonlyMap<string, RefineKind> = (() => {
  const kinds = new Map<string, RefineKind>();
  const walk = (node: SettingSchemaNode, prefix: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const path = prefix ? `${prefix}.${key}` : key;
      if (child['x-refine']) kinds.set(path, child['x-refine']);
      else walk(child, path);
    }
  };
  walk(profileSchema.$defs.settings as SettingSchemaNode, '');
  return kinds;
})();
