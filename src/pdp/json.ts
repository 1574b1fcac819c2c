/**
 * Request bodies as JSON, with what JSON.parse lacks: UTF-8 only, a nesting bound checked before
 * parsing, and syntax errors described in our own words.
 *
 * Depth first: V8 builds the whole value before anything can measure it, so a megabyte of '['
 * cost hundreds of milliseconds and hundreds of megabytes before its 400. One pass over the bytes
 * (tracking strings and escapes) refuses it at the first bracket past the limit instead, and costs a
 * valid body of the same size about as much as its parse.
 *
 * Syntax errors: V8's messages quote the input (a NUL byte, a CR LF, any bytes at all), so they are
 * never passed on; on failure a second pass finds the first offending byte and says what was expected.
 */
import { isUtf8 } from 'node:buffer';
import { quote } from '../engine/text.js';
import { HttpError } from './errors.js';

const invalidJson = (message: string) => new HttpError(400, 'invalid_json', message);

/** A UTF-8 byte order mark: RFC 8259 §8.1 lets a parser ignore it, and we do. */
const hasBom = (b: Buffer) => b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;

export function parseJson(body: Buffer, maxDepth: number): unknown {
  if (body.length === 0) throw invalidJson('request body is empty; send a JSON object');
  if (!isUtf8(body)) throw invalidJson('request body is not valid UTF-8');
  const start = hasBom(body) ? 3 : 0;
  const deep = firstTooDeep(body, start, maxDepth);
  if (deep >= 0) throw invalidJson(`JSON nesting is deeper than ${maxDepth} (at byte ${deep})`);
  try {
    return JSON.parse(body.toString('utf8', start));
  } catch {
    throw invalidJson(`request body is not valid JSON: ${syntaxError(body, start)}`);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The offset of the first '[' or '{' nested deeper than `max`, or -1. Only brackets outside strings
 * count; a backslash in a string hides the byte after it. The scan stops where more brackets have
 * closed than opened: the JSON text is invalid there, and JSON.parse stops at or before that byte.
 */
export function firstTooDeep(b: Buffer, from: number, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = from; i < b.length; i++) {
    const c = b[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if ((c === 0x5d || c === 0x7d) && --depth < 0) {
      return -1;
    }
  }
  return -1;
}

class SyntaxAt extends Error {
  constructor(readonly at: number, readonly what: string) {
    super(what);
  }
}

/** Sticky patterns, matched at the current offset. */
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL = /true|false|null/y;
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

/**
 * RFC 8259 grammar, to locate the first error in a body JSON.parse refused: "<what> at byte <n>",
 * the offset counted from the first byte of the body. The body is read as latin1, one character per
 * byte, so offsets are byte offsets (UTF-8 sequences only ever occur inside strings, where any byte
 * from 0x20 up is allowed). Recursion is bounded by the nesting check that ran first. Should
 * JSON.parse ever refuse what this accepts, the message says so without a place.
 */
export function syntaxError(body: Buffer, from: number): string {
  const s = body.toString('latin1');
  let i = from;
  const fail = (expected: string): never => {
    throw new SyntaxAt(i, `${i < s.length ? `unexpected ${byteName(s.charCodeAt(i))}` : 'unexpected end of input'}, expected ${expected}`);
  };
  const space = () => {
    while (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r') i++;
  };
  const sticky = (pattern: RegExp): boolean => {
    pattern.lastIndex = i;
    if (!pattern.test(s)) return false;
    i = pattern.lastIndex;
    return true;
  };
  const string = (): void => {
    for (i++; s[i] !== '"'; ) {
      if (i >= s.length) fail('the closing \'"\' of a string');
      const c = s.charCodeAt(i);
      if (c < 0x20) throw new SyntaxAt(i, `${byteName(c)} in a string: control characters must be escaped`);
      i++;
      if (c === BACKSLASH && !sticky(ESCAPE)) fail('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t, or \\u and four hex digits');
    }
    i++;
  };
  const members = (close: string, member: () => void, expected: string): void => {
    i++;
    space();
    if (s[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      space();
      if (s[i] === close) break;
      if (s[i] !== ',') fail(expected);
      i++;
    }
    i++;
  };
  const value = (): void => {
    space();
    if (s[i] === '{') members('}', member, "',' or '}'");
    else if (s[i] === '[') members(']', value, "',' or ']'");
    else if (s[i] === '"') string();
    else if (!sticky(LITERAL) && !sticky(NUMBER)) fail('a value');
  };
  const member = (): void => {
    space();
    if (s[i] !== '"') fail('a member name in double quotes');
    string();
    space();
    if (s[i] !== ':') fail("':' after a member name");
    i++;
    value();
  };
  try {
    value();
    space();
    if (i < s.length) fail('the end of the body after the JSON value');
  } catch (e) {
    if (e instanceof SyntaxAt) return `${e.what} at byte ${e.at}`;
    throw e;
  }
  return 'JSON.parse refused it, and the error could not be located';
}

/** A printable character in quotes, anything else by its value: the byte itself is never echoed. */
function byteName(c: number): string {
  return c >= 0x20 && c <= 0x7e ? `character ${quote(String.fromCharCode(c))}` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}
