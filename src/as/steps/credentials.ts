/** Credentials the AS mints (codes, tokens, request_uris, registration tokens): 256 random bits each. */
import { createHash, randomBytes } from 'node:crypto';

export const CREDENTIAL_BITS = 256;

export function randomCredential(): string {
  return randomBytes(CREDENTIAL_BITS / 8).toString('base64url');
}

/** What is stored for a bearer secret the AS must recognise but never needs to show again. */
export function credentialHash(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}
