/**
 * Content-Digest (RFC 9530 §2): a digest of the message content exactly as sent (after any
 * content coding), carried as a Dictionary from hash algorithm key to Byte Sequence.
 *
 * Only the registry's "Active" algorithms, sha-256 and sha-512 (RFC 9530 §7.2), are made or
 * checked. The "Deprecated" ones (md5, sha, unixsum, unixcksum, adler, crc32c) must not be relied
 * on where an attacker can act (§5), and a signed request is such a place, so they are ignored as
 * unknown keys are (§2 lets a recipient ignore any digest). FAPI 2.0 HTTP Signatures §5.3.1.1 item
 * 8 and §5.3.2.1 item 7 ask for this field, covered by the signature, whenever there is a body.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isInnerList, parseDictionary, serializeDictionary, StructuredFieldError, type Dictionary } from './structured-fields.js';

const DIGEST_ALGORITHMS = ['sha-256', 'sha-512'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const HASH: Readonly<Record<DigestAlgorithm, string>> = { 'sha-256': 'sha256', 'sha-512': 'sha512' };

/** A Content-Digest has at most one member per registered algorithm; anything longer is not one. */
const LIMITS = { maxChars: 2048, maxMembers: 8, maxListItems: 0, maxParams: 4 };

/** The Content-Digest field value for `body`, one member per algorithm, in the order given. */
export function contentDigest(body: Uint8Array, algorithms: readonly DigestAlgorithm[] = ['sha-256']): string {
  const dict: Dictionary = new Map();
  for (const alg of algorithms) dict.set(alg, { value: new Uint8Array(digest(alg, body)), params: [] });
  return serializeDictionary(dict);
}

const digest = (alg: DigestAlgorithm, body: Uint8Array) => createHash(HASH[alg]).update(body).digest();

export type ContentDigestCheck =
  /** Every digest made with an algorithm we rely on matched, and there was at least one. */
  | { result: 'match'; algorithms: DigestAlgorithm[] }
  /** A digest with an algorithm we rely on does not match the body. */
  | { result: 'mismatch'; algorithm: DigestAlgorithm }
  /** Well formed, but no member uses an algorithm we rely on; the keys seen are listed. */
  | { result: 'unsupported'; algorithms: string[] }
  | { result: 'malformed'; detail: string }
  | { result: 'missing' };

/**
 * Checks a received Content-Digest field (one value or several field lines) against the body.
 * Every member must be a Byte Sequence; every member whose algorithm is in `accept` must match,
 * and one must. Never throws.
 */
export function checkContentDigest(field: string | readonly string[] | undefined, body: Uint8Array, accept: readonly DigestAlgorithm[] = DIGEST_ALGORITHMS): ContentDigestCheck {
  if (field === undefined || (typeof field !== 'string' && field.length === 0)) return { result: 'missing' };
  let dict: Dictionary;
  try {
    dict = parseDictionary(field, LIMITS);
  } catch (e) {
    if (e instanceof StructuredFieldError) return { result: 'malformed', detail: e.message };
    throw e;
  }
  if (dict.size === 0) return { result: 'malformed', detail: 'the field has no members' };
  const matched: DigestAlgorithm[] = [];
  for (const [key, member] of dict) {
    if (isInnerList(member) || !(member.value instanceof Uint8Array)) return { result: 'malformed', detail: `the member "${key}" is not a byte sequence` };
    const alg = accept.find((a) => a === key);
    if (!alg) continue;
    const expected = digest(alg, body);
    if (member.value.length !== expected.length || !timingSafeEqual(member.value, expected)) return { result: 'mismatch', algorithm: alg };
    matched.push(alg);
  }
  return matched.length > 0 ? { result: 'match', algorithms: matched } : { result: 'unsupported', algorithms: [...dict.keys()] };
}
