/**
 * The `tls` stage for a request: the connection's protocol, suite and certificate judged by the
 * deciding profile. What a connection negotiated does not change while it stays open, so an allow
 * is remembered for that connection, that profile (by digest) and that endpoint, for a minute.
 */
import { enforce, type Exchange } from '../exchange.js';
import { tlsFacts, type EndpointKind } from '../facts/tls.js';

const REMEMBER_SECONDS = 60;
const allowed = new WeakMap<object, Map<string, number>>();

export function checkTls(x: Exchange, kind: EndpointKind, endpoint: string): void {
  const socket = x.req.socket;
  const key = `${x.profile.digest} ${kind} ${endpoint}`;
  const seen = allowed.get(socket);
  if ((seen?.get(key) ?? 0) > x.now) {
    x.decisions.stages.push('tls');
    return;
  }
  enforce(x, 'tls', tlsFacts(x, kind, endpoint));
  if (seen) seen.set(key, x.now + REMEMBER_SECONDS);
  else allowed.set(socket, new Map([[key, x.now + REMEMBER_SECONDS]]));
}
