/**
 * Comparison of http(s) URIs as RFC 9449 §4.3 step 9 compares a DPoP proof's htu with the request:
 * query and fragment are ignored, and both sides are brought to the normal form of RFC 3986
 * §6.2.2 (syntax-based: case of scheme and host, percent-encoding, dot segments) and §6.2.3
 * (scheme-based: default port, empty path). Pure string work: no DNS, no IDNA, no I/O.
 *
 * Anything that is not an absolute http or https URI in RFC 3986 syntax is refused rather than
 * repaired (a WHATWG-style parser would turn `https:\\as.example` into `https://as.example/`):
 * a value an attacker shaped to be read two ways must not compare equal to the real one. So is
 * userinfo, which RFC 9110 §4.2.4 forbids in http(s) URIs.
 */
import { MalformedFactError } from './errors.js';

/** Longer values are refused: a request URI the PEP reports is bounded at 2,048 characters. */
const MAX_LENGTH = 8192;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };
/** scheme "://" authority path, then optional query and fragment (RFC 3986 Appendix B, narrowed to http(s)). */
const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:[?#][\s\S]*)?$/;
const PATH = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/;
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const IP_LITERAL = /^\[[0-9A-Fa-f:.]+\]$/;
const PORT = /^[0-9]{0,5}$/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * True when `a` and `b` name the same http(s) resource once query and fragment are dropped and both
 * are normalised. `pointers` name the facts for the error raised when either is not such a URI.
 */
export function sameHttpUri(a: string, b: string, pointers: [string?, string?] = []): boolean {
  // Identical text names the same resource under any reading: the common case costs no parsing.
  return a === b || httpTarget(a, pointers[0]) === httpTarget(b, pointers[1]);
}

/** The RFC 3986 normal form of an absolute http(s) URI, without query and fragment. */
export function httpTarget(uri: string, pointer?: string): string {
  const malformed = (why: string) => new MalformedFactError(`not an absolute http(s) URI: ${why}`, pointer);
  if (uri.length > MAX_LENGTH) throw malformed(`longer than ${MAX_LENGTH} characters`);
  const shape = SHAPE.exec(uri);
  if (!shape) throw malformed('no scheme://authority');
  const [, rawScheme, authority, rawPath] = shape as unknown as [string, string, string, string];
  const scheme = rawScheme.toLowerCase();
  const defaultPort = DEFAULT_PORTS[scheme];
  if (defaultPort === undefined) throw malformed(`scheme is not http or https`);
  if (authority.includes('@')) throw malformed('userinfo is not allowed (RFC 9110 §4.2.4)');
  const { host, port } = splitAuthority(authority, malformed);
  if (!PATH.test(rawPath)) throw malformed('the path has characters outside RFC 3986');
  const path = removeDotSegments(normalizePercent(rawPath)) || '/';
  const portPart = port === '' || Number(port) === Number(defaultPort) ? '' : `:${Number(port)}`;
  return `${scheme}://${host}${portPart}${path}`;
}

function splitAuthority(authority: string, malformed: (why: string) => Error): { host: string; port: string } {
  const close = authority.startsWith('[') ? authority.indexOf(']') + 1 : 0;
  const colon = authority.indexOf(':', close);
  const rawHost = colon < 0 ? authority : authority.slice(0, colon);
  const port = colon < 0 ? '' : authority.slice(colon + 1);
  if (!PORT.test(port) || Number(port) > 65535) throw malformed('invalid port');
  if (!IP_LITERAL.test(rawHost) && !REG_NAME.test(rawHost)) throw malformed('invalid host');
  // Lower-case everything but the hex digits of percent-encodings, which normalise to upper case.
  const host = rawHost.includes('%')
    ? normalizePercent(rawHost).replace(/%[0-9A-F]{2}|[^%]+/g, (m) => (m.startsWith('%') ? m : m.toLowerCase()))
    : rawHost.toLowerCase();
  return { host, port };
}

/** RFC 3986 §6.2.2.1–2: upper-case hex digits; decode octets that are unreserved characters. */
function normalizePercent(text: string): string {
  if (!text.includes('%')) return text;
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/** RFC 3986 §5.2.4, on a path that starts with '/' or is empty. */
function removeDotSegments(path: string): string {
  if (!/(^|\/)\.\.?(\/|$)/.test(path)) return path;
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return path === '' ? '' : `/${out.join('/')}`;
}
