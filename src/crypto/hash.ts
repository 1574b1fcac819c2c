/** Digests the protocols write as base64url text. */
import { createHash } from 'node:crypto';

/** base64url of the SHA-256 of an ASCII string: PKCE's S256 (RFC 7636 §4.2) and DPoP's ath (RFC 9449 §4.2). */
export function sha256Base64url(ascii: string): string {
  return createHash('sha256').update(ascii, 'ascii').digest('base64url');
}
