/**
 * Facts validation: the first step of every decision. Facts of the wrong shape never reach a rule.
 * The schemas in schemas/facts are the engine's public input format.
 */
import type { Ajv2020, ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { trustedAjv } from './ajv.js';
import { loadPrecompiled } from './precompiled.js';
import { STAGES, type Stage } from './types.js';
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
import authorizationResponse from '../../schemas/facts/authorization_response.schema.json' with { type: 'json' };
import tokenResponse from '../../schemas/facts/token_response.schema.json' with { type: 'json' };
import server from '../../schemas/facts/server.schema.json' with { type: 'json' };
import { ECHO_MAX, pointerToken, printable, quote } from './text.js';

export const FACTS_SCHEMAS: Readonly<Record<Stage, object>> = {
  discovery, registration, par, authorization, request_object: requestObject, token,
  client_auth: clientAuth, dpop, tls, resource, introspection,
  authorization_response: authorizationResponse, token_response: tokenResponse, server,
};

export interface FactsProblem {
  path: string;
  message: string;
}

/** One ajv instance holding every facts schema; `source` keeps the code for precompiling. */
export function factsAjv(options: { source?: boolean } = {}): Ajv2020 {
  const ajv = trustedAjv(options);
  ajv.addSchema(common);
  for (const stage of STAGES) ajv.addSchema(FACTS_SCHEMAS[stage], stage);
  return ajv;
}

/** Built at build time when possible (precompiled.ts); otherwise compiled once, on first use. */
let validators: ReadonlyMap<string, ValidateFunction> | null = await loadPrecompiled('facts-validators', STAGES);

export function factsValidators(): ReadonlyMap<string, ValidateFunction> {
  if (!validators) {
    const ajv = factsAjv();
    validators = new Map(STAGES.map((s) => [s, ajv.getSchema(s) as ValidateFunction]));
  }
  return validators;
}

/**
 * Returns the first problem with the facts of a stage, or null when they may be evaluated.
 * The schemas themselves refuse prototype keys and bound nesting and fan-out (see `safeName`
 * and the `json` levels in common.schema.json), so one ajv pass is the whole check.
 */
export function checkFacts(stage: Stage, facts: unknown): FactsProblem | null {
  // A Map, not an object: a stage named 'constructor' must not find Object.prototype.constructor.
  const validate = factsValidators().get(stage);
  if (!validate) return { path: '', message: `unknown stage '${String(stage)}'` };
  if (validate(facts)) return null;
  return factsProblem(validate.errors ?? []);
}

/** ajv's errors for facts as one problem: exported so its fallbacks can be tested without a broken validator. */
export function factsProblem(errors: readonly ErrorObject[]): FactsProblem {
  const forbidden = errors.find((x) => x.propertyName !== undefined);
  if (forbidden) {
    const key = forbidden.propertyName as string;
    return { path: `${forbidden.instancePath}/${pointerToken(key, ECHO_MAX)}`, message: `facts may not contain the key ${quote(key)}` };
  }
  const e = errors[0];
  if (!e) return { path: '', message: 'facts do not match the stage schema' };
  // Paths are exact pointers (member names escaped); messages show them printable and bounded.
  if (e.schemaPath.includes('/jsonLeaf/')) return { path: e.instancePath, message: `facts are nested too deeply at ${printable(e.instancePath)}` };
  const missing = e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
  if (missing) return { path: `${e.instancePath}/${missing}`, message: `missing fact ${printable(e.instancePath)}/${missing}` };
  const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty?: string }).additionalProperty : undefined;
  if (extra) {
    const path = `${e.instancePath}/${pointerToken(extra, ECHO_MAX)}`;
    return { path, message: `unknown fact ${printable(path)}` };
  }
  return { path: e.instancePath, message: `fact ${printable(e.instancePath) || '/'} ${e.message ?? 'is invalid'}` };
}
