/**
 * Authentication of callers: bearer tokens (compared in constant time) and/or TLS client
 * certificates verified against --tls-ca. With nothing configured every caller is trusted — the
 * service binds to loopback by default, and `serve` warns when it does not.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { unauthorized } from './errors.js';

/** `all`: every API call needs credentials; `explain`: decisions are open, explanations are not. */
export type AuthProtect = 'all' | 'explain';

export interface AuthConfig {
  tokens: readonly string[];
  /** Accept a client certificate that verified against the configured CA. */
  mtls: boolean;
  protect: AuthProtect;
}

export const MIN_TOKEN_LENGTH = 16;

/** RFC 6750 §2.1 b64token. */
export const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export class Authenticator {
  readonly configured: boolean;
  private readonly digests: readonly Buffer[];

  constructor(private readonly config: AuthConfig) {
    // The library enforces what the CLI checks: a short or malformed token is a configuration error.
    if (config.tokens.some((t) => t.length < MIN_TOKEN_LENGTH || !TOKEN.test(t))) {
      throw new Error(`bearer tokens must be at least ${MIN_TOKEN_LENGTH} characters of the RFC 6750 token alphabet`);
    }
    this.digests = config.tokens.map(sha256);
    this.configured = this.digests.length > 0 || config.mtls;
  }

  /**
   * Whether the caller is authenticated (always true when nothing is configured). Credentials that
   * are presented but wrong are refused outright, whatever the endpoint needs.
   */
  authenticate(req: IncomingMessage): boolean {
    if (!this.configured) return true;
    const header = req.headers.authorization;
    if (header !== undefined && this.digests.length) {
      const match = BEARER.exec(header);
      if (!match || !this.knownToken(match[1] as string)) throw unauthorized('invalid bearer token');
      return true;
    }
    if (this.config.mtls && (req.socket as Partial<TLSSocket>).authorized === true) return true;
    return false;
  }

  /** For API calls: with `protect: all`, an unauthenticated caller gets a 401. */
  requireCaller(req: IncomingMessage): boolean {
    const ok = this.authenticate(req);
    if (!ok && this.config.protect === 'all') throw unauthorized(this.missingMessage());
    return ok;
  }

  /** Explanations reveal how the policy decides: only for authenticated callers. */
  requireExplain(authenticated: boolean): void {
    if (!authenticated) throw unauthorized(`explain is only for authenticated callers; ${this.missingMessage()}`);
  }

  private missingMessage(): string {
    const ways = [this.digests.length ? 'a bearer token' : '', this.config.mtls ? 'a client certificate' : ''].filter(Boolean);
    return `authenticate with ${ways.join(' or ')}`;
  }

  /** Hashing first makes every comparison the same length; every token is compared, no early exit. */
  private knownToken(token: string): boolean {
    const presented = sha256(token);
    let found = 0;
    for (const d of this.digests) found |= timingSafeEqual(presented, d) ? 1 : 0;
    return found === 1;
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
