/**
 * What the service writes back of a hostile request: error text is bounded printable ASCII whatever
 * the body held, and a body in a coding the service does not decode is refused, not misread.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PdpServer } from '../src/pdp/server.js';
import { evaluation, parFacts, post, profileDir, request, startTestPdp } from './pdp-helpers.js';

let pdp: PdpServer;
beforeAll(async () => {
  pdp = await startTestPdp({ profiles: [profileDir()] });
});
afterAll(() => pdp.close());

/** Printable ASCII, and the '…' that marks a cut. */
const PRINTABLE = /^[\x20-\x7e\u2026]*$/;
const HOSTILE = 'evil\r\nX-Injected: 1\u202etxt.exe\u0000\u001b[31m';

const raw = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  request(`${pdp.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

describe('error text never carries raw request bytes', () => {
  it('a body of one NUL byte: our own syntax message, with the byte named, not echoed', async () => {
    for (const path of ['/v1/decide', '/access/v1/evaluation']) {
      const r = await raw(path, new Uint8Array([0]));
      expect(r.status).toBe(400);
      expect(r.text).not.toContain('\u0000');
      expect(r.text).not.toContain('\\u0000');
      expect(r.text).toContain('request body is not valid JSON: unexpected byte 0x00, expected a value at byte 0');
    }
  });

  it('an AuthZEN text/plain error never contains CR or LF from the body', async () => {
    const bodies = [
      '{\r\n"subject": x\r\n}',
      `{"subject":"${'\r\n'.repeat(3)}`,
      `{"a":"line\r\nX-Injected: 1"}`,
      `{"resource": {"type": "fapi_profile", "id": "${HOSTILE.replace(/[\u0000-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"}}`,
    ];
    for (const body of bodies) {
      for (const path of ['/access/v1/evaluation', '/access/v1/evaluations']) {
        const r = await raw(path, body);
        expect(r.status, body).toBe(400);
        expect(r.headers.get('content-type')).toBe('text/plain; charset=utf-8');
        expect(r.text, body).toMatch(PRINTABLE);
        expect(r.headers.get('x-injected')).toBeNull();
      }
    }
    const unknown = await post(`${pdp.url}/access/v1/evaluation`, evaluation(parFacts(), { resource: { type: 'fapi_profile', id: HOSTILE } }));
    expect(unknown.status).toBe(400);
    expect(unknown.text).toBe(`unknown profile '${HOSTILE.replace(/[^\x20-\x7e]/g, '?')}' (loaded: mini-base)`);
  });

  it('batch items that name a hostile member: the message and the pointer it ends with are printable', async () => {
    const name = `${HOSTILE}${'k'.repeat(300)}`;
    const r = await post(`${pdp.url}/access/v1/evaluations`, {
      ...evaluation(),
      evaluations: [
        { context: { ...parFacts(), params: { ...parFacts().params, [name]: 'x' } } },
        { subject: { type: 'client', id: 'c1', properties: { [name]: 1 } } },
        { action: { name: HOSTILE } },
        {},
      ],
    });
    expect(r.status).toBe(200);
    const items = (r.json() as { evaluations: Array<{ decision: boolean; context: { error?: { status: number; message: string } } }> }).evaluations;
    expect(items.map((i) => i.decision)).toEqual([false, false, false, true]);
    for (const item of items.slice(0, 3)) {
      expect(item.context.error?.status).toBe(400);
      expect(item.context.error?.message).toMatch(PRINTABLE);
    }
    expect(items[0]!.context.error!.message).toMatch(/\(at \/evaluations\/0\/context\/params\/evil\?\?X-Injected: 1\?txt\.exe\?\?\[31mk+…\)$/);
    expect(items[2]!.context.error!.message).toMatch(/^unknown stage 'evil\?\?X-Injected: 1\?txt\.exe\?\?\[31m' .*\(at \/evaluations\/2\/action\/name\)$/);
  });

  it('the native API: messages printable, `path` the exact pointer (JSON-escaped, bounded)', async () => {
    const r = await post(`${pdp.url}/v1/decide`, { profile: 'mini-base', stage: 'par', facts: parFacts(), [HOSTILE]: 1 });
    expect(r.status).toBe(400);
    const body = r.json() as { message: string; path: string };
    expect(body.message).toMatch(PRINTABLE);
    expect(body.path).toBe(`/${HOSTILE}`);
  });
});

/** Sends a raw HTTP/1.1 request and resolves with the whole reply once the server closes or answers. */
function exchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(pdp.port, '127.0.0.1', () => socket.end(text));
    let data = '';
    socket.on('data', (c) => (data += c.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    setTimeout(() => socket.destroy(), 4000).unref();
  });
}

describe('content codings the service does not decode', () => {
  const gzipped = gzipSync('{"profile":"mini-base"}');

  it('Transfer-Encoding: gzip, chunked -> 415, never parsed as if plain', async () => {
    for (const path of ['/v1/decide', '/access/v1/evaluation']) {
      const chunk = `${gzipped.length.toString(16)}\r\n${gzipped.toString('latin1')}\r\n0\r\n\r\n`;
      const reply = await exchange(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n${chunk}`);
      expect(reply).toMatch(/^HTTP\/1\.1 415 /);
      expect(reply).toMatch(/\r\nAccept-Encoding: identity\r\n/i);
      expect(reply).toMatch(/content coding 'gzip' is not supported; send the JSON body uncoded/);
    }
  });

  it('any Content-Encoding but identity -> 415; identity is accepted', async () => {
    for (const coding of ['gzip', 'deflate', 'br', 'x-custom', 'identity, gzip']) {
      const r = await raw('/v1/decide', JSON.stringify({ profile: 'mini-base', stage: 'par', facts: parFacts() }), { 'content-encoding': coding });
      expect(r.status, coding).toBe(415);
      expect(r.json()).toMatchObject({ error: 'unsupported_media_type' });
      expect(r.headers.get('accept-encoding')).toBe('identity');
    }
    const plain = await raw('/v1/decide', JSON.stringify({ profile: 'mini-base', stage: 'par', facts: parFacts() }), { 'content-encoding': 'identity' });
    expect(plain.status).toBe(200);
    const chunked = await exchange(`POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
    expect(chunked).toMatch(/^HTTP\/1\.1 400 /);
  });
});
