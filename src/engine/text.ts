/**
 * Echoing untrusted input in messages: a hostile key or value must come back bounded and
 * printable, so it can neither flood a response nor forge a line in a log that stores it.
 */

/**
 * Text as printable ASCII (anything else becomes '?', except the '…' that marks a cut), cut to
 * `max` characters.
 */
export function printable(text: string, max = 256): string {
  const clean = text.replace(/[^\x20-\x7e\u2026]/g, '?');
  return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

/** A value shown in a message: printable, at most `max` characters, in quotes. */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `'${printable(text, max)}'`;
}

/**
 * A member name as a JSON Pointer reference token (RFC 6901 §3). A name longer than `max` is cut
 * and marked with '…': the pointer then locates the member by its start rather than echo it whole.
 */
export function pointerToken(key: string, max = 128): string {
  const token = key.replace(/~/g, '~0').replace(/\//g, '~1');
  return token.length > max ? token.slice(0, max) + '…' : token;
}
