import { describe, expect, it } from 'vitest';
import { verifierMatches } from '../../src/crypto/pkce.js';
import { sha256Base64url } from '../../src/crypto/hash.js';
import { isMacAlgorithm } from '../../src/crypto/jws.js';

// RFC 7636 Appendix B: the example verifier and its S256 challenge.
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('PKCE verifier check (RFC 7636 §4.6)', () => {
  it('matches the S256 challenge of Appendix B', () => {
    expect(sha256Base64url(VERIFIER)).toBe(CHALLENGE);
    expect(verifierMatches(VERIFIER, CHALLENGE, 'S256')).toBe(true);
  });

  it('refuses another verifier, and the S256 challenge compared as plain', () => {
    expect(verifierMatches(VERIFIER.replace(/k$/, 'K'), CHALLENGE, 'S256')).toBe(false);
    expect(verifierMatches(CHALLENGE, CHALLENGE, 'S256')).toBe(false);
    expect(verifierMatches(VERIFIER, CHALLENGE, 'plain')).toBe(false);
  });

  it('reads a missing method as plain (§4.3), which the profile may refuse earlier', () => {
    expect(verifierMatches(VERIFIER, VERIFIER, undefined)).toBe(true);
    expect(verifierMatches(VERIFIER, VERIFIER, 'plain')).toBe(true);
  });

  it('never matches under an unknown method, an inherited property name included', () => {
    for (const method of ['s256', 'S512', 'constructor', 'toString', '']) expect(verifierMatches(VERIFIER, VERIFIER, method)).toBe(false);
  });
});

describe('isMacAlgorithm (RFC 7518 §3.1)', () => {
  it('names the three HMAC algorithms and nothing else', () => {
    for (const alg of ['HS256', 'HS384', 'HS512']) expect(isMacAlgorithm(alg)).toBe(true);
    for (const alg of ['HS1', 'hs256', 'PS256', 'ES256', 'none', undefined, 256]) expect(isMacAlgorithm(alg)).toBe(false);
  });
});
