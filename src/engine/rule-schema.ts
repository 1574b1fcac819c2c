/** Compiles the `schema:` check of a rule, with settings substituted, under the untrusted-schema regime. */
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { LogicCompileError } from './errors.js';
import type { SettingSite } from './logic/compile.js';
import { walk } from './logic/node.js';
import { FORBIDDEN_KEYS } from './logic/values.js';
import { ruleSchemaProblems, untrustedAjv } from './ajv.js';
import { canonicalJson } from './digest.js';
import type { Settings } from './types.js';

const SCHEMA_LIMITS = { maxDepth: 32, maxNodes: 5000 } as const;

export interface SchemaFailure {
  path: string;
  message: string;
}

export interface SchemaCheck {
  test: (facts: unknown) => boolean;
  /** Every `$setting` of the schema: which setting, and the JSON pointer where it stands. */
  settingReads: SettingSite[];
  /** Where the last failed `test` failed (ajv keeps the errors of the last call). */
  lastFailure: () => SchemaFailure;
}

/**
 * Compiles rule schemas for one set of profiles. Overlays inherit their base's rules and a rule
 * may span stages, so the same concrete schema recurs: each is compiled once. The ajv instance
 * lives as long as the set, so nothing accumulates across reloads.
 */
export class SchemaCompiler {
  private readonly ajv: Ajv2020 = untrustedAjv();
  private readonly compiled = new Map<string, ValidateFunction>();

  compile(schema: unknown, settings: Settings, stage: string): SchemaCheck {
    const settingReads: SettingSite[] = [];
    const concrete = substitute(schema, settings, stage, settingReads);
    const key = canonicalJson(concrete);
    let validate = this.compiled.get(key);
    if (!validate) {
      const problems = ruleSchemaProblems(concrete);
      if (problems.length) throw new LogicCompileError(problems.join('; '), '');
      try {
        validate = this.ajv.compile(concrete as object);
      } catch (e) {
        throw new LogicCompileError(`schema does not compile: ${(e as Error).message}`, '');
      }
      // An async validator answers with a Promise, which is truthy: it would pass every fact.
      if ((validate as { $async?: boolean }).$async) throw new LogicCompileError('schema must not be $async: a rule check answers synchronously', '/$async');
      this.compiled.set(key, validate);
    }
    const test = validate;
    // Only a literal true passes, so no non-boolean answer can ever allow.
    return { test: (facts) => test(facts) === true, settingReads, lastFailure: () => failureOf(test.errors?.[0]) };
  }
}

function failureOf(error: ErrorObject | undefined): SchemaFailure {
  if (!error) return { path: '', message: 'schema check failed' };
  const missing = error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  const path = missing ? `${error.instancePath}/${missing}` : error.instancePath;
  return { path, message: missing ? `missing fact ${path}` : `${error.instancePath || '/'} ${error.message ?? 'is invalid'}` };
}

/** Replaces {$setting: path} by the setting's value; bounds the size and rejects prototype keys. */
function substitute(node: unknown, settings: Settings, stage: string, reads: SettingSite[]): unknown {
  let count = 0;
  const visit = (value: unknown, depth: number, at: string): unknown => {
    if (++count > SCHEMA_LIMITS.maxNodes) throw new LogicCompileError(`schema has more than ${SCHEMA_LIMITS.maxNodes} nodes`, at);
    if (depth > SCHEMA_LIMITS.maxDepth) throw new LogicCompileError(`schema is nested deeper than ${SCHEMA_LIMITS.maxDepth}`, at);
    if (Array.isArray(value)) return value.map((v, i) => visit(v, depth + 1, `${at}/${i}`));
    if (value === null || typeof value !== 'object') return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$setting') return settingValue(value as { $setting: unknown }, settings, stage, at, reads);
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) throw new LogicCompileError(`schema uses the forbidden key '${key}'`, `${at}/${key}`);
      sharedReference(key, (value as Record<string, unknown>)[key], `${at}/${key}`);
      out[key] = visit((value as Record<string, unknown>)[key], depth + 1, `${at}/${key}`);
    }
    return out;
  };
  return visit(node, 0, '');
}

/**
 * The rule schemas of a whole set share one ajv instance, which registers every `$id` and anchor it
 * compiles: another profile's schema could `$ref` them, and its decisions would then change with a
 * document its digest does not cover. A rule schema may only refer inside itself.
 */
function sharedReference(key: string, value: unknown, at: string): void {
  if (key === '$id' || key === '$anchor' || key === '$dynamicAnchor') {
    throw new LogicCompileError(`schema may not declare ${key}: rule schemas may only refer inside themselves`, at);
  }
  if ((key === '$ref' || key === '$dynamicRef') && (typeof value !== 'string' || !value.startsWith('#'))) {
    throw new LogicCompileError(`${key} must point inside the rule's own schema ('#…')`, at);
  }
}

function settingValue(node: { $setting: unknown }, settings: Settings, stage: string, at: string, reads: SettingSite[]): unknown {
  if (typeof node.$setting !== 'string') throw new LogicCompileError('$setting takes a dotted setting path', at);
  const path = node.$setting.replaceAll('${stage}', stage);
  reads.push({ setting: path, at });
  const value = walk(settings, path.split('.'));
  if (value === undefined) throw new LogicCompileError(`unknown setting '${path}'`, at);
  return structuredClone(value);
}
