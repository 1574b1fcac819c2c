/** What every handler of the decision service shares. */
import type { Logger } from 'pino';
import type { Authenticator } from './auth.js';
import type { Limits } from './limits.js';
import type { DecisionLog } from './log.js';
import type { Metrics } from './metrics.js';
import type { Registry } from '../registry/registry.js';

export interface PdpContext {
  registry: Registry;
  metrics: Metrics;
  decisionLog: DecisionLog;
  log: Logger;
  auth: Authenticator;
  limits: Limits;
  /** The service's own base URL, as published in the AuthZEN configuration. */
  baseUrl: string;
}

/** Per-request facts about the request itself (never its body). */
export interface RequestMeta {
  requestId?: string;
}
