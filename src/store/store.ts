/**
 * Everything the authorization server remembers, behind one small interface: registered clients,
 * pushed requests, codes, grants, tokens, replay caches and DPoP nonces. Each record has a kind, a
 * key and a lifetime. The two operations a networked store must do atomically are named here:
 * `consume` (single use: codes, request_uris) and `add` (first writer wins: jti replay caches), so
 * a Redis store (GETDEL / SET NX EX, or a script) can implement the same contract for several AS
 * instances behind a load balancer.
 */

export type Kind =
  | 'client' | 'pushed_request' | 'interaction' | 'code' | 'grant' | 'access_token' | 'refresh_token'
  | 'jti' | 'dpop_jti' | 'registration_token';

export interface Consumed<T> {
  value: T;
  /** The record had been consumed before: a replay. */
  replayed: boolean;
}

export interface Store {
  /** Writes a record that expires after `ttlSeconds` (0: never). */
  set(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** The record, or undefined. Records read are not to be changed: write a new one with `set`. */
  get<T>(kind: Kind, key: string): Promise<T | undefined>;
  /** A record and whether it has been consumed, without consuming it. */
  peek<T>(kind: Kind, key: string): Promise<{ value: T; consumed: boolean } | undefined>;
  /**
   * Marks a record used and returns it, atomically. A second call returns it again with
   * `replayed: true` until the record expires, so a reused code can be told from an unknown one.
   */
  consume<T>(kind: Kind, key: string): Promise<Consumed<T> | undefined>;
  /** Inserts only when no live record has the key; false when one does (a replay). */
  add(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<boolean>;
  delete(kind: Kind, key: string): Promise<void>;
  /** Live records of a kind in key order, at most `limit` of them (administration: `fapi-policy clients list`). */
  list<T>(kind: Kind, limit: number): Promise<Array<{ key: string; value: T }>>;
  /** Removes expired records now (implementations also do it periodically). */
  sweep(): Promise<number>;
  close(): Promise<void>;
}

/** The store refuses to grow: the server answers 503 rather than forget a replay. */
export class StoreFullError extends Error {
  override name = 'StoreFullError';
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Expiry time for a lifetime; 0 means the record never expires. */
export const expiryOf = (ttlSeconds: number, now = nowSeconds()) => (ttlSeconds > 0 ? now + ttlSeconds : 0);
