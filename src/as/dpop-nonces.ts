/**
 * DPoP server nonces (RFC 9449 §8, §9), made without storage: a nonce is an HMAC of the current
 * time window, so every instance sharing the secret issues and accepts the same nonces. A nonce
 * stays acceptable for the window it was issued in and the next one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export class DpopNonces {
  private readonly secret: Buffer;

  constructor(private readonly windowSeconds = 60, secret?: Buffer) {
    this.secret = secret ?? randomBytes(32);
  }

  private nonceFor(window: number): string {
    return createHmac('sha256', this.secret).update(`dpop-nonce:${window}`).digest('base64url').slice(0, 32);
  }

  /** The nonce to hand out now (the DPoP-Nonce response header). */
  current(now: number): string {
    return this.nonceFor(Math.floor(now / this.windowSeconds));
  }

  /** Whether `nonce` was issued in this window or the previous one. */
  isFresh(nonce: unknown, now: number): boolean {
    if (typeof nonce !== 'string' || nonce.length !== 32) return false;
    const window = Math.floor(now / this.windowSeconds);
    return [window, window - 1].some((w) => timingSafeEqual(Buffer.from(this.nonceFor(w)), Buffer.from(nonce)));
  }
}
