/**
 * Echoing untrusted input in messages: a hostile key or value must come back bounded and
 * printable, so it can neither flood a response nor forge a line in a log that stores it.
 */

/**
 * Text as printable ASCII (anything else becomes '?', except the '…' that marks a cut and the '§'
 * of clause references), cut to `max` characters.
 */
export function printable(text: string, max = 256): string {
  const clean = text.replace(/[^\x20-\x7e\u00a7\u2026]/g, '?');
  return clean.length > max ? clean.slice(0, max) + '…' : clean;
}

/** A value shown in a message: printable, at most `max` characters, in quotes. */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return `'${printable(text, max)}'`;
}

/** How much of a hostile member name a pointer echoes. */
export const ECHO_MAX = 128;

/**
 * A member name as a JSON Pointer reference token (RFC 6901 §3). When echoing a hostile name, pass
 * a `max`: a longer name is cut and marked with '…', so the pointer locates the member by its start.
 */
export function pointerToken(key: string, max = Infinity): string {
  const token = key.replace(/~/g, '~0').replace(/\//g, '~1');
  return token.length > max ? token.slice(0, max) + '…' : token;
}

/** The reference tokens of a JSON pointer, unescaped (RFC 6901 §4). */
export function pointerToPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}
