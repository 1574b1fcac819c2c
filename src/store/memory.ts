/** The in-memory store: for tests, benchmarks and `--store memory`. Bounded in entries; expired entries are swept. */
import { expiryOf, nowSeconds, StoreFullError, type Consumed, type Kind, type Store } from './store.js';

interface Entry {
  value: unknown;
  expiresAt: number;
  consumed: boolean;
}

export interface MemoryStoreOptions {
  /** Most records held at once (default 1,000,000); past it, writes fail with StoreFullError. */
  maxEntries?: number;
  /** Seconds between sweeps of expired records (default 10; 0: only on demand). */
  sweepSeconds?: number;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class MemoryStore implements Store {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private fullSweepAt = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? 1_000_000;
    const every = options.sweepSeconds ?? 10;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep(), every * 1000);
      this.timer.unref();
    }
  }

  private live(kind: Kind, key: string, now = nowSeconds()): Entry | undefined {
    const id = `${kind}\u0000${key}`;
    const entry = this.entries.get(id);
    if (entry && entry.expiresAt !== 0 && entry.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  private put(kind: Kind, key: string, value: unknown, ttlSeconds: number): void {
    const id = `${kind}\u0000${key}`;
    if (!this.entries.has(id) && this.entries.size >= this.maxEntries) {
      // At most one sweep a second while full: each walks every entry, and a full store may be under a flood.
      if (Date.now() - this.fullSweepAt >= 1000) {
        this.fullSweepAt = Date.now();
        void this.sweep();
      }
      if (this.entries.size >= this.maxEntries) throw new StoreFullError(`the in-memory store holds ${this.maxEntries} records`);
    }
    // One copy on write, frozen: readers share it, and a caller that tried to change it would fail loudly.
    this.entries.set(id, { value: deepFreeze(structuredClone(value)), expiresAt: expiryOf(ttlSeconds), consumed: false });
  }

  async set(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.put(kind, key, value, ttlSeconds);
  }

  async get<T>(kind: Kind, key: string): Promise<T | undefined> {
    const entry = this.live(kind, key);
    return entry ? (entry.value as T) : undefined;
  }

  async peek<T>(kind: Kind, key: string): Promise<{ value: T; consumed: boolean } | undefined> {
    const entry = this.live(kind, key);
    return entry ? { value: entry.value as T, consumed: entry.consumed } : undefined;
  }

  async consume<T>(kind: Kind, key: string): Promise<Consumed<T> | undefined> {
    const entry = this.live(kind, key);
    if (!entry) return undefined;
    const replayed = entry.consumed;
    entry.consumed = true;
    return { value: entry.value as T, replayed };
  }

  async add(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    if (this.live(kind, key)) return false;
    this.put(kind, key, value, ttlSeconds);
    return true;
  }

  async delete(kind: Kind, key: string): Promise<void> {
    this.entries.delete(`${kind}\u0000${key}`);
  }

  async list<T>(kind: Kind, limit: number): Promise<Array<{ key: string; value: T }>> {
    const prefix = `${kind}\u0000`;
    const now = nowSeconds();
    const keys = [...this.entries.keys()].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length)).sort();
    const found: Array<{ key: string; value: T }> = [];
    for (const key of keys) {
      if (found.length >= limit) break;
      const entry = this.live(kind, key, now);
      if (entry) found.push({ key, value: entry.value as T });
    }
    return found;
  }

  async sweep(): Promise<number> {
    const now = nowSeconds();
    let removed = 0;
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) {
        this.entries.delete(id);
        removed++;
      }
    }
    return removed;
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.entries.clear();
  }
}
