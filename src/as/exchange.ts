/**
 * One request's state as it moves through an endpoint's steps, and the wrapper that runs the
 * steps and maps whatever they throw to a response in one place. The profile snapshot is read
 * once, when the request arrives: a reload mid-request never changes the rules it is judged by.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { Decision, Stage } from '../engine/types.js';
import { StoreFullError } from '../store/store.js';
import type { AsContext, ProfileSnapshot } from './context.js';
import { OAuthError, refusal, resourceChallenge, sendOAuthError, serverError } from './errors.js';
import type { RegisteredClient } from './clients.js';
import { shadowDecide, type ShadowReport } from './shadow.js';

/** What the request's decisions came to, for its log line: rule ids only, never facts. */
export interface DecisionNotes {
  /** The stages decided, in order. */
  stages: Stage[];
  /** Rules that refused (error severity) and rules that warned. */
  violations: string[];
  warnings: string[];
}

export interface Exchange {
  readonly ctx: AsContext;
  /** The endpoint's name in logs (`token`, `par`, …). */
  readonly endpoint: string;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly snapshot: ProfileSnapshot;
  /** Seconds since the epoch when the request arrived: every fact of the request uses it. */
  readonly now: number;
  /** The profile that decides: the client's once the client is known, else the server default. */
  profile: CompiledProfile;
  client?: RegisteredClient;
  /** The report-only profile every decision is also evaluated under (shadow.ts): the client's, else the server's. */
  shadow?: string;
  /** What the shadow profile made of the request's decisions, published when the response is done. */
  shadowReports?: ShadowReport[];
  /** What was decided, for the request's log line (rule ids only, never facts). */
  readonly decisions: DecisionNotes;
}

export type EndpointKind = 'api' | 'resource';

/** The default profile must be loaded: the server refuses to start or reload without it. */
export function defaultProfile(ctx: AsContext, snapshot: ProfileSnapshot): CompiledProfile {
  const profile = snapshot.profiles.get(ctx.config.defaultProfile);
  if (!profile) throw serverError(`the default profile '${ctx.config.defaultProfile}' is not loaded`);
  return profile;
}

function newExchange(ctx: AsContext, endpoint: string, req: IncomingMessage, res: ServerResponse, snapshot: ProfileSnapshot): Exchange {
  return {
    ctx, endpoint, req, res, snapshot, now: ctx.now(), profile: defaultProfile(ctx, snapshot),
    ...(ctx.config.shadowProfile ? { shadow: ctx.config.shadowProfile } : {}),
    decisions: { stages: [], violations: [], warnings: [] },
  };
}

/**
 * Asks the profile about a stage's facts and notes the answer; never throws. The only place a
 * decision is taken, so it is also where it is counted and evaluated under the shadow profile.
 */
export function decide(x: Exchange, stage: Stage, facts: object, profile = x.profile): Decision {
  const decision = profile.evaluate(stage, facts);
  x.ctx.metrics.decision(profile.id, stage, decision.engine_error ? 'error' : decision.decision);
  shadowDecide(x, stage, facts, profile.id);
  const notes = x.decisions;
  notes.stages.push(stage);
  for (const v of decision.violations) notes.violations.push(v.rule);
  for (const w of decision.warnings) notes.warnings.push(w.rule);
  return decision;
}

/** Asks, and refuses with the violated rule's OAuth error when the profile denies. */
export function enforce(x: Exchange, stage: Stage, facts: object, profile = x.profile): Decision {
  const decision = decide(x, stage, facts, profile);
  if (decision.decision === 'deny') throw refusal(decision);
  return decision;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Starts an exchange on the current profile set and runs `steps`; whatever they throw goes to
 * `fail`. A set without the server's default profile never becomes active (the registry guard), so
 * the only way to miss it is a bug: answered as server_error.
 */
export function runExchange(ctx: AsContext, name: string, steps: (x: Exchange) => Promise<void>, fail: (x: Exchange, error: OAuthError) => void): Handler {
  return (req, res) => {
    let x: Exchange;
    try {
      x = newExchange(ctx, name, req, res, ctx.profiles());
    } catch (e) {
      sendOAuthError(res, asOAuthError(e, ctx, name));
      return;
    }
    steps(x).then(() => logExchange(x, name), (e: unknown) => fail(x, asOAuthError(e, ctx, name)));
  };
}

/**
 * A back-channel endpoint: errors as RFC 6749 §5.2 JSON; at the resource and userinfo, 401s
 * carry their RFC 6750 / RFC 9449 challenge.
 */
export function endpoint(ctx: AsContext, name: string, kind: EndpointKind, steps: (x: Exchange) => Promise<void>): Handler {
  return runExchange(ctx, name, steps, (x, error) => {
    logExchange(x, name, error);
    sendOAuthError(x.res, kind === 'resource' ? atResource(x, error) : error);
  });
}

/** A 401 from a protected resource carries its challenge (RFC 6750 §3.1, RFC 9449 §7.1). */
function atResource(x: Exchange, error: OAuthError): OAuthError {
  return error.status === 401 ? resourceChallenge(error, resourceSchemes(x), dpopAlgs(x)) : error;
}

function resourceSchemes(x: Exchange): string[] {
  const methods = (x.profile.settings.sender_constraint as { methods: string[] }).methods;
  return [...(methods.includes('dpop') ? ['DPoP'] : []), 'Bearer'];
}

function dpopAlgs(x: Exchange): string[] {
  return (x.profile.settings.signing_algs as { dpop: string[] }).dpop;
}

/** Anything that is not an OAuthError is a fault of ours: logged, answered as server_error. */
export function asOAuthError(e: unknown, ctx: AsContext, where: string): OAuthError {
  if (e instanceof OAuthError) return e;
  if (e instanceof StoreFullError) return new OAuthError('temporarily_unavailable', 'the server is at capacity; retry later', 503, { 'Retry-After': '5' });
  ctx.log.error({ endpoint: where, err: { message: (e as Error)?.message ?? String(e), stack: (e as Error)?.stack } }, 'request failed');
  return serverError('internal error');
}

/** One line per request: who, under which profile, which stages decided, and what refused or warned. */
export function logExchange(x: Exchange, name: string, error?: OAuthError, message?: string): void {
  const d = x.decisions;
  const line = {
    endpoint: name,
    method: x.req.method,
    ...(x.client ? { client_id: x.client.client_id } : {}),
    profile: x.profile.id,
    stages: d.stages.join(' '),
    ...(d.violations.length ? { violations: d.violations } : {}),
    ...(d.warnings.length ? { warnings: d.warnings } : {}),
    ...(error ? { error: error.error, status: error.status } : {}),
  };
  const text = message ?? (error ? 'request refused' : 'request served');
  if (error && error.status >= 500) x.ctx.log.error(line, text);
  else x.ctx.log.info(line, text);
}
