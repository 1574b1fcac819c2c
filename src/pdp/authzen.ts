/**
 * OpenID AuthZEN Authorization API 1.0 over the same engine.
 *   subject  = the client: {type: "client", id: <client_id>, properties: <its registered metadata>}
 *   action   = the stage: {name: "par" | "token" | …}
 *   resource = the profile: {type: "fapi_profile", id: <profile id>}
 *   context  = the facts of that stage (without `client`, which comes from the subject)
 * A deny is HTTP 200 {"decision": false} with the violations in `context`. Unknown members are
 * ignored, as the specification requires.
 */
import { FACTS_SCHEMAS } from '../engine/facts.js';
import { STAGES, isStage, type Stage } from '../engine/types.js';
import type { PdpContext, RequestMeta } from './context.js';
import { decide, decisionMembers, type DecisionResult, type InputPaths, type RefusalStyle } from './decide.js';
import { printable, quote } from '../engine/text.js';
import { HttpError, MESSAGE_MAX, badRequest, toHttpError } from './errors.js';
import { isPlainObject } from './limits.js';
import type { Snapshot } from '../registry/registry.js';

const SUBJECT_TYPE = 'client';
const RESOURCE_TYPE = 'fapi_profile';
const SEMANTICS = ['execute_all', 'deny_on_first_deny', 'permit_on_first_permit'] as const;
export type Semantic = (typeof SEMANTICS)[number];

/** One AuthZEN decision, kept as its JSON text (see decisionMembers) and its boolean. */
interface Evaluated {
  decision: boolean;
  json: string;
}

interface Tuple {
  subject: unknown;
  action: unknown;
  resource: unknown;
  context: unknown;
}

/** Stages whose facts describe the client; the subject's metadata becomes `facts.client` there. */
const CLIENT_STAGES: ReadonlySet<Stage> = new Set(
  (Object.keys(FACTS_SCHEMAS) as Stage[]).filter((s) => 'client' in ((FACTS_SCHEMAS[s] as { properties?: object }).properties ?? {})),
);

/** The top-level fact names of each stage. AuthZEN ignores unknown members; so does `context`. */
const FACT_NAMES: ReadonlyMap<Stage, ReadonlySet<string>> = new Map(
  STAGES.map((s) => [s, new Set(Object.keys((FACTS_SCHEMAS[s] as { properties?: object }).properties ?? {}))]),
);

/**
 * Drops context members that are not facts of the stage. Safe to ignore: no rule can read a fact
 * its stage schema does not define, and a fact a rule needs that is missing still denies.
 */
function knownFacts(context: Record<string, unknown>, stage: unknown): Record<string, unknown> {
  const names = isStage(stage) ? FACT_NAMES.get(stage) : undefined;
  if (!names) return context;
  let kept: Record<string, unknown> | undefined;
  for (const key of Object.keys(context)) {
    if (names.has(key)) continue;
    kept ??= { ...context };
    delete kept[key];
  }
  return kept ?? context;
}

export function configuration(baseUrl: string): Record<string, string> {
  return {
    policy_decision_point: baseUrl,
    access_evaluation_endpoint: `${baseUrl}/access/v1/evaluation`,
    access_evaluations_endpoint: `${baseUrl}/access/v1/evaluations`,
  };
}

/**
 * POST /access/v1/evaluation; answers JSON text. AuthZEN's transport errors are 400, 401, 403 and
 * 500, so an unknown profile (a 404 in the native API and inside a batch item) is a 400 here.
 */
export function handleEvaluation(ctx: PdpContext, body: unknown, explain: boolean, meta: RequestMeta): string {
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object {subject, action, resource, context}');
  try {
    return toAuthzen(evaluateTuple(ctx, ctx.registry.current, tupleOf(body), '', explain, meta)).json;
  } catch (e) {
    if (e instanceof HttpError && e.status === 404) throw new HttpError(400, e.code, e.message, e.path);
    throw e;
  }
}

/** POST /access/v1/evaluations; one snapshot serves the whole batch. */
export function handleEvaluations(ctx: PdpContext, body: unknown, explain: boolean, meta: RequestMeta): string {
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
  const semantic = semanticOf(body.options);
  const items = body.evaluations;
  if (items === undefined || (Array.isArray(items) && items.length === 0)) return handleEvaluation(ctx, body, explain, meta);
  if (!Array.isArray(items)) throw badRequest('evaluations must be an array', '/evaluations');
  if (items.length > ctx.limits.maxBatch) throw badRequest(`at most ${ctx.limits.maxBatch} evaluations per request`, '/evaluations');
  const snapshot = ctx.registry.current;
  const defaults = tupleOf(body);
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const result = evaluateItem(ctx, snapshot, items[i], defaults, `/evaluations/${i}`, explain, meta);
    out.push(result.json);
    if (semantic === 'deny_on_first_deny' && !result.decision) break;
    if (semantic === 'permit_on_first_permit' && result.decision) break;
  }
  return `{"evaluations":[${out.join(',')}]}`;
}

function semanticOf(options: unknown): Semantic {
  if (options === undefined) return 'execute_all';
  if (!isPlainObject(options)) throw badRequest('options must be an object', '/options');
  const value = options.evaluations_semantic;
  if (value === undefined) return 'execute_all';
  if ((SEMANTICS as readonly unknown[]).includes(value)) return value as Semantic;
  throw badRequest(`unknown evaluations_semantic ${quote(value)} (one of: ${SEMANTICS.join(', ')})`, '/options/evaluations_semantic');
}

/** An item's own members take precedence over the request's top-level defaults, member by member. */
function evaluateItem(ctx: PdpContext, snapshot: Snapshot, item: unknown, defaults: Tuple, at: string, explain: boolean, meta: RequestMeta): Evaluated {
  try {
    if (!isPlainObject(item)) throw badRequest('each evaluation must be an object', at);
    const pick = (k: keyof Tuple) => (Object.hasOwn(item, k) ? { value: item[k], at } : { value: defaults[k], at: '' });
    const parts = { subject: pick('subject'), action: pick('action'), resource: pick('resource'), context: pick('context') };
    const tuple: Tuple = { subject: parts.subject.value, action: parts.action.value, resource: parts.resource.value, context: parts.context.value };
    return toAuthzen(evaluateTuple(ctx, snapshot, tuple, at, explain, meta, parts));
  } catch (e) {
    const error = toHttpError(e);
    if (error.status >= 500) ctx.log.error({ at }, `evaluation failed: ${(e as Error)?.message ?? String(e)}`);
    return { decision: false, json: JSON.stringify({ decision: false, context: { error: { status: error.status, message: withPath(error) } } }) };
  }
}

/** The message of an item is not sent through sendError: it is made printable here, its pointer too. */
function withPath(error: HttpError): string {
  return printable(error.path ? `${error.message} (at ${error.path})` : error.message, MESSAGE_MAX);
}

function tupleOf(body: Record<string, unknown>): Tuple {
  return { subject: body.subject, action: body.action, resource: body.resource, context: body.context };
}

type Origins = Record<keyof Tuple, { at: string }>;

function evaluateTuple(
  ctx: PdpContext, snapshot: Snapshot, tuple: Tuple, at: string, explain: boolean, meta: RequestMeta, origins?: Origins,
): DecisionResult {
  const where = (k: keyof Tuple) => (origins ? origins[k].at : at);
  const subject = entity(tuple.subject, 'subject', `${where('subject')}/subject`, ['type', 'id']);
  const action = entity(tuple.action, 'action', `${where('action')}/action`, ['name']);
  const resource = entity(tuple.resource, 'resource', `${where('resource')}/resource`, ['type', 'id']);
  if (subject.type !== SUBJECT_TYPE) throw badRequest(`subject.type must be "${SUBJECT_TYPE}"`, `${where('subject')}/subject/type`);
  if (resource.type !== RESOURCE_TYPE) throw badRequest(`resource.type must be "${RESOURCE_TYPE}"`, `${where('resource')}/resource/type`);
  const contextAt = `${where('context')}/context`;
  const context = tuple.context ?? {};
  if (!isPlainObject(context)) throw badRequest('context must be an object (the facts of the stage)', contextAt);
  const stage = action.name;
  const stageContext = knownFacts(context, stage);
  const facts = isStage(stage) && CLIENT_STAGES.has(stage) ? withClient(stageContext, subject, contextAt, `${where('subject')}/subject`) : stageContext;
  const subjectAt = `${where('subject')}/subject`;
  const paths: InputPaths = {
    profile: `${where('resource')}/resource/id`,
    stage: `${where('action')}/action/name`,
    facts: (p) => (p.startsWith('/client/') ? `${subjectAt}/properties${p.slice('/client'.length)}` : `${contextAt}${p}`),
  };
  return decide(ctx, snapshot, { profile: resource.id, stage, facts, explain, api: 'authzen', clientId: subject.id as string }, paths, meta);
}

function entity(value: unknown, name: string, at: string, required: string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw badRequest(`${name} is required: an object with ${required.join(' and ')}`, at);
  for (const key of required) {
    if (typeof value[key] !== 'string') throw badRequest(`${name}.${key} is required and must be a string`, `${at}/${key}`);
  }
  if (value.properties !== undefined && !isPlainObject(value.properties)) throw badRequest(`${name}.properties must be an object`, `${at}/properties`);
  return value;
}

/** The client's registered metadata travels as subject properties; its id is the subject id. */
function withClient(context: Record<string, unknown>, subject: Record<string, unknown>, contextAt: string, subjectAt: string): Record<string, unknown> {
  if (Object.hasOwn(context, 'client')) {
    throw badRequest('send the client\'s metadata as subject.properties, not context.client', `${contextAt}/client`);
  }
  const properties = (subject.properties ?? {}) as Record<string, unknown>;
  if (properties.client_id !== undefined && properties.client_id !== subject.id) {
    throw badRequest('subject.properties.client_id differs from subject.id', `${subjectAt}/properties/client_id`);
  }
  return { ...context, client: { ...properties, client_id: subject.id } };
}

/**
 * `context.error` keeps its AuthZEN meaning (this item could not be decided properly, with an HTTP
 * status); the OAuth error a deny maps to travels as `context.oauth_error`.
 */
const AUTHZEN: RefusalStyle = {
  refusal: (error, status) => `"oauth_error":{"error":"${error}","status":${status}}`,
  engineError: `"error":${JSON.stringify({ status: 500, message: 'evaluation failed; denied (fail closed)' })}`,
};

/** `{"decision": <bool>, "context": {decision_id, profile, stage, oauth_error?, violations, warnings, error?, explain?}}` */
function toAuthzen({ decisionId, decision: d }: DecisionResult): Evaluated {
  const decision = d.decision === 'allow';
  return { decision, json: `{"decision":${decision},"context":{"decision_id":"${decisionId}",${decisionMembers(d, AUTHZEN)}}}` };
}

