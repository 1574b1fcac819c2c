/** What the AS is configured with (flags, environment, defaults) and the endpoint URLs it derives. */
export const DEFAULT_AS_PORT = 8443;
export const DEFAULT_AS_HOST = '127.0.0.1';
export const DEFAULT_PROFILE = 'fapi2-security';
export const DEFAULT_DATA_DIR = '.fapi-policy';

export interface AsOptions {
  /** The issuer identifier (default https://localhost:<port>). */
  issuer?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  dataDir?: string;
  /** The profile of clients that name none (default fapi2-security). */
  profile?: string;
  /** The report-only (shadow) profile of clients that name none; none by default. */
  shadowProfile?: string;
  /** Bearer tokens that may read /metrics (default: none, and /metrics answers loopback callers only). */
  metricsTokens?: readonly string[];
  tls?: { cert: string; key: string };
  /** PEM file of the CAs that issue certificates for tls_client_auth. */
  clientCa?: string;
  /** Read the client certificate from the RFC 9440 Client-Cert header (behind a TLS-terminating proxy). */
  trustProxyCertHeader?: boolean;
  /** Development mode: open registration and automatic consent; loopback only. */
  dev?: boolean;
  /** Tokens that allow dynamic client registration (RFC 7591 §3: initial access tokens). */
  initialAccessTokens?: readonly string[];
  /**
   * Who may register: `open` to anyone (the default on a loopback-only listener or in development
   * mode), `token` only with an initial access token (the default otherwise).
   */
  registration?: 'open' | 'token';
  /** Where state lives: the durable SQLite file in the data directory (default) or memory. */
  store?: 'sqlite' | 'memory';
  /** Demo users file (default: data-dir/users.json, written on first start). */
  usersFile?: string;
}

export const PATHS = {
  discovery: '/.well-known/openid-configuration',
  oauthDiscovery: '/.well-known/oauth-authorization-server',
  jwks: '/jwks',
  registration: '/register',
  par: '/par',
  authorization: '/authorize',
  interaction: '/interaction',
  token: '/token',
  introspection: '/introspect',
  revocation: '/revoke',
  userinfo: '/userinfo',
  accounts: '/api/accounts',
  payments: '/api/payments',
  metrics: '/metrics',
} as const;

export type EndpointUrls = { [K in keyof typeof PATHS]: string };

export function endpointUrls(issuer: string): EndpointUrls {
  const base = issuer.replace(/\/+$/, '');
  return Object.fromEntries(Object.entries(PATHS).map(([k, p]) => [k, `${base}${p}`])) as EndpointUrls;
}

/** RFC 8414 §2: an https URL without query or fragment. */
export function checkIssuer(issuer: string): string {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`issuer '${issuer}' is not a URL`);
  }
  if (url.protocol !== 'https:' || url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    throw new Error(`issuer '${issuer}' must be an https URL without query or fragment (RFC 8414 §2)`);
  }
  return issuer.replace(/\/+$/, '');
}
