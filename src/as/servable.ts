/**
 * Which profiles this server can serve: FAPI 1.0 Baseline and Advanced, FAPI 2.0 Security Profile
 * and Message Signing, and overlays of them. One place says so, with the reason, for registration,
 * discovery and start-up.
 */
import type { CompiledProfile } from '../engine/compiled-profile.js';

const SERVABLE_BASES = ['fapi1-baseline', 'fapi2-security'] as const;

export function servable(profile: CompiledProfile): string | undefined {
  const chain = [profile.id, ...profile.resolved.extends];
  if (!SERVABLE_BASES.some((base) => chain.includes(base))) return `it builds on none of ${SERVABLE_BASES.join(', ')}, the profile families this server implements`;
  return undefined;
}
