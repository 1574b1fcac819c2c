/** Facts of the `resource` stage: a request to a protected resource, with the access token as the AS recorded it. */
import { clientFacts, type RegisteredClient } from '../clients.js';
import type { Exchange } from '../exchange.js';
import type { AccessTokenRecord } from '../steps/tokens.js';
import { bindingCertificateFacts } from './certificate.js';

export interface Presentation {
  token: string;
  location: 'header' | 'query' | 'body';
  /** The Authorization scheme as sent (header presentation only). */
  scheme?: string;
}

/** The x-fapi-* headers (FAPI 1.0 §6.2.1, ecosystem profiles): the ones a profile may ask about. */
function selectedHeaders(x: Exchange): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(x.req.headers)) {
    if (name.startsWith('x-fapi-') && typeof value === 'string' && Object.keys(out).length < 20) out[name] = value.slice(0, 8192);
  }
  return out;
}

/** What the server found out about the request beyond its HTTP: the token's record and client, the proofs. */
export interface ResourceFindings {
  record: AccessTokenRecord | undefined;
  client: RegisteredClient | undefined;
  active: boolean;
  proofJkt: string | undefined;
  /** The facts' http_signature. */
  signature: Record<string, unknown>;
  bodyBytes: number;
}

export function resourceFacts(x: Exchange, uri: string, presented: Presentation, found: ResourceFindings): Record<string, unknown> {
  const { record, active, proofJkt } = found;
  // The scheme exactly as sent: the profile compares it case-insensitively (RFC 9110 §11.1).
  const scheme = presented.scheme?.slice(0, 64);
  return {
    time: x.now,
    ...(found.client ? { client: clientFacts(found.client) } : {}),
    http: { method: x.req.method, uri, headers: selectedHeaders(x), body_bytes: found.bodyBytes, dpop_header: x.req.headers.dpop !== undefined },
    http_signature: found.signature,
    access_token: {
      location: presented.location,
      ...(scheme ? { scheme } : {}),
      active,
      ...(record ? { expires_at: record.expires_at, scopes: record.scope.split(' ').filter(Boolean).slice(0, 100) } : {}),
      ...(record?.cnf ? { cnf: record.cnf } : {}),
    },
    certificate: bindingCertificateFacts(x),
    ...(proofJkt ? { dpop_jkt: proofJkt } : {}),
  };
}
