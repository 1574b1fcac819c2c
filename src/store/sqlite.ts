/**
 * The durable embedded store (the default): one SQLite file in the data directory, through
 * better-sqlite3. Registered clients, grants and refresh tokens survive a restart; single use is
 * one UPDATE … RETURNING and first-writer-wins one INSERT … ON CONFLICT, each atomic in SQLite.
 * WAL journal with synchronous=NORMAL: a committed write survives a crash of the process; a
 * power loss may lose the last transactions (SQLite's documented trade-off for WAL).
 */
import Database from 'better-sqlite3';
import { expiryOf, nowSeconds, StoreFullError, type Consumed, type Kind, type Store } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_expiry ON records (expires_at) WHERE expires_at > 0;
`;

/** A live record: it never expires (0) or expires later than now. */
const LIVE = '(expires_at = 0 OR expires_at > @now)';

export interface SqliteStoreOptions {
  /** Seconds between sweeps of expired records (default 60; 0: only on demand). */
  sweepSeconds?: number;
  /** Most bytes the database file may hold (default 4 GiB); past it, writes fail with StoreFullError. */
  maxBytes?: number;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly statements: ReturnType<SqliteStore['prepare']>;

  constructor(readonly file: string, options: SqliteStoreOptions = {}) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    const pageSize = this.db.pragma('page_size', { simple: true }) as number;
    this.db.pragma(`max_page_count = ${Math.max(1, Math.floor((options.maxBytes ?? 4 * 1024 ** 3) / pageSize))}`);
    this.db.exec(SCHEMA);
    this.statements = this.prepare();
    const every = options.sweepSeconds ?? 60;
    if (every > 0) {
      this.timer = setInterval(() => void this.sweep(), every * 1000);
      this.timer.unref();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      set: db.prepare('INSERT INTO records (kind, key, value, expires_at) VALUES (@kind, @key, @value, @expires) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, consumed = 0'),
      get: db.prepare(`SELECT value FROM records WHERE kind = @kind AND key = @key AND ${LIVE}`).pluck(),
      peek: db.prepare(`SELECT value, consumed FROM records WHERE kind = @kind AND key = @key AND ${LIVE}`),
      consume: db.prepare(`UPDATE records SET consumed = consumed + 1 WHERE kind = @kind AND key = @key AND ${LIVE} RETURNING value, consumed`),
      // An expired row with the same key is replaced; a live one wins (no change, so changes = 0).
      add: db.prepare(`INSERT INTO records (kind, key, value, expires_at) VALUES (@kind, @key, @value, @expires) ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, consumed = 0 WHERE NOT (records.expires_at = 0 OR records.expires_at > @now)`),
      delete: db.prepare('DELETE FROM records WHERE kind = @kind AND key = @key'),
      list: db.prepare(`SELECT key, value FROM records WHERE kind = @kind AND ${LIVE} ORDER BY key LIMIT @limit`),
      sweep: db.prepare('DELETE FROM records WHERE expires_at > 0 AND expires_at <= @now'),
    };
  }

  async set(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.write(() => this.statements.set.run({ kind, key, value: JSON.stringify(value), expires: expiryOf(ttlSeconds) }));
  }

  /** A write the file has no room for is StoreFullError, as in the memory store (the server answers 503). */
  private write<T>(run: () => T): T {
    try {
      return run();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_FULL') throw new StoreFullError(`the store ${this.file} is full`);
      throw e;
    }
  }

  async get<T>(kind: Kind, key: string): Promise<T | undefined> {
    const text = this.statements.get.get({ kind, key, now: nowSeconds() }) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  async peek<T>(kind: Kind, key: string): Promise<{ value: T; consumed: boolean } | undefined> {
    const row = this.statements.peek.get({ kind, key, now: nowSeconds() }) as { value: string; consumed: number } | undefined;
    return row ? { value: JSON.parse(row.value) as T, consumed: row.consumed > 0 } : undefined;
  }

  async consume<T>(kind: Kind, key: string): Promise<Consumed<T> | undefined> {
    const row = this.statements.consume.get({ kind, key, now: nowSeconds() }) as { value: string; consumed: number } | undefined;
    return row ? { value: JSON.parse(row.value) as T, replayed: row.consumed > 1 } : undefined;
  }

  async add(kind: Kind, key: string, value: unknown, ttlSeconds: number): Promise<boolean> {
    const now = nowSeconds();
    return this.write(() => this.statements.add.run({ kind, key, value: JSON.stringify(value), expires: expiryOf(ttlSeconds, now), now })).changes === 1;
  }

  async delete(kind: Kind, key: string): Promise<void> {
    this.statements.delete.run({ kind, key });
  }

  async list<T>(kind: Kind, limit: number): Promise<Array<{ key: string; value: T }>> {
    const rows = this.statements.list.all({ kind, now: nowSeconds(), limit }) as Array<{ key: string; value: string }>;
    return rows.map((row) => ({ key: row.key, value: JSON.parse(row.value) as T }));
  }

  async sweep(): Promise<number> {
    return this.statements.sweep.run({ now: nowSeconds() }).changes;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.db.open) this.db.close();
  }
}
