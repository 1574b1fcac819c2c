/** Shared by the decision-service tests: temp profile dirs, a started service, HTTP helpers. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { tempDir } from './temp.js';
import { startPdp, type PdpOptions, type PdpServer } from '../src/pdp/server.js';
import { MINI_BASE_TEXT, PAR_FACTS } from './helpers.js';

export { MINI_BASE_TEXT, PAR_FACTS };

/** An overlay of mini-base with one rule over the client's metadata (from the AuthZEN subject). */
export const MINI_CLIENT_TEXT = `id: mini-client
title: Test overlay reading client metadata
version: "1"
spec: https://example.com/spec
extends: mini-base
settings: {}
rules:
  - id: MINI-CLIENT-AUTH
    clause: Test §2-1
    stage: par
    severity: error
    when: { "!!": [{ var: [facts.client, null] }] }
    check:
      logic: { in: [{ var: [facts.client.token_endpoint_auth_method, null] }, { var: settings.client_authentication.methods }] }
    message: Register the client with an allowed authentication method.
    path: /client/token_endpoint_auth_method
`;

export { tempDir };

/** A temp profile dir holding mini-base (and any extra documents). */
export function profileDir(extra: Record<string, string> = {}): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'mini-base.yaml'), MINI_BASE_TEXT);
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text);
  return dir;
}

/** Collects log lines written by pino. */
export class LineSink extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(line);
    done();
  }
  records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

/** A service on an ephemeral loopback port, quiet unless a sink is given. */
export async function startTestPdp(options: Partial<PdpOptions> = {}): Promise<PdpServer> {
  return startPdp({
    host: '127.0.0.1', port: 0, watch: false, pollSeconds: 0, decisionLog: 'off', opsLog: 'off', ...options,
  });
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: () => unknown;
}

export async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

/** `count` extra header fields (the request adds a few of its own, such as Host). */
export const manyHeaders = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v']));

export const parFacts = (params: Record<string, unknown> = {}) => ({ ...PAR_FACTS, params: { ...PAR_FACTS.params, ...params } });

/** An AuthZEN evaluation of mini-base at PAR. */
export function evaluation(context: Record<string, unknown> = parFacts(), overrides: Record<string, unknown> = {}) {
  return {
    subject: { type: 'client', id: 'c1', properties: { token_endpoint_auth_method: 'private_key_jwt' } },
    action: { name: 'par' },
    resource: { type: 'fapi_profile', id: 'mini-base' },
    context,
    ...overrides,
  };
}

/** Waits (bounded) until `check` holds. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 5000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
