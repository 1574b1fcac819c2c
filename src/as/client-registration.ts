/**
 * The judgement of a client's metadata, in one place for the registration endpoints (RFC 7591,
 * RFC 7592) and `fapi-policy clients move`: its shape (client-metadata.ts), the profile it chooses
 * (`fapi_profile`, else the server default) and any report-only profile it names
 * (`fapi_shadow_profile`), each loaded and of a family the server serves, its keys measured
 * (registered by value or fetched from its jwks_uri), and the verdict of the chosen profile's
 * `registration` stage. A problem is an OAuthError with the RFC 7591 §3.2.2 error code.
 */
import type { JWK } from 'jose';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { Decision } from '../engine/types.js';
import { measureKey, JwkError } from '../crypto/jwk.js';
import { decodeJwt, JwtFormatError } from '../crypto/jws.js';
import type { ClientMetadata, RegisteredClient } from './clients.js';
import { checkClientMetadata } from './client-metadata.js';
import type { ProfileSnapshot } from './context.js';
import { OAuthError } from './errors.js';
import { jwtFacts } from './facts/jwt.js';
import { servable } from './servable.js';
import { IMPLEMENTED_GRANT_TYPES } from './steps/tokens.js';
import { printable } from '../engine/text.js';

/** What the judgement needs to know of the server. */
export interface RegistrationSetting {
  snapshot: ProfileSnapshot;
  /** The profile of clients that name none. */
  defaultProfile: string;
  issuer: string;
  /** Seconds since the epoch. */
  now: number;
  /** Why a loaded profile is not served by the running server (served.ts), when there is one. */
  notServed?: (id: string) => string | undefined;
}

/** Asks `profile` about the registration facts: the endpoint enforces, the CLI only evaluates. */
export type RegistrationDecider = (profile: CompiledProfile, facts: Record<string, unknown>) => Decision;

export interface Judgement {
  metadata: ClientMetadata;
  /** The keys fetched from jwks_uri, when the client registered one. */
  fetched?: { keys: unknown[] };
  profile: CompiledProfile;
  decision: Decision;
}

const invalidMetadata = (description: string) => new OAuthError('invalid_client_metadata', description);

/** Shape, profile choice, keys, and the profile's verdict (through `decide`). */
export async function judgeRegistration(body: Record<string, unknown>, setting: RegistrationSetting, decide: RegistrationDecider): Promise<Judgement> {
  const checked = checkClientMetadata(body);
  if ('problem' in checked) throw new OAuthError(checked.redirect ? 'invalid_redirect_uri' : 'invalid_client_metadata', checked.problem);
  const metadata = checked.metadata as ClientMetadata;
  const profile = servedProfile(setting, 'fapi_profile', metadata.fapi_profile ?? setting.defaultProfile);
  if (metadata.fapi_shadow_profile !== undefined) servedProfile(setting, 'fapi_shadow_profile', metadata.fapi_shadow_profile);
  const fetched = metadata.jwks_uri ? await fetchJwks(metadata.jwks_uri) : undefined;
  const keys = (metadata.jwks?.keys ?? fetched?.keys ?? []) as JWK[];
  const decision = decide(profile, {
    time: setting.now,
    issuer: setting.issuer,
    client: metadata,
    keys: keys.map(measured),
    ...(metadata.software_statement ? { software_statement: softwareStatement(metadata.software_statement) } : {}),
  });
  // Asked after the profile, so a grant the profile forbids is refused with its clause.
  const missing = decision.decision === 'allow' ? (metadata.grant_types ?? []).filter((g) => !IMPLEMENTED_GRANT_TYPES.includes(g)) : [];
  if (missing.length) throw invalidMetadata(`grant_types: this server does not implement ${missing.map((g) => `'${printable(g, 80)}'`).join(', ')}`);
  return { metadata, ...(fetched ? { fetched } : {}), profile, decision };
}

/** The client's record with the judged metadata (and the keys fetched for it, or none). */
export function withJudgedMetadata(client: RegisteredClient, judged: Judgement): RegisteredClient {
  const { fetched_jwks: _old, ...rest } = client;
  return { ...rest, metadata: judged.metadata, ...(judged.fetched ? { fetched_jwks: judged.fetched } : {}) };
}

/** A profile a client may name: loaded, of a family this server implements, and served by it. */
function servedProfile(setting: RegistrationSetting, member: string, id: string): CompiledProfile {
  const profile = setting.snapshot.profiles.get(id);
  if (!profile) throw invalidMetadata(`${member} '${id}' is not loaded on this server (loaded: ${setting.snapshot.ids.join(', ')})`);
  const reason = servable(profile) ?? setting.notServed?.(id)?.slice(0, 600);
  if (reason) throw invalidMetadata(`${member} '${id}' cannot be served: ${reason}`);
  return profile;
}

function measured(key: JWK) {
  try {
    return measureKey(key);
  } catch (e) {
    if (e instanceof JwkError) throw invalidMetadata(`jwks: ${e.message}`);
    throw e;
  }
}

/** No software statement issuer is trusted here: its signature counts as unverified. */
function softwareStatement(compact: string) {
  try {
    return jwtFacts(decodeJwt(compact), false);
  } catch (e) {
    if (e instanceof JwtFormatError) throw new OAuthError('invalid_software_statement', `software_statement: ${e.message}`);
    throw e;
  }
}

/** A client's jwks_uri: https only, bounded in time and size. */
async function fetchJwks(uri: string): Promise<{ keys: unknown[] }> {
  if (!/^https:\/\//i.test(uri)) throw invalidMetadata('jwks_uri must be an https URL');
  try {
    const response = await fetch(uri, { redirect: 'error', signal: AbortSignal.timeout(5000), headers: { Accept: 'application/json, application/jwk-set+json' } });
    const text = await response.text();
    if (!response.ok || text.length > 64 * 1024) throw new Error(`HTTP ${response.status}`);
    const data = JSON.parse(text) as { keys?: unknown };
    if (!Array.isArray(data.keys) || data.keys.length > 50) throw new Error('not a JWK set');
    return { keys: data.keys };
  } catch (e) {
    throw invalidMetadata(`jwks_uri could not be used: ${(e as Error).message.slice(0, 100)}`);
  }
}
