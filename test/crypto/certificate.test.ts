import { generateKeyPairSync, createHash, X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  CertificateError, certificateFromHeader, issuedByTrustedCa, keyInJwks, matchesRegisteredName, parseCertificate, parseDn, sameDn,
} from '../../src/crypto/certificate.js';
import { issueCertificate } from '../../src/crypto/issue-certificate.js';

const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

function makeCa(subject = 'CN=Test CA,O=fapi-policy tests,C=AU') {
  const keys = ec();
  const pem = issueCertificate({ subject, publicKey: keys.publicKey, signingKey: keys.privateKey, ca: true });
  return { ...keys, subject, pem, x509: new X509Certificate(pem) };
}

function issued(ca: ReturnType<typeof makeCa>, subject: string, san = {}, extra: { days?: number; notBefore?: Date } = {}) {
  const keys = ec();
  const pem = issueCertificate({ subject, publicKey: keys.publicKey, issuer: { subject: ca.subject, publicKey: ca.publicKey }, signingKey: ca.privateKey, san, ...extra });
  return { ...keys, pem, x509: new X509Certificate(pem) };
}

describe('certificates we issue', () => {
  it('parse back with their subject, SANs and thumbprint', () => {
    const ca = makeCa();
    const leaf = issued(ca, 'CN=client-1,OU=Payments,O=Acme\\, Inc.,C=AU', { dns: ['client.example'], ip: ['127.0.0.1', '::1'], uri: ['https://client.example/id'], email: ['ops@client.example'] });
    const cert = parseCertificate(leaf.x509);
    expect(cert.thumbprint).toBe(createHash('sha256').update(leaf.x509.raw).digest('base64url'));
    expect(sameDn(cert.subject, parseDn('CN=client-1,OU=Payments,O=Acme\\, Inc.,C=AU'))).toBe(true);
    expect(cert.subject[0]).toEqual([{ type: '2.5.4.6', value: 'AU' }]);
    expect(cert.san).toEqual({ dns: ['client.example'], ip: ['127.0.0.1', '::1'], uri: ['https://client.example/id'], email: ['ops@client.example'] });
    expect(leaf.x509.checkIssued(ca.x509)).toBe(true);
    expect(leaf.x509.verify(ca.publicKey)).toBe(true);
    expect(ca.x509.ca).toBe(true);
    expect(leaf.x509.ca).toBe(false);
  });

  it('serve TLS that a client trusting the self-signed certificate accepts', async () => {
    const keys = ec();
    const pem = issueCertificate({ subject: 'CN=localhost', publicKey: keys.publicKey, signingKey: keys.privateKey, san: { dns: ['localhost'], ip: ['127.0.0.1'] } });
    const server = createServer({ cert: pem, key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const body = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, servername: 'localhost', ca: pem, path: '/' }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve(text));
        }).on('error', reject).end();
      });
      expect(body).toBe('ok');
    } finally {
      server.close();
    }
  });
});

describe('hostile names', () => {
  it('refuses a certificate whose alternative name is not ASCII, rather than folding it into a registered one', () => {
    const ca = makeCa();
    const der = Buffer.from(issued(ca, 'CN=client-1', { dns: ['bznk.example'] }).x509.raw);
    // 0xe2 0xe1 0xee 0xeb read as 'ascii' would be "bank": write bytes above 0x7f into the name.
    const at = der.indexOf('bznk.example');
    der.set([0xe2, 0xe1, 0xee, 0xeb], at);
    expect(() => parseCertificate(new X509Certificate(der))).toThrow(/not ASCII/);
    expect(() => issueCertificate({ subject: 'CN=x', publicKey: ca.publicKey, signingKey: ca.privateKey, san: { dns: ['b\u00e1nk.example'] } })).toThrow(/not ASCII/);
  });

  it('matches a registered name with characters beyond ASCII, written plainly or as hex pairs', () => {
    const ca = makeCa();
    const cert = parseCertificate(issued(ca, 'CN=M\u00fcller \u20ac\u{1F600},O=Acme,C=DE').x509);
    expect(cert.subject.at(-1)).toEqual([{ type: '2.5.4.3', value: 'M\u00fcller \u20ac\u{1F600}' }]);
    expect(sameDn(cert.subject, parseDn('CN=M\u00fcller \u20ac\u{1F600},O=Acme,C=DE'))).toBe(true);
    expect(sameDn(cert.subject, parseDn('CN=M\\C3\\BCller \\E2\\82\\AC\u{1F600},O=Acme,C=DE'))).toBe(true);
    expect(sameDn(cert.subject, parseDn('CN=Muller \u20ac\u{1F600},O=Acme,C=DE'))).toBe(false);
    // A character whose UTF-8 ends in 0xa0 keeps it (no whitespace trimming inside the bytes).
    expect(parseDn('CN=\u00e0')[0]).toEqual([{ type: '2.5.4.3', value: '\u00e0' }]);
  });
});

describe('RFC 4514 names', () => {
  it('compare by RDN sequence: case, spacing and escapes do not matter, order does', () => {
    const dn = parseDn('CN=client-1,O=Acme\\2C Inc.,C=AU');
    expect(sameDn(dn, parseDn('cn=CLIENT-1, o=acme\\, inc. ,  c=au'))).toBe(true);
    expect(sameDn(dn, parseDn('2.5.4.3=client-1,O=Acme\\, Inc.,C=AU'))).toBe(true);
    expect(sameDn(dn, parseDn('C=AU,O=Acme\\, Inc.,CN=client-1'))).toBe(false);
    expect(sameDn(dn, parseDn('CN=client-1,O=Acme\\, Inc.'))).toBe(false);
    expect(sameDn(parseDn('CN=a+UID=b,C=AU'), parseDn('UID=b+CN=a,C=AU'))).toBe(true);
    expect(sameDn(parseDn('CN=a+UID=b,C=AU'), parseDn('CN=a,UID=b,C=AU'))).toBe(false);
    expect(parseDn('CN=J\\C3\\BCrgen')[0]).toEqual([{ type: '2.5.4.3', value: 'Jürgen' }]);
  });

  it('refuse malformed names and unknown attribute types', () => {
    expect(() => parseDn('client-1')).toThrow(CertificateError);
    expect(() => parseDn('XX=1')).toThrow(/unknown attribute type/);
    expect(() => parseDn('CN=' + 'a'.repeat(3000))).toThrow(/too long/);
  });
});

describe('RFC 8705 matching', () => {
  const ca = makeCa();
  const leaf = issued(ca, 'CN=client-1,O=Acme,C=AU', { dns: ['client.example'], ip: ['::1'], uri: ['https://client.example/id'], email: ['ops@client.example'] });
  const cert = parseCertificate(leaf.x509);

  it('matches the one registered subject DN or SAN value (§2.1.2)', () => {
    expect(matchesRegisteredName(cert, { tls_client_auth_subject_dn: 'cn=client-1, o=ACME, c=AU' })).toBe(true);
    expect(matchesRegisteredName(cert, { tls_client_auth_subject_dn: 'CN=client-2,O=Acme,C=AU' })).toBe(false);
    expect(matchesRegisteredName(cert, { tls_client_auth_subject_dn: 'garbage' })).toBe(false);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_dns: 'CLIENT.example' })).toBe(true);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_dns: 'evil.example' })).toBe(false);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_uri: 'https://client.example/id' })).toBe(true);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_uri: 'https://client.example/ID' })).toBe(false);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_ip: '0:0:0:0:0:0:0:1' })).toBe(true);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_ip: '127.0.0.1' })).toBe(false);
    expect(matchesRegisteredName(cert, { tls_client_auth_san_email: 'ops@client.example' })).toBe(true);
    expect(matchesRegisteredName(cert, {})).toBe(false);
  });

  it('accepts a chain only to a trusted, valid CA', () => {
    const now = new Date();
    expect(issuedByTrustedCa(leaf.x509, [], [ca.x509], now)).toBe(true);
    const other = makeCa('CN=Other CA');
    expect(issuedByTrustedCa(leaf.x509, [], [other.x509], now)).toBe(false);
    const rogue = ec();
    const selfSigned = new X509Certificate(issueCertificate({ subject: 'CN=client-1,O=Acme,C=AU', publicKey: rogue.publicKey, signingKey: rogue.privateKey }));
    expect(issuedByTrustedCa(selfSigned, [], [ca.x509], now)).toBe(false);
    const expired = issued(ca, 'CN=old', {}, { notBefore: new Date(Date.now() - 10 * 86_400_000), days: 1 });
    expect(issuedByTrustedCa(expired.x509, [], [ca.x509], now)).toBe(false);
    // A leaf (cA false) cannot issue, even when it is in the trust set.
    const fromLeaf = issued({ ...leaf, subject: 'CN=client-1,O=Acme,C=AU' } as never, 'CN=child');
    expect(issuedByTrustedCa(fromLeaf.x509, [], [leaf.x509], now)).toBe(false);
  });

  it('follows a presented intermediate to a trusted root', () => {
    const root = makeCa('CN=Root');
    const inter = ec();
    const interPem = issueCertificate({ subject: 'CN=Intermediate', publicKey: inter.publicKey, issuer: { subject: root.subject, publicKey: root.publicKey }, signingKey: root.privateKey, ca: true });
    const interX = new X509Certificate(interPem);
    const child = issued({ ...inter, subject: 'CN=Intermediate', pem: interPem, x509: interX } as never, 'CN=child');
    expect(issuedByTrustedCa(child.x509, [interX], [root.x509], new Date())).toBe(true);
    expect(issuedByTrustedCa(child.x509, [], [root.x509], new Date())).toBe(false);
  });

  it('self-signed: the certificate key must be a registered key (§2.2)', async () => {
    const keys = ec();
    const pem = issueCertificate({ subject: 'CN=self', publicKey: keys.publicKey, signingKey: keys.privateKey });
    const self = parseCertificate(new X509Certificate(pem));
    expect(await keyInJwks(self, { keys: [await exportJWK(keys.publicKey)] })).toBe(true);
    expect(await keyInJwks(self, { keys: [await exportJWK(ec().publicKey)] })).toBe(false);
    expect(await keyInJwks(self, { keys: [{ kty: 'EC' }] })).toBe(false);
    expect(await keyInJwks(self, undefined)).toBe(false);
  });
});

describe('hostile input', () => {
  it('refuses what is not a certificate', () => {
    expect(() => parseCertificate(Buffer.from('not a certificate'))).toThrow(CertificateError);
    expect(() => parseCertificate(Buffer.alloc(20_000))).toThrow(/too large/);
  });

  it('reads the RFC 9440 Client-Cert header only as a byte sequence', () => {
    const ca = makeCa();
    const der = ca.x509.raw;
    expect(certificateFromHeader(`:${der.toString('base64')}:`).equals(der)).toBe(true);
    expect(() => certificateFromHeader(der.toString('base64'))).toThrow(CertificateError);
    expect(() => certificateFromHeader(':abc$:')).toThrow(CertificateError);
  });
});
