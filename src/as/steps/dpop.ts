/**
 * A DPoP proof on a request (RFC 9449 §4.3): decoded, its signature checked with the key in its
 * own header under the profile's algorithms, its jti remembered, and the `dpop` stage asked.
 * Server nonces are used when the profile requires them (`dpop.nonce_required`); every answer
 * to a DPoP request then carries the current nonce.
 */
import type { JWK } from 'jose';
import { decodeJwt, JwsVerifier, JwtFormatError } from '../../crypto/jws.js';
import { OAuthError } from '../errors.js';
import { enforce, type Exchange } from '../exchange.js';
import { dpopFacts, type ProofContext } from '../facts/dpop.js';
import { jwtFacts } from '../facts/jwt.js';

export interface Proof {
  /** Thumbprint of the proof's key (what a token or code gets bound to). */
  jkt: string;
}

/** The DPoP header(s) of the request: none, one, or a refusal for more than one (§4.3 step 1). */
function proofHeader(x: Exchange): string | undefined {
  const values = x.req.headersDistinct.dpop;
  if (!values?.length) return undefined;
  if (values.length > 1 || values[0]!.includes(',')) throw new OAuthError('invalid_dpop_proof', 'send exactly one DPoP header (RFC 9449 section 4.3)');
  return values[0];
}

function nonceRequired(x: Exchange): boolean {
  return (x.profile.settings.dpop as { nonce_required: boolean }).nonce_required;
}

/** Checks the request's DPoP proof, if it has one; undefined when it has none. */
export async function checkDpopProof(x: Exchange, context: ProofContext): Promise<Proof | undefined> {
  const compact = proofHeader(x);
  if (compact === undefined) return undefined;
  if (nonceRequired(x)) x.res.setHeader('DPoP-Nonce', x.ctx.nonces.current(x.now));
  let decoded;
  try {
    decoded = decodeJwt(compact);
  } catch (e) {
    if (e instanceof JwtFormatError) throw new OAuthError('invalid_dpop_proof', `the DPoP proof is malformed: ${e.message}`);
    throw e;
  }
  const jwk = decoded.header.jwk;
  const jkt = JwsVerifier.thumbprintOf(jwk) ?? '';
  const algorithms = (x.profile.settings.signing_algs as { dpop: string[] }).dpop;
  const verified = jkt !== '' && (await x.ctx.verifier.verify(compact, decoded.header, [jwk as JWK], algorithms));
  const jti = decoded.claims.jti;
  let seen: boolean | undefined;
  if (verified && typeof jti === 'string') {
    // RFC 9449 §11.1: a proof is used once; remembered as long as its iat keeps it acceptable (an iat
    // up to clock_skew.reject_future ahead, then proof_max_age).
    const settings = x.profile.settings as { dpop: { proof_max_age: number }; clock_skew: { reject_future: number } };
    seen = !(await x.ctx.store.add('dpop_jti', `${jkt}:${jti.slice(0, 512)}`, 1, settings.dpop.proof_max_age + settings.clock_skew.reject_future + 1));
  }
  enforce(x, 'dpop', dpopFacts(x, jwtFacts(decoded, verified, seen), jkt, context, expectedNonce(x, decoded.claims.nonce)));
  return { jkt };
}

/** The nonce a proof must carry: the one it carries when that one is still fresh, else the current one. */
function expectedNonce(x: Exchange, presented: unknown): string | undefined {
  if (!nonceRequired(x)) return undefined;
  return x.ctx.nonces.isFresh(presented, x.now) ? (presented as string) : x.ctx.nonces.current(x.now);
}
