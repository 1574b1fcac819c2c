import { describe, expect, it } from 'vitest';
import { checkContentDigest, contentDigest } from '../../src/crypto/content-digest.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const HELLO = bytes('{"hello": "world"}');

// RFC 9530 Appendix D (sample digest values) and the examples of Appendix B and RFC 9421.
const HELLO_SHA256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:';
const HELLO_SHA512 = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';

describe('Content-Digest (RFC 9530)', () => {
  it('makes the RFC sample digests', () => {
    expect(contentDigest(HELLO)).toBe(HELLO_SHA256);
    expect(contentDigest(HELLO, ['sha-512'])).toBe(HELLO_SHA512);
    expect(contentDigest(HELLO, ['sha-256', 'sha-512'])).toBe(`${HELLO_SHA256}, ${HELLO_SHA512}`);
    // Appendix B.1-B.3: the same object followed by a line feed; empty content; a partial range.
    expect(contentDigest(bytes('{"hello": "world"}\n'))).toBe('sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:');
    expect(contentDigest(new Uint8Array())).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
    expect(contentDigest(bytes('"world"}\n'))).toBe('sha-256=:jjcgBDWNAtbYUXI37CVG3gRuGOAjaaDRGpIUFsdyepQ=:');
  });

  it('makes the digests of the RFC 9421 example responses', () => {
    // The value in RFC 9421 B.2.4's signature base; the test-response message of B.2 prints another
    // one that matches no body (httpwg/http-extensions pull request #2669).
    expect(contentDigest(bytes('{"message": "good dog"}'), ['sha-512'])).toBe('sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:');
    expect(contentDigest(bytes('{"busy": true, "message": "Your call is very important to us"}'), ['sha-512']))
      .toBe('sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:');
  });

  it('matches when every digest it relies on matches', () => {
    expect(checkContentDigest(HELLO_SHA256, HELLO)).toEqual({ result: 'match', algorithms: ['sha-256'] });
    expect(checkContentDigest(`${HELLO_SHA512}, ${HELLO_SHA256}`, HELLO)).toEqual({ result: 'match', algorithms: ['sha-512', 'sha-256'] });
    expect(checkContentDigest([HELLO_SHA512, HELLO_SHA256], HELLO)).toEqual({ result: 'match', algorithms: ['sha-512', 'sha-256'] });
    // Deprecated and unknown algorithms are ignored, whatever they say.
    expect(checkContentDigest(`md5=:AAAA:, ${HELLO_SHA256}, foo=:AAAA:`, HELLO)).toEqual({ result: 'match', algorithms: ['sha-256'] });
  });

  it('can be told to rely on fewer algorithms', () => {
    expect(checkContentDigest(HELLO_SHA256, HELLO, ['sha-512'])).toEqual({ result: 'unsupported', algorithms: ['sha-256'] });
  });

  it('says mismatch when one digest it relies on differs, even if another matches', () => {
    expect(checkContentDigest(HELLO_SHA256, bytes('{"hello": "world!"}'))).toEqual({ result: 'mismatch', algorithm: 'sha-256' });
    expect(checkContentDigest(`${HELLO_SHA256}, sha-512=:${Buffer.alloc(64).toString('base64')}:`, HELLO)).toEqual({ result: 'mismatch', algorithm: 'sha-512' });
    // A digest of the wrong length is no match (and no exception from the comparison).
    expect(checkContentDigest('sha-256=:AAAA:', HELLO)).toEqual({ result: 'mismatch', algorithm: 'sha-256' });
  });

  it('says unsupported when only algorithms it does not rely on are present', () => {
    expect(checkContentDigest('md5=:Sd/dVLAcvNLSq16eXua5uQ==:, sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:', HELLO)).toEqual({ result: 'unsupported', algorithms: ['md5', 'sha'] });
  });

  it('says malformed or missing, never throws', () => {
    expect(checkContentDigest(undefined, HELLO)).toEqual({ result: 'missing' });
    expect(checkContentDigest([], HELLO)).toEqual({ result: 'missing' });
    expect(checkContentDigest('', HELLO).result).toBe('malformed');
    expect(checkContentDigest('sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', HELLO).result).toBe('malformed');
    expect(checkContentDigest('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', HELLO)).toEqual({ result: 'malformed', detail: 'the member "sha-256" is not a byte sequence' });
    expect(checkContentDigest('SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:', HELLO).result).toBe('malformed');
    expect(checkContentDigest(`${HELLO_SHA256}, ${HELLO_SHA256}`, HELLO).result).toBe('malformed');
    expect(checkContentDigest('sha-256=()', HELLO).result).toBe('malformed');
    expect(checkContentDigest(`sha-256=:${'A'.repeat(100_000)}:`, HELLO).result).toBe('malformed');
    expect(checkContentDigest(Array.from({ length: 20 }, (_, i) => `x${i}=:AAAA:`).join(', '), HELLO).result).toBe('malformed');
  });
});
