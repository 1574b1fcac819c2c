/**
 * The client's side of FAPI 2.0 HTTP Signatures (draft -01) §5.3, for the tests: what a client
 * covers in a resource request, what a verifier requires of one, and what a client requires of a
 * signed response. The server does not use these: its profile's rules judge requests.
 */
import type { ComponentSpec, HttpFields, HttpRequestMessage, VerifyOptions } from '../../src/crypto/http-signatures.js';
import { FAPI_RESPONSE_TAG } from '../../src/crypto/http-signatures.js';

export const FAPI_REQUEST_TAG = 'fapi-2-request';
/** §5.3.1.2 item 6 recommends one minute. */
export const FAPI_MAX_AGE = 60;

const has = (headers: HttpFields, name: string) => Object.entries(headers).some(([k, v]) => k.toLowerCase() === name && v !== undefined);

/** §5.3.1.1 items 2, 3, 6-8: what a client covers in a resource request (set Content-Digest first when there is a body). */
export function fapiRequestComponents(request: HttpRequestMessage): ComponentSpec[] {
  return ['@method', '@target-uri', 'authorization', ...(has(request.headers, 'dpop') ? ['dpop'] : []), ...(has(request.headers, 'content-digest') ? ['content-digest'] : [])];
}

/** §5.3.1.2 items 4-8: what a resource server requires of a signed request whose content is `body`. */
export function fapiRequestRequirements(request: HttpRequestMessage, body: Uint8Array): Pick<VerifyOptions, 'tag' | 'components' | 'requireCreated' | 'maxAge' | 'body'> {
  return {
    tag: FAPI_REQUEST_TAG,
    components: ['@method', '@target-uri', 'authorization', ...(has(request.headers, 'dpop') ? ['dpop'] : []), ...(body.length > 0 ? ['content-digest'] : [])],
    requireCreated: true,
    maxAge: FAPI_MAX_AGE,
    body,
  };
}

/** §5.3.2.2 items 3-5 with the request linkage of §5.3.2.1: what a client requires of a signed response. */
export function fapiResponseRequirements(body: Uint8Array, requestSigned = false): Pick<VerifyOptions, 'tag' | 'components' | 'requireCreated' | 'body'> {
  const fromRequest = (name: string) => ({ name, req: true });
  return {
    tag: FAPI_RESPONSE_TAG,
    components: [
      '@status', fromRequest('@method'), fromRequest('@target-uri'),
      ...(body.length > 0 ? ['content-digest'] : []),
      ...(requestSigned ? [fromRequest('signature'), fromRequest('signature-input')] : []),
    ],
    requireCreated: true,
    body,
  };
}
