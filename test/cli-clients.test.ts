/**
 * `fapi-policy clients list|move` against the SQLite store of a running server: a move is judged by
 * the target profile's registration stage (as POST /register judges), written only when accepted,
 * and followed by the server from the client's next request. The same move by an RFC 7592 update.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegisteredClient } from '../src/as/clients.js';
import { main } from '../src/cli/main.js';
import { snapshotOf, startTestAs, tempDir, type TestAs } from './as/helpers.js';
import { dpopProof, keyPair, RawClient, type KeyPair } from './as/raw.js';

const overlays = tempDir();
const dataDir = tempDir();
let as: TestAs;
let dpop: KeyPair;

beforeAll(async () => {
  writeFileSync(join(overlays, 'acme.yaml'), `id: acme
title: ACME bank
version: "1"
spec: https://acme.example/security
extends: fapi2-security
settings:
  signing_algs.dpop: { subset_of: [PS256] }
`);
  as = await startTestAs({ store: 'sqlite', dataDir });
  as.setSnapshot(await snapshotOf(['profiles', overlays]));
  dpop = await keyPair('ES256');
});
afterAll(async () => {
  await as?.close();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), readStdin: async () => '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const clients = (...argv: string[]) => cli('clients', ...argv, '--data-dir', dataDir, '--profiles', 'profiles', '--profiles', overlays);

/** A client_credentials token with an ES256 DPoP proof: allowed by fapi2-security, refused by acme. */
async function token(c: RawClient) {
  return c.request('/token', { form: { grant_type: 'client_credentials', scope: 'accounts', ...(await c.authForm()) }, headers: { DPoP: await dpopProof(dpop, 'POST', `${as.issuer}/token`) } });
}

const record = (id: string) => as.ctx.store.get<RegisteredClient>('client', id);

describe('fapi-policy clients', () => {
  let c: RawClient;
  let registration: Record<string, unknown>;
  beforeAll(async () => {
    c = new RawClient(as, await keyPair());
    const res = await c.register({ client_name: 'Mover' });
    expect(res.status, res.text).toBe(201);
    registration = res.json;
  });

  it('lists the clients of the store with their profiles', async () => {
    const listed = await clients('list');
    expect(listed.code).toBe(0);
    const lines = listed.out.split('\n');
    expect(lines[0]).toMatch(/^client_id +profile +shadow +auth method +name$/);
    expect(lines.find((l) => l.startsWith(c.clientId))).toMatch(new RegExp(`^${c.clientId} +- +- +private_key_jwt +Mover$`));
    const json = JSON.parse((await clients('list', '--json')).out) as Array<Record<string, unknown>>;
    expect(json).toContainEqual(expect.objectContaining({ client_id: c.clientId, client_name: 'Mover', token_endpoint_auth_method: 'private_key_jwt' }));
  });

  it('refuses a move the target profile\'s registration stage refuses, naming rule and clause, and writes nothing', async () => {
    const before = await record(c.clientId);
    const refused = await clients('move', c.clientId, '--profile', 'fapi1-advanced');
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('refused: FAPI1-ADV-5.2.2-5-registration [FAPI 1.0 Part 2 §5.2.2-5]');
    expect(refused.out).toContain(`not moved: client ${c.clientId} is refused by the registration stage of fapi1-advanced`);
    expect(await record(c.clientId)).toEqual(before);
    expect((await token(c)).status).toBe(200);
  });

  it('refuses a move to a profile the server leaves out, with the reason the server recorded, and writes nothing', async () => {
    const before = await record(c.clientId);
    const refused = await clients('move', c.clientId, '--profile', 'au-cdr');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/fapi_profile 'au-cdr' cannot be served: its discovery metadata is refused: AUCDR-/);
    expect(await record(c.clientId)).toEqual(before);
    // A record the server did not write whole is refused, never read as "everything is served".
    const file = join(dataDir, 'served.json');
    const kept = readFileSync(file, 'utf8');
    writeFileSync(file, '{"served": "all"}');
    try {
      const unreadable = await clients('move', c.clientId, '--profile', 'acme', '--dry-run');
      expect(unreadable.code).toBe(2);
      expect(unreadable.err).toContain('is not a record of served profiles');
    } finally {
      writeFileSync(file, kept);
    }
  });

  it('moves a client while the server runs: its next request is decided by the new profile', async () => {
    expect((await token(c)).status).toBe(200);
    const before = (await record(c.clientId))!;
    const dry = await clients('move', c.clientId, '--profile', 'acme', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('would move (dry run)');
    expect((await record(c.clientId))?.metadata.fapi_profile).toBeUndefined();

    const moved = await clients('move', c.clientId, '--profile', 'acme');
    expect(moved.code, moved.out + moved.err).toBe(0);
    expect(moved.out).toContain(`moved: client ${c.clientId}: fapi_profile (default) -> acme`);
    const refused = await token(c);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toBe('invalid_dpop_proof');
    expect(refused.json.error_description).toContain('FAPI2-SP-FINAL-5.4.1-1.2');
    // Only the profile changed: the rest of the record (metadata, registration access token) is kept.
    const after = (await record(c.clientId))!;
    expect(after).toEqual({ ...before, metadata: { ...before.metadata, fapi_profile: 'acme' } });
    expect((await clients('list')).out.split('\n').find((l) => l.startsWith(c.clientId))).toMatch(/ acme /);
  });

  it('moves it back with an RFC 7592 update, effective from the next request', async () => {
    const read = await c.request(`/register/${c.clientId}`, { headers: { Authorization: `Bearer ${registration.registration_access_token}` } });
    expect(read.json.fapi_profile).toBe('acme');
    const update = await c.request(`/register/${c.clientId}`, {
      method: 'PUT', headers: { Authorization: `Bearer ${registration.registration_access_token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...read.json, fapi_profile: 'fapi2-security' }),
    });
    expect(update.status, update.text).toBe(200);
    expect((await token(c)).status).toBe(200);
  });

  it('sets and removes the client\'s shadow profile; the server follows both', async () => {
    const set = await clients('move', c.clientId, '--shadow-profile', 'acme');
    expect(set.code, set.out + set.err).toBe(0);
    expect(set.out).toContain('fapi_shadow_profile (none) -> acme');
    expect((await token(c)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const shadow = () => as.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'shadow findings' && l.client_id === c.clientId);
    expect(shadow().map((l) => [l.shadow_profile, (l.shadow_violations as Array<{ rule: string }>).map((v) => v.rule)])).toEqual([['acme', ['FAPI2-SP-FINAL-5.4.1-1.2']]]);

    const removed = await clients('move', c.clientId, '--no-shadow');
    expect(removed.code).toBe(0);
    expect((await record(c.clientId))?.metadata.fapi_shadow_profile).toBeUndefined();
    expect((await token(c)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(shadow()).toHaveLength(1);
  });

  it('refuses what it cannot do (exit 2): a memory store, no store, an unknown client or profile, contradictory flags', async () => {
    const memory = await clients('move', c.clientId, '--profile', 'acme', '--store', 'memory');
    expect(memory.code).toBe(2);
    expect(memory.err).toContain('RFC 7592');
    const nowhere = await cli('clients', 'list', '--data-dir', tempDir());
    expect(nowhere.code).toBe(2);
    expect(nowhere.err).toContain('no store at');
    expect((await clients('move', 'no-such-client', '--profile', 'acme')).err).toContain("no client 'no-such-client'");
    const unknown = await clients('move', c.clientId, '--profile', 'no-such-profile');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("fapi_profile 'no-such-profile' is not loaded");
    expect((await clients('move', c.clientId, '--shadow-profile', 'acme', '--no-shadow')).code).toBe(2);
    expect((await clients('move', c.clientId)).code).toBe(2);
    expect((await clients('rename', c.clientId)).code).toBe(2);
  });
});
