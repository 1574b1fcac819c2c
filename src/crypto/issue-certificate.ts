/**
 * Issues X.509 v3 certificates (RFC 5280) with node:crypto keys: the AS's self-signed TLS
 * certificate on first start, and the CAs and client certificates of test PKIs. Names are given
 * as RFC 4514 strings.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString, boolean, explicit, implicitPrimitive, namedBits, octetString, oid, sequence, set, smallInteger,
  time, tlv, TAG, unsignedInteger, utf8String, nullValue, children, readElement, type Element,
} from './der.js';
import { parseDn, type Rdn } from './certificate.js';

export interface CertificateRequest {
  /** RFC 4514, e.g. `CN=localhost,O=fapi-policy`. */
  subject: string;
  /** The key the certificate certifies. */
  publicKey: KeyObject;
  /** The issuer's name and private key; absent for a self-signed certificate. */
  issuer?: { subject: string; publicKey: KeyObject };
  /** Signs the certificate: the issuer's private key, or the subject's own when self-signed. */
  signingKey: KeyObject;
  san?: { dns?: string[]; ip?: string[]; uri?: string[]; email?: string[] };
  /** A CA certificate (basicConstraints cA, keyCertSign). */
  ca?: boolean;
  /** Validity in days from `notBefore` (default 365). */
  days?: number;
  notBefore?: Date;
}

const OIDS = {
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  sha256Rsa: '1.2.840.113549.1.1.11',
  ed25519: '1.3.101.112',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  countryName: '2.5.4.6',
} as const;

/** Returns the certificate as PEM. */
export function issueCertificate(request: CertificateRequest): string {
  const { algorithm, digest } = signatureAlgorithm(request.signingKey);
  const issuer = request.issuer ?? { subject: request.subject, publicKey: request.publicKey };
  const notBefore = request.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (request.days ?? 365) * 86_400_000);
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    algorithm,
    encodeName(parseDn(issuer.subject)),
    sequence(time(notBefore), time(notAfter)),
    encodeName(parseDn(request.subject)),
    spki(request.publicKey),
    explicit(3, sequence(...extensions(request, issuer.publicKey))),
  );
  const signature = sign(digest, tbs, request.signingKey);
  const der = sequence(tbs, algorithm, bitString(signature));
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}${base64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

function signatureAlgorithm(key: KeyObject): { algorithm: Buffer; digest: string | null } {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'secp384r1'
        ? { algorithm: sequence(oid(OIDS.ecdsaSha384)), digest: 'sha384' }
        : { algorithm: sequence(oid(OIDS.ecdsaSha256)), digest: 'sha256' };
    case 'rsa':
      return { algorithm: sequence(oid(OIDS.sha256Rsa), nullValue()), digest: 'sha256' };
    case 'ed25519':
      return { algorithm: sequence(oid(OIDS.ed25519)), digest: null };
    default:
      throw new Error(`cannot sign certificates with a ${key.asymmetricKeyType ?? 'unknown'} key`);
  }
}

function spki(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** The SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2, method 1). */
function keyIdentifier(key: KeyObject): Buffer {
  const [, bits] = children(readElement(spki(key)));
  return createHash('sha1').update((bits as Element).value.subarray(1)).digest();
}

function encodeName(rdns: readonly Rdn[]): Buffer {
  return sequence(...rdns.map((rdn) => set(...rdn.map((a) => sequence(oid(a.type), a.type === OIDS.countryName ? tlv(TAG.printableString, Buffer.from(a.value, 'ascii')) : utf8String(a.value))))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

function extensions(request: CertificateRequest, issuerKey: KeyObject): Buffer[] {
  const out = [
    extension(OIDS.basicConstraints, true, sequence(...(request.ca ? [boolean(true)] : []))),
    // CA: keyCertSign and cRLSign; leaf: digitalSignature (and keyEncipherment for RSA key exchange).
    extension(OIDS.keyUsage, true, namedBits(request.ca ? [5, 6] : request.publicKey.asymmetricKeyType === 'rsa' ? [0, 2] : [0])),
    extension(OIDS.subjectKeyId, false, octetString(keyIdentifier(request.publicKey))),
    extension(OIDS.authorityKeyId, false, sequence(implicitPrimitive(0, keyIdentifier(issuerKey)))),
  ];
  if (!request.ca) out.push(extension(OIDS.extKeyUsage, false, sequence(oid(OIDS.serverAuth), oid(OIDS.clientAuth))));
  const names = generalNames(request.san ?? {});
  if (names.length) out.push(extension(OIDS.subjectAltName, false, sequence(...names)));
  return out;
}

/** IA5String content: ASCII only ('ascii' encoding would silently keep the low bits of anything else). */
function ia5Bytes(name: string): Buffer {
  if (/[^\x00-\x7f]/.test(name)) throw new Error(`subject alternative name '${name.slice(0, 64)}' is not ASCII (an IA5String)`);
  return Buffer.from(name, 'latin1');
}

function generalNames(san: NonNullable<CertificateRequest['san']>): Buffer[] {
  return [
    ...(san.email ?? []).map((v) => implicitPrimitive(1, ia5Bytes(v))),
    ...(san.dns ?? []).map((v) => implicitPrimitive(2, ia5Bytes(v))),
    ...(san.uri ?? []).map((v) => implicitPrimitive(6, ia5Bytes(v))),
    ...(san.ip ?? []).map((v) => implicitPrimitive(7, ipBytes(v))),
  ];
}

function ipBytes(text: string): Buffer {
  if (isIP(text) === 4) return Buffer.from(text.split('.').map(Number));
  if (isIP(text) !== 6) throw new Error(`not an IP address: ${text}`);
  const [head = '', tail = ''] = text.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = text.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return Buffer.from(all.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; }));
}

