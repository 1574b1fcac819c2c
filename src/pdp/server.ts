/**
 * The decision service: profile sources → registry → a node:http(s) server whose front routes the
 * decision endpoints to the lean handler and everything else to Express.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { checkFacts } from '../engine/facts.js';
import { createApp } from './app.js';
import { Authenticator, type AuthProtect } from './auth.js';
import type { PdpContext } from './context.js';
import { createFront } from './front.js';
import { DEFAULT_LIMITS, MAX_HEADER_FIELDS, type Limits } from './limits.js';
import { createDecisionLog, createOpsLog, type LogTarget } from './log.js';
import { Metrics } from './metrics.js';
import { createRegistry, type SourceOptions } from '../registry/create.js';
import type { Registry, ReloadReport } from '../registry/registry.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8181;

export interface PdpOptions extends SourceOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /**
   * A registry shared with another server (the authorization server, under `fapi-policy start`):
   * the caller starts and closes it. Without one the service makes its own from the source options.
   */
  registry?: Registry;
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Bearer tokens callers may present. */
  tokens?: readonly string[];
  authProtect?: AuthProtect;
  limits?: Partial<Limits>;
  /** Decision log destination (default stdout). */
  decisionLog?: LogTarget;
  /** Operational log destination (default stderr). */
  opsLog?: LogTarget;
  /** Base URL published as policy_decision_point (default: the listening address). */
  publicUrl?: string;
}

export interface PdpServer {
  url: string;
  port: number;
  server: Server;
  registry: Registry;
  metrics: Metrics;
  /** The report of the first load. */
  startup: ReloadReport;
  /** The exported reload trigger: what SIGHUP does. */
  reload(): Promise<ReloadReport>;
  close(): Promise<void>;
}

export async function startPdp(options: PdpOptions): Promise<PdpServer> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = createOpsLog(options.opsLog ?? 'stderr');
  const metrics = new Metrics();
  const owned = !options.registry;
  const registry = options.registry ?? createRegistry(options, log, metrics);
  if (!owned) registry.addObserver(metrics);
  const auth = new Authenticator({ tokens: options.tokens ?? [], mtls: Boolean(options.tls?.ca), protect: options.authProtect ?? 'all' });
  const decisionLog = createDecisionLog(options.decisionLog ?? 'stdout');
  const ctx: PdpContext = { registry, metrics, decisionLog, log, auth, limits, baseUrl: '' };
  const startup = owned ? await registry.start() : registry.lastReload() ?? (await registry.reload({ force: true, reason: 'startup' }));
  warmUp(log);

  const front = createFront(ctx, createApp(ctx));
  const timeouts = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, limits.requestTimeoutMs / 2)),
    keepAliveTimeout: 5000,
    maxHeaderSize: 16 * 1024,
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, requestCert: Boolean(options.tls.ca), rejectUnauthorized: false }, front)
    : createHttpServer(timeouts, front);
  // Above MAX_HEADER_FIELDS on purpose: the front answers 431 rather than let Node drop fields (limits.ts).
  server.maxHeadersCount = 10 * MAX_HEADER_FIELDS;
  server.maxConnections = limits.maxConnections;

  try {
    await listen(server, options.port ?? DEFAULT_PORT, options.host ?? DEFAULT_HOST);
  } catch (e) {
    if (owned) await registry.close();
    throw e;
  }
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `${options.tls ? 'https' : 'http'}://${host}:${port}`;
  ctx.baseUrl = (options.publicUrl ?? url).replace(/\/+$/, '');

  let closing: Promise<void> | null = null;
  return {
    url, port, server, registry, metrics, startup,
    reload: () => registry.reload({ force: true, reason: 'reload' }),
    close: () => (closing ??= shutdown(server, owned ? registry : undefined, () => decisionLog.close())),
  };
}

/** The facts validators compile on first use; pay that before the first caller does. */
function warmUp(log: PdpContext['log']): void {
  try {
    checkFacts('discovery', {});
  } catch (e) {
    log.error(`facts validators failed to compile; every decision will be a flagged deny: ${(e as Error).message}`);
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, lets requests in flight finish (at most 2 s), then closes what is left. */
async function shutdown(server: Server, registry: Registry | undefined, flush: () => void): Promise<void> {
  await registry?.close();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), 2000);
  await closed;
  clearTimeout(timer);
  flush();
}
