/**
 * HTTP message signatures at the protected resource (RFC 9421 with RFC 9530 content digests, as
 * FAPI 2.0 Message Signing §5.6 uses them). A signed request is checked for what cryptography can
 * say — the signature verifies with a key the client registered, the Content-Digest matches the
 * content — and described in the facts; what it must cover, its tag and its age are the client's
 * profile's to judge. A client that signs its requests (or registered to) gets signed responses,
 * linked to its request by `;req` components.
 */
import { checkContentDigest, contentDigest } from '../../crypto/content-digest.js';
import {
  FAPI_RESPONSE_TAG, fapiResponseComponents, fieldsFromRawHeaders, signMessage, verifyMessage,
  type HttpRequestMessage, type SignatureVerification,
} from '../../crypto/http-signatures.js';
import type { JWK } from 'jose';
import { clientKeys, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import { signingAlg } from './id-token.js';

/** Every algorithm the verifier implements: which of them a client may use is the profile's call (facts `alg`). */
const VERIFIABLE = ['ES256', 'PS256', 'EdDSA', 'PS512'];

/** How far ahead `created` may be before the verifier stops reading it: the profile judges the real bound. */
const CREATED_AHEAD_LIMIT = 3600;

export interface SignedResourceRequest {
  message: HttpRequestMessage;
  /** The facts' `http_signature`. */
  facts: Record<string, unknown>;
  /** The label of the signature that verified, linked from the response. */
  verifiedLabel?: string;
}

/** The request as RFC 9421 sees it: its method, the URI the client addressed, every field line. */
function requestMessage(x: Exchange): HttpRequestMessage {
  const origin = new URL(x.ctx.config.issuer).origin;
  return { method: x.req.method ?? 'GET', targetUri: new URL(x.req.url ?? '/', origin).href, headers: fieldsFromRawHeaders(x.req.rawHeaders) };
}

export async function readHttpSignature(x: Exchange, client: RegisteredClient | undefined, body: Uint8Array): Promise<SignedResourceRequest> {
  const message = requestMessage(x);
  const headers = message.headers as Record<string, string[] | undefined>;
  const digest = headers['content-digest'] !== undefined || body.length > 0 ? { content_digest: checkContentDigest(headers['content-digest'], body).result } : {};
  if (headers.signature === undefined && headers['signature-input'] === undefined) return { message, facts: { present: false, ...digest } };
  const result = await verifyMessage(message, { keys: (client ? clientKeys(client) : []) as JWK[], algorithms: VERIFIABLE, now: x.now, maxSkew: CREATED_AHEAD_LIMIT });
  return { message, facts: { present: true, ...verificationFacts(result), ...digest }, ...(result.verified && result.label ? { verifiedLabel: result.label } : {}) };
}

/** The verifier's result without its sentences: names and parameters only (covered values are never facts). */
function verificationFacts(r: SignatureVerification): Record<string, unknown> {
  return Object.fromEntries(Object.entries({
    verified: r.verified, reason: r.reason, label: r.label?.slice(0, 64),
    covered: r.components?.slice(0, 32).map((c) => c.replace(/^"([^"]*)"/, '$1').slice(0, 128)),
    created: r.created, expires: r.expires, tag: r.tag?.slice(0, 128), keyid: r.keyid?.slice(0, 256), alg: r.algorithm ? jwsName(r.algorithm) : undefined,
  }).filter(([, v]) => v !== undefined));
}

/** JWS names of the RFC 9421 registry's algorithms (PS256 has no registry name: §3.3.7). */
const REGISTRY_NAMES: Readonly<Record<string, string>> = { ES256: 'ecdsa-p256-sha256', EdDSA: 'ed25519', PS512: 'rsa-pss-sha512' };
const jwsName = (algorithm: string) => Object.keys(REGISTRY_NAMES).find((jws) => REGISTRY_NAMES[jws] === algorithm) ?? algorithm;

/** Whether the answer is signed: the client signed its request, or registered to sign them. */
export function wantsSignedResponse(client: RegisteredClient | undefined, signed: SignedResourceRequest): boolean {
  return client?.metadata.fapi_signed_resource_requests === true || signed.facts.present === true;
}

/**
 * Signs the response about to be sent (its status and JSON body) with the server's key for the
 * client's profile, covering its Content-Digest and the request's method, target URI, digest and
 * verified signature. Returns the headers to add.
 */
export async function signResponse(x: Exchange, signed: SignedResourceRequest, status: number, body: string): Promise<Record<string, string>> {
  // Algorithms with an RFC 9421 registry name first: a verifier knows them without out-of-band agreement.
  const allowed = (x.profile.settings.signing_algs as { resource_response: string[] }).resource_response.filter((a) => VERIFIABLE.includes(a));
  const alg = signingAlg(x, undefined, [...allowed.filter((a) => a in REGISTRY_NAMES), ...allowed.filter((a) => !(a in REGISTRY_NAMES))]);
  const key = alg ? x.ctx.keys().keyFor(alg) : undefined;
  if (!alg || !key) throw new Error('the server has no key to sign resource responses with');
  const digest = contentDigest(Buffer.from(body));
  const response = { status, headers: { 'content-type': 'application/json', 'content-digest': digest } };
  const out = await signMessage(response, {
    label: 'sig1', components: fapiResponseComponents(signed.message, response, signed.verifiedLabel), key: key.key, algorithm: alg,
    params: { created: x.now, keyid: key.kid, tag: FAPI_RESPONSE_TAG }, request: signed.message,
  });
  return { 'Content-Digest': digest, 'Signature-Input': out.signatureInput, Signature: out.signature };
}
