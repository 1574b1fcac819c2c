/**
 * Which of the loaded profiles this server serves, per profile set. A profile is served when it
 * is of a family the server implements (servable.ts), its `discovery` stage accepts the metadata
 * the server would publish for it, and its `server` stage accepts the server's keys, credentials
 * and TLS offer. A loaded profile left out is named with its reasons (at start-up and reload, in
 * discovery, to its clients): its clients are refused until it can be served, never served under
 * another profile. The TLS offer is what every profile whose metadata passes allows.
 */
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { AsContext, ProfileSnapshot } from './context.js';
import { profileDocument } from './endpoints/discovery.js';
import { serverFacts } from './facts/server.js';
import type { SigningKeys } from './keys.js';
import { servable } from './servable.js';
import { certificateKeyTypes, tlsPolicy, type TlsPolicy } from './tls.js';

export interface ServedSet {
  /** The served profiles, the server default first when it is served. */
  profiles: CompiledProfile[];
  /** Loaded profiles not served, with why. */
  excluded: ReadonlyMap<string, string[]>;
  /** The TLS offer for the served profiles. */
  policy: TlsPolicy;
}

const cache = new WeakMap<ProfileSnapshot, { keys: SigningKeys; set: ServedSet }>();

export function servedSet(ctx: AsContext, snapshot: ProfileSnapshot): ServedSet {
  const keys = ctx.keys();
  const cached = cache.get(snapshot);
  if (cached && cached.keys === keys) return cached.set;
  const set = judge(ctx, snapshot);
  cache.set(snapshot, { keys, set });
  return set;
}

function judge(ctx: AsContext, snapshot: ProfileSnapshot): ServedSet {
  const excluded = new Map<string, string[]>();
  const first = snapshot.profiles.get(ctx.config.defaultProfile);
  const ordered = first ? [first, ...[...snapshot.profiles.values()].filter((p) => p !== first)] : [...snapshot.profiles.values()];
  const described = ordered.filter((profile) => {
    const family = servable(profile);
    const problems = family ? [family] : guarded(() => discoveryViolations(ctx, snapshot, profile));
    if (problems.length) excluded.set(profile.id, problems);
    return problems.length === 0;
  });
  const policy = tlsPolicy((described.length ? described : ordered).map((p) => p.settings), certificateKeyTypes(ctx.tls.certificate));
  const facts = serverFacts(ctx.now(), ctx.config.issuer, ctx.keys(), policy, ctx.tls.certificate);
  const profiles = described.filter((profile) => {
    const problems = guarded(() => {
      const decision = profile.evaluate('server', facts);
      for (const w of decision.warnings) ctx.log.warn({ profile: profile.id, rule: w.rule }, `server configuration: ${w.message}`);
      return decision.violations.map((v) => `the server's configuration is refused: ${v.rule} [${v.clause}]: ${v.message}`);
    });
    if (problems.length) excluded.set(profile.id, problems);
    return problems.length === 0;
  });
  return { profiles, excluded, policy };
}

/** A profile whose judgement cannot be taken is not served (fail closed), and the request still gets its answer. */
function guarded(judge: () => string[]): string[] {
  try {
    return judge();
  } catch (e) {
    return [`it could not be judged: ${String((e as Error)?.message ?? e).slice(0, 200)}`];
  }
}

function discoveryViolations(ctx: AsContext, snapshot: ProfileSnapshot, profile: CompiledProfile): string[] {
  const decision = profile.evaluate('discovery', { metadata: profileDocument(ctx, snapshot, profile), requested_issuer: ctx.config.issuer });
  return decision.violations.map((v) => `its discovery metadata is refused: ${v.rule} [${v.clause}]: ${v.message}`);
}

/** Why a loaded profile is not served, in one line; undefined when it is served. */
export function whyNotServed(ctx: AsContext, snapshot: ProfileSnapshot, id: string): string | undefined {
  const reasons = servedSet(ctx, snapshot).excluded.get(id);
  return reasons ? reasons.join('; ') : undefined;
}
