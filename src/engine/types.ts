import type { OAuthError } from './oauth-errors.js';

/** The stages an authorization server (or any PEP) asks about; one facts schema each. */
export const STAGES = [
  'discovery', 'registration', 'par', 'authorization', 'request_object', 'token',
  'client_auth', 'dpop', 'tls', 'resource', 'introspection',
  'authorization_response', 'token_response', 'server',
] as const;
export type Stage = (typeof STAGES)[number];

export function isStage(value: unknown): value is Stage {
  return typeof value === 'string' && (STAGES as readonly string[]).includes(value);
}

export type Severity = 'error' | 'warning';

/** Facts are plain JSON values as observed by the AS; the engine only reads them. */
export type Facts = Record<string, unknown>;

/** Effective settings of a profile: a tree of JSON values, frozen once compiled. */
export type Settings = { readonly [key: string]: unknown };

export interface Violation {
  rule: string;
  clause: string;
  severity: Severity;
  message: string;
  /** JSON pointer (RFC 6901) of the offending fact, '' for the whole facts object. */
  path: string;
  /** The OAuth error this failure is refused with (the rule's, or its stage's default). */
  error: OAuthError;
  /** The HTTP status that error is answered with at this stage. */
  status: number;
}

export interface ProfileRef {
  id: string;
  version: string;
  digest: string;
}

export type RuleOutcome = 'passed' | 'failed' | 'not_applicable' | 'missing_fact' | 'error';

/** One line of `--explain`: what happened to one rule of the stage. */
export interface RuleTrace {
  rule: string;
  clause: string;
  severity: Severity;
  outcome: RuleOutcome;
  detail?: string;
}

export interface Decision {
  decision: 'allow' | 'deny';
  profile: ProfileRef;
  stage: Stage;
  /** On a deny: the OAuth error of the refusal, the first violation's (rule order). */
  error?: OAuthError;
  /** On a deny: the HTTP status of that error. */
  status?: number;
  violations: Violation[];
  warnings: Violation[];
  /** Set when the deny came from an engine failure rather than a rule (its violation says server_error). */
  engine_error?: true;
  explain?: RuleTrace[];
}

export interface Waiver {
  /** Dotted setting path or rule id the overlay loosens. */
  setting?: string;
  rule?: string;
  reason: string;
  /** The profile that declared the waiver. */
  profile: string;
}
