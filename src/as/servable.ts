/**
 * Which profiles this server can serve today: FAPI 2.0 Security Profile and overlays of it that
 * need no signed requests or responses (JAR, JARM) — the signed-message support comes with FAPI 1.0
 * and FAPI 2.0 Message Signing. One place says so, with the reason, for registration and start-up.
 */
import type { CompiledProfile } from '../engine/compiled-profile.js';

export const SERVABLE_BASE = 'fapi2-security';

export function servable(profile: CompiledProfile): string | undefined {
  const chain = [profile.id, ...profile.resolved.extends];
  if (!chain.includes(SERVABLE_BASE)) return `it is not ${SERVABLE_BASE} or an overlay of it (this server does not implement FAPI 1.0 yet)`;
  const s = profile.settings as { request_object: { required: boolean }; jarm: { required: boolean } };
  if (s.request_object.required || s.jarm.required) return 'it requires signed request objects or JARM responses, which this server does not implement yet';
  return undefined;
}
