/** A test PKI: a CA, certificates it issues, and self-signed client certificates, all made in-process. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, type JWK } from 'jose';
import { issueCertificate } from '../../src/crypto/issue-certificate.js';

export interface Identity {
  cert: string;
  key: string;
  publicKey: KeyObject;
  subject: string;
}

const pem = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;

export class TestPki {
  readonly ca: Identity;
  constructor(subject = 'CN=fapi-policy test CA,O=fapi-policy tests,C=AU') {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.caPrivate = keys.privateKey;
    this.ca = { cert: issueCertificate({ subject, publicKey: keys.publicKey, signingKey: keys.privateKey, ca: true }), key: pem(keys.privateKey), publicKey: keys.publicKey, subject };
  }
  private readonly caPrivate: KeyObject;

  /** A client certificate the CA issued. */
  issue(subject: string, san: { dns?: string[]; uri?: string[] } = {}): Identity {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = issueCertificate({ subject, publicKey: keys.publicKey, issuer: { subject: this.ca.subject, publicKey: this.ca.publicKey }, signingKey: this.caPrivate, san });
    return { cert, key: pem(keys.privateKey), publicKey: keys.publicKey, subject };
  }

  writeCa(dir: string): string {
    const file = join(dir, 'client-ca.pem');
    writeFileSync(file, this.ca.cert);
    return file;
  }
}

/** A self-signed certificate and the JWK of its key (with x5c), for self_signed_tls_client_auth. */
export async function selfSigned(subject: string): Promise<Identity & { jwk: JWK }> {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = issueCertificate({ subject, publicKey: keys.publicKey, signingKey: keys.privateKey });
  const der = cert.replace(/-----[A-Z ]+-----|\s/g, '');
  return { cert, key: pem(keys.privateKey), publicKey: keys.publicKey, subject, jwk: { ...(await exportJWK(keys.publicKey)), x5c: [der], kid: 'tls-key' } };
}
