import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { contentDigest } from '../../src/crypto/content-digest.js';
import { fapiRequestComponents, fapiRequestRequirements, fapiResponseRequirements, FAPI_REQUEST_TAG } from './fapi-http-signatures.js';
import {
  fapiResponseComponents, FAPI_RESPONSE_TAG,
  fieldsFromRawHeaders, HttpSignatureError, LIMITS, signatureBase, signMessage, verifyMessage,
  type ComponentSpec, type HttpFields, type HttpRequestMessage, type HttpResponseMessage, type SignatureVerification, type VerifyOptions,
} from '../../src/crypto/http-signatures.js';

// ---------------------------------------------------------------------------------------------
// RFC 9421 Appendix B.1 test keys (public parts; the Ed25519 and P-256 private parts too, which are
// short) and the messages of Appendix B.2. Test data only.

const RFC_RSA_PSS: JWK = {
  kty: 'RSA', kid: 'test-key-rsa-pss', e: 'AQAB',
  n: 'r4tmm3r20Wd_PbqvP1s2-QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct-Lh1GH45x28Rw3Ry53mm-oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL-Wokqltd11nqqzi-bJ9cvSKADYdUAAN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4aOT9v6d-nb4bnNkQVklLQ3fVAvJm-xdDOp9LCNCN48V2pnDOkFV6-U9nV5oyc6XI2w',
};
const RFC_P256_PRIVATE: JWK = {
  kty: 'EC', crv: 'P-256', kid: 'test-key-ecc-p256',
  d: 'UpuF81l-kOxbjf7T4mNSv0r5tN67Gim7rnf6EFpcYDs', x: 'qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA', y: 'Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0',
};
const RFC_ED25519_PRIVATE: JWK = {
  kty: 'OKP', crv: 'Ed25519', kid: 'test-key-ed25519', d: 'n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU', x: 'JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs',
};
const publicOf = ({ d: _d, ...rest }: JWK): JWK => rest;
const RFC_P256 = publicOf(RFC_P256_PRIVATE);
const RFC_ED25519 = publicOf(RFC_ED25519_PRIVATE);
const RFC_KEYS = [RFC_RSA_PSS, RFC_P256, RFC_ED25519];
const ALL_ALGORITHMS = ['rsa-pss-sha512', 'ecdsa-p256-sha256', 'ed25519'];

const REQUEST_DIGEST = 'sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:';
const CREATED = 1618884473;

/** The B.2 test-request: POST /foo?param=Value&Pet=dog to example.com. */
function testRequest(extra: HttpFields = {}, authority = 'example.com'): HttpRequestMessage {
  return {
    method: 'POST',
    targetUri: `https://${authority}/foo?param=Value&Pet=dog`,
    headers: {
      Host: authority, Date: 'Tue, 20 Apr 2021 02:07:55 GMT', 'Content-Type': 'application/json', 'Content-Digest': REQUEST_DIGEST, 'Content-Length': '18', ...extra,
    },
  };
}

/** The B.2 test-response, with the Content-Digest its body has (see the content-digest tests). */
function testResponse(extra: HttpFields = {}): HttpResponseMessage {
  return {
    status: 200,
    headers: {
      Date: 'Tue, 20 Apr 2021 02:07:56 GMT', 'Content-Type': 'application/json', 'Content-Length': '23',
      'Content-Digest': 'sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:', ...extra,
    },
  };
}

const lines = (...l: string[]) => l.join('\n');
const verifyRfc = (message: HttpRequestMessage | HttpResponseMessage, options: Partial<VerifyOptions> = {}) =>
  verifyMessage(message, { keys: RFC_KEYS, algorithms: ALL_ALGORITHMS, now: CREATED + 10, ...options });

describe('RFC 9421 worked examples', () => {
  it('§2.5: the example signature base, and §3.2: its rsa-pss-sha512 signature verifies', async () => {
    const components = ['@method', '@authority', '@path', 'content-digest', 'content-length', 'content-type'];
    const result = signatureBase(testRequest(), components, { created: CREATED, keyid: 'test-key-rsa-pss' });
    expect(result).toEqual({
      ok: true,
      base: lines(
        '"@method": POST',
        '"@authority": example.com',
        '"@path": /foo',
        `"content-digest": ${REQUEST_DIGEST}`,
        '"content-length": 18',
        '"content-type": application/json',
        '"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"',
      ),
      signatureParams: '("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"',
    });
    const signed = testRequest({
      'Signature-Input': 'sig1=("@method" "@authority" "@path" "content-digest" "content-length" "content-type");created=1618884473;keyid="test-key-rsa-pss"',
      Signature: 'sig1=:HIbjHC5rS0BYaa9v4QfD4193TORw7u9edguPh0AW3dMq9WImrlFrCGUDih47vAxi4L2YRZ3XMJc1uOKk/J0ZmZ+wcta4nKIgBkKq0rM9hs3CQyxXGxHLMCy8uqK488o+9jrptQ+xFPHK7a9sRL1IXNaagCNN3ZxJsYapFj+JXbmaI5rtAdSfSvzPuBCh+ARHBmWuNo1UzVVdHXrl8ePL4cccqlazIJdC4QEjrF+Sn4IxBQzTZsL9y9TP5FsZYzHvDqbInkTNigBcE9cKOYNFCn4D/WM7F6TNuZO9EgtzepLWcjTymlHzK7aXq6Am6sfOrpIC49yXjj3ae6HRalVc/g==:',
    });
    const verified = await verifyRfc(signed, { components, body: new TextEncoder().encode('{"hello": "world"}') });
    expect(verified).toMatchObject({
      verified: true, label: 'sig1', algorithm: 'rsa-pss-sha512', keyid: 'test-key-rsa-pss', created: CREATED, content_digest: 'match',
      components: ['"@method"', '"@authority"', '"@path"', '"content-digest"', '"content-length"', '"content-type"'],
    });
  });

  it('B.2.1: a minimal signature (no components, a nonce) over rsa-pss-sha512', async () => {
    const params = { created: CREATED, keyid: 'test-key-rsa-pss', nonce: 'b3k2pp5k7z-50gnwp.yemd' };
    expect(signatureBase(testRequest(), [], params)).toMatchObject({ ok: true, base: '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"' });
    const result = await verifyRfc(testRequest({
      'Signature-Input': 'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
      Signature: 'sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:',
    }));
    expect(result).toMatchObject({ verified: true, label: 'sig-b21', components: [], nonce: 'b3k2pp5k7z-50gnwp.yemd' });
  });

  it('B.2.2: selective components with a named query parameter and a tag', async () => {
    const components: ComponentSpec[] = ['@authority', 'content-digest', { name: '@query-param', params: { name: 'Pet' } }];
    expect(signatureBase(testRequest(), components, { created: CREATED, keyid: 'test-key-rsa-pss', tag: 'header-example' })).toMatchObject({
      ok: true,
      base: lines(
        '"@authority": example.com',
        `"content-digest": ${REQUEST_DIGEST}`,
        '"@query-param";name="Pet": dog',
        '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
      ),
    });
    const result = await verifyRfc(testRequest({
      'Signature-Input': 'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
      Signature: 'sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQEdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SARYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoKUqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:',
    }), { tag: 'header-example' });
    expect(result).toMatchObject({ verified: true, tag: 'header-example', components: ['"@authority"', '"content-digest"', '"@query-param";name="Pet"'] });
  });

  it('B.2.3: full coverage over rsa-pss-sha512', async () => {
    const components = ['date', '@method', '@path', '@query', '@authority', 'content-type', 'content-digest', 'content-length'];
    expect(signatureBase(testRequest(), components, { created: CREATED, keyid: 'test-key-rsa-pss' })).toMatchObject({
      ok: true,
      base: lines(
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@query": ?param=Value&Pet=dog',
        '"@authority": example.com',
        '"content-type": application/json',
        `"content-digest": ${REQUEST_DIGEST}`,
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
      ),
    });
    const result = await verifyRfc(testRequest({
      'Signature-Input': 'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
      Signature: 'sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yBiMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fUxN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5ZJzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:',
    }), { components });
    expect(result.verified).toBe(true);
  });

  it('B.2.4: a response signed with ecdsa-p256-sha256', async () => {
    const components = ['@status', 'content-type', 'content-digest', 'content-length'];
    expect(signatureBase(testResponse(), components, { created: CREATED, keyid: 'test-key-ecc-p256' })).toMatchObject({
      ok: true,
      base: lines(
        '"@status": 200',
        '"content-type": application/json',
        '"content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:',
        '"content-length": 23',
        '"@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"',
      ),
    });
    const result = await verifyRfc(testResponse({
      'Signature-Input': 'sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"',
      Signature: 'sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:',
    }), { body: new TextEncoder().encode('{"message": "good dog"}') });
    expect(result).toMatchObject({ verified: true, algorithm: 'ecdsa-p256-sha256', content_digest: 'match' });
  });

  it('B.2.5: the hmac-sha256 signature base; a shared secret is refused for verification', async () => {
    expect(signatureBase(testRequest(), ['date', '@authority', 'content-type'], { created: CREATED, keyid: 'test-shared-secret' })).toMatchObject({
      ok: true,
      base: lines(
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@authority": example.com',
        '"content-type": application/json',
        '"@signature-params": ("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      ),
    });
    const secret: JWK = { kty: 'oct', kid: 'test-shared-secret', k: 'uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ' };
    const result = await verifyRfc(testRequest({
      'Signature-Input': 'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"',
      Signature: 'sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:',
    }), { keys: [secret] });
    expect(result).toMatchObject({ verified: false, reason: 'algorithm_not_allowed' });
  });

  it('B.2.6: ed25519 is deterministic, so signing the base reproduces the published signature exactly', async () => {
    const components = ['date', '@method', '@path', '@authority', 'content-type', 'content-length'];
    const signed = await signMessage(testRequest(), { label: 'sig-b26', components, key: RFC_ED25519_PRIVATE, algorithm: 'ed25519', params: { created: CREATED, keyid: 'test-key-ed25519' } });
    expect(signed).toEqual({
      signatureInput: 'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      signature: 'sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:',
      signatureBase: lines(
        '"date": Tue, 20 Apr 2021 02:07:55 GMT',
        '"@method": POST',
        '"@path": /foo',
        '"@authority": example.com',
        '"content-type": application/json',
        '"content-length": 18',
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
      ),
    });
    const result = await verifyRfc(testRequest({ 'Signature-Input': signed.signatureInput, Signature: signed.signature }), { algorithms: ['EdDSA'] });
    expect(result).toMatchObject({ verified: true, algorithm: 'ed25519' });
  });

  describe('§2.4: a response signature covering request components with req', () => {
    const request = testRequest({
      'Signature-Input': 'sig1=("@method" "@authority" "@path" "@query" "content-digest" "content-type" "content-length");created=1618884475;keyid="test-key-rsa-pss"',
      Signature: 'sig1=:e8UJ5wMiRaonlth5ERtE8GIiEH7Akcr493nQ07VPNo6y3qvjdKt0fo8VHO8xXDjmtYoatGYBGJVlMfIp06eVMEyNW2I4vN7XDAz7m5v1108vGzaDljrd0H8+SJ28g7bzn6h2xeL/8q+qUwahWA/JmC8aOC9iVnwbOKCc0WSrLgWQwTY6VLp42Qt7jjhYT5W7/wCvfK9A1VmHH1lJXsV873Z6hpxesd50PSmO+xaNeYvDLvVdZlhtw5PCtUYzKjHqwmaQ6DEuM8udRjYsoNqp2xZKcuCO1nKc0V3RjpqMZLuuyVbHDAbCzr0pg2d2VM/OC33JAU7meEjjaNz+d7LWPg==:',
    });
    const response = (extra: HttpFields): HttpResponseMessage => ({
      status: 503,
      headers: {
        Date: 'Tue, 20 Apr 2021 02:07:56 GMT', 'Content-Type': 'application/json', 'Content-Length': '62',
        'Content-Digest': 'sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:', ...extra,
      },
    });

    it('the signed request verifies', async () => {
      expect(await verifyRfc(request)).toMatchObject({ verified: true, created: 1618884475 });
    });

    it('the first response: its base, and its signature verifies only with the request', async () => {
      const req = (name: string) => ({ name, params: { req: true as const } });
      const components = ['@status', 'content-digest', 'content-type', req('@authority'), req('@method'), req('@path'), req('content-digest')];
      expect(signatureBase(response({}), components, { created: 1618884479, keyid: 'test-key-ecc-p256' }, request)).toMatchObject({
        ok: true,
        base: lines(
          '"@status": 503',
          '"content-digest": sha-512=:0Y6iCBzGg5rZtoXS95Ijz03mslf6KAMCloESHObfwnHJDbkkWWQz6PhhU9kxsTbARtY2PTBOzq24uJFpHsMuAg==:',
          '"content-type": application/json',
          '"@authority";req: example.com',
          '"@method";req: POST',
          '"@path";req: /foo',
          `"content-digest";req: ${REQUEST_DIGEST}`,
          '"@signature-params": ("@status" "content-digest" "content-type" "@authority";req "@method";req "@path";req "content-digest";req);created=1618884479;keyid="test-key-ecc-p256"',
        ),
      });
      const signed = response({
        'Signature-Input': 'reqres=("@status" "content-digest" "content-type" "@authority";req "@method";req "@path";req "content-digest";req);created=1618884479;keyid="test-key-ecc-p256"',
        Signature: 'reqres=:dMT/A/76ehrdBTD/2Xx8QuKV6FoyzEP/I9hdzKN8LQJLNgzU4W767HK05rx1i8meNQQgQPgQp8wq2ive3tV5Ag==:',
      });
      expect(await verifyRfc(signed, { request })).toMatchObject({ verified: true, components: ['"@status"', '"content-digest"', '"content-type"', '"@authority";req', '"@method";req', '"@path";req', '"content-digest";req'] });
      expect(await verifyRfc(signed)).toMatchObject({ verified: false, reason: 'component_missing' });
      const otherRequest = { ...request, method: 'PUT' };
      expect(await verifyRfc(signed, { request: otherRequest })).toMatchObject({ verified: false, reason: 'bad_signature' });
    });

    it('the second response, covering every component of the request signature, verifies', async () => {
      const signed = response({
        'Signature-Input': 'reqres=("@status" "content-digest" "content-type" "@authority";req "@method";req "@path";req "@query";req "content-digest";req "content-type";req "content-length";req);created=1618884479;keyid="test-key-ecc-p256"',
        Signature: 'reqres=:C73J41GVKc+TYXbSobvZf0CmNcptRiWN+NY1Or0A36ISg6ymdRN6ZgR2QfrtopFNzqAyv+CeWrMsNbcV2Ojsgg==:',
      });
      expect(await verifyRfc(signed, { request })).toMatchObject({ verified: true });
    });
  });

  describe('§4.3: two signatures on one message', () => {
    const message = testRequest({
      Host: 'origin.host.internal.example', Date: 'Tue, 20 Apr 2021 02:07:56 GMT', Forwarded: 'for=192.0.2.123;host=example.com;proto=https',
      'Signature-Input': 'sig1=("@method" "@authority" "@path" "content-digest" "content-type" "content-length");created=1618884475;keyid="test-key-ecc-p256", proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540',
      Signature: 'sig1=:X5spyd6CFnAG5QnDyHfqoSNICd+BUP4LYMz2Q0JXlb//4Ijpzp+kve2w4NIyqeAuM7jTDX+sNalzA8ESSaHD3A==:, proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWAEObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:',
    }, 'origin.host.internal.example');

    it('the proxy signature base, parameters in the order given', () => {
      const components = ['@method', '@authority', '@path', 'content-digest', 'content-type', 'content-length', 'forwarded'];
      expect(signatureBase(message, components, { created: 1618884480, keyid: 'test-key-rsa', alg: 'rsa-v1_5-sha256', expires: 1618884540 })).toMatchObject({
        ok: true,
        base: lines(
          '"@method": POST',
          '"@authority": origin.host.internal.example',
          '"@path": /foo',
          `"content-digest": ${REQUEST_DIGEST}`,
          '"content-type": application/json',
          '"content-length": 18',
          '"forwarded": for=192.0.2.123;host=example.com;proto=https',
          '"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-type" "content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256";expires=1618884540',
        ),
      });
    });

    it('one label is chosen by name; the proxy changed the authority, so the client signature no longer verifies', async () => {
      expect(await verifyRfc(message)).toMatchObject({ verified: false, reason: 'label_ambiguous' });
      expect(await verifyRfc(message, { label: 'sig1' })).toMatchObject({ verified: false, reason: 'bad_signature', label: 'sig1', keyid: 'test-key-ecc-p256' });
      expect(await verifyRfc(testRequest({ 'Signature-Input': message.headers['Signature-Input'], Signature: message.headers.Signature }), { label: 'sig1' }))
        .toMatchObject({ verified: true, label: 'sig1' });
    });

    it('rsa-v1_5-sha256 is not supported (FAPI 2.0 has no PKCS#1 v1.5)', async () => {
      expect(await verifyRfc(message, { label: 'proxy_sig', now: 1618884500 })).toMatchObject({ verified: false, reason: 'algorithm_unsupported', alg: 'rsa-v1_5-sha256', expires: 1618884540 });
    });
  });

  it('B.3: a TLS-terminating proxy signs the Client-Cert field', async () => {
    const cert = ':MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxGzAZBgNVBAMMEkxBIEludGVybWVkaWF0ZSBDQTAeFw0yMDAxMTQyMjU1MzNaFw0yMTAxMjMyMjU1MzNaMA0xCzAJBgNVBAMMAkJDMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YnXXfaUgmnMtOXU/IncWalRhebrXmckC8vdgJ1p5Be5F/3YC8OthxM4+k1M6aEAEFcGzkJiNy6J84y7uzo9M6NyMHAwCQYDVR0TBAIwADAfBgNVHSMEGDAWgBRm3WjLa38lbEYCuiCPct0ZaSED2DAOBgNVHQ8BAf8EBAMCBsAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0RAQH/BBMwEYEPYmRjQGV4YW1wbGUuY29tMAoGCCqGSM49BAMCA0gAMEUCIBHda/r1vaL6G3VliL4/Di6YK0Q6bMjeSkC3dFCOOB8TAiEAx/kHSB4urmiZ0NX5r5XarmPk0wmuydBVoU4hBVZ1yhk=:';
    const message: HttpRequestMessage = {
      method: 'POST', targetUri: 'https://service.internal.example/foo?param=Value&Pet=dog',
      headers: {
        Host: 'service.internal.example', Date: 'Tue, 20 Apr 2021 02:07:55 GMT', 'Content-Type': 'application/json', 'Content-Length': '18', 'Client-Cert': cert,
        'Signature-Input': 'ttrp=("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256"',
        Signature: 'ttrp=:xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw==:',
      },
    };
    expect(signatureBase(message, ['@path', '@query', '@method', '@authority', 'client-cert'], { created: CREATED, keyid: 'test-key-ecc-p256' })).toMatchObject({
      ok: true,
      base: lines(
        '"@path": /foo',
        '"@query": ?param=Value&Pet=dog',
        '"@method": POST',
        '"@authority": service.internal.example',
        `"client-cert": ${cert}`,
        '"@signature-params": ("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256"',
      ),
    });
    expect(await verifyRfc(message)).toMatchObject({ verified: true, label: 'ttrp' });
  });

  describe('B.4: transformations that keep or break an ed25519 signature', () => {
    const sig = {
      'Signature-Input': 'transform=("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519"',
      Signature: 'transform=:ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA==:',
    };
    const get = (query: string, raw: string[], method = 'GET', host = 'example.org'): HttpRequestMessage => ({
      method, targetUri: `https://${host}/demo?${query}`,
      headers: fieldsFromRawHeaders([...raw, 'Signature-Input', sig['Signature-Input'], 'Signature', sig.Signature]),
    });
    const original = ['Host', 'example.org', 'Date', 'Fri, 15 Jul 2022 14:24:55 GMT', 'Accept', 'application/json', 'Accept', '*/*'];

    it('the base combines the two Accept lines', () => {
      expect(signatureBase(get('name1=Value1&Name2=value2', original), ['@method', '@path', '@authority', 'accept'], { created: CREATED, keyid: 'test-key-ed25519' })).toMatchObject({
        ok: true,
        base: lines('"@method": GET', '"@path": /demo', '"@authority": example.org', '"accept": application/json, */*', '"@signature-params": ("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519"'),
      });
    });

    it.each([
      ['the original', get('name1=Value1&Name2=value2', original)],
      ['an added header and query parameter', get('name1=Value1&Name2=value2&param=added', [...original, 'Accept-Language', 'en-US,en;q=0.5'])],
      ['Date removed, Referer added, Accept collapsed', get('name1=Value1&Name2=value2', ['Host', 'example.org', 'Referer', 'https://developer.example.org/demo', 'Accept', 'application/json, */*'])],
      ['fields reordered', get('name1=Value1&Name2=value2', ['Accept', 'application/json', 'Accept', '*/*', 'Date', 'Fri, 15 Jul 2022 14:24:55 GMT', 'Host', 'example.org'])],
    ])('still verifies: %s', async (_what, message) => {
      expect(await verifyRfc(message)).toMatchObject({ verified: true, algorithm: 'ed25519' });
    });

    it.each([
      ['method and authority changed', get('name1=Value1&Name2=value2', original, 'POST', 'example.com')],
      ['the two Accept lines swapped', get('name1=Value1&Name2=value2', ['Host', 'example.org', 'Accept', '*/*', 'Accept', 'application/json'])],
    ])('no longer verifies: %s', async (_what, message) => {
      expect(await verifyRfc(message)).toMatchObject({ verified: false, reason: 'bad_signature' });
    });
  });
});

// ---------------------------------------------------------------------------------------------

const base = (message: HttpRequestMessage | HttpResponseMessage, components: ComponentSpec[], request?: HttpRequestMessage) => signatureBase(message, components, {}, request);
/** The component lines of a base, without the @signature-params line. */
const valuesOf = (result: ReturnType<typeof signatureBase>) => (result.ok ? result.base.split('\n').slice(0, -1) : result);
const get = (targetUri: string, headers: HttpFields = {}): HttpRequestMessage => ({ method: 'GET', targetUri, headers });

describe('component values (RFC 9421 §2.1, §2.2)', () => {
  it('§2.1: field values trimmed, obs-fold unfolded, several lines joined; an empty field signed as empty', () => {
    const message = get('https://www.example.com/', fieldsFromRawHeaders([
      'Host', 'www.example.com', 'Date', 'Tue, 20 Apr 2021 02:07:56 GMT', 'X-OWS-Header', '   Leading and trailing whitespace.   ',
      'X-Obs-Fold-Header', 'Obsolete\r\n    line folding.', 'Cache-Control', 'max-age=60', 'Cache-Control', '   must-revalidate',
      'Example-Dict', ' a=1,    b=2;x=1;y=2,   c=(a   b   c)', 'X-Empty-Header', '',
    ]));
    expect(valuesOf(base(message, ['host', 'date', 'x-ows-header', 'x-obs-fold-header', 'cache-control', 'example-dict', 'x-empty-header']))).toEqual([
      '"host": www.example.com',
      '"date": Tue, 20 Apr 2021 02:07:56 GMT',
      '"x-ows-header": Leading and trailing whitespace.',
      '"x-obs-fold-header": Obsolete line folding.',
      '"cache-control": max-age=60, must-revalidate',
      '"example-dict": a=1,    b=2;x=1;y=2,   c=(a   b   c)',
      '"x-empty-header": ',
    ]);
  });

  it('field names in the message match whatever their case; node-style arrays are several lines', () => {
    expect(valuesOf(base(get('https://a.example/', { 'CACHE-control': ['a', 'b'], 'cache-Control': 'c' }), ['cache-control']))).toEqual(['"cache-control": a, b, c']);
  });

  it('§2.1.3: bs wraps each line as a byte sequence, so two lines differ from one', () => {
    const two = get('https://a.example/', { 'example-header': ['value, with, lots', 'of, commas'] });
    const one = get('https://a.example/', { 'example-header': 'value, with, lots, of, commas' });
    const bs = { name: 'example-header', params: { bs: true as const } };
    expect(valuesOf(base(two, ['example-header', bs]))).toEqual(['"example-header": value, with, lots, of, commas', '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:']);
    expect(valuesOf(base(one, [bs]))).toEqual(['"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHMsIG9mLCBjb21tYXM=:']);
  });

  it('§2.1.1/§2.1.2: sf and key on the Dictionary fields this module knows', () => {
    const message = get('https://a.example/', { 'signature-input': 'a=( "@method"   "@path" );created=1,  b=()', 'content-digest': 'sha-256=:AAAA:' });
    expect(valuesOf(base(message, [
      { name: 'signature-input', params: { sf: true } }, { name: 'signature-input', params: { key: 'a' } }, { name: 'content-digest', params: { key: 'sha-256' } },
    ]))).toEqual([
      '"signature-input";sf: a=("@method" "@path");created=1, b=()',
      '"signature-input";key="a": ("@method" "@path");created=1',
      '"content-digest";key="sha-256": :AAAA:',
    ]);
    expect(base(message, [{ name: 'signature-input', params: { key: 'c' } }])).toMatchObject({ ok: false, reason: 'component_missing' });
    // Unknown field types cannot be re-serialized (§2.1.1 says this must be an error).
    expect(base(get('https://a.example/', { 'example-dict': 'a=1' }), [{ name: 'example-dict', params: { sf: true } }])).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base(get('https://a.example/', { 'content-digest': 'sha-256=(' }), [{ name: 'content-digest', params: { sf: true } }])).toMatchObject({ ok: false, reason: 'component_invalid' });
  });

  it('§2.2: derived components of a request', () => {
    const post = (targetUri: string): HttpRequestMessage => ({ method: 'POST', targetUri, headers: {} });
    expect(valuesOf(base(post('https://www.example.com/path?param=value'), ['@method', '@target-uri', '@authority', '@scheme', '@path', '@query']))).toEqual([
      '"@method": POST', '"@target-uri": https://www.example.com/path?param=value', '"@authority": www.example.com', '"@scheme": https', '"@path": /path', '"@query": ?param=value',
    ]);
    expect(valuesOf(base(post('http://www.example.com/path?param=value&foo=bar&baz=bat%2Dman'), ['@scheme', '@query']))).toEqual(['"@scheme": http', '"@query": ?param=value&foo=bar&baz=bat%2Dman']);
    expect(valuesOf(base(post('https://www.example.com/path?queryString'), ['@query']))).toEqual(['"@query": ?queryString']);
    expect(valuesOf(base(post('https://www.example.com'), ['@path', '@query']))).toEqual(['"@path": /', '"@query": ?']);
    // Authority: host lower-cased, default port dropped, another port kept (RFC 9110 §4.2.3).
    expect(valuesOf(base(post('HTTPS://WWW.Example.COM:443/a'), ['@authority', '@scheme']))).toEqual(['"@authority": www.example.com', '"@scheme": https']);
    expect(valuesOf(base(post('http://www.example.com:80/a'), ['@authority']))).toEqual(['"@authority": www.example.com']);
    expect(valuesOf(base(post('https://www.example.com:8443/a'), ['@authority']))).toEqual(['"@authority": www.example.com:8443']);
    expect(valuesOf(base(post('https://[::1]:8443/a'), ['@authority']))).toEqual(['"@authority": [::1]:8443']);
    // The method's case is kept.
    expect(valuesOf(base({ method: 'patch', targetUri: 'https://a.example/', headers: {} }, ['@method']))).toEqual(['"@method": patch']);
  });

  it('§2.2.8: named query parameters, decoded then re-encoded', () => {
    const q = (name: string) => ({ name: '@query-param', params: { name } });
    const message = get('https://www.example.com/path?param=value&foo=bar&baz=batman&qux=');
    expect(valuesOf(base(message, [q('baz'), q('qux'), q('param')]))).toEqual(['"@query-param";name="baz": batman', '"@query-param";name="qux": ', '"@query-param";name="param": value']);
    const tricky = get('https://www.example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something');
    expect(valuesOf(base(tricky, [q('var'), q('bar'), q('fa%C3%A7ade%22%3A%20')]))).toEqual([
      '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value',
      '"@query-param";name="bar": with%20plus%20whitespace',
      '"@query-param";name="fa%C3%A7ade%22%3A%20": something',
    ]);
    expect(base(get('https://a.example/?a=1&a=2'), [q('a')])).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base(get('https://a.example/?a=1'), [q('b')])).toMatchObject({ ok: false, reason: 'component_missing' });
    expect(base(get('https://a.example/?a=1'), ['@query-param'])).toMatchObject({ ok: false, reason: 'component_invalid' });
  });

  it('§2.2.9: @status of a response; request components of a response need req and the request', () => {
    const request = get('https://a.example/x', { authorization: 'DPoP abc' });
    const response: HttpResponseMessage = { status: 201, headers: { 'content-type': 'text/plain' } };
    const req = (name: string) => ({ name, params: { req: true as const } });
    expect(valuesOf(base(response, ['@status', 'content-type', req('@method'), req('@target-uri'), req('authorization')], request))).toEqual([
      '"@status": 201', '"content-type": text/plain', '"@method";req: GET', '"@target-uri";req: https://a.example/x', '"authorization";req: DPoP abc',
    ]);
    expect(base(response, ['@method'], request)).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base(response, [req('@method')])).toMatchObject({ ok: false, reason: 'component_missing' });
    expect(base(request, ['@status'])).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base(request, [req('@method')])).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base(response, [req('@status')], request)).toMatchObject({ ok: false, reason: 'component_invalid' });
    expect(base({ status: 42, headers: {} }, ['@status'])).toMatchObject({ ok: false, reason: 'component_invalid' });
  });

  it.each<[string, HttpRequestMessage, ComponentSpec[], string]>([
    ['a field that is absent', get('https://a.example/'), ['authorization'], 'component_missing'],
    ['an upper-case field name', get('https://a.example/', { Authorization: 'x' }), ['Authorization'], 'component_invalid'],
    ['an empty name', get('https://a.example/'), [''], 'component_invalid'],
    ['an unknown derived component', get('https://a.example/'), ['@nonsense'], 'component_invalid'],
    ['@request-target (not supported)', get('https://a.example/'), ['@request-target'], 'component_invalid'],
    ['@signature-params as a component', get('https://a.example/'), ['@signature-params'], 'component_invalid'],
    ['an unknown parameter', get('https://a.example/', { a: 'x' }), [{ name: 'a', params: { name: 'x' } }], 'component_invalid'],
    ['a trailer field (tr)', get('https://a.example/', { a: 'x' }), [{ name: 'a', params: { tr: true } } as unknown as ComponentSpec], 'component_invalid'],
    ['bs with sf', get('https://a.example/', { 'content-digest': 'a=:AA==:' }), [{ name: 'content-digest', params: { bs: true, sf: true } }], 'component_invalid'],
    ['a flag that is not true', get('https://a.example/', { a: 'x' }), [{ name: 'a', params: { sf: false } } as unknown as ComponentSpec], 'component_invalid'],
    ['the same component twice', get('https://a.example/', { a: 'x' }), ['a', 'a'], 'component_invalid'],
    ['the same component twice, parameters reordered', get('https://a.example/', { 'content-digest': 'a=:AA==:' }), [{ name: 'content-digest', params: { key: 'a', sf: true } }, { name: 'content-digest', params: { sf: true, key: 'a' } }], 'component_invalid'],
    ['a non-ASCII value', get('https://a.example/', { a: 'café' }), ['a'], 'component_invalid'],
    ['a line break that is not obs-fold', get('https://a.example/', { a: 'x\r\n"@method": POST' }), ['a'], 'component_invalid'],
    ['a NUL in a value', get('https://a.example/', { a: 'x\u0000y' }), ['a'], 'component_invalid'],
    ['a relative target URI', get('/foo'), ['@path'], 'component_invalid'],
    ['a non-http target URI', get('javascript:alert(1)'), ['@path'], 'component_invalid'],
    ['user information in the target URI', get('https://user:pw@a.example/'), ['@authority'], 'component_invalid'],
    ['a fragment in the target URI', get('https://a.example/#x'), ['@target-uri'], 'component_invalid'],
    ['a bad port', get('https://a.example:99999/'), ['@authority'], 'component_invalid'],
    ['an unclosed IPv6 literal', get('https://[::1/'), ['@authority'], 'component_invalid'],
    ['text after an IPv6 literal', get('https://[::1]x/'), ['@authority'], 'component_invalid'],
    ['bs over a value wider than bytes', get('https://a.example/', { a: 'x\u0100' }), [{ name: 'a', params: { bs: true } }], 'component_invalid'],
    ['a space in the method', { method: 'GET X', targetUri: 'https://a.example/', headers: {} }, ['@method'], 'component_invalid'],
  ])('an error for %s', (_what, message, components, reason) => {
    expect(base(message, components)).toMatchObject({ ok: false, reason });
  });

  it('a base has at most LIMITS.components components and LIMITS.baseChars characters', () => {
    const many = Object.fromEntries(Array.from({ length: LIMITS.components + 1 }, (_, i) => [`h${i}`, 'x']));
    expect(base(get('https://a.example/', many), Object.keys(many))).toMatchObject({ ok: false, reason: 'too_large' });
    const big = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`h${i}`, 'x'.repeat(LIMITS.valueChars)]));
    expect(base(get('https://a.example/', big), Object.keys(big))).toMatchObject({ ok: false, reason: 'too_large' });
    expect(base(get('https://a.example/', { h: 'x'.repeat(LIMITS.valueChars + 1) }), ['h'])).toMatchObject({ ok: false, reason: 'component_invalid' });
  });
});

// ---------------------------------------------------------------------------------------------

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const jwkOf = (key: KeyObject, extra: Partial<JWK> = {}): JWK => ({ ...(key.export({ format: 'jwk' }) as JWK), ...extra });
const EC_JWK = jwkOf(ec.publicKey, { kid: 'ec-1' });
const NOW = 1_700_000_000;
const enc = (s: string) => new TextEncoder().encode(s);

const resource = (headers: HttpFields = {}): HttpRequestMessage => ({
  method: 'GET', targetUri: 'https://rs.example/api/accounts?limit=10', headers: { host: 'rs.example', authorization: 'DPoP AT-123', ...headers },
});

/** The message with this signature's two fields added (after any it already has). */
function withSignature<M extends HttpRequestMessage | HttpResponseMessage>(message: M, signed: { signatureInput: string; signature: string }): M {
  const add = (name: string, value: string) => {
    const old = message.headers[name];
    return old === undefined ? value : [...(typeof old === 'string' ? [old] : old), value];
  };
  return { ...message, headers: { ...message.headers, 'signature-input': add('signature-input', signed.signatureInput), signature: add('signature', signed.signature) } };
}

async function signEc<M extends HttpRequestMessage | HttpResponseMessage>(message: M, components: ComponentSpec[] = ['@method', '@target-uri', 'authorization'], params: object = { keyid: 'ec-1' }, label = 'sig1'): Promise<M> {
  return withSignature(message, await signMessage(message, { label, components, key: ec.privateKey, algorithm: 'ES256', params: { created: NOW, ...params } }));
}

const verifyEc = (message: HttpRequestMessage | HttpResponseMessage, options: Partial<VerifyOptions> = {}) =>
  verifyMessage(message, { keys: [EC_JWK], algorithms: ['ES256'], now: NOW, ...options });

describe('signing and verifying', () => {
  it.each<[string, { privateKey: KeyObject; publicKey: KeyObject }, string]>([
    ['ES256', ec, 'ecdsa-p256-sha256'],
    ['ecdsa-p256-sha256', ec, 'ecdsa-p256-sha256'],
    ['rsa-pss-sha512', rsa, 'rsa-pss-sha512'],
    ['PS512', rsa, 'rsa-pss-sha512'],
    ['PS256', rsa, 'PS256'],
    ['EdDSA', ed, 'ed25519'],
    ['Ed25519', ed, 'ed25519'],
  ])('round trip with %s', async (algorithm, pair, id) => {
    const message = resource();
    const signed = await signMessage(message, { label: 'sig1', components: ['@method', '@target-uri', 'authorization'], key: pair.privateKey, algorithm, params: { created: NOW, keyid: 'k' } });
    const key = jwkOf(pair.publicKey, { kid: 'k' });
    const result = await verifyMessage(withSignature(message, signed), { keys: [key], algorithms: [algorithm], now: NOW });
    expect(result).toMatchObject({ verified: true, algorithm: id, label: 'sig1', keyid: 'k', created: NOW, components: ['"@method"', '"@target-uri"', '"authorization"'] });
    const tampered = withSignature({ ...message, method: 'DELETE' }, signed);
    expect(await verifyMessage(tampered, { keys: [key], algorithms: [algorithm], now: NOW })).toMatchObject({ verified: false, reason: 'bad_signature' });
  });

  it('ecdsa-p256-sha256 signatures are the 64-octet r||s of §3.3.4', async () => {
    const signed = await signMessage(resource(), { label: 'sig1', components: ['@method'], key: ec.privateKey, algorithm: 'ES256', params: { created: NOW, keyid: 'ec-1' } });
    const bytes = Buffer.from(signed.signature.slice('sig1=:'.length, -1), 'base64');
    expect(bytes.length).toBe(64);
    expect(nodeVerify('sha256', Buffer.from(signed.signatureBase), { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, bytes)).toBe(true);
    // The same signature in DER (as JCA and OpenSSL make by default) is refused.
    const der = nodeSign('sha256', Buffer.from(signed.signatureBase), ec.privateKey);
    const message = withSignature(resource(), { signatureInput: signed.signatureInput, signature: `sig1=:${der.toString('base64')}:` });
    expect(await verifyEc(message)).toMatchObject({ verified: false, reason: 'bad_signature' });
    expect(await verifyEc(withSignature(resource(), signed))).toMatchObject({ verified: true });
  });

  it('PS256 and rsa-pss-sha512 are different algorithms; an RSA key without alg tries each allowed one', async () => {
    const message = withSignature(resource(), await signMessage(resource(), { label: 'sig1', components: ['@method'], key: rsa.privateKey, algorithm: 'PS256', params: { created: NOW } }));
    const key = jwkOf(rsa.publicKey);
    expect(await verifyMessage(message, { keys: [key], algorithms: ['rsa-pss-sha512'], now: NOW })).toMatchObject({ verified: false, reason: 'bad_signature' });
    expect(await verifyMessage(message, { keys: [key], algorithms: ['rsa-pss-sha512', 'PS256'], now: NOW })).toMatchObject({ verified: true, algorithm: 'PS256' });
    expect(await verifyMessage(message, { keys: [{ ...key, alg: 'PS256' }], algorithms: ['rsa-pss-sha512', 'PS256'], now: NOW })).toMatchObject({ verified: true, algorithm: 'PS256' });
  });

  it('takes the private key as a JWK, a KeyObject or a CryptoKey', async () => {
    const privateJwk = jwkOf(ec.privateKey);
    const cryptoKey = (await importJWK(privateJwk, 'ES256')) as CryptoKey;
    for (const key of [privateJwk, ec.privateKey, cryptoKey]) {
      const signed = await signMessage(resource(), { label: 'sig1', components: ['@method'], key, algorithm: 'ES256', params: { created: NOW, keyid: 'ec-1' } });
      expect(await verifyEc(withSignature(resource(), signed))).toMatchObject({ verified: true });
    }
  });

  it('puts created first, as now, when it is not given; the alg parameter only when asked and consistent', async () => {
    const signed = await signMessage(resource(), { label: 'sig1', components: ['@method'], key: ec.privateKey, algorithm: 'ES256', params: { keyid: 'ec-1', alg: 'ecdsa-p256-sha256' }, now: NOW });
    expect(signed.signatureInput).toBe('sig1=("@method");created=1700000000;keyid="ec-1";alg="ecdsa-p256-sha256"');
    expect(await verifyEc(withSignature(resource(), signed))).toMatchObject({ verified: true, alg: 'ecdsa-p256-sha256' });
    const unasked = await signMessage(resource(), { label: 'sig1', components: ['@method'], key: ec.privateKey, algorithm: 'ES256' });
    expect(unasked.signatureInput).toMatch(/^sig1=\("@method"\);created=\d+$/);
    const explicitUndefined = await signMessage(resource(), { label: 'sig1', components: [], key: ec.privateKey, algorithm: 'ES256', params: { keyid: 'k', created: undefined }, now: NOW });
    expect(explicitUndefined.signatureInput).toBe('sig1=();created=1700000000;keyid="k"');
  });

  it.each<[string, Partial<Parameters<typeof signMessage>[1]>]>([
    ['an unsupported algorithm', { algorithm: 'RS256' }],
    ['an alg parameter for another algorithm', { params: { alg: 'ed25519' } }],
    ['an alg parameter for a JWS algorithm', { key: rsa.privateKey, algorithm: 'PS256', params: { alg: 'PS256' } }],
    ['a label that is not a key', { label: 'Sig1' }],
    ['a component the message lacks', { components: ['dpop'] }],
    ['a nonce with a line break', { params: { nonce: 'a\nb' } }],
    ['a JWK of another type', { key: jwkOf(ed.privateKey) }],
    ['a KeyObject of another type', { key: rsa.privateKey }],
    ['a public key', { key: ec.publicKey }],
  ])('refuses to sign with %s', async (_what, change) => {
    const options = { label: 'sig1', components: ['@method'], key: ec.privateKey, algorithm: 'ES256', ...change };
    await expect(signMessage(resource(), options)).rejects.toThrow(HttpSignatureError);
  });

  it('appends to signatures a message already has, and each verifies by label', async () => {
    const once = await signEc(resource(), ['@method'], { keyid: 'ec-1', tag: 'first' }, 'one');
    const twice = await signEc(once, ['@target-uri'], { keyid: 'ec-1', tag: 'second' }, 'two');
    expect(twice.headers['signature-input']).toHaveLength(2);
    expect(await verifyEc(twice, { label: 'one' })).toMatchObject({ verified: true, tag: 'first' });
    expect(await verifyEc(twice, { label: 'two' })).toMatchObject({ verified: true, tag: 'second' });
    expect(await verifyEc(twice, { tag: 'second' })).toMatchObject({ verified: true, label: 'two' });
  });
});

describe('verification refusals', () => {
  const refusal = (result: SignatureVerification) => ({ verified: result.verified, reason: result.reason });

  it('signature_input_missing and signature_missing', async () => {
    expect(await verifyEc(resource())).toEqual({ verified: false, reason: 'signature_input_missing', detail: 'the message has no Signature-Input field' });
    expect(refusal(await verifyEc(resource({ 'signature-input': '' })))).toEqual({ verified: false, reason: 'signature_input_missing' });
    const signed = await signEc(resource());
    expect(refusal(await verifyEc({ ...signed, headers: { ...signed.headers, signature: undefined } }))).toEqual({ verified: false, reason: 'signature_missing' });
  });

  it.each([
    ['a Signature-Input that is not a Dictionary', { 'signature-input': 'sig1=(', signature: 'sig1=:AAAA:' }],
    ['a Signature that is not a Dictionary', { 'signature-input': 'sig1=("@method");created=1', signature: 'sig1=:AA$A:' }],
    ['a Signature member that is not a byte sequence', { 'signature-input': 'sig1=("@method");created=1', signature: 'sig1="AAAA"' }],
    ['a Signature-Input member that is not an inner list', { 'signature-input': 'sig1="@method"', signature: 'sig1=:AAAA:' }],
    ['a component identifier that is not a string', { 'signature-input': 'sig1=(method);created=1', signature: 'sig1=:AAAA:' }],
    ['a label only in Signature-Input', { 'signature-input': 'sig1=("@method"), sig2=()', signature: 'sig1=:AAAA:' }],
    ['a label only in Signature', { 'signature-input': 'sig1=("@method")', signature: 'sig1=:AAAA:, sig2=:AAAA:' }],
    ['a repeated label', { 'signature-input': ['sig1=("@method")', 'sig1=()'], signature: 'sig1=:AAAA:' }],
    ['created that is not an integer', { 'signature-input': 'sig1=("@method");created="1700000000"', signature: 'sig1=:AAAA:' }],
    ['created that is a decimal', { 'signature-input': 'sig1=("@method");created=1700000000.5', signature: 'sig1=:AAAA:' }],
    ['keyid that is not a string', { 'signature-input': 'sig1=("@method");keyid=ec-1', signature: 'sig1=:AAAA:' }],
    ['a repeated parameter', { 'signature-input': 'sig1=("@method");created=1;created=2', signature: 'sig1=:AAAA:' }],
  ])('malformed: %s', async (_what, headers) => {
    expect(refusal(await verifyEc(resource(headers)))).toEqual({ verified: false, reason: 'malformed' });
  });

  it('label_absent, label_ambiguous, and tag_mismatch when choosing among signatures', async () => {
    const two = await signEc(await signEc(resource(), undefined, { keyid: 'ec-1', tag: 'x' }, 'a'), undefined, { keyid: 'ec-1', tag: 'y' }, 'b');
    expect(await verifyEc(two, { label: 'c' })).toMatchObject({ verified: false, reason: 'label_absent' });
    expect(await verifyEc(two)).toMatchObject({ verified: false, reason: 'label_ambiguous' });
    expect(await verifyEc(two, { tag: 'z' })).toMatchObject({ verified: false, reason: 'tag_mismatch', detail: 'no signature has the tag "z"' });
    expect(await verifyEc(two, { label: 'a', tag: 'y' })).toMatchObject({ verified: false, reason: 'tag_mismatch', label: 'a', tag: 'x' });
    const sameTag = await signEc(await signEc(resource(), undefined, { keyid: 'ec-1', tag: 'x' }, 'a'), undefined, { keyid: 'ec-1', tag: 'x' }, 'b');
    expect(await verifyEc(sameTag, { tag: 'x' })).toMatchObject({ verified: false, reason: 'label_ambiguous' });
    expect(await verifyEc(await signEc(resource()), { tag: 'x' })).toMatchObject({ verified: false, reason: 'tag_mismatch', detail: 'the tag is absent, not "x"' });
  });

  it('created_missing, created_in_future (beyond the skew), too_old, expired', async () => {
    const unsignedTimes = resource({ 'signature-input': 'sig1=("@method");keyid="ec-1"', signature: 'sig1=:AAAA:' });
    expect(await verifyEc(unsignedTimes, { requireCreated: true })).toMatchObject({ verified: false, reason: 'created_missing' });
    expect(await verifyEc(await signEc(resource(), undefined, { created: NOW + 10, keyid: 'ec-1' }))).toMatchObject({ verified: true });
    expect(await verifyEc(await signEc(resource(), undefined, { created: NOW + 11, keyid: 'ec-1' }))).toMatchObject({ verified: false, reason: 'created_in_future', detail: 'created is 11 s in the future' });
    expect(await verifyEc(await signEc(resource(), undefined, { created: NOW + 1, keyid: 'ec-1' }), { maxSkew: 0 })).toMatchObject({ verified: false, reason: 'created_in_future' });
    expect(await verifyEc(await signEc(resource(), undefined, { created: NOW - 60, keyid: 'ec-1' }), { maxAge: 60 })).toMatchObject({ verified: true });
    expect(await verifyEc(await signEc(resource(), undefined, { created: NOW - 61, keyid: 'ec-1' }), { maxAge: 60 })).toMatchObject({ verified: false, reason: 'too_old' });
    expect(await verifyEc(await signEc(resource(), undefined, { keyid: 'ec-1', expires: NOW }))).toMatchObject({ verified: true, expires: NOW });
    expect(await verifyEc(await signEc(resource(), undefined, { keyid: 'ec-1', expires: NOW - 1 }))).toMatchObject({ verified: false, reason: 'expired' });
  });

  it('coverage_insufficient names what is missing, with req told apart', async () => {
    const result = await verifyEc(await signEc(resource(), ['@method']), { components: ['@method', '@target-uri', { name: 'authorization' }] });
    expect(result).toMatchObject({ verified: false, reason: 'coverage_insufficient', missing_components: ['"@target-uri"', '"authorization"'] });
    const request = resource();
    const unsigned: HttpResponseMessage = { status: 200, headers: {} };
    const response = withSignature(unsigned, await signMessage(unsigned, {
      label: 'sig1', components: ['@status', { name: '@method', params: { req: true } }], key: ec.privateKey, algorithm: 'ES256', params: { created: NOW }, request,
    }));
    expect(await verifyEc(response, { request, components: [{ name: '@method', req: true }] })).toMatchObject({ verified: true });
    expect(await verifyEc(response, { request, components: ['@method'] })).toMatchObject({ verified: false, reason: 'coverage_insufficient', missing_components: ['"@method"'] });
  });

  it('component_missing and component_invalid when the base cannot be rebuilt', async () => {
    const signed = await signEc(resource({ 'x-custom': 'v' }), ['@method', 'x-custom']);
    expect(await verifyEc({ ...signed, headers: { ...signed.headers, 'x-custom': undefined } })).toMatchObject({ verified: false, reason: 'component_missing' });
    expect(await verifyEc(resource({ 'signature-input': 'sig1=("@bogus");created=1700000000', signature: 'sig1=:AAAA:' }))).toMatchObject({ verified: false, reason: 'component_invalid' });
    expect(await verifyEc(resource({ 'signature-input': 'sig1=("@method" "@method");created=1700000000', signature: 'sig1=:AAAA:' }))).toMatchObject({ verified: false, reason: 'component_invalid' });
  });

  it('content_digest_* when the body is given and Content-Digest does not describe it', async () => {
    const body = enc('{"amount":"10.00"}');
    const post = (digest?: string) => ({ ...resource(digest === undefined ? {} : { 'content-digest': digest }), method: 'POST' });
    const sign = (m: HttpRequestMessage) => signEc(m, m.headers['content-digest'] ? ['@method', 'content-digest'] : ['@method']);
    expect(await verifyEc(await sign(post(contentDigest(body))), { body })).toMatchObject({ verified: true, content_digest: 'match' });
    expect(await verifyEc(await sign(post()), { body })).toMatchObject({ verified: false, reason: 'content_digest_missing' });
    expect(await verifyEc(await sign(post(contentDigest(enc('other')))), { body })).toMatchObject({ verified: false, reason: 'content_digest_mismatch' });
    expect(await verifyEc(await sign(post('md5=:AAAA:')), { body })).toMatchObject({ verified: false, reason: 'content_digest_unsupported' });
    expect(await verifyEc(await sign(post('sha-256=abc')), { body })).toMatchObject({ verified: false, reason: 'content_digest_malformed' });
    // No content and no digest is fine; a digest of something else is not, even with no content.
    expect(await verifyEc(await sign(post()), { body: new Uint8Array() })).toMatchObject({ verified: true });
    expect(await verifyEc(await sign(post(contentDigest(body))), { body: new Uint8Array() })).toMatchObject({ verified: false, reason: 'content_digest_mismatch' });
  });

  it('algorithm_unsupported, algorithm_not_allowed, algorithm_mismatch', async () => {
    const withAlg = (alg: string) => signEc(resource(), undefined, { keyid: 'ec-1' }).then((m) => ({
      ...m, headers: { ...m.headers, 'signature-input': (m.headers['signature-input'] as string).replace('keyid="ec-1"', `keyid="ec-1";alg="${alg}"`) },
    }));
    expect(await verifyEc(await withAlg('hmac-sha256'))).toMatchObject({ verified: false, reason: 'algorithm_unsupported' });
    expect(await verifyEc(await withAlg('ES256'))).toMatchObject({ verified: false, reason: 'algorithm_unsupported' });
    expect(await verifyEc(await withAlg('ecdsa-p256-sha256'), { algorithms: ['EdDSA'] })).toMatchObject({ verified: false, reason: 'algorithm_not_allowed' });
    expect(await verifyEc(await signEc(resource()), { algorithms: ['PS256', 'EdDSA'] })).toMatchObject({ verified: false, reason: 'algorithm_not_allowed' });
    expect(await verifyEc(await signEc(resource()), { keys: [{ ...EC_JWK, alg: 'RS256' }] })).toMatchObject({ verified: false, reason: 'algorithm_unsupported' });
    expect(await verifyEc(await signEc(resource()), { keys: [{ ...EC_JWK, alg: 'EdDSA' }], algorithms: ['ES256', 'EdDSA'] })).toMatchObject({ verified: false, reason: 'algorithm_mismatch' });
    expect(await verifyEc(await withAlg('ed25519'), { algorithms: ['ES256', 'EdDSA'] })).toMatchObject({ verified: false, reason: 'algorithm_mismatch' });
    expect(await verifyEc(await withAlg('ed25519'), { keys: [{ ...EC_JWK, alg: 'ES256' }], algorithms: ['ES256', 'EdDSA'] })).toMatchObject({ verified: false, reason: 'algorithm_mismatch' });
  });

  it('key_unknown and key_unusable', async () => {
    const signed = await signEc(resource());
    expect(await verifyEc(signed, { keys: [{ ...EC_JWK, kid: 'other' }] })).toMatchObject({ verified: false, reason: 'key_unknown', detail: 'no key has the kid "ec-1"' });
    expect(await verifyEc(signed, { keys: [] })).toMatchObject({ verified: false, reason: 'key_unknown' });
    expect(await verifyEc(signed, { keys: [{ ...EC_JWK, use: 'enc' }] })).toMatchObject({ verified: false, reason: 'key_unusable' });
    expect(await verifyEc(signed, { keys: [{ ...EC_JWK, key_ops: ['sign'] }] })).toMatchObject({ verified: false, reason: 'key_unusable' });
    expect(await verifyEc(signed, { keys: [{ ...EC_JWK, x: 'AAAA' }] })).toMatchObject({ verified: false, reason: 'key_unusable' });
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const rsaSigned = withSignature(resource(), await signMessage(resource(), { label: 'sig1', components: ['@method'], key: small.privateKey, algorithm: 'PS256', params: { created: NOW } }));
    expect(await verifyMessage(rsaSigned, { keys: [jwkOf(small.publicKey)], algorithms: ['PS256'], now: NOW })).toMatchObject({ verified: false, reason: 'key_unusable', detail: 'an RSA key shorter than 2048 bits' });
  });

  it('picks among keys by keyid, then by type when kids repeat (FAPI 2.0 SP §5.4.3); without keyid tries each', async () => {
    const other = jwkOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, { kid: 'ec-1' });
    const rsaSameKid = jwkOf(rsa.publicKey, { kid: 'ec-1' });
    const signed = await signEc(resource());
    const result = await verifyEc(signed, { keys: [rsaSameKid, other, EC_JWK], algorithms: ['PS256', 'ES256'] });
    expect(result).toMatchObject({ verified: true, key_thumbprint: (await import('../../src/crypto/jwk.js')).jwkThumbprint(EC_JWK) });
    const noKeyid = await signEc(resource(), undefined, {});
    expect(await verifyEc(noKeyid, { keys: [{ ...other, kid: 'x' }, { ...EC_JWK, kid: 'y' }] })).toMatchObject({ verified: true });
  });

  it('bad_signature for a flipped bit or a signature of the wrong length', async () => {
    const signed = await signEc(resource());
    const sig = signed.headers.signature as string;
    const bytes = Buffer.from(sig.slice(6, -1), 'base64');
    bytes[10] = (bytes[10] as number) ^ 1;
    expect(await verifyEc({ ...signed, headers: { ...signed.headers, signature: `sig1=:${bytes.toString('base64')}:` } })).toMatchObject({ verified: false, reason: 'bad_signature' });
    expect(await verifyEc({ ...signed, headers: { ...signed.headers, signature: `sig1=:${bytes.subarray(1).toString('base64')}:` } })).toMatchObject({ verified: false, reason: 'bad_signature' });
  });
});

describe('FAPI 2.0 HTTP Signatures (draft -01 §5.3)', () => {
  const clientKey = { private: ec.privateKey, public: EC_JWK };
  const serverKey = jwkOf(ed.publicKey, { kid: 'rs-1' });
  const PROFILE_ALGORITHMS = ['PS256', 'ES256', 'EdDSA'];
  const accountsBody = enc('{"data":{"accounts":[]}}');
  const paymentBody = enc('{"amount":"10.00","currency":"AUD"}');

  const dpopGet = () => resource({ dpop: 'eyJhbGciOiJFUzI1NiJ9.e30.sig' });
  const post = (): HttpRequestMessage => ({ ...resource({ 'content-type': 'application/json', 'content-digest': contentDigest(paymentBody) }), method: 'POST', targetUri: 'https://rs.example/api/payments' });

  async function clientSigns(request: HttpRequestMessage, params: object = {}, components = fapiRequestComponents(request)) {
    return withSignature(request, await signMessage(request, { label: 'sig1', components, key: clientKey.private, algorithm: 'ES256', params: { created: NOW, keyid: 'ec-1', tag: FAPI_REQUEST_TAG, ...params } }));
  }
  const serverVerifies = (request: HttpRequestMessage, body: Uint8Array, options: Partial<VerifyOptions> = {}) =>
    verifyMessage(request, { keys: [clientKey.public], algorithms: PROFILE_ALGORITHMS, now: NOW + 5, ...fapiRequestRequirements(request, body), ...options });

  async function serverSigns(request: HttpRequestMessage, body: Uint8Array, requestLabel?: string, components?: ComponentSpec[]) {
    const response: HttpResponseMessage = { status: 200, headers: { 'content-type': 'application/json', ...(body.length ? { 'content-digest': contentDigest(body) } : {}) } };
    return withSignature(response, await signMessage(response, {
      label: 'sig1', components: components ?? fapiResponseComponents(request, response, requestLabel), key: ed.privateKey, algorithm: 'EdDSA',
      params: { created: NOW + 5, keyid: 'rs-1', tag: FAPI_RESPONSE_TAG }, request,
    }));
  }
  const clientVerifies = (response: HttpResponseMessage, request: HttpRequestMessage, body: Uint8Array, requestSigned = true) =>
    verifyMessage(response, { keys: [serverKey], algorithms: PROFILE_ALGORITHMS, now: NOW + 6, request, ...fapiResponseRequirements(body, requestSigned) });

  it('§5.3.1.1: a client covers @method, @target-uri, Authorization, DPoP when sent, Content-Digest with a body', () => {
    expect(fapiRequestComponents(resource())).toEqual(['@method', '@target-uri', 'authorization']);
    expect(fapiRequestComponents(dpopGet())).toEqual(['@method', '@target-uri', 'authorization', 'dpop']);
    expect(fapiRequestComponents(post())).toEqual(['@method', '@target-uri', 'authorization', 'content-digest']);
  });

  it('§5.3.1.2 and §5.3.2: a signed GET with DPoP verifies; the signed response, linked to it, verifies', async () => {
    const request = await clientSigns(dpopGet());
    expect(await serverVerifies(request, new Uint8Array())).toMatchObject({
      verified: true, tag: FAPI_REQUEST_TAG, algorithm: 'ecdsa-p256-sha256', components: ['"@method"', '"@target-uri"', '"authorization"', '"dpop"'],
    });
    const response = await serverSigns(request, accountsBody, 'sig1');
    const verified = await clientVerifies(response, request, accountsBody);
    expect(verified).toMatchObject({
      verified: true, tag: FAPI_RESPONSE_TAG, algorithm: 'ed25519', content_digest: 'match',
      components: ['"@status"', '"content-digest"', '"@method";req', '"@target-uri";req', '"signature";key="sig1";req', '"signature-input";key="sig1";req'],
    });
  });

  it('§5.3.2.1: a POST with a body: the response also covers the request Content-Digest', async () => {
    const request = await clientSigns(post());
    expect(await serverVerifies(request, paymentBody)).toMatchObject({ verified: true, content_digest: 'match' });
    const response = await serverSigns(request, accountsBody, 'sig1');
    expect(await clientVerifies(response, request, accountsBody)).toMatchObject({
      verified: true,
      components: ['"@status"', '"content-digest"', '"@method";req', '"@target-uri";req', '"content-digest";req', '"signature";key="sig1";req', '"signature-input";key="sig1";req'],
    });
  });

  it('an unsigned request answered with a signed response (no request signature to cover)', async () => {
    const request = resource();
    const response = await serverSigns(request, new Uint8Array());
    expect(await clientVerifies(response, request, new Uint8Array(), false)).toMatchObject({ verified: true, components: ['"@status"', '"@method";req', '"@target-uri";req'] });
  });

  it.each<[string, () => Promise<HttpRequestMessage>, Uint8Array, string, string[]?]>([
    ['an unsigned request (§5.3.1.2 item 3: 401)', async () => resource(), new Uint8Array(), 'signature_input_missing'],
    ['another tag (item 4)', () => clientSigns(resource(), { tag: 'other' }), new Uint8Array(), 'tag_mismatch'],
    ['Authorization not covered (item 5)', () => clientSigns(resource(), {}, ['@method', '@target-uri']), new Uint8Array(), 'coverage_insufficient', ['"authorization"']],
    ['@target-uri not covered (item 5)', () => clientSigns(resource(), {}, ['@method', '@path', 'authorization']), new Uint8Array(), 'coverage_insufficient', ['"@target-uri"']],
    ['no created (item 6)', async () => resource({ 'signature-input': 'sig1=("@method" "@target-uri" "authorization");keyid="ec-1";tag="fapi-2-request"', signature: 'sig1=:AAAA:' }), new Uint8Array(), 'created_missing'],
    ['created over a minute ago (item 6)', () => clientSigns(resource(), { created: NOW - 56 }), new Uint8Array(), 'too_old'],
    ['DPoP sent but not covered (item 7)', () => clientSigns(dpopGet(), {}, ['@method', '@target-uri', 'authorization']), new Uint8Array(), 'coverage_insufficient', ['"dpop"']],
    ['a body without Content-Digest covered (item 8)', () => clientSigns(post(), {}, ['@method', '@target-uri', 'authorization']), paymentBody, 'coverage_insufficient', ['"content-digest"']],
    ['a body that is not the one digested', () => clientSigns(post()), enc('{"amount":"99999.00","currency":"AUD"}'), 'content_digest_mismatch'],
    ['a signature by another key', async () => withSignature(resource(), await signMessage(resource(), { label: 'sig1', components: fapiRequestComponents(resource()), key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, algorithm: 'ES256', params: { created: NOW, keyid: 'ec-1', tag: FAPI_REQUEST_TAG } })), new Uint8Array(), 'bad_signature'],
  ])('a resource server refuses %s', async (_what, make, body, reason, missing) => {
    const result = await serverVerifies(await make(), body);
    expect(result).toMatchObject({ verified: false, reason, ...(missing ? { missing_components: missing } : {}) });
  });

  it.each<[string, ComponentSpec[] | undefined, string, string[]?]>([
    ['@status not covered (§5.3.2.2 item 3)', ['content-digest', { name: '@method', params: { req: true } }, { name: '@target-uri', params: { req: true } }, { name: 'signature', params: { key: 'sig1', req: true } }, { name: 'signature-input', params: { key: 'sig1', req: true } }], 'coverage_insufficient', ['"@status"']],
    ['Content-Digest not covered though there is a body (item 4)', ['@status', { name: '@method', params: { req: true } }, { name: '@target-uri', params: { req: true } }, { name: 'signature', params: { key: 'sig1', req: true } }, { name: 'signature-input', params: { key: 'sig1', req: true } }], 'coverage_insufficient', ['"content-digest"']],
    ['the request signature not covered (§5.3.2.1 item 3)', ['@status', 'content-digest', { name: '@method', params: { req: true } }, { name: '@target-uri', params: { req: true } }], 'coverage_insufficient', ['"signature";req', '"signature-input";req']],
  ])('a client refuses a response with %s', async (_what, components, reason, missing) => {
    const request = await clientSigns(resource());
    const response = await serverSigns(request, accountsBody, 'sig1', components);
    expect(await clientVerifies(response, request, accountsBody)).toMatchObject({ verified: false, reason, missing_components: missing });
  });

  it('a client refuses a response with a changed body, or one that answers another request', async () => {
    const request = await clientSigns(resource());
    const response = await serverSigns(request, accountsBody, 'sig1');
    expect(await clientVerifies(response, request, enc('{"data":{"accounts":[{"id":"evil"}]}}'))).toMatchObject({ verified: false, reason: 'content_digest_mismatch' });
    const otherRequest = await clientSigns(resource(), { created: NOW + 1 });
    expect(await clientVerifies(response, otherRequest, accountsBody)).toMatchObject({ verified: false, reason: 'bad_signature' });
    expect(await clientVerifies(response, { ...request, targetUri: 'https://rs.example/api/accounts?limit=11' }, accountsBody)).toMatchObject({ verified: false, reason: 'bad_signature' });
  });

  it('a client refuses a response tagged as a request', async () => {
    const request = await clientSigns(resource());
    const response: HttpResponseMessage = { status: 200, headers: {} };
    const signed = withSignature(response, await signMessage(response, { label: 'sig1', components: fapiResponseComponents(request, response, 'sig1'), key: ed.privateKey, algorithm: 'EdDSA', params: { created: NOW, keyid: 'rs-1', tag: FAPI_REQUEST_TAG }, request }));
    expect(await clientVerifies(signed, request, new Uint8Array())).toMatchObject({ verified: false, reason: 'tag_mismatch' });
  });
});

describe('hostile input', () => {
  const KNOWN_REASONS = new Set([
    'signature_input_missing', 'signature_missing', 'malformed', 'label_absent', 'label_ambiguous', 'tag_mismatch', 'created_missing', 'created_in_future', 'too_old',
    'expired', 'coverage_insufficient', 'component_missing', 'component_invalid', 'too_large', 'content_digest_missing', 'content_digest_mismatch',
    'content_digest_unsupported', 'content_digest_malformed', 'algorithm_unsupported', 'algorithm_not_allowed', 'algorithm_mismatch', 'key_unknown', 'key_unusable', 'bad_signature',
  ]);
  /** A small deterministic generator, so a failure can be replayed. */
  function prng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  it('answers oversized fields with a refusal, not an exception', async () => {
    const cases: HttpFields[] = [
      { 'signature-input': `sig1=(${'"a" '.repeat(300_000)})`, signature: 'sig1=:AAAA:' },
      { 'signature-input': 'sig1=()', signature: `sig1=:${'A'.repeat(1_000_000)}:` },
      { 'signature-input': Array.from({ length: 17 }, (_, i) => `s${i}=()`).join(', '), signature: 'sig1=:AAAA:' },
      { 'signature-input': `sig1=(${Array.from({ length: 33 }, (_, i) => `"h${i}"`).join(' ')})`, signature: 'sig1=:AAAA:' },
      { 'signature-input': `sig1=()${Array.from({ length: 17 }, (_, i) => `;p${i}=1`).join('')}`, signature: 'sig1=:AAAA:' },
      { 'signature-input': Array.from({ length: 5000 }, () => 'sig1=()'), signature: 'sig1=:AAAA:' },
      { 'signature-input': `sig1="${'\\\\'.repeat(10_000)}`, signature: 'sig1=:AAAA:' },
    ];
    for (const headers of cases) expect(await verifyEc(resource(headers))).toMatchObject({ verified: false, reason: 'malformed' });
  });

  it('answers huge or garbled covered values and target URIs with a refusal', async () => {
    const input = 'sig1=("x-big");created=1700000000';
    expect(await verifyEc(resource({ 'x-big': `a${' '.repeat(100_000)}b`, 'signature-input': input, signature: 'sig1=:AAAA:' }))).toMatchObject({ verified: false, reason: 'component_invalid' });
    expect(await verifyEc(resource({ 'x-big': Array.from({ length: 100 }, () => 'v'), 'signature-input': input, signature: 'sig1=:AAAA:' }))).toMatchObject({ verified: false, reason: 'component_invalid' });
    const target = { ...resource({ 'signature-input': 'sig1=("@path");created=1700000000', signature: 'sig1=:AAAA:' }), targetUri: `https://a.example/${'%'.repeat(1_000_000)}` };
    expect(await verifyEc(target)).toMatchObject({ verified: false, reason: 'component_invalid' });
    const odd = resource({ 'signature-input': 42, signature: { a: 1 } } as unknown as HttpFields);
    expect(await verifyEc(odd)).toMatchObject({ verified: false, reason: 'signature_input_missing' });
  });

  it('shows an attacker\'s strings in a refusal quoted and cut short', async () => {
    const long = 'x'.repeat(5000);
    const tagged = await verifyEc(resource({ 'signature-input': `sig1=();created=1700000000;tag="${long}"`, signature: 'sig1=:AAAA:' }), { tag: 'fapi-2-request' });
    expect(tagged).toMatchObject({ verified: false, reason: 'tag_mismatch' });
    expect((tagged.detail as string).length).toBeLessThan(200);
    const named = await verifyEc(resource({ 'signature-input': `sig1=("${long}\\"");created=1700000000`, signature: 'sig1=:AAAA:' }));
    expect(named).toMatchObject({ verified: false, reason: 'component_invalid' });
    expect(named.detail).toMatch(/^"x{80}…" is not a lower-case field name$/);
  });

  it('never throws on random or mutated fields (bounded, seeded)', async () => {
    const valid = await signEc(resource());
    const next = prng(9421);
    const printable = () => String.fromCharCode(0x20 + Math.floor(next() * 95));
    const mutate = (text: string) => {
      const i = Math.floor(next() * text.length);
      let c = printable();
      while (c === text[i]) c = printable();
      return text.slice(0, i) + c + text.slice(i + 1);
    };
    const bytesOf = (field: unknown) => Buffer.from(String(field).slice('sig1=:'.length, -1), 'base64');
    for (let round = 0; round < 400; round++) {
      const headers = { ...valid.headers };
      if (round % 2 === 0) headers['signature-input'] = mutate(valid.headers['signature-input'] as string);
      else headers.signature = mutate(valid.headers.signature as string);
      const result = await verifyEc({ ...valid, headers });
      // A mutation may verify only if it changed nothing that is signed: base64 pad bits, which
      // RFC 8941 §4.2.7 asks parsers to tolerate, are the one such place.
      if (result.verified) {
        expect(headers['signature-input']).toBe(valid.headers['signature-input']);
        expect(bytesOf(headers.signature).equals(bytesOf(valid.headers.signature))).toBe(true);
      } else {
        expect(KNOWN_REASONS.has(result.reason as string)).toBe(true);
      }
    }
    for (let round = 0; round < 300; round++) {
      const junk = Array.from({ length: 1 + Math.floor(next() * 200) }, printable).join('');
      const result = await verifyEc(resource({ 'signature-input': round % 3 ? `sig1=${junk}` : junk, signature: round % 2 ? 'sig1=:AAAA:' : junk }));
      expect(result.verified).toBe(false);
      expect(KNOWN_REASONS.has(result.reason as string)).toBe(true);
    }
  });
});
