/**
 * Facts validation: the first step of every decision. Facts of the wrong shape never reach a rule.
 * The schemas in schemas/facts are the engine's public input format.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { trustedAjv } from './ajv.js';
import { FORBIDDEN_KEYS } from './logic/values.js';
import { isStage, STAGES, type Stage } from './types.js';
import common from '../../schemas/facts/common.schema.json' with { type: 'json' };
import discovery from '../../schemas/facts/discovery.schema.json' with { type: 'json' };
import registration from '../../schemas/facts/registration.schema.json' with { type: 'json' };
import par from '../../schemas/facts/par.schema.json' with { type: 'json' };
import authorization from '../../schemas/facts/authorization.schema.json' with { type: 'json' };
import requestObject from '../../schemas/facts/request_object.schema.json' with { type: 'json' };
import token from '../../schemas/facts/token.schema.json' with { type: 'json' };
import clientAuth from '../../schemas/facts/client_auth.schema.json' with { type: 'json' };
import dpop from '../../schemas/facts/dpop.schema.json' with { type: 'json' };
import tls from '../../schemas/facts/tls.schema.json' with { type: 'json' };
import resource from '../../schemas/facts/resource.schema.json' with { type: 'json' };
import introspection from '../../schemas/facts/introspection.schema.json' with { type: 'json' };

export const FACTS_SCHEMAS: Readonly<Record<Stage, object>> = {
  discovery, registration, par, authorization, request_object: requestObject, token,
  client_auth: clientAuth, dpop, tls, resource, introspection,
};

export const FACTS_LIMITS = { maxDepth: 32, maxNodes: 10_000 } as const;

export interface FactsProblem {
  path: string;
  message: string;
}

let validators: Record<Stage, ValidateFunction> | undefined;

/** Compiled once per process: the facts schemas are fixed. */
function factsValidators(): Record<Stage, ValidateFunction> {
  if (!validators) {
    const ajv = trustedAjv();
    ajv.addSchema(common);
    validators = Object.fromEntries(STAGES.map((s) => [s, ajv.compile(FACTS_SCHEMAS[s])])) as Record<Stage, ValidateFunction>;
  }
  return validators;
}

/** Returns the first problem with the facts of a stage, or null when they may be evaluated. */
export function checkFacts(stage: Stage, facts: unknown): FactsProblem | null {
  if (!isStage(stage)) return { path: '', message: `unknown stage '${String(stage)}'` };
  const hostile = hostileShape(facts);
  if (hostile) return hostile;
  const validate = factsValidators()[stage];
  if (validate(facts)) return null;
  const e = validate.errors?.[0];
  if (!e) return { path: '', message: 'facts do not match the stage schema' };
  const missing = e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing) return { path: `${e.instancePath}/${missing}`, message: `missing fact ${e.instancePath}/${missing}` };
  const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
  if (extra) return { path: `${e.instancePath}/${extra}`, message: `unknown fact ${e.instancePath}/${extra}` };
  return { path: e.instancePath, message: `fact ${e.instancePath || '/'} ${e.message ?? 'is invalid'}` };
}

/**
 * Depth, size and prototype-key bounds, checked before ajv sees the value. The scan allocates
 * nothing on the way; the path of a problem is only worked out once one is found.
 */
export function hostileShape(value: unknown, limits: { maxDepth: number; maxNodes: number } = FACTS_LIMITS): FactsProblem | null {
  const budget = { nodes: limits.maxNodes };
  if (clean(value, limits.maxDepth, budget)) return null;
  if (budget.nodes < 0) return { path: '', message: `facts have more than ${limits.maxNodes} values` };
  return locate(value, limits.maxDepth, '', limits.maxDepth) ?? { path: '', message: 'facts are malformed' };
}

function clean(node: unknown, depthLeft: number, budget: { nodes: number }): boolean {
  if (--budget.nodes < 0) return false;
  if (node === null || typeof node !== 'object') return true;
  if (depthLeft <= 0) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (!clean(node[i], depthLeft - 1, budget)) return false;
    return true;
  }
  // for...in also lists inherited enumerable names; facts are JSON, so every name found is their own.
  for (const key in node) {
    // Spelled out rather than a Set lookup: this loop runs for every member of every decision.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
    if (!clean((node as Record<string, unknown>)[key], depthLeft - 1, budget)) return false;
  }
  return true;
}

function locate(node: unknown, depthLeft: number, path: string, maxDepth: number): FactsProblem | null {
  if (node === null || typeof node !== 'object') return null;
  if (depthLeft <= 0) return { path, message: `facts are nested deeper than ${maxDepth}` };
  const entries: Array<[string, unknown]> = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
  for (const [key, child] of entries) {
    if (!Array.isArray(node) && FORBIDDEN_KEYS.has(key)) return { path: `${path}/${key}`, message: `facts may not contain the key '${key}'` };
    const found = locate(child, depthLeft - 1, `${path}/${key}`, maxDepth);
    if (found) return found;
  }
  return null;
}
