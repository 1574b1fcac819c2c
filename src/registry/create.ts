/**
 * One profile registry from a source configuration: what the decision service and the
 * authorization server load their profiles through (`fapi-policy start` runs both on one registry).
 */
import type { Logger } from 'pino';
import type { TrustSet } from './bundle.js';
import { Registry, type RegistryOptions } from './registry.js';
import type { RollbackFloor } from './rollback-floor.js';
import { BundleFileSource, BundleUrlSource, DirectorySource, type ProfileSource } from './sources.js';

export interface SourceOptions {
  /** Profile directories or files. */
  profiles?: readonly string[];
  /** Signed bundles: file paths or http(s) URLs. Each needs `trust`. */
  bundles?: readonly string[];
  trust?: TrustSet;
  /** Refuse bundles from any other issuer. */
  bundleIssuer?: string;
  /** Where bundle sources keep their rollback floor (default: memory, lost on restart). */
  rollbackFloor?: RollbackFloor;
  /** Poll bundle URLs every this many seconds (default 30; 0 = only at start and on SIGHUP). */
  pollSeconds?: number;
  /** Watch profile directories and bundle files (default true). */
  watch?: boolean;
  /** Compare local sources' files on disk with the active ones every this many seconds (default 5; 0 = never). */
  checkSeconds?: number;
  /** A watched change is applied once the files have been left alone this long (default 1000 ms). */
  settleMs?: number;
  /** For URL bundle sources (tests). */
  fetch?: typeof fetch;
}

function createSources(options: SourceOptions): ProfileSource[] {
  const bundles = options.bundles ?? [];
  if (bundles.length && !options.trust?.keys.length) {
    throw new Error('a bundle source needs --trust <jwks.json> with at least one key: bundles are always verified');
  }
  const sources: ProfileSource[] = (options.profiles ?? []).map((p) => new DirectorySource(p));
  for (const b of bundles) {
    sources.push(/^https?:\/\//i.test(b)
      ? new BundleUrlSource(new URL(b), options.trust!, options.bundleIssuer, { fetch: options.fetch, floor: options.rollbackFloor })
      : new BundleFileSource(b, options.trust!, options.bundleIssuer, options.rollbackFloor));
  }
  if (!sources.length) throw new Error('no profile sources: give profile directories or bundles');
  return sources;
}

export function createRegistry(options: SourceOptions, log: Logger, metrics?: RegistryOptions['metrics']): Registry {
  return new Registry(createSources(options), {
    log, ...(metrics ? { metrics } : {}), watch: options.watch ?? true, pollSeconds: options.pollSeconds ?? 30,
    checkSeconds: options.checkSeconds ?? 5, ...(options.settleMs !== undefined ? { settleMs: options.settleMs } : {}),
  });
}
