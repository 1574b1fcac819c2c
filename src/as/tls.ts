/**
 * The server's TLS: its certificate (given, or self-signed into the data directory on first
 * start) and the protocol versions and cipher suites it offers, taken from the `tls` settings of
 * the profiles it serves. One listener serves browsers and back-channel clients, so it offers
 * what every served profile allows on back-channel endpoints (the stricter list; browsers
 * negotiate those suites too); the `tls` stage still judges each request's connection. A client
 * certificate is requested on every connection but never required or validated by TLS itself:
 * the application judges it (RFC 8705).
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCiphers, type SecureVersion, type TlsOptions } from 'node:tls';
import { issueCertificate } from '../crypto/issue-certificate.js';
import type { Settings } from '../engine/types.js';

export interface CertificatePair {
  cert: string;
  key: string;
}

export interface ServerCertificate extends CertificatePair {
  /**
   * Served beside the primary one: a self-made EC certificate gets an RSA companion, so the TLS 1.2
   * suites with RSA authentication (the only ones FAPI 1.0 Advanced §8.5 lists) can be negotiated.
   */
  additional: CertificatePair[];
  /** Where it came from, for the start-up log. */
  source: 'given' | 'generated' | 'data-dir';
}

/**
 * The certificate to serve: --tls-cert/--tls-key, else data-dir/tls/{cert,key}.pem and
 * {rsa-cert,rsa-key}.pem, made on first start (an EC P-256 and an RSA 2048 one).
 */
export function serverCertificate(dataDir: string, hostnames: readonly string[], given?: { cert: string; key: string }): ServerCertificate {
  if (given) return { cert: readFileSync(given.cert, 'utf8'), key: readFileSync(given.key, 'utf8'), additional: [], source: 'given' };
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ec = selfMade(dir, 'cert.pem', 'key.pem', 'ec', hostnames);
  const rsa = selfMade(dir, 'rsa-cert.pem', 'rsa-key.pem', 'rsa', hostnames);
  return { cert: ec.cert, key: ec.key, additional: [{ cert: rsa.cert, key: rsa.key }], source: ec.made ? 'generated' : 'data-dir' };
}

/** A self-signed certificate kept in the data directory, made when missing. */
function selfMade(dir: string, certFile: string, keyFile: string, type: 'ec' | 'rsa', hostnames: readonly string[]): CertificatePair & { made: boolean } {
  const certPath = join(dir, certFile);
  const keyPath = join(dir, keyFile);
  if (existsSync(certPath) && existsSync(keyPath)) return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), made: false };
  const keys = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dns = hostnames.filter((h) => !/^[\d.:]+$/.test(h));
  const cert = issueCertificate({
    subject: `CN=${dns[0] ?? 'localhost'},O=fapi-policy development certificate`,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    san: { dns: [...new Set(['localhost', ...dns])], ip: ['127.0.0.1', '::1'] },
    days: 825,
  });
  const key = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  writeFileSync(keyPath, key, { mode: 0o600 });
  writeFileSync(certPath, cert, { mode: 0o644 });
  return { cert, key, made: true };
}

/** The key types of the certificates served: a TLS 1.2 suite is usable only with a certificate of its kind. */
export function certificateKeyTypes(certificate: ServerCertificate): Set<string> {
  return new Set([certificate, ...certificate.additional].map((c) => new X509Certificate(c.cert).publicKey.asymmetricKeyType ?? 'unknown'));
}

/** TLS 1.2 suites by IANA name (what profiles and the `tls` facts use) to OpenSSL's names. */
const OPENSSL_NAMES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CCM: 'ECDHE-ECDSA-AES128-CCM',
  TLS_ECDHE_ECDSA_WITH_AES_256_CCM: 'ECDHE-ECDSA-AES256-CCM',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 'ECDHE-ECDSA-AES256-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 'ECDHE-RSA-AES256-SHA384',
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 'DHE-RSA-AES128-GCM-SHA256',
  TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 'DHE-RSA-AES256-GCM-SHA384',
};

/** TLS 1.3 suites: all three AEADs are acceptable to every shipped profile. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export interface TlsPolicy {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** OpenSSL cipher string: the TLS 1.3 suites, then the TLS 1.2 suites in the profile's order. */
  ciphers: string;
  /** IANA names offered, for the server-configuration facts. */
  suites: string[];
  versions: SecureVersion[];
  /** IANA names no profile-independent OpenSSL name is known for (left out, and logged). */
  unknown: string[];
}

/** The certificate key type a TLS 1.2 suite authenticates with. */
const authenticatedBy = (suite: string) => (suite.includes('_ECDSA_') ? 'ec' : 'rsa');

/**
 * What every one of the given profiles' tls settings allows for back-channel endpoints, and the
 * served certificates can carry: a TLS 1.2 suite needs a certificate of its key type, and when no
 * TLS 1.2 suite is left the listener offers TLS 1.3 only rather than a version it cannot complete.
 */
export function tlsPolicy(settings: readonly Settings[], keyTypes: ReadonlySet<string>): TlsPolicy {
  const tls = settings.map((s) => s.tls as { versions: string[]; cipher_suites: string[] });
  const allowed = VERSION_ORDER.filter((v) => tls.every((t) => t.versions.includes(v)));
  if (!allowed.length) throw new Error('the served profiles allow no TLS version in common');
  const iana = (tls[0]?.cipher_suites ?? []).filter((suite) => tls.every((t) => t.cipher_suites.includes(suite)));
  const available = new Set(getCiphers().map((c) => c.toUpperCase()));
  const known = iana.filter((s) => OPENSSL_NAMES[s] && available.has(OPENSSL_NAMES[s] as string) && keyTypes.has(authenticatedBy(s)));
  const versions = known.length ? allowed : allowed.filter((v) => v === 'TLSv1.3');
  const tls13 = versions.includes('TLSv1.3') ? TLS13_SUITES : [];
  if (!versions.length || (!known.length && !tls13.length)) throw new Error('the served profiles allow no cipher suite in common that this server and its certificates can offer');
  return {
    minVersion: versions[0] as SecureVersion,
    maxVersion: versions[versions.length - 1] as SecureVersion,
    ciphers: [...tls13, ...known.map((s) => OPENSSL_NAMES[s])].join(':'),
    suites: [...tls13, ...known],
    versions,
    unknown: iana.filter((s) => !OPENSSL_NAMES[s] || !available.has(OPENSSL_NAMES[s] as string)),
  };
}

/** Options for https.createServer: our certificate, the profile's versions and suites, client certificates requested. */
export function serverTlsOptions(certificate: ServerCertificate, policy: TlsPolicy): TlsOptions {
  const pairs = [certificate, ...certificate.additional];
  return {
    cert: pairs.map((p) => p.cert),
    key: pairs.map((p) => p.key),
    minVersion: policy.minVersion,
    maxVersion: policy.maxVersion,
    ciphers: policy.ciphers,
    honorCipherOrder: true,
    // RFC 8705 §7.2: the server asks every client for a certificate, but self-signed ones must reach
    // the application (self_signed_tls_client_auth), so TLS never refuses or validates them.
    requestCert: true,
    rejectUnauthorized: false,
  };
}

/** Subject names and key size of the server certificate, for the start-up log and the server facts. */
export function describeCertificate(pem: string): { subject: string; validTo: string; keyType: string; bits: number } {
  const x = new X509Certificate(pem);
  const details = x.publicKey.asymmetricKeyDetails ?? {};
  const bits = details.modulusLength ?? (details.namedCurve === 'prime256v1' ? 256 : details.namedCurve === 'secp384r1' ? 384 : 0);
  return { subject: x.subject.replace(/\n/g, ', '), validTo: x.validTo, keyType: x.publicKey.asymmetricKeyType ?? 'unknown', bits };
}
