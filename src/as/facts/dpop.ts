/** Facts of the `dpop` stage: a DPoP proof (RFC 9449) as decoded and checked, with the request it came with. */
import { sha256Base64url } from '../../crypto/hash.js';
import type { Exchange } from '../exchange.js';
import type { JwtFacts } from './jwt.js';

export interface ProofContext {
  /** Where the proof is presented: it decides whether ath is needed and who answers a refusal. */
  endpoint: 'par' | 'token' | 'resource';
  /** The HTTP method and target URI (without query and fragment) the proof must name. */
  htm: string;
  htu: string;
  /** The access token presented with the proof (resource, userinfo). */
  accessToken?: string;
  /** The key the proof must be made with: the token's cnf.jkt or the code's dpop_jkt. */
  expectedJkt?: string;
}

export function dpopFacts(x: Exchange, jwt: JwtFacts, jkt: string, context: ProofContext, expectedNonce: string | undefined): Record<string, unknown> {
  return {
    time: x.now,
    issuer: x.ctx.config.issuer,
    jwt,
    endpoint: context.endpoint,
    http: { method: context.htm, uri: context.htu },
    jkt,
    ...(context.expectedJkt ? { expected_jkt: context.expectedJkt } : {}),
    ...(context.accessToken !== undefined ? { access_token_hash: sha256Base64url(context.accessToken) } : {}),
    ...(expectedNonce ? { expected_nonce: expectedNonce } : {}),
  };
}

