/**
 * The client certificate of a request: from the TLS connection, or — only when the operator says a
 * TLS-terminating proxy in front sets it — from the RFC 9440 Client-Cert header. Never both: with
 * the header trusted, the connection's own certificate (the proxy's) is not the client's.
 */
import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { CertificateError, certificateFromHeader, parseCertificate, type ClientCertificate } from '../../crypto/certificate.js';
import type { Exchange } from '../exchange.js';

export interface Presented {
  /** The parsed certificate, or null when one was presented but could not be parsed. */
  certificate: ClientCertificate | null;
  /** Intermediates the client sent along (TLS only). */
  chain: X509Certificate[];
}

const cache = new WeakMap<object, Presented | undefined>();

export function presentedCertificate(x: Exchange): Presented | undefined {
  if (cache.has(x)) return cache.get(x);
  const found = x.ctx.config.trustProxyCertHeader ? fromHeader(x) : fromSocket(x);
  cache.set(x, found);
  return found;
}

function fromHeader(x: Exchange): Presented | undefined {
  const value = x.req.headers['client-cert'];
  if (typeof value !== 'string' || !value) return undefined;
  try {
    return { certificate: parseCertificate(certificateFromHeader(value)), chain: [] };
  } catch (e) {
    if (e instanceof CertificateError) return { certificate: null, chain: [] };
    throw e;
  }
}

/**
 * A keep-alive connection presents one certificate for many requests: parsed once per connection.
 * Keyed by its fingerprint too, so a TLS 1.2 renegotiation with another certificate is parsed afresh.
 */
const byConnection = new WeakMap<object, { fingerprint: string; presented: Presented }>();

function fromSocket(x: Exchange): Presented | undefined {
  const socket = x.req.socket as Partial<TLSSocket>;
  const peer = socket.getPeerX509Certificate?.();
  if (!peer) return undefined;
  const known = byConnection.get(socket);
  if (known && known.fingerprint === peer.fingerprint256) return known.presented;
  const presented = parsedPeer(peer);
  byConnection.set(socket, { fingerprint: peer.fingerprint256, presented });
  return presented;
}

function parsedPeer(peer: X509Certificate): Presented {
  try {
    return { certificate: parseCertificate(peer), chain: chainOf(peer) };
  } catch (e) {
    if (e instanceof CertificateError) return { certificate: null, chain: [] };
    throw e;
  }
}

/** The issuers the client sent after its certificate (at most three), as node:tls links them. */
function chainOf(leaf: X509Certificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let current = leaf.issuerCertificate;
  while (current && chain.length < 3 && !chain.includes(current) && current !== leaf) {
    chain.push(current);
    current = current.issuerCertificate;
  }
  return chain;
}

/** The facts' `certificate` for a binding (token, resource): presented and its thumbprint. */
export function bindingCertificateFacts(x: Exchange): { presented: boolean; thumbprint?: string } {
  const presented = presentedCertificate(x);
  if (!presented) return { presented: false };
  return presented.certificate ? { presented: true, thumbprint: presented.certificate.thumbprint } : { presented: true };
}
