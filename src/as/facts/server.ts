/** Facts of the `server` stage: the authorization server's own signing keys, credentials and TLS offer. */
import { X509Certificate } from 'node:crypto';
import type { JWK } from 'jose';
import { measureKey } from '../../crypto/jwk.js';
import type { SigningKeys } from '../keys.js';
import { CREDENTIAL_BITS } from '../steps/credentials.js';
import type { ServerCertificate, TlsPolicy } from '../tls.js';

/** Every kind of credential the server mints, each from CREDENTIAL_BITS random bits (steps/credentials.ts). */
const MINTED = ['authorization_code', 'access_token', 'refresh_token', 'request_uri', 'registration_access_token'] as const;

export function serverFacts(time: number, issuer: string, keys: SigningKeys, policy: TlsPolicy, certificate: ServerCertificate): Record<string, unknown> {
  const kids = keys.jwks.keys.map((k) => k.kid as string);
  const duplicates = [...new Set(kids.filter((kid, i) => kids.indexOf(kid) !== i))];
  return {
    time,
    issuer,
    keys: keys.measurements.map(({ status: _s, ...m }) => m),
    duplicate_kids: duplicates,
    credentials: MINTED.map((kind) => ({ kind, entropy_bits: CREDENTIAL_BITS })),
    tls: {
      versions: policy.versions,
      cipher_suites: policy.suites.filter((s) => !s.startsWith('TLS_AES_') && !s.startsWith('TLS_CHACHA20_')),
      certificate: measured(certificate.cert),
      certificates: [certificate, ...certificate.additional].map((c) => measured(c.cert)),
    },
  };
}

const measured = (pem: string) => measureKey(new X509Certificate(pem).publicKey.export({ format: 'jwk' }) as JWK);
