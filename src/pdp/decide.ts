/**
 * One decision, whichever API asked for it: resolve the profile in the snapshot the request holds,
 * check the stage and the facts (a precise 400 for either), evaluate, and fail closed if evaluation
 * itself breaks. Metrics and the decision log are written here, once per decision.
 */
import { randomUUID } from 'node:crypto';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import { checkFacts } from '../engine/facts.js';
import { oauthStatus } from '../engine/oauth-errors.js';
import { STAGES, isStage, type Decision, type Stage } from '../engine/types.js';
import type { PdpContext, RequestMeta } from './context.js';
import { ECHO_MAX, pointerToken, quote } from '../engine/text.js';
import { HttpError, badRequest } from './errors.js';
import { isPlainObject } from './limits.js';
import { loggable } from './log.js';
import type { Snapshot } from '../registry/registry.js';

export interface DecisionInput {
  profile: unknown;
  stage: unknown;
  facts: unknown;
  explain: boolean;
  api: 'native' | 'authzen';
  clientId?: string;
}

/** Where each input sits in the request, for error paths (JSON pointers). */
export interface InputPaths {
  profile: string;
  stage: string;
  /** Maps a pointer inside the facts to a pointer inside the request. */
  facts: (pointer: string) => string;
}

export interface DecisionResult {
  decisionId: string;
  decision: Decision;
}

export function decide(ctx: PdpContext, snapshot: Snapshot, input: DecisionInput, paths: InputPaths, meta: RequestMeta): DecisionResult {
  const started = performance.now();
  const profile = resolveProfile(snapshot, input.profile, paths.profile);
  const stage = resolveStage(input.stage, paths.stage);
  if (!isPlainObject(input.facts)) throw new HttpError(400, 'invalid_facts', 'facts must be a JSON object', paths.facts(''));
  const decision = evaluateClosed(ctx, profile, stage, input.facts, input.explain, paths);
  const decisionId = randomUUID();
  record(ctx, decisionId, decision, input, meta, performance.now() - started);
  return { decisionId, decision };
}

function resolveProfile(snapshot: Snapshot, id: unknown, path: string): CompiledProfile {
  if (typeof id !== 'string' || !id) throw badRequest('the profile id must be a non-empty string', path);
  const profile = snapshot.profiles.get(id);
  if (profile) return profile;
  const known = snapshot.ids.length ? snapshot.ids.join(', ') : 'none loaded';
  throw new HttpError(404, 'unknown_profile', `unknown profile ${quote(id)} (loaded: ${known})`, path);
}

function resolveStage(stage: unknown, path: string): Stage {
  if (isStage(stage)) return stage;
  if (typeof stage !== 'string') throw badRequest('the stage must be a string', path);
  throw new HttpError(400, 'unknown_stage', `unknown stage ${quote(stage)} (one of: ${STAGES.join(', ')})`, path);
}

/**
 * Facts of the wrong shape are the caller's mistake: a 400 naming the member. Anything that breaks
 * inside the engine (it never throws, but if it did) or answers nonsense is a flagged deny.
 */
function evaluateClosed(ctx: PdpContext, profile: CompiledProfile, stage: Stage, facts: Record<string, unknown>, explain: boolean, paths: InputPaths): Decision {
  const fail = (e: unknown) => failClosed(ctx, profile, stage, e);
  let problem: ReturnType<typeof checkFacts>;
  try {
    problem = checkFacts(stage, facts);
  } catch (e) {
    return fail(e);
  }
  if (problem) throw new HttpError(400, 'invalid_facts', `facts for stage '${stage}': ${problem.message}`, paths.facts(problem.path));
  let decision: Decision;
  try {
    decision = profile.evaluate(stage, facts, explain ? { explain: true } : undefined);
  } catch (e) {
    return fail(e);
  }
  if (decision.decision === 'allow' && decision.violations.length === 0) return decision;
  if (decision.decision === 'deny') return decision;
  return internalDeny(profile, stage);
}

function failClosed(ctx: PdpContext, profile: CompiledProfile, stage: Stage, e: unknown): Decision {
  ctx.log.error({ profile: profile.id, stage }, `evaluation threw: ${(e as Error)?.message ?? String(e)}`);
  return internalDeny(profile, stage);
}

/** The engine broke or answered nonsense: a deny the server owns (server_error), flagged for alerting. */
function internalDeny(profile: CompiledProfile, stage: Stage): Decision {
  const error = 'server_error';
  const status = oauthStatus(error);
  return {
    decision: 'deny', profile: profile.ref, stage, error, status, warnings: [], engine_error: true,
    violations: [{ rule: 'fapi-policy/internal', clause: 'fapi-policy', severity: 'error', message: 'internal error during evaluation; denied', path: '', error, status }],
  };
}

function record(ctx: PdpContext, decisionId: string, d: Decision, input: DecisionInput, meta: RequestMeta, ms: number): void {
  ctx.metrics.decision(d.profile.id, d.stage, d.decision, d.engine_error === true);
  if (!ctx.decisionLog.enabled) return;
  ctx.decisionLog.write({
    decision_id: decisionId,
    api: input.api,
    profile: d.profile.id,
    digest: d.profile.digest,
    stage: d.stage,
    result: d.decision,
    ...(d.error ? { error: d.error } : {}),
    ...(d.engine_error ? { engine_error: true as const } : {}),
    violations: d.violations.map((v) => v.rule),
    warnings: d.warnings.map((v) => v.rule),
    latency_ms: Math.round(ms * 1000) / 1000,
    ...(loggable(input.clientId) ? { client_id: loggable(input.clientId) } : {}),
    ...(meta.requestId ? { request_id: meta.requestId } : {}),
  });
}

// ---------------------------------------------------------------------------------------------
// The native API: POST /v1/decide {profile, stage, facts, explain?}

const NATIVE_MEMBERS = new Set(['profile', 'stage', 'facts', 'explain']);
const NATIVE_PATHS: InputPaths = { profile: '/profile', stage: '/stage', facts: (p) => `/facts${p}` };

/** Our own API is strict: an unknown member is a typo the caller wants to hear about. */
function parseDecideRequest(body: unknown): { explain: boolean } & Pick<DecisionInput, 'profile' | 'stage' | 'facts'> {
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object {profile, stage, facts}');
  for (const key of Object.keys(body)) {
    if (!NATIVE_MEMBERS.has(key)) throw badRequest(`unknown member ${quote(key)}; expected profile, stage, facts and optionally explain`, `/${pointerToken(key, ECHO_MAX)}`);
  }
  for (const key of ['profile', 'stage', 'facts'] as const) {
    if (body[key] === undefined) throw badRequest(`missing member '${key}'`, `/${key}`);
  }
  if (body.explain !== undefined && typeof body.explain !== 'boolean') throw badRequest('explain must be a boolean', '/explain');
  return { profile: body.profile, stage: body.stage, facts: body.facts, explain: body.explain === true };
}

/** `explain` was decided (and authorised) by the caller of this function, from the query and the body. */
export function handleDecide(ctx: PdpContext, body: unknown, explain: boolean, meta: RequestMeta): string {
  const request = parseDecideRequest(body);
  const facts = request.facts as { client?: { client_id?: unknown } } | undefined;
  const clientId = typeof facts?.client?.client_id === 'string' ? facts.client.client_id : undefined;
  const { decisionId, decision } = decide(
    ctx, ctx.registry.current,
    { ...request, explain, api: 'native', clientId },
    NATIVE_PATHS, meta,
  );
  return decisionJson(decisionId, decision);
}

// ---------------------------------------------------------------------------------------------
// Serialization of the hot responses: the fixed parts are strings already (ids, stage names, a
// profile reference cached per compiled profile), so only violations and warnings go through
// JSON.stringify — and only when there are any.

const refJson = new WeakMap<object, string>();

function profileRefJson(ref: Decision['profile']): string {
  let json = refJson.get(ref);
  if (json === undefined) refJson.set(ref, (json = JSON.stringify(ref)));
  return json;
}

const list = (items: readonly unknown[]) => (items.length ? JSON.stringify(items) : '[]');

/** How a response names the refusal's OAuth error and flags an engine failure. */
export interface RefusalStyle {
  /** The members that carry `error` and `status` of a deny (without a leading comma). */
  refusal: (error: string, status: number) => string;
  /** The member that flags an engine failure (without a leading comma). */
  engineError: string;
}

/** `"profile":…,"stage":…[,<refusal>],"violations":…,"warnings":…[,<engineError>][,"explain":…]` of a decision. */
export function decisionMembers(d: Decision, style: RefusalStyle): string {
  // error and status are registered codes and integers, so they need no escaping.
  return `"profile":${profileRefJson(d.profile)},"stage":"${d.stage}"`
    + (d.error !== undefined && d.status !== undefined ? `,${style.refusal(d.error, d.status)}` : '')
    + `,"violations":${list(d.violations)},"warnings":${list(d.warnings)}`
    + (d.engine_error ? `,${style.engineError}` : '') + (d.explain ? `,"explain":${JSON.stringify(d.explain)}` : '');
}

const NATIVE: RefusalStyle = {
  refusal: (error, status) => `"error":"${error}","status":${status}`,
  engineError: '"engine_error":true',
};

/** The native response: `{decision_id, decision, profile, stage, error?, status?, violations, warnings, engine_error?, explain?}`. */
function decisionJson(decisionId: string, d: Decision): string {
  return `{"decision_id":"${decisionId}","decision":"${d.decision}",${decisionMembers(d, NATIVE)}}`;
}
