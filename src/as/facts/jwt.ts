/** The facts' `jwt`: a client-made JWT as decoded, whether its signature verified, whether its jti was seen. */
import type { DecodedJwt } from '../../crypto/jws.js';

export interface JwtFacts {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signature_verified: boolean;
  jti_seen_before?: boolean;
}

export function jwtFacts(decoded: DecodedJwt, signatureVerified: boolean, jtiSeenBefore?: boolean): JwtFacts {
  return {
    header: decoded.header,
    claims: decoded.claims,
    signature_verified: signatureVerified,
    ...(jtiSeenBefore !== undefined ? { jti_seen_before: jtiSeenBefore } : {}),
  };
}
