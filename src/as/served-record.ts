/**
 * The server's last judgement of which loaded profiles it serves, kept in its data directory
 * (served.json) for tools that work beside it without its keys and TLS set-up: `clients move`
 * refuses to move a client to a profile the server has left out, with the server's own reason.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServedSet } from './served.js';

const FILE = 'served.json';
const MAX_BYTES = 1024 * 1024;

export interface ServedRecord {
  served: string[];
  excluded: Record<string, string[]>;
}

/** Written whole and renamed into place, so a reader never sees half a record. */
export function writeServedRecord(dataDir: string, set: ServedSet): void {
  const record: ServedRecord = { served: set.profiles.map((p) => p.id), excluded: Object.fromEntries(set.excluded) };
  const file = join(dataDir, FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The record, undefined when the server never wrote one; an unreadable record is an error, not "all served". */
export function readServedRecord(dataDir: string): ServedRecord | undefined {
  const file = join(dataDir, FILE);
  if (!existsSync(file)) return undefined;
  if (statSync(file).size > MAX_BYTES) throw new Error(`${file} is larger than ${MAX_BYTES} bytes`);
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<ServedRecord>;
  const excluded = data.excluded;
  const valid = Array.isArray(data.served) && data.served.every((id) => typeof id === 'string')
    && typeof excluded === 'object' && excluded !== null && !Array.isArray(excluded)
    && Object.values(excluded).every((why) => Array.isArray(why) && why.every((w) => typeof w === 'string'));
  if (!valid) throw new Error(`${file} is not a record of served profiles`);
  return { served: data.served as string[], excluded: excluded as Record<string, string[]> };
}
