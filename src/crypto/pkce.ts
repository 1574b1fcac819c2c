/**
 * PKCE (RFC 7636): what a code verifier yields under a challenge method. Which methods a client may
 * use is the profile's to decide (at the pushed or authorization request); here the stored challenge
 * is only recomputed.
 */
import { sha256Base64url } from './hash.js';

/** The transforms of §4.2; a request without code_challenge_method means plain (§4.3). */
const TRANSFORMS: ReadonlyMap<string, (verifier: string) => string> = new Map([
  ['S256', sha256Base64url],
  ['plain', (verifier: string) => verifier],
]);
const DEFAULT_METHOD = 'plain';

/** §4.6: the verifier, transformed by the challenge's method, equals the challenge; an unknown method never matches. */
export function verifierMatches(verifier: string, challenge: string, method: string | undefined): boolean {
  const transform = TRANSFORMS.get(method ?? DEFAULT_METHOD);
  return transform !== undefined && transform(verifier) === challenge;
}
