/** What every request handler of the authorization server shares. */
import type { X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { CompiledProfile } from '../engine/compiled-profile.js';
import type { JwsVerifier } from '../crypto/jws.js';
import type { Store } from '../store/store.js';
import type { DpopNonces } from './dpop-nonces.js';
import type { AsMetrics } from './metrics.js';
import type { SigningKeys } from './keys.js';
import type { EndpointUrls } from './options.js';
import type { Users } from './users.js';
import type { ServerCertificate, TlsPolicy } from './tls.js';

/** The loaded profiles as one request sees them: read once, used throughout. */
export interface ProfileSnapshot {
  readonly generation: number;
  readonly profiles: ReadonlyMap<string, CompiledProfile>;
  readonly ids: readonly string[];
}

export interface AsConfig {
  issuer: string;
  urls: EndpointUrls;
  /** The profile of clients that name none. */
  defaultProfile: string;
  /** The report-only profile of clients that name none (fapi_shadow_profile); see shadow.ts. */
  shadowProfile?: string;
  /** Bearer tokens that may read /metrics; with none, only loopback callers may. */
  metricsTokens: readonly string[];
  dev: boolean;
  /** Registration without an initial access token (loopback-only listener or development mode). */
  openRegistration: boolean;
  initialAccessTokens: readonly string[];
  trustProxyCertHeader: boolean;
  /** Server preferences in seconds; each client's profile may only shorten them. */
  accessTokenLifetime: number;
  requestUriLifetime: number;
  /** The authentication context classes the login can state (OpenID Connect Core §2, acr), most preferred first. */
  acrValues: readonly string[];
  refreshTokenLifetime: number;
}

export interface AsContext {
  config: AsConfig;
  /** The active profile set; replaced whole on reload. */
  profiles(): ProfileSnapshot;
  /** The active signing keys; replaced whole when keys.json changes. */
  keys(): SigningKeys;
  store: Store;
  verifier: JwsVerifier;
  nonces: DpopNonces;
  users: Users;
  /** The TLS offer of the listener (it follows the profile set) and the server certificate (PEM). */
  tls: { policy: TlsPolicy; certificate: ServerCertificate };
  /** CAs trusted to issue tls_client_auth certificates. */
  clientCas: readonly X509Certificate[];
  log: Logger;
  metrics: AsMetrics;
  /** Seconds since the epoch (a function so tests can move time). */
  now(): number;
}
