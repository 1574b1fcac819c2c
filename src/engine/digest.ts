import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level: the same document always hashes the same, and two
 * documents that mean different things never serialize alike. JSON.stringify writes NaN and the
 * infinities as null and drops undefined, so those (which no profile may hold) are refused instead
 * of being folded into another value. An object member whose value is undefined is absent, as in JSON.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value !== 'object') throw new TypeError(`canonical JSON: a ${typeof value} is not a JSON value`);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
}

export function sha256Digest(value: unknown): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(value)).digest('hex');
}
