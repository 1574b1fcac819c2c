import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../src/store/memory.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { StoreFullError, type Store } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'fapi-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const implementations: Array<[string, () => Store]> = [
  ['memory', () => new MemoryStore({ sweepSeconds: 0 })],
  ['sqlite', () => new SqliteStore(join(dir, `store-${n++}.sqlite`), { sweepSeconds: 0 })],
];

describe.each(implementations)('%s store', (_name, make) => {
  let store: Store;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2027-01-01T00:00:00Z'));
    store = make();
  });
  afterEach(async () => {
    await store.close();
    vi.useRealTimers();
  });

  it('keeps records until they expire', async () => {
    await store.set('client', 'c1', { client_id: 'c1', n: 1 }, 0);
    await store.set('code', 'k', { a: [1, 2] }, 60);
    expect(await store.get('client', 'c1')).toEqual({ client_id: 'c1', n: 1 });
    expect(await store.get('code', 'k')).toEqual({ a: [1, 2] });
    expect(await store.get('grant', 'k')).toBeUndefined();
    vi.setSystemTime(new Date('2027-01-01T00:00:59Z'));
    expect(await store.get('code', 'k')).toBeDefined();
    vi.setSystemTime(new Date('2027-01-01T00:01:00Z'));
    expect(await store.get('code', 'k')).toBeUndefined();
    expect(await store.get('client', 'c1')).toBeDefined();
  });

  it('keeps what was written: neither the writer changing its value nor a reader can change the record', async () => {
    const value = { list: [1] };
    await store.set('grant', 'g', value, 0);
    value.list.push(2);
    const read = await store.get<{ list: number[] }>('grant', 'g');
    try {
      read!.list.push(3);
    } catch {
      // the memory store hands out frozen records
    }
    expect(await store.get('grant', 'g')).toEqual({ list: [1] });
  });

  it('consumes once; a second consume is a replay until expiry; unknown is undefined', async () => {
    await store.set('code', 'k', { v: 1 }, 60);
    expect(await store.peek('code', 'k')).toEqual({ value: { v: 1 }, consumed: false });
    expect(await store.consume('code', 'k')).toEqual({ value: { v: 1 }, replayed: false });
    expect(await store.peek('code', 'k')).toEqual({ value: { v: 1 }, consumed: true });
    expect(await store.consume('code', 'k')).toEqual({ value: { v: 1 }, replayed: true });
    expect(await store.consume('code', 'other')).toBeUndefined();
    vi.setSystemTime(new Date('2027-01-01T00:02:00Z'));
    expect(await store.consume('code', 'k')).toBeUndefined();
  });

  it('lets exactly one of many concurrent consumers win', async () => {
    await store.set('pushed_request', 'r', { v: 1 }, 60);
    const results = await Promise.all(Array.from({ length: 50 }, () => store.consume('pushed_request', 'r')));
    expect(results.filter((r) => r && !r.replayed)).toHaveLength(1);
  });

  it('adds only when no live record holds the key (replay caches)', async () => {
    expect(await store.add('jti', 'c1:j1', 1, 30)).toBe(true);
    expect(await store.add('jti', 'c1:j1', 1, 30)).toBe(false);
    expect(await store.add('dpop_jti', 'c1:j1', 1, 30)).toBe(true);
    vi.setSystemTime(new Date('2027-01-01T00:00:31Z'));
    expect(await store.add('jti', 'c1:j1', 1, 30)).toBe(true);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.add('jti', 'race', 1, 30)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('deletes and sweeps', async () => {
    await store.set('grant', 'g', 1, 0);
    await store.delete('grant', 'g');
    expect(await store.get('grant', 'g')).toBeUndefined();
    await store.set('code', 'a', 1, 10);
    await store.set('code', 'b', 1, 100);
    vi.setSystemTime(new Date('2027-01-01T00:00:11Z'));
    expect(await store.sweep()).toBe(1);
    expect(await store.get('code', 'b')).toBe(1);
  });

  it('lists the live records of one kind in key order, up to a limit', async () => {
    await store.set('client', 'b', { n: 2 }, 0);
    await store.set('client', 'a', { n: 1 }, 0);
    await store.set('client', 'c', { n: 3 }, 30);
    await store.set('grant', 'a', { other: true }, 0);
    expect(await store.list('client', 10)).toEqual([{ key: 'a', value: { n: 1 } }, { key: 'b', value: { n: 2 } }, { key: 'c', value: { n: 3 } }]);
    expect((await store.list('client', 2)).map((r) => r.key)).toEqual(['a', 'b']);
    vi.setSystemTime(new Date('2027-01-01T00:00:30Z'));
    expect((await store.list('client', 10)).map((r) => r.key)).toEqual(['a', 'b']);
    expect(await store.list('code', 10)).toEqual([]);
  });

  it('replaces a record on set, and a replaced record can be consumed afresh', async () => {
    await store.set('code', 'k', 1, 60);
    await store.consume('code', 'k');
    await store.set('code', 'k', 2, 60);
    expect(await store.consume('code', 'k')).toEqual({ value: 2, replayed: false });
  });
});

describe('durability and bounds', () => {
  it('sqlite: what was written survives closing and reopening the file', async () => {
    const file = join(dir, 'durable.sqlite');
    const first = new SqliteStore(file, { sweepSeconds: 0 });
    await first.set('client', 'c1', { client_id: 'c1' }, 0);
    await first.set('refresh_token', 'rt', { client_id: 'c1' }, 3600);
    await first.close();
    const second = new SqliteStore(file, { sweepSeconds: 0 });
    expect(await second.get('client', 'c1')).toEqual({ client_id: 'c1' });
    expect(await second.get('refresh_token', 'rt')).toEqual({ client_id: 'c1' });
    await second.close();
  });

  it('memory: refuses to grow past its bound instead of forgetting replays', async () => {
    const store = new MemoryStore({ maxEntries: 3, sweepSeconds: 0 });
    await store.add('jti', 'a', 1, 60);
    await store.add('jti', 'b', 1, 60);
    await store.add('jti', 'c', 1, 60);
    await expect(store.add('jti', 'd', 1, 60)).rejects.toBeInstanceOf(StoreFullError);
    await store.set('jti', 'a', 2, 60); // replacing an existing key is fine
    expect(await store.add('jti', 'a', 1, 60)).toBe(false);
    await store.close();
  });

  it('memory: while full, sweeps at most once a second, and takes new records once expired ones are swept', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date('2027-01-01T00:00:00Z'));
      const store = new MemoryStore({ maxEntries: 2, sweepSeconds: 0 });
      const sweep = vi.spyOn(store, 'sweep');
      await store.add('jti', 'a', 1, 1);
      await store.add('jti', 'b', 1, 60);
      for (let i = 0; i < 5; i++) await expect(store.add('jti', `x${i}`, 1, 60)).rejects.toBeInstanceOf(StoreFullError);
      expect(sweep).toHaveBeenCalledTimes(1);
      vi.setSystemTime(new Date('2027-01-01T00:00:02Z'));
      // 'a' expired: the next full write sweeps again (a second has passed) and then fits.
      await expect(store.add('jti', 'c', 1, 60)).resolves.toBe(true);
      expect(sweep).toHaveBeenCalledTimes(2);
      await store.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sqlite: refuses to grow past its byte budget with StoreFullError, and still serves what it holds', async () => {
    const store = new SqliteStore(join(dir, 'small.sqlite'), { sweepSeconds: 0, maxBytes: 64 * 1024 });
    const big = 'x'.repeat(4000);
    let refused: unknown;
    for (let i = 0; i < 100 && !refused; i++) {
      try {
        await store.add('jti', `k${i}`, big, 60);
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toBeInstanceOf(StoreFullError);
    expect(await store.get('jti', 'k0')).toBe(big);
    await store.close();
  });
});
