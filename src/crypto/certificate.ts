/**
 * Client certificates for mutual-TLS client authentication and certificate-bound tokens (RFC 8705).
 * Parsing yields what the facts need: the x5t#S256 thumbprint, the subject name and the subject
 * alternative names. Matching follows §2.1.2 (tls_client_auth: a trusted CA issued it, and the
 * one registered subject DN or SAN agrees) and §2.2 (self_signed_tls_client_auth: its public key
 * is one of the client's registered keys).
 */
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { children, DerError, readElement, readOid, readString, type Element } from './der.js';

/** One attribute of a relative distinguished name: an attribute type OID and its value. */
export interface Attribute {
  type: string;
  value: string;
}
/** A relative distinguished name: one or more attributes (multi-valued RDNs joined by '+'). */
export type Rdn = Attribute[];

export interface SubjectAltNames {
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
}

export interface ClientCertificate {
  x509: X509Certificate;
  /** base64url SHA-256 of the DER certificate: the `x5t#S256` of RFC 8705 §3.1. */
  thumbprint: string;
  /** The subject name in certificate (ASN.1) order. */
  subject: Rdn[];
  san: SubjectAltNames;
}

export class CertificateError extends Error {
  override name = 'CertificateError';
}

/** Short names of RFC 4514 §3 and those that ecosystems put in registered DNs. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  CN: '2.5.4.3', SN: '2.5.4.4', SERIALNUMBER: '2.5.4.5', C: '2.5.4.6', L: '2.5.4.7', ST: '2.5.4.8',
  STREET: '2.5.4.9', O: '2.5.4.10', OU: '2.5.4.11', GN: '2.5.4.42', ORGANIZATIONIDENTIFIER: '2.5.4.97',
  DC: '0.9.2342.19200300.100.1.25', UID: '0.9.2342.19200300.100.1.1', EMAILADDRESS: '1.2.840.113549.1.9.1',
};

const SAN_OID = '2.5.29.17';
const MAX_CERT_BYTES = 16 * 1024;

export function parseCertificate(input: X509Certificate | Buffer): ClientCertificate {
  let x509: X509Certificate;
  try {
    if (!(input instanceof X509Certificate) && input.length > MAX_CERT_BYTES) throw new CertificateError('certificate is too large');
    x509 = input instanceof X509Certificate ? input : new X509Certificate(input);
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError('not an X.509 certificate');
  }
  try {
    const tbs = tbsFields(x509.raw);
    return {
      x509,
      thumbprint: createHash('sha256').update(x509.raw).digest('base64url'),
      subject: readName(tbs.subject),
      san: readSan(tbs.extensions),
    };
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError(`malformed certificate: ${e.message}`);
    throw e;
  }
}

/** The subject and extensions of a certificate's TBSCertificate (RFC 5280 §4.1). */
function tbsFields(der: Buffer): { subject: Element; extensions: Element | undefined } {
  const [tbs] = children(readElement(der));
  if (!tbs) throw new DerError('empty certificate');
  const fields = children(tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version is optional
  const subject = fields[offset + 4];
  if (!subject) throw new DerError('certificate has no subject');
  return { subject, extensions: fields.find((f) => f.tag === 0xa3) };
}

function readName(name: Element): Rdn[] {
  return children(name, 64).map((rdn) =>
    children(rdn, 16).map((attribute) => {
      const [type, value] = children(attribute, 2);
      if (!type || !value) throw new DerError('malformed name attribute');
      return { type: readOid(type), value: readString(value) };
    }),
  );
}

function readSan(extensions: Element | undefined): SubjectAltNames {
  const san: SubjectAltNames = { dns: [], uri: [], ip: [], email: [] };
  const [list] = extensions ? children(extensions) : [];
  for (const extension of list ? children(list, 64) : []) {
    const parts = children(extension, 3);
    if (!parts[0] || readOid(parts[0]) !== SAN_OID) continue;
    const octets = parts[parts.length - 1];
    if (!octets) continue;
    for (const name of children(readElement(octets.value), 256)) {
      const text = () => ia5Text(name.value);
      if (name.tag === 0x81) san.email.push(text());
      else if (name.tag === 0x82) san.dns.push(text());
      else if (name.tag === 0x86) san.uri.push(text());
      else if (name.tag === 0x87) san.ip.push(ipText(name.value));
    }
  }
  return san;
}

/**
 * An IA5String name (RFC 5280 §4.2.1.6): ASCII only. A byte above 0x7f makes the certificate
 * malformed; decoding it as 'ascii' would drop the top bit and turn a foreign name into a registered one.
 */
function ia5Text(bytes: Buffer): string {
  if (bytes.some((b) => b > 0x7f)) throw new DerError('a subject alternative name is not ASCII');
  return bytes.toString('latin1');
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) return canonicalIp(Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(2 * i).toString(16)).join(':'));
  return '';
}

/** IPv6 text in one form (lower case, zeros compressed by URL's serializer); IPv4 unchanged. */
function canonicalIp(text: string): string {
  if (isIP(text) !== 6) return text;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/**
 * Parses an RFC 4514 string into RDNs in certificate order (the string lists the last RDN first).
 * Escapes (`\,`, `\+`, hex pairs) are honoured; `#`-encoded BER values are not supported.
 */
export function parseDn(text: string): Rdn[] {
  if (text.length > 2048) throw new CertificateError('distinguished name is too long');
  const rdns: Rdn[] = [];
  let rdn: Rdn = [];
  let token = '';
  let type: string | null = null;
  const finishAttribute = () => {
    if (type === null) throw new CertificateError(`malformed distinguished name: ${JSON.stringify(text.slice(0, 64))}`);
    rdn.push({ type: attributeType(type), value: token.replace(/^ +| +$/g, '') });
    type = null;
    token = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\') {
      const pair = text.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(pair)) {
        token += String.fromCharCode(parseInt(pair, 16));
        i += 2;
      } else {
        const next = text.codePointAt(i + 1);
        const escaped = next === undefined ? '' : String.fromCodePoint(next);
        token += utf8Bytes(escaped);
        i += Math.max(escaped.length, 1);
      }
    } else if (ch === '=' && type === null) {
      type = token.replace(/^ +| +$/g, '');
      token = '';
    } else if (ch === '+' || ch === ',') {
      finishAttribute();
      if (ch === ',') {
        rdns.push(rdn);
        rdn = [];
      }
    } else {
      const char = String.fromCodePoint(text.codePointAt(i) as number);
      token += utf8Bytes(char);
      i += char.length - 1;
    }
  }
  if (type !== null || token.trim()) finishAttribute();
  if (rdn.length) rdns.push(rdn);
  // Every value was collected as UTF-8 bytes (one char per byte: characters and hex pairs alike); decode once.
  return rdns.reverse().map((r) => r.map((a) => ({ ...a, value: Buffer.from(a.value, 'latin1').toString('utf8') })));
}

/** A character's UTF-8 bytes, one string char per byte, so hex-escaped bytes and characters join as one byte string. */
function utf8Bytes(char: string): string {
  return char.length === 1 && char.charCodeAt(0) < 0x80 ? char : Buffer.from(char, 'utf8').toString('latin1');
}

function attributeType(name: string): string {
  if (/^\d+(\.\d+)+$/.test(name)) return name;
  const known = SHORT_NAMES[name.toUpperCase()];
  if (!known) throw new CertificateError(`unknown attribute type '${name.slice(0, 32)}' in distinguished name`);
  return known;
}

/**
 * distinguishedNameMatch, approximated as ecosystems use it: same RDNs in the same order, each
 * with the same attribute types; values compared case-insensitively with surrounding and repeated
 * inner white space ignored (the caseIgnoreMatch of RFC 4517 with RFC 4518's space handling).
 */
export function sameDn(a: readonly Rdn[], b: readonly Rdn[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((rdn, i) => {
    const other = b[i] as Rdn;
    if (rdn.length !== other.length) return false;
    const key = (x: Attribute) => `${x.type}=${normalize(x.value)}`;
    const mine = rdn.map(key).sort();
    const theirs = other.map(key).sort();
    return mine.every((k, j) => k === theirs[j]);
  });
}

const normalize = (value: string) => value.trim().replace(/\s+/g, ' ').toLowerCase();

/** The client metadata of RFC 8705 §2.1.2, one of which a tls_client_auth client registers. */
export interface TlsClientAuthMetadata {
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_email?: string;
}

/** Whether the certificate carries the subject DN or SAN value the client registered (§2.1.2). */
export function matchesRegisteredName(cert: ClientCertificate, client: TlsClientAuthMetadata): boolean {
  if (client.tls_client_auth_subject_dn !== undefined) {
    try {
      return sameDn(cert.subject, parseDn(client.tls_client_auth_subject_dn));
    } catch {
      return false;
    }
  }
  const { san } = cert;
  if (client.tls_client_auth_san_dns !== undefined) return san.dns.some((d) => d.toLowerCase() === client.tls_client_auth_san_dns!.toLowerCase());
  if (client.tls_client_auth_san_uri !== undefined) return san.uri.includes(client.tls_client_auth_san_uri);
  if (client.tls_client_auth_san_ip !== undefined) return san.ip.includes(canonicalIp(client.tls_client_auth_san_ip));
  if (client.tls_client_auth_san_email !== undefined) return san.email.includes(client.tls_client_auth_san_email);
  return false;
}

/**
 * Whether a trusted CA issued the certificate, directly or through the intermediates the client
 * presented (at most three), with every certificate on the path within its validity period.
 */
export function issuedByTrustedCa(cert: X509Certificate, presented: readonly X509Certificate[], trusted: readonly X509Certificate[], now: Date): boolean {
  const valid = (c: X509Certificate) => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  const signedBy = (child: X509Certificate, parent: X509Certificate) => parent.ca && child.checkIssued(parent) && child.verify(parent.publicKey);
  let current = cert;
  for (let depth = 0; depth < 4; depth++) {
    if (!valid(current)) return false;
    if (trusted.some((ca) => valid(ca) && signedBy(current, ca))) return true;
    const next = presented.find((c) => c !== current && signedBy(current, c));
    if (!next) return false;
    current = next;
  }
  return false;
}

/** Whether the certificate's public key is one of the client's registered keys (§2.2). */
export async function keyInJwks(cert: ClientCertificate, jwks: { keys?: unknown } | undefined): Promise<boolean> {
  const keys = Array.isArray(jwks?.keys) ? (jwks.keys as JWK[]) : [];
  if (!keys.length) return false;
  const own = await publicKeyThumbprint(cert.x509.publicKey);
  for (const key of keys.slice(0, 100)) {
    try {
      if ((await calculateJwkThumbprint(key, 'sha256')) === own) return true;
    } catch {
      // A malformed registered key matches nothing.
    }
  }
  return false;
}

async function publicKeyThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK, 'sha256');
}

/** A certificate from the RFC 9440 Client-Cert header: a structured-field byte sequence (`:base64:`). */
export function certificateFromHeader(value: string): Buffer {
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value.trim());
  if (!match || (match[1] as string).length > (MAX_CERT_BYTES * 4) / 3 + 4) throw new CertificateError('Client-Cert is not a base64 byte sequence (RFC 9440 §2.2)');
  return Buffer.from(match[1] as string, 'base64');
}

