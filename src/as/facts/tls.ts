/** Facts of the `tls` stage: the protocol and cipher suite the request's connection negotiated. */
import type { TLSSocket } from 'node:tls';
import type { Exchange } from '../exchange.js';
import { bindingCertificateFacts } from './certificate.js';

export type EndpointKind = 'browser' | 'api';

export function tlsFacts(x: Exchange, kind: EndpointKind, endpoint: string): Record<string, unknown> {
  const socket = x.req.socket as Partial<TLSSocket>;
  const protocol = socket.getProtocol?.() ?? undefined;
  const cipher = socket.getCipher?.()?.standardName;
  return {
    time: x.now,
    ...(protocol ? { protocol } : {}),
    ...(cipher ? { cipher } : {}),
    endpoint_kind: kind,
    endpoint,
    certificate: bindingCertificateFacts(x),
  };
}
