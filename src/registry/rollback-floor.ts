/**
 * The rollback floor of signed bundle sources: the highest revision (and its digest) each source
 * has activated. In memory by default; kept in a file of the data directory when there is one, so
 * a restarted server refuses an older bundle than the one it last served, not only a running one.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FloorEntry {
  revision: number;
  digest: string;
}

export interface RollbackFloor {
  get(location: string): FloorEntry | undefined;
  set(location: string, entry: FloorEntry): void;
}

export class MemoryRollbackFloor implements RollbackFloor {
  private readonly entries = new Map<string, FloorEntry>();

  get(location: string): FloorEntry | undefined {
    return this.entries.get(location);
  }

  set(location: string, entry: FloorEntry): void {
    this.entries.set(location, entry);
  }
}

/** A JSON file `{location: {revision, digest}}`, rewritten whole (temp file and rename) on each change. */
export class FileRollbackFloor implements RollbackFloor {
  private entries: Record<string, FloorEntry>;

  constructor(readonly file: string) {
    this.entries = FileRollbackFloor.read(file);
  }

  private static read(file: string): Record<string, FloorEntry> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    const data = JSON.parse(text) as unknown;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${file}: not a rollback-floor file`);
    const out: Record<string, FloorEntry> = Object.create(null) as Record<string, FloorEntry>;
    for (const [location, entry] of Object.entries(data as Record<string, unknown>)) {
      const e = entry as Partial<FloorEntry>;
      if (!Number.isInteger(e?.revision) || typeof e?.digest !== 'string') throw new Error(`${file}: malformed entry for ${location}`);
      out[location] = { revision: e.revision as number, digest: e.digest };
    }
    return out;
  }

  get(location: string): FloorEntry | undefined {
    return Object.hasOwn(this.entries, location) ? this.entries[location] : undefined;
  }

  set(location: string, entry: FloorEntry): void {
    this.entries = { ...this.entries, [location]: entry };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.entries, null, 2), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
