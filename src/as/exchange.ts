/**
 * One request's state as it moves through an endpoint's steps, and the wrapper that runs the
 * steps and maps whatever they throw to a response in one place. The profile snapshot is read
 * once, when the request arrives: a reload mid-request never changes the rules it is judged by.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { Decision, Stage } from '../engine/types.js';
import { StoreFullError } from '../store/store.js';
import type { AsContext, ProfileSnapshot } from './context.js';
import { OAuthError, refusal, resourceChallenge, sendOAuthError, serverError } from './errors.js';
import type { RegisteredClient } from './clients.js';

export interface DecisionNote {
  stage: Stage;
  profile: string;
  result: Decision['decision'];
  violations: string[];
  warnings: string[];
}

export interface Exchange {
  readonly ctx: AsContext;
  readonly req: Request;
  readonly res: Response;
  readonly snapshot: ProfileSnapshot;
  /** Seconds since the epoch when the request arrived: every fact of the request uses it. */
  readonly now: number;
  /** The profile that decides: the client's once the client is known, else the server default. */
  profile: CompiledProfile;
  client?: RegisteredClient;
  /** What was decided, for the request's log line (rule ids only, never facts). */
  readonly decisions: DecisionNote[];
}

export type EndpointKind = 'api' | 'resource' | 'browser';

/** The default profile must be loaded: the server refuses to start or reload without it. */
export function defaultProfile(ctx: AsContext, snapshot: ProfileSnapshot): CompiledProfile {
  const profile = snapshot.profiles.get(ctx.config.defaultProfile);
  if (!profile) throw serverError(`the default profile '${ctx.config.defaultProfile}' is not loaded`);
  return profile;
}

/** Asks the profile about a stage's facts and notes the answer; never throws. */
export function decide(x: Exchange, stage: Stage, facts: object, profile = x.profile): Decision {
  const decision = profile.evaluate(stage, facts);
  x.decisions.push({
    stage, profile: profile.id, result: decision.decision,
    violations: decision.violations.map((v) => v.rule), warnings: decision.warnings.map((w) => w.rule),
  });
  return decision;
}

/** Asks, and refuses with the violated rule's OAuth error when the profile denies. */
export function enforce(x: Exchange, stage: Stage, facts: object, profile = x.profile): Decision {
  const decision = decide(x, stage, facts, profile);
  if (decision.decision === 'deny') throw refusal(decision);
  return decision;
}

/**
 * Runs an endpoint's steps. API endpoints answer errors as RFC 6749 §5.2 JSON; the resource and
 * userinfo answer RFC 6750 / RFC 9449 challenges; browser endpoints handle their own errors
 * (redirect or page) and only unexpected failures reach here.
 */
export function endpoint(ctx: AsContext, name: string, kind: EndpointKind, steps: (x: Exchange) => Promise<void>): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const snapshot = ctx.profiles();
    let x: Exchange;
    try {
      x = { ctx, req, res, snapshot, now: ctx.now(), profile: defaultProfile(ctx, snapshot), decisions: [] };
    } catch (e) {
      next(e);
      return;
    }
    steps(x).then(
      () => logExchange(x, name),
      (e: unknown) => {
        const error = asOAuthError(e, ctx, name);
        logExchange(x, name, error);
        if (kind === 'browser' && !(e instanceof OAuthError)) return next(e);
        sendOAuthError(res, kind === 'resource' ? atResource(x, error) : error);
      },
    );
  };
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

function logExchange(x: Exchange, name: string, error?: OAuthError): void {
  const line = {
    endpoint: name,
    method: x.req.method,
    ...(x.client ? { client_id: x.client.client_id } : {}),
    profile: x.profile.id,
    decisions: x.decisions,
    ...(error ? { error: error.error, status: error.status, ...(error.rule ? { rule: error.rule.rule } : {}) } : {}),
  };
  if (error && error.status >= 500) x.ctx.log.error(line, 'request refused');
  else x.ctx.log.info(line, error ? 'request refused' : 'request served');
}
