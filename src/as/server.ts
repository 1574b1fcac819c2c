/**
 * Starting the reference authorization server: data directory (TLS certificate, signing keys,
 * durable store, demo users), the profile registry it shares with the decision service, the
 * checks a profile set must pass before the server serves it, and the HTTPS listener.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { createOpsLog } from '../log/ops.js';
import { JwsVerifier } from '../crypto/jws.js';
import { MemoryStore } from '../store/memory.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import { createAsApp } from './app.js';
import type { AsConfig, AsContext, ProfileSnapshot } from './context.js';
import { DpopNonces } from './dpop-nonces.js';
import { KeyFileStore, SigningKeys } from './keys.js';
import { AsMetrics } from './metrics.js';
import { checkIssuer, DEFAULT_AS_HOST, DEFAULT_AS_PORT, DEFAULT_DATA_DIR, DEFAULT_PROFILE, endpointUrls, type AsOptions } from './options.js';
import { servedSet } from './served.js';
import { writeServedRecord } from './served-record.js';
import { certificateKeyTypes, describeCertificate, serverCertificate, serverTlsOptions, tlsPolicy, type TlsPolicy } from './tls.js';
import { Users } from './users.js';
import { isLoopback } from '../net/loopback.js';

export interface AsServer {
  url: string;
  issuer: string;
  port: number;
  server: Server;
  ctx: AsContext;
  /** The PEM certificates the listener serves (one bundle: trust it to reach the server over any version). */
  certificate: string;
  /** Re-reads keys.json now (what SIGHUP and the key-file watch do). */
  reloadKeys(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where the active profile set comes from: the registry (shared with the decision service under
 * `fapi-policy start`), or any object with a current set (tests). With `addGuard`, a set the server
 * cannot serve is refused before it becomes active; with `onSwap`, the TLS offer follows each set.
 */
export interface ProfileProvider {
  readonly current: ProfileSnapshot;
  addGuard?(guard: (candidate: ProfileSnapshot) => Promise<string[]>): () => void;
  onSwap?(listener: (snapshot: ProfileSnapshot) => void): () => void;
}

export interface AsStartOptions extends AsOptions {
  profiles: ProfileProvider;
  log?: Logger;
  /** Milliseconds between checks of keys.json for a rotation (default 2000). */
  keyPollMs?: number;
  /** Server preferences, shortened further by each client's profile. */
  accessTokenLifetime?: number;
  requestUriLifetime?: number;
  /** The acr values the server's login satisfies (default: one, urn:mace:incommon:iap:silver). */
  acrValues?: readonly string[];
  refreshTokenLifetime?: number;
  /** Test hook: the clock, in seconds. */
  now?: () => number;
}

/**
 * Every problem that keeps the server from taking a profile set, empty when it can: the default
 * profile (and the server's shadow profile, when it has one) loaded and served (served.ts). Other
 * loaded profiles the server cannot serve are logged with their reasons and left out; their clients
 * are refused by name until they can be served.
 */
function setProblems(ctx: AsContext, snapshot: ProfileSnapshot): string[] {
  const problems: string[] = [];
  const served = servedSet(ctx, snapshot);
  for (const [role, id] of [['default', ctx.config.defaultProfile], ['shadow', ctx.config.shadowProfile]] as const) {
    if (id === undefined) continue;
    if (!snapshot.profiles.has(id)) problems.push(`the ${role} profile '${id}' is not loaded (loaded: ${snapshot.ids.join(', ') || 'none'})`);
    else if (served.excluded.has(id)) problems.push(...served.excluded.get(id)!.map((why) => `the ${role} profile '${id}' cannot be served: ${why}`));
  }
  if (!problems.length) {
    for (const [id, reasons] of served.excluded) ctx.log.warn({ profile: id, reasons }, `profile '${id}' is loaded but not served: its clients are refused`);
  }
  return problems;
}

/**
 * Keys for every algorithm the set allows for what the AS signs (ID tokens, JARM responses,
 * introspection responses, resource responses); returns the algorithms it made keys for.
 */
function ensureKeys(file: KeyFileStore, snapshot: ProfileSnapshot, log: Logger): string[] {
  const settings = [...snapshot.profiles.values()].map((p) => p.settings);
  type Signed = { id_token: string[]; authorization_response: string[]; introspection_response: string[]; resource_response: string[] };
  const algorithms = [...new Set(settings.flatMap((s) => {
    const algs = s.signing_algs as Signed;
    return [...algs.id_token, ...algs.authorization_response, ...algs.introspection_response, ...algs.resource_response];
  }))];
  const rsaBits = Math.max(2048, ...settings.map((s) => (s.keys as { rsa_min_bits: number }).rsa_min_bits));
  const made = file.ensure(algorithms, rsaBits);
  if (made.length) log.info({ algorithms: made, file: file.path }, 'signing keys generated');
  return made;
}

function readCas(file: string | undefined): X509Certificate[] {
  if (!file) return [];
  const pems = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.map((pem) => new X509Certificate(pem));
}

export async function startAs(options: AsStartOptions): Promise<AsServer> {
  const host = options.host ?? DEFAULT_AS_HOST;
  if (options.dev && !isLoopback(host)) throw new Error(`--dev is refused unless the server listens on loopback only (host is ${host})`);
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const log = options.log ?? createOpsLog('stderr', 'fapi-policy-as', { sync: false });
  const provider = options.profiles;
  const snapshot = provider.current;
  const keyFile = new KeyFileStore(dataDir);
  ensureKeys(keyFile, snapshot, log);
  let keys = await SigningKeys.load(keyFile);
  const issuerHost = options.issuer ? new URL(options.issuer).hostname : 'localhost';
  const certificate = serverCertificate(dataDir, [issuerHost], options.tls);
  // The offer is settled once the set is judged (served.ts), which needs the issuer, known only once
  // listening; until then the listener offers what the default profile allows (it accepts no request yet).
  const initial = snapshot.profiles.get(options.profile ?? DEFAULT_PROFILE) ?? [...snapshot.profiles.values()][0];
  const policy = tlsPolicy(initial ? [initial.settings] : [], certificateKeyTypes(certificate));

  const store: Store = options.store === 'memory' ? new MemoryStore() : new SqliteStore(join(dataDir, 'store.sqlite'));
  const config: AsConfig = {
    issuer: '', urls: endpointUrls('https://invalid'), defaultProfile: options.profile ?? DEFAULT_PROFILE, dev: options.dev ?? false,
    ...(options.shadowProfile ? { shadowProfile: options.shadowProfile } : {}), metricsTokens: options.metricsTokens ?? [],
    openRegistration: options.registration ? options.registration === 'open' : (options.dev ?? false) || isLoopback(host),
    initialAccessTokens: options.initialAccessTokens ?? [],
    trustProxyCertHeader: options.trustProxyCertHeader ?? false,
    accessTokenLifetime: options.accessTokenLifetime ?? 600, requestUriLifetime: options.requestUriLifetime ?? 60,
    acrValues: options.acrValues ?? ['urn:mace:incommon:iap:silver'],
    refreshTokenLifetime: options.refreshTokenLifetime ?? 30 * 86_400,
  };
  const ctx: AsContext = {
    config, metrics: new AsMetrics(), profiles: () => provider.current, keys: () => keys, tls: { policy, certificate }, store, verifier: new JwsVerifier(), nonces: new DpopNonces(),
    users: Users.load(options.usersFile ?? join(dataDir, 'users.json')), clientCas: readCas(options.clientCa), log,
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
  };

  const server = createServer({
    ...serverTlsOptions(certificate, policy),
    requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024,
  }, createAsApp(ctx));
  const port = await listen(server, options.port ?? DEFAULT_AS_PORT, host);
  config.issuer = checkIssuer(options.issuer ?? `https://localhost:${port}`);
  config.urls = endpointUrls(config.issuer);

  const problems = setProblems(ctx, snapshot);
  if (problems.length) {
    await new Promise<void>((r) => server.close(() => r()));
    await store.close();
    throw new Error(`the authorization server cannot serve the loaded profiles:\n  ${problems.join('\n  ')}`);
  }
  const applyTlsPolicy = (next: TlsPolicy) => {
    ctx.tls.policy = next;
    server.setSecureContext(serverTlsOptions(certificate, next));
    if (next.unknown.length) log.warn({ suites: next.unknown }, 'cipher suites without a known OpenSSL name are not offered');
  };
  const recordServed = (active: ProfileSnapshot) => {
    try {
      writeServedRecord(dataDir, servedSet(ctx, active));
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'the served profiles could not be recorded in the data directory (clients move relies on it)');
    }
  };
  applyTlsPolicy(servedSet(ctx, snapshot).policy);
  recordServed(snapshot);

  const reloadKeys = async () => {
    keys = await SigningKeys.load(keyFile);
    log.info({ kids: keys.jwks.keys.map((k) => k.kid) }, 'signing keys reloaded');
  };
  // A new set must be servable; keys for algorithms it newly allows are made before it is judged.
  const removeGuard = provider.addGuard?.(async (candidate) => {
    if (ensureKeys(keyFile, candidate, log).length) await reloadKeys();
    return setProblems(ctx, candidate);
  });
  const removeListener = provider.onSwap?.((active) => {
    applyTlsPolicy(servedSet(ctx, active).policy);
    recordServed(active);
  });
  let keyMtime = keyFile.mtimeMs();
  const keyPoll = setInterval(() => {
    const mtime = keyFile.mtimeMs();
    if (mtime === keyMtime) return;
    keyMtime = mtime;
    reloadKeys().catch((e: unknown) => log.error({ err: (e as Error).message }, 'signing keys could not be reloaded; the previous keys stay active'));
  }, options.keyPollMs ?? 2000);
  keyPoll.unref();

  const cert = describeCertificate(certificate.cert);
  log.info({ issuer: config.issuer, dev: config.dev, open_registration: config.openRegistration, profile: config.defaultProfile, ...(config.shadowProfile ? { shadow_profile: config.shadowProfile } : {}), tls: { ...cert, source: certificate.source, versions: ctx.tls.policy.versions }, served: servedSet(ctx, snapshot).profiles.map((p) => p.id), store: options.store ?? 'sqlite', data_dir: dataDir }, 'authorization server started');
  if (config.dev) log.warn('DEVELOPMENT MODE: open registration and automatic consent by the first demo user; never expose this server');

  let closing: Promise<void> | undefined;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, issuer: config.issuer, port, server, ctx, certificate: [certificate, ...certificate.additional].map((c) => c.cert).join(''), reloadKeys,
    close: () => (closing ??= (async () => {
      removeGuard?.();
      removeListener?.();
      clearInterval(keyPoll);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), 2000);
      await closed;
      clearTimeout(timer);
      await store.close();
      log.flush();
    })()),
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}
