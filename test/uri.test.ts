import { describe, expect, it } from 'vitest';
import { MalformedFactError } from '../src/engine/errors.js';
import { httpTarget, sameHttpUri } from '../src/engine/uri.js';
import { build, overlay } from './helpers.js';

describe('http(s) URI comparison (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2-6.2.3)', () => {
  it.each([
    ['query and fragment are ignored', 'https://as.example/token?a=1#frag', 'https://as.example/token'],
    ['an empty query and fragment too', 'https://as.example/token?#', 'https://as.example/token'],
    ['scheme and host compare without case', 'HTTPS://AS.Example/token', 'https://as.example/token'],
    ['the default port is dropped', 'https://as.example:443/token', 'https://as.example/token'],
    ['for http as well', 'http://as.example:80/', 'http://as.example'],
    ['an empty port is dropped', 'https://as.example:/token', 'https://as.example/token'],
    ['leading zeros of a port do not count', 'https://as.example:08443/t', 'https://as.example:8443/t'],
    ['an empty path is /', 'https://as.example', 'https://as.example/'],
    ['percent-encoded unreserved characters are decoded', 'https://as.example/%7Euser/%41', 'https://as.example/~user/A'],
    ['percent-encoding hex digits compare without case', 'https://as.example/a%2fb', 'https://as.example/a%2Fb'],
    ['dot segments are removed', 'https://as.example/a/./b/../token', 'https://as.example/a/token'],
    ['encoded dot segments too', 'https://as.example/a/%2E%2E/token', 'https://as.example/token'],
    ['a host may be percent-encoded', 'https://%61s.example/token', 'https://as.example/token'],
    ['IPv6 literals, with the default port', 'https://[::ABCD]:443/t', 'https://[::abcd]/t'],
  ])('same: %s', (_, a, b) => {
    expect(sameHttpUri(a, b)).toBe(true);
    expect(sameHttpUri(b, a)).toBe(true);
  });

  it.each([
    ['paths compare with case', 'https://as.example/Token', 'https://as.example/token'],
    ['another port', 'https://as.example:8443/token', 'https://as.example/token'],
    ['another scheme', 'http://as.example/token', 'https://as.example/token'],
    ['another host', 'https://as.example.evil/token', 'https://as.example/token'],
    ['a trailing slash', 'https://as.example/token/', 'https://as.example/token'],
    ['an encoded reserved character is not the character', 'https://as.example/a%2Fb', 'https://as.example/a/b'],
  ])('different: %s', (_, a, b) => {
    expect(sameHttpUri(a, b)).toBe(false);
  });

  it.each([
    ['backslashes (read as slashes by WHATWG parsers)', 'https:\\\\as.example\\token'],
    ['userinfo (RFC 9110 §4.2.4)', 'https://as.example@evil.example/token'],
    ['another scheme', 'wss://as.example/token'],
    ['no scheme', '//as.example/token'],
    ['a relative reference', '/token'],
    ['no host', 'https:///token'],
    ['a space in the path', 'https://as.example/a b'],
    ['non-ASCII in the path', 'https://as.example/caf\u00e9'],
    ['a broken percent-encoding', 'https://as.example/%zz'],
    ['an unclosed IPv6 literal', 'https://[::1/token'],
    ['a port out of range', 'https://as.example:65536/'],
    ['a port with letters', 'https://as.example:44x/'],
    ['an over-long value', `https://as.example/${'a'.repeat(9000)}`],
  ])('malformed: %s', (_, uri) => {
    expect(() => httpTarget(uri, '/jwt/claims/htu')).toThrow(MalformedFactError);
    expect(() => sameHttpUri(uri, 'https://as.example/token')).toThrow(/not an absolute http\(s\) URI/);
  });

  it('takes identical text as the same resource without parsing it (the request itself named it)', () => {
    expect(sameHttpUri('https://as.example@rs.example/a b', 'https://as.example@rs.example/a b')).toBe(true);
  });

  it('gives the normal form', () => {
    expect(httpTarget('HTTPS://AS.example:443/a/../%7eb?x#y')).toBe('https://as.example/~b');
  });
});

describe('the same_http_uri operator', () => {
  const set = build(overlay('ov', {
    rules: [{
      id: 'T-HTU', clause: 'T §1', stage: 'dpop', severity: 'error', message: 'Match htu.',
      check: { logic: { same_http_uri: [{ var: 'facts.jwt.claims.htu' }, { var: 'facts.http.uri' }] } },
    }],
  }));
  const p = set.get('ov')!;
  const proof = (htu: unknown) => ({
    time: 1, jkt: 'k', http: { method: 'POST', uri: 'https://as.example/token' },
    jwt: { header: { alg: 'ES256' }, claims: { htu }, signature_verified: true },
  });

  it('compares a proof htu with the request URI', () => {
    expect(p.evaluate('dpop', proof('https://AS.example:443/token?x=1')).decision).toBe('allow');
    expect(p.evaluate('dpop', proof('https://as.example/par')).violations.map((v) => v.rule)).toEqual(['T-HTU']);
  });

  it('denies a malformed or non-string htu, naming the fact', () => {
    for (const htu of ['https://as.example@evil.example/token', 42]) {
      const d = p.evaluate('dpop', proof(htu));
      expect(d.decision).toBe('deny');
      expect(d.violations[0]).toMatchObject({ rule: 'T-HTU', path: '/jwt/claims/htu' });
      expect(d.violations[0]?.message).toMatch(/malformed fact/);
    }
  });

  it('refuses a malformed constant when the profile compiles', () => {
    const bad = build(overlay('ov', {
      rules: [{ id: 'T-C', clause: 'T §1', stage: 'dpop', severity: 'error', message: 'x', check: { logic: { same_http_uri: ['ftp://a', 'https://b'] } } }],
    }));
    expect(bad.get('ov')).toBeUndefined();
    expect(bad.diagnostics.map((d) => d.message).join()).toMatch(/not an absolute http\(s\) URI/);
  });
});
