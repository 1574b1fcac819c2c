/** Shared by the authorization-server tests: a started AS over the shipped profiles, and clients that trust it. */
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { tempDir } from '../temp.js';
import { loadProfiles } from '../../src/profile/files.js';
import type { ProfileSnapshot } from '../../src/as/context.js';
import { startAs, type AsServer, type AsStartOptions } from '../../src/as/server.js';
import type { TestPki } from './pki.js';

export { tempDir };

export async function snapshotOf(paths = ['profiles']): Promise<ProfileSnapshot> {
  const set = await loadProfiles(paths, { strict: true });
  return { generation: 1, profiles: new Map(set.profiles), ids: set.ids() };
}

/** Log lines of the server, for assertions about what it logged (and never logged). */
export class LogSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }
}

export interface TestAs extends AsServer {
  logs: LogSink;
  snapshot: ProfileSnapshot;
  setSnapshot(s: ProfileSnapshot): void;
}

export async function startTestAs(options: Partial<AsStartOptions> = {}): Promise<TestAs> {
  const provider = { current: await snapshotOf() };
  const logs = new LogSink();
  const server = await startAs({
    port: 0, host: '127.0.0.1', dev: true, store: 'memory', dataDir: tempDir(),
    profiles: provider, log: pino({ level: 'info' }, logs), ...options,
  });
  return Object.assign(server, { logs, get snapshot() { return provider.current; }, setSnapshot: (s: ProfileSnapshot) => { provider.current = s; } });
}

/** A fetch that trusts the AS's certificate and, when given, presents a client certificate. */
export function trustingFetch(ca: string, client?: { cert: string; key: string }): typeof fetch {
  const agent = new Agent({ connect: { ca, ...(client ?? {}) } });
  return ((url: string | URL | Request, init?: RequestInit) =>
    undiciFetch(url as string, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
}

/**
 * One server for a test file: started before its tests, trusting `pki`'s CA for tls_client_auth,
 * handed to `use`, and closed after them.
 */
export function serveTestFile(pki: TestPki, use: (as: TestAs) => void, options: Partial<AsStartOptions> = {}): void {
  let server: TestAs | undefined;
  beforeAll(async () => {
    server = await startTestAs({ clientCa: pki.writeCa(tempDir()), ...options });
    use(server);
  });
  afterAll(async () => {
    await server?.close();
  });
}
