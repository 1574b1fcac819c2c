/**
 * HTTP Message Signatures (RFC 9421) as the FAPI 2.0 HTTP Signatures profile (draft -01 §5.3)
 * uses them: a client signs its resource request, the resource server verifies it and signs its
 * response, linked to the request with `;req` components; the client verifies that response.
 *
 * What is here, by RFC 9421 section:
 * - §2.1 HTTP fields: lower-case names; several field lines trimmed, obs-fold unfolded and joined
 *   with ", "; the `req` flag (§2.4), `bs` (§2.1.3), and `sf`/`key` (§2.1.1, §2.1.2) for the
 *   Dictionary fields this module knows: Signature, Signature-Input, Content-Digest.
 * - §2.2 derived components: @method, @target-uri, @authority, @scheme, @path, @query,
 *   @query-param, @status. Not @request-target (not recommended beyond HTTP/1.1, unused by FAPI).
 * - §2.3 signature parameters created, expires, keyid, alg, nonce, tag (others are kept as sent).
 * - §2.5 the signature base, with every error the section names; §3.1/§3.2 signing and verifying,
 *   §3.2.1 application requirements (tag, required components, created window, expiry).
 * - §3.3 algorithms: rsa-pss-sha512, ecdsa-p256-sha256 (r||s, 64 octets), ed25519, and by §3.3.7
 *   the JWS algorithm PS256, which FAPI 2.0 SP §5.4.1 lists and the registry has no name for.
 *   Not rsa-v1_5-sha256 (FAPI 2.0 forbids PKCS#1 v1.5), hmac-sha256 (a shared secret gives no
 *   non-repudiation), ecdsa-p384-sha384 (not in the FAPI list).
 * - §4 Signature-Input and Signature, several signatures by label (a label in only one of the two
 *   fields, or repeated, is malformed).
 * Not here: trailers (`tr`), Accept-Signature (§5), `sf` for fields of unknown type.
 *
 * Keys are JWKs: `keyid` selects by `kid`; where kids repeat, the key type, curve and `alg` decide
 * (FAPI 2.0 SP §5.4.3); RSA keys under 2048 bits are refused (§5.4.1). The algorithm comes from the
 * `alg` parameter, the key's `alg` or its type, and must be in the caller's allow-list, which may
 * use JWS names (`ES256` is ecdsa-p256-sha256, `EdDSA` is ed25519, `PS512` is rsa-pss-sha512).
 * The FAPI presets at the end say what each side covers and requires (§5.3.1.1-§5.3.2.2).
 *
 * Verification never throws for what a message carries: every refusal is a result with a reason.
 * Signing throws HttpSignatureError, because a signer's components and keys are its own choice.
 */
import { KeyObject, webcrypto } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { checkContentDigest, type ContentDigestCheck } from './content-digest.js';
import { jwkThumbprint, KeyCache, measureKey } from './jwk.js';
import {
  DEFAULT_SF_LIMITS, isInnerList, parseDictionary, serializeDictionary, serializeInnerList, serializeItem, serializeKey, serializeMember,
  StructuredFieldError, type BareItem, type Dictionary, type InnerList, type Item, type Parameters,
} from './structured-fields.js';

// ---------------------------------------------------------------------------------------------
// Messages

/** Field name → value, or several field lines in order. Names match case-insensitively. */
export type HttpFields = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface HttpRequestMessage {
  method: string;
  /** The absolute target URI (RFC 9110 §7.1), e.g. https://as.example/api/accounts?x=1. */
  targetUri: string;
  headers: HttpFields;
}

export interface HttpResponseMessage {
  status: number;
  headers: HttpFields;
}

export type HttpMessage = HttpRequestMessage | HttpResponseMessage;

const isRequest = (m: HttpMessage): m is HttpRequestMessage => 'method' in m;

/**
 * Node's `req.headers` keeps only the first of some repeated fields (Authorization among them);
 * its `rawHeaders` keeps every line. This groups them by lower-case name, lines in order.
 */
export function fieldsFromRawHeaders(raw: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < raw.length; i += 2) (out[(raw[i] as string).toLowerCase()] ??= []).push(raw[i + 1] as string);
  return out;
}

/** The lines of one field, or undefined when it is absent. Anything but strings is ignored, whatever the types say. */
function fieldLines(fields: HttpFields, name: string): string[] | undefined {
  let out: string[] | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (key.toLowerCase() !== name) continue;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const v of values) if (typeof v === 'string') (out ??= []).push(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Limits: what a message may ask of us before we refuse it

export const LIMITS = {
  /** Signature-Input and Signature, each, all lines together. */
  fieldChars: 8192,
  signatures: 8,
  components: 32,
  params: 16,
  /** One component value, and the whole signature base. */
  valueChars: 16_384,
  baseChars: 65_536,
  fieldLines: 64,
  /** Candidate keys tried for one signature. */
  keys: 10,
} as const;

const SF_LIMITS = { maxChars: LIMITS.fieldChars, maxMembers: LIMITS.signatures, maxListItems: LIMITS.components, maxParams: LIMITS.params };

// ---------------------------------------------------------------------------------------------
// Component identifiers

/** A component identifier: a derived component name (`@method`) or a lower-case field name, and its parameters in order. */
export interface ComponentId {
  name: string;
  params?: { req?: true; key?: string; name?: string; sf?: true; bs?: true };
}

/** A bare name, or a name with parameters. */
export type ComponentSpec = string | ComponentId;

function toItem(spec: ComponentSpec): Item {
  if (typeof spec === 'string') return { value: spec, params: [] };
  const params: Array<[string, BareItem]> = [];
  for (const [key, value] of Object.entries(spec.params ?? {})) if (value !== undefined) params.push([key, value]);
  return { value: spec.name, params };
}

export type BaseFailure = 'component_missing' | 'component_invalid' | 'too_large';

class BaseError extends Error {
  constructor(readonly reason: BaseFailure, message: string) {
    super(message);
  }
}

/** An attacker's string as a refusal shows it: quoted, escaped, and short. */
const shown = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

const invalid = (what: string): never => {
  throw new BaseError('component_invalid', what);
};
const missing = (what: string): never => {
  throw new BaseError('component_missing', what);
};

const DERIVED = new Set(['@method', '@target-uri', '@authority', '@scheme', '@path', '@query', '@query-param', '@status']);
/** Dictionary fields whose members `key` can select and `sf` can re-serialize. */
const DICTIONARY_FIELDS = new Set(['signature', 'signature-input', 'content-digest']);
const FIELD_PARAMS = new Set(['req', 'key', 'sf', 'bs']);

/** The same identifier whatever the order of its parameters (§2: order is not significant for equality). */
function identity(item: Item): string {
  return `${String(item.value)}\u0000${item.params.map(([k, v]) => serializeItem({ value: true, params: [[k, v]] })).sort().join('')}`;
}

function paramOf(item: Item, key: string): BareItem | undefined {
  return item.params.find(([k]) => k === key)?.[1];
}

// ---------------------------------------------------------------------------------------------
// Component values (§2.1, §2.2)

interface Context {
  message: HttpMessage;
  /** The request a response answers, for `;req` components. */
  request?: HttpRequestMessage;
}

function componentValue(item: Item, ctx: Context): string {
  const name = item.value;
  if (typeof name !== 'string' || name === '') return invalid('a component name must be a non-empty string');
  for (const [key, value] of item.params) {
    if (key === 'tr') invalid(`${shown(name)}: trailer fields are not supported`);
    if (key !== 'key' && key !== 'name' && value !== true) invalid(`${shown(name)}: the parameter ${shown(key)} must be a true flag`);
  }
  const wantsRequest = paramOf(item, 'req') === true;
  if (wantsRequest && isRequest(ctx.message)) invalid(`${shown(name)}: req is for response signatures only`);
  if (wantsRequest && !ctx.request) missing(`${shown(name)}: req needs the request the response answers`);
  const source = wantsRequest ? (ctx.request as HttpRequestMessage) : ctx.message;
  return name.startsWith('@') ? derivedValue(name, item, source) : fieldValue(name, item, source);
}

function derivedValue(name: string, item: Item, source: HttpMessage): string {
  if (!DERIVED.has(name)) invalid(`${shown(name)} is not a derived component this verifier knows`);
  for (const [key] of item.params) {
    if (key !== 'req' && !(key === 'name' && name === '@query-param')) invalid(`${shown(name)}: unknown parameter ${shown(key)}`);
  }
  if (name === '@status') {
    if (isRequest(source)) return invalid('"@status" is for responses only');
    const status = source.status;
    return Number.isInteger(status) && status >= 100 && status <= 999 ? String(status) : invalid('"@status": not a three-digit status code');
  }
  if (!isRequest(source)) return invalid(`${shown(name)} is for requests only (or a response's request, with req)`);
  if (name === '@method') return isToken(source.method) && source.method.length <= 64 ? source.method : invalid('"@method": not an HTTP method');
  const uri = parseTargetUri(source.targetUri);
  switch (name) {
    case '@target-uri': return source.targetUri;
    case '@scheme': return uri.scheme;
    case '@authority': return uri.authority;
    case '@path': return uri.path;
    case '@query': return `?${uri.query ?? ''}`;
    default: return queryParam(uri.query, paramOf(item, 'name'));
  }
}

function fieldValue(name: string, item: Item, source: HttpMessage): string {
  if (!isFieldName(name)) invalid(`${shown(name)} is not a lower-case field name`);
  for (const [key] of item.params) if (!FIELD_PARAMS.has(key)) invalid(`${shown(name)}: unknown parameter ${shown(key)}`);
  const lines = fieldLines(source.headers, name) ?? missing(`the field ${shown(name)} is not in the ${isRequest(source) ? 'request' : 'response'}`);
  if (lines.length > LIMITS.fieldLines) invalid(`${shown(name)}: more than ${LIMITS.fieldLines} field lines`);
  const key = paramOf(item, 'key');
  const structured = key !== undefined || paramOf(item, 'sf') === true;
  if (paramOf(item, 'bs') === true) {
    if (structured) invalid(`${shown(name)}: bs cannot be combined with sf or key`);
    // §2.1.3: each line's bytes wrapped as a Byte Sequence, the list serialized. Node gives field
    // bytes as latin1 characters; anything wider did not come off the wire.
    return lines.map((line) => {
      const value = unfold(line);
      if (/[^\u0000-\u00ff]/.test(value)) invalid(`${shown(name)}: a field value that is not bytes`);
      return `:${Buffer.from(value, 'latin1').toString('base64')}:`;
    }).join(', ');
  }
  const combined = lines.map((line) => checkedValue(unfold(line), name)).join(', ');
  if (!structured) return combined;
  if (!DICTIONARY_FIELDS.has(name)) invalid(`${shown(name)}: sf and key need a field known to be a Dictionary`);
  let dict: Dictionary;
  try {
    dict = parseDictionary(combined, DEFAULT_SF_LIMITS);
  } catch (e) {
    if (e instanceof StructuredFieldError) return invalid(`${shown(name)} is not a valid Dictionary: ${e.message}`);
    throw e;
  }
  if (key === undefined) return serializeDictionary(dict);
  if (typeof key !== 'string') return invalid(`${shown(name)}: key must be a string`);
  const member = dict.get(key) ?? missing(`${shown(name)} has no member ${shown(key)}`);
  return serializeMember(member);
}

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~";
/** RFC 9110 §5.6.2 token: what field names and methods are made of. */
function isToken(s: string): boolean {
  for (const c of s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || TCHAR_EXTRA.includes(c))) return false;
  }
  return s.length > 0;
}

/** §2.1: component names of fields are lower case, whatever the message's spelling. */
const isFieldName = (name: string) => isToken(name) && name === name.toLowerCase();

/** RFC 9112 §5.2 obs-fold becomes one space; outer spaces and tabs go (§2.1 steps 2-3). */
function unfold(line: string): string {
  const text = line.length > LIMITS.valueChars ? invalid('a field line is too long') : line;
  const unfolded = text.includes('\n') ? text.replace(/\r?\n[ \t]+/g, ' ') : text;
  let start = 0;
  let end = unfolded.length;
  while (start < end && (unfolded[start] === ' ' || unfolded[start] === '\t')) start++;
  while (end > start && (unfolded[end - 1] === ' ' || unfolded[end - 1] === '\t')) end--;
  return unfolded.slice(start, end);
}

/** §2.5 step 4: a value in the base is visible ASCII, spaces and tabs; never a line break. */
function checkedValue(value: string, name: string): string {
  if (value.length > LIMITS.valueChars) invalid(`the value of ${shown(name)} is too long`);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x09 && (c < 0x20 || c > 0x7e)) invalid(`the value of ${shown(name)} has a character outside visible ASCII`);
  }
  return value;
}

interface TargetUri {
  scheme: string;
  authority: string;
  path: string;
  query?: string;
}

/**
 * The parts of an absolute http(s) target URI, split without decoding or re-encoding anything
 * (RFC 9421 §2.2.2-§2.2.7 sign the characters as sent). @authority is normalized as RFC 9110
 * §4.2.3 asks: host lower-cased, the scheme's default port left out.
 */
function parseTargetUri(uri: string): TargetUri {
  checkedValue(uri, '@target-uri');
  if (/[\s#]/.test(uri)) invalid('the target URI has whitespace or a fragment');
  const sep = uri.indexOf('://');
  const scheme = uri.slice(0, Math.max(sep, 0)).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') invalid('the target URI is not an absolute http(s) URI');
  const rest = uri.slice(sep + 3);
  let end = 0;
  while (end < rest.length && rest[end] !== '/' && rest[end] !== '?') end++;
  const authority = normalizeAuthority(rest.slice(0, end), scheme === 'https' ? '443' : '80');
  const q = rest.indexOf('?', end);
  const path = q < 0 ? rest.slice(end) : rest.slice(end, q);
  return { scheme, authority, path: path || '/', ...(q < 0 ? {} : { query: rest.slice(q + 1) }) };
}

function normalizeAuthority(authority: string, defaultPort: string): string {
  if (!authority || authority.includes('@')) invalid('the target URI has no authority, or user information in it');
  const bracketed = authority.startsWith('[');
  const close = bracketed ? authority.indexOf(']') : -1;
  const colon = authority.indexOf(':', close + 1);
  const host = (colon < 0 ? authority : authority.slice(0, colon)).toLowerCase();
  const port = colon < 0 ? '' : authority.slice(colon + 1);
  // An IP literal ends at "]", followed by nothing or a port.
  const literalOk = !bracketed || (close > 0 && (close === authority.length - 1 || close + 1 === colon));
  if (!host || !literalOk || !/^\d{0,5}$/.test(port) || Number(port) > 65535) invalid('the target URI has a malformed authority');
  return port === '' || Number(port) === Number(defaultPort) ? host : `${host}:${Number(port)}`;
}

/** §2.2.8: form-decoded, then re-encoded with the form percent-encode set (space as %20). */
function queryParam(query: string | undefined, name: BareItem | undefined): string {
  if (typeof name !== 'string') return invalid('"@query-param" needs a name parameter that is a string');
  const found = [...new URLSearchParams(query ?? '')].filter(([n]) => formEncode(n) === name);
  if (found.length > 1) invalid(`"@query-param": the parameter ${shown(name)} occurs more than once`);
  const first = found[0] ?? missing(`"@query-param": the query has no parameter ${shown(name)}`);
  return formEncode(first[1]);
}

const formEncode = (s: string) => encodeURIComponent(s).replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

// ---------------------------------------------------------------------------------------------
// The signature base (§2.5)

/**
 * Builds the signature base for the covered components of `list` (an Inner List of component
 * identifiers with the signature parameters), ending in the @signature-params line.
 */
function buildBase(list: InnerList, ctx: Context): string {
  if (list.items.length > LIMITS.components) throw new BaseError('too_large', `more than ${LIMITS.components} covered components`);
  const seen = new Set<string>();
  let base = '';
  for (const item of list.items) {
    if (item.value === '@signature-params') invalid('"@signature-params" cannot be a covered component');
    const id = identity(item);
    if (seen.has(id)) invalid(`${serializeItem(item)} is covered twice`);
    seen.add(id);
    base += `${serializeItem(item)}: ${componentValue(item, ctx)}\n`;
    if (base.length > LIMITS.baseChars) throw new BaseError('too_large', `the signature base is longer than ${LIMITS.baseChars} characters`);
  }
  return `${base}"@signature-params": ${serializeInnerList(list)}`;
}

/** Signature parameters (§2.3), serialized in the order given. */
export interface SignatureParams {
  created?: number;
  expires?: number;
  keyid?: string;
  alg?: string;
  nonce?: string;
  tag?: string;
}

export type BaseResult = { ok: true; base: string; signatureParams: string } | { ok: false; reason: BaseFailure; detail: string };

function innerListOf(components: readonly ComponentSpec[], params: SignatureParams): InnerList {
  const entries = Object.entries(params).filter((e): e is [string, BareItem] => e[1] !== undefined);
  return { items: components.map(toItem), params: entries };
}

/**
 * The signature base (§2.5) of `message` for these components and parameters. For a response,
 * `request` is the request it answers (for `;req` components). Never throws for what the message
 * holds; a component that cannot be derived is a result with its reason.
 */
export function signatureBase(message: HttpMessage, components: readonly ComponentSpec[], params: SignatureParams, request?: HttpRequestMessage): BaseResult {
  const list = innerListOf(components, params);
  try {
    const base = buildBase(list, { message, ...(request ? { request } : {}) });
    return { ok: true, base, signatureParams: serializeInnerList(list) };
  } catch (e) {
    if (e instanceof BaseError) return { ok: false, reason: e.reason, detail: e.message };
    if (e instanceof StructuredFieldError) return { ok: false, reason: 'component_invalid', detail: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Algorithms (§3.3)

interface Algorithm {
  /** The HTTP Signature Algorithms registry name, or the JWS name where the registry has none. */
  id: string;
  /** Present only for registry algorithms: the only values the `alg` parameter may carry (§3.3.7). */
  registry?: string;
  /** The JWS algorithm with the same bytes on the wire, and what jose imports the key for. */
  jws: string;
  kty: 'RSA' | 'EC' | 'OKP';
  crv?: string;
  /** WebCrypto's ECDSA takes and makes exactly the r||s form §3.3.4 asks for, never DER. */
  webcrypto: RsaPssParams | EcdsaParams | Ed25519Params;
}

type RsaPssParams = { name: 'RSA-PSS'; saltLength: number };
type EcdsaParams = { name: 'ECDSA'; hash: 'SHA-256' };
type Ed25519Params = { name: 'Ed25519' };

const ALGORITHMS: readonly Algorithm[] = [
  // §3.3.1: MGF1 with SHA-512 and a 64-octet salt — the same as JWS PS512 (RFC 7518 §3.5).
  { id: 'rsa-pss-sha512', registry: 'rsa-pss-sha512', jws: 'PS512', kty: 'RSA', webcrypto: { name: 'RSA-PSS', saltLength: 64 } },
  // §3.3.4: r and s, 32 octets each — the same as JWS ES256.
  { id: 'ecdsa-p256-sha256', registry: 'ecdsa-p256-sha256', jws: 'ES256', kty: 'EC', crv: 'P-256', webcrypto: { name: 'ECDSA', hash: 'SHA-256' } },
  { id: 'ed25519', registry: 'ed25519', jws: 'EdDSA', kty: 'OKP', crv: 'Ed25519', webcrypto: { name: 'Ed25519' } },
  // §3.3.7: a JWS algorithm used directly; never named by the alg parameter.
  { id: 'PS256', jws: 'PS256', kty: 'RSA', webcrypto: { name: 'RSA-PSS', saltLength: 32 } },
];

/** The algorithm a name means: a registry name, a JWS name, or `Ed25519` (the fully-specified JOSE name for EdDSA with Ed25519). */
function algorithmNamed(name: unknown): Algorithm | undefined {
  if (typeof name !== 'string') return undefined;
  return ALGORITHMS.find((a) => a.id === name || a.jws === name || (name === 'Ed25519' && a.id === 'ed25519'));
}

const fits = (alg: Algorithm, jwk: JWK) => jwk.kty === alg.kty && (alg.crv === undefined || jwk.crv === alg.crv);

// ---------------------------------------------------------------------------------------------
// Signing (§3.1, §4)

export class HttpSignatureError extends Error {
  override name = 'HttpSignatureError';
}

export interface SignOptions {
  /** The signature's label in Signature-Input and Signature (an RFC 8941 key, e.g. `sig1`). */
  label: string;
  components: readonly ComponentSpec[];
  /** The private key: a JWK, a node KeyObject or a WebCrypto CryptoKey made for `algorithm`. */
  key: JWK | KeyObject | CryptoKey;
  /** A registry name (`ecdsa-p256-sha256`) or a JWS name (`ES256`, `PS256`, `EdDSA`). */
  algorithm: string;
  /**
   * The signature parameters in the order they are to appear. `created` is put first, as now,
   * when absent. `alg`, when given, must be the registry name of `algorithm`.
   */
  params?: SignatureParams;
  /** For a response: the request it answers, for `;req` components. */
  request?: HttpRequestMessage;
  /** Seconds since the epoch, for `created`. */
  now?: number;
}

export interface SignedMessage {
  /** This signature's member of the Signature-Input field (`label=(...)...`). */
  signatureInput: string;
  /** This signature's member of the Signature field (`label=:...:`). */
  signature: string;
  signatureBase: string;
}

/**
 * Signs `message`. The two members returned become the Signature-Input and Signature field values
 * (appended with ", " when the message already has signatures). Throws HttpSignatureError when a
 * component cannot be derived, a parameter is invalid, or the key does not fit the algorithm.
 */
export async function signMessage(message: HttpMessage, options: SignOptions): Promise<SignedMessage> {
  const alg = algorithmNamed(options.algorithm) ?? fail(`unsupported algorithm ${options.algorithm}`);
  const { created, ...rest } = options.params ?? {};
  const params: SignatureParams = created === undefined ? { created: options.now ?? nowSeconds(), ...rest } : { created, ...rest };
  if (params.alg !== undefined && params.alg !== alg.registry) fail(`the alg parameter must be ${alg.registry ? `"${alg.registry}"` : 'absent for a JWS algorithm (RFC 9421 §3.3.7)'}`);
  const label = labelOf(options.label);
  // Invalid parameter values (a nonce with a line break) come back as component_invalid.
  const result = signatureBase(message, options.components, params, options.request);
  if (!result.ok) return fail(`${result.reason}: ${result.detail}`);
  const key = await signingKey(options.key, alg);
  let signature: Uint8Array;
  try {
    signature = new Uint8Array(await webcrypto.subtle.sign(alg.webcrypto, key as webcrypto.CryptoKey, Buffer.from(result.base, 'ascii')));
  } catch (e) {
    return fail(`the key cannot sign with ${alg.id}: ${(e as Error).message}`);
  }
  return {
    signatureInput: `${label}=${result.signatureParams}`,
    signature: `${label}=:${Buffer.from(signature).toString('base64')}:`,
    signatureBase: result.base,
  };
}

function fail(message: string): never {
  throw new HttpSignatureError(message);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function labelOf(label: string): string {
  try {
    return serializeKey(label);
  } catch {
    return fail(`the label ${JSON.stringify(label)} is not a structured field key`);
  }
}

async function signingKey(key: JWK | KeyObject | CryptoKey, alg: Algorithm): Promise<CryptoKey> {
  const jwk = key instanceof KeyObject ? (key.export({ format: 'jwk' }) as JWK) : 'kty' in key ? (key as JWK) : undefined;
  if (!jwk) return key as CryptoKey;
  if (!fits(alg, jwk)) fail(`a ${String(jwk.kty)} key cannot sign with ${alg.id}`);
  try {
    return (await importJWK(jwk, alg.jws)) as CryptoKey;
  } catch (e) {
    return fail(`the key cannot be used with ${alg.id}: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Verifying (§3.2)

export type VerifyFailure =
  | 'signature_input_missing' | 'signature_missing' | 'malformed' | 'label_absent' | 'label_ambiguous'
  | 'tag_mismatch' | 'created_missing' | 'created_in_future' | 'too_old' | 'expired' | 'coverage_insufficient'
  | BaseFailure
  | 'content_digest_missing' | 'content_digest_mismatch' | 'content_digest_unsupported' | 'content_digest_malformed'
  | 'algorithm_unsupported' | 'algorithm_not_allowed' | 'algorithm_mismatch'
  | 'key_unknown' | 'key_unusable' | 'bad_signature';

/** A component the application requires covered (§3.2.1): by name, from the request (`req`) or not. */
export type RequiredComponent = string | { name: string; req?: boolean };

export interface VerifyOptions {
  /** The signer's public keys (e.g. a client's registered JWK set); `keyid` selects by `kid`. */
  keys: readonly JWK[];
  /** Allowed algorithms, in either vocabulary: `PS256`, `ES256`, `EdDSA`, `rsa-pss-sha512`, ... */
  algorithms: readonly string[];
  /** The label to verify. Without it: the one signature with `tag`, or the only signature. */
  label?: string;
  tag?: string;
  components?: readonly RequiredComponent[];
  requireCreated?: boolean;
  /** Seconds a signature stays acceptable after `created`. */
  maxAge?: number;
  /** Seconds `created` may lie ahead of `now` (clock skew); 10 when absent. */
  maxSkew?: number;
  /** Seconds since the epoch. */
  now?: number;
  /** For a response: the request it answers, for `;req` components. */
  request?: HttpRequestMessage;
  /** The message content: when given, Content-Digest must match it (and be present unless it is empty). */
  body?: Uint8Array;
  /** Where imported public keys are kept; a module-wide cache when absent. */
  keyCache?: KeyCache;
}

/**
 * What verification found, shaped for the facts: the signature's label, covered components (as
 * serialized identifiers, never their values — an Authorization value is a secret) and parameters
 * as far as they could be read, and either `verified: true` with the algorithm and key used, or
 * `verified: false` with the reason and a sentence saying why.
 */
export interface SignatureVerification extends SignatureParams {
  verified: boolean;
  reason?: VerifyFailure;
  detail?: string;
  label?: string;
  components?: string[];
  missing_components?: string[];
  content_digest?: ContentDigestCheck['result'];
  /** The algorithm the signature verified with (registry name, or JWS name per §3.3.7). */
  algorithm?: string;
  /** RFC 7638 thumbprint of the key the signature verified with. */
  key_thumbprint?: string;
}

type Refusal = { reason: VerifyFailure; detail: string };
const refuse = (reason: VerifyFailure, detail: string): Refusal => ({ reason, detail });
const isRefusal = (x: object): x is Refusal => 'reason' in x;

const defaultKeyCache = new KeyCache(1000);

/**
 * Verifies one signature of `message` against the signer's keys and the application's
 * requirements. Never throws for anything the message carries.
 */
export async function verifyMessage(message: HttpMessage, options: VerifyOptions): Promise<SignatureVerification> {
  const selected = selectSignature(message.headers, options);
  if (isRefusal(selected)) return { verified: false, ...selected };
  const out: SignatureVerification = { verified: false, label: selected.label, components: selected.input.items.map(serializeItem) };
  const refusal = describeParams(selected.input.params, out) ?? checkRequirements(selected.input, out, options) ?? checkDigest(message, out, options);
  if (refusal) return { ...out, ...refusal };
  let base: string;
  try {
    base = buildBase(selected.input, { message, ...(options.request ? { request: options.request } : {}) });
  } catch (e) {
    if (e instanceof BaseError) return { ...out, reason: e.reason, detail: e.message };
    if (e instanceof StructuredFieldError) return { ...out, reason: 'malformed', detail: e.message };
    throw e;
  }
  const found = await verifyWithKeys(base, selected.signature, out, options);
  if (isRefusal(found)) return { ...out, ...found };
  return { ...out, verified: true, algorithm: found.alg.id, key_thumbprint: jwkThumbprint(found.jwk) };
}

interface Selected {
  label: string;
  input: InnerList;
  signature: Uint8Array;
}

function selectSignature(headers: HttpFields, options: VerifyOptions): Selected | Refusal {
  const inputLines = fieldLines(headers, 'signature-input');
  const signatureLines = fieldLines(headers, 'signature');
  const inputs = inputLines && parseField(inputLines, 'Signature-Input');
  if (!inputs || (!isRefusal(inputs) && inputs.size === 0)) return refuse('signature_input_missing', 'the message has no Signature-Input field');
  if (isRefusal(inputs)) return inputs;
  const signatures = signatureLines && parseField(signatureLines, 'Signature');
  if (!signatures || (!isRefusal(signatures) && signatures.size === 0)) return refuse('signature_missing', 'the message has no Signature field');
  if (isRefusal(signatures)) return signatures;
  // §4: a label in one field and not the other is an error, whichever signature is wanted.
  for (const [mine, other, name] of [[inputs, signatures, 'Signature'], [signatures, inputs, 'Signature-Input']] as const) {
    for (const label of mine.keys()) if (!other.has(label)) return refuse('malformed', `the label ${shown(label)} has no member in the ${name} field`);
  }
  const label = chooseLabel(inputs, options);
  if (typeof label !== 'string') return label;
  const input = inputs.get(label) as InnerList;
  const signature = signatures.get(label);
  if (!isInnerList(input) || input.items.some((item) => typeof item.value !== 'string')) return refuse('malformed', `Signature-Input ${shown(label)} is not an inner list of component identifiers`);
  if (!signature || isInnerList(signature) || !(signature.value instanceof Uint8Array)) return refuse('malformed', `Signature ${shown(label)} is not a byte sequence`);
  return { label, input, signature: signature.value };
}

function parseField(lines: string[], name: string): Dictionary | Refusal {
  try {
    return parseDictionary(lines, SF_LIMITS);
  } catch (e) {
    if (e instanceof StructuredFieldError) return refuse('malformed', `the ${name} field is not a valid Dictionary: ${e.message}`);
    throw e;
  }
}

function chooseLabel(inputs: Dictionary, options: VerifyOptions): string | Refusal {
  if (options.label !== undefined) return inputs.has(options.label) ? options.label : refuse('label_absent', `no signature is labelled ${shown(options.label)}`);
  const labels = [...inputs.keys()];
  const tagged = options.tag === undefined ? labels : labels.filter((l) => tagOf(inputs.get(l)) === options.tag);
  if (tagged.length === 1) return tagged[0] as string;
  if (tagged.length > 1) return refuse('label_ambiguous', `${tagged.length} signatures could be meant (${tagged.map(shown).join(', ')}); name the label`);
  // No signature carries the tag: with only one, say what is wrong with it.
  return labels.length === 1 ? (labels[0] as string) : refuse('tag_mismatch', `no signature has the tag ${shown(options.tag ?? '')}`);
}

const tagOf = (member: Item | InnerList | undefined) => member?.params.find(([k]) => k === 'tag')?.[1];

const INTEGER_PARAMS = ['created', 'expires'] as const;
const STRING_PARAMS = ['keyid', 'alg', 'nonce', 'tag'] as const;

/** Copies the parameters §2.3 defines into the result; a value of the wrong type is malformed. */
function describeParams(params: Parameters, out: SignatureVerification): Refusal | undefined {
  for (const [key, value] of params) {
    if ((INTEGER_PARAMS as readonly string[]).includes(key)) {
      if (typeof value !== 'number') return refuse('malformed', `the ${key} parameter is not an integer`);
      out[key as (typeof INTEGER_PARAMS)[number]] = value;
    } else if ((STRING_PARAMS as readonly string[]).includes(key)) {
      if (typeof value !== 'string') return refuse('malformed', `the ${key} parameter is not a string`);
      out[key as (typeof STRING_PARAMS)[number]] = value;
    }
  }
  return undefined;
}

/** §3.2.1: the application's requirements, checked before any cryptography. */
function checkRequirements(input: InnerList, out: SignatureVerification, options: VerifyOptions): Refusal | undefined {
  const now = options.now ?? nowSeconds();
  if (options.tag !== undefined && out.tag !== options.tag) return refuse('tag_mismatch', `the tag is ${out.tag === undefined ? 'absent' : `${shown(out.tag)}`}, not ${shown(options.tag)}`);
  if (out.created === undefined && options.requireCreated) return refuse('created_missing', 'the signature has no created parameter');
  if (out.created !== undefined && out.created > now + (options.maxSkew ?? 10)) return refuse('created_in_future', `created is ${out.created - now} s in the future`);
  if (out.created !== undefined && options.maxAge !== undefined && now - out.created > options.maxAge) return refuse('too_old', `created ${now - out.created} s ago, more than ${options.maxAge} s`);
  if (out.expires !== undefined && now > out.expires) return refuse('expired', `expired ${now - out.expires} s ago`);
  const missingComponents = (options.components ?? []).map(requirement).filter((r) => !input.items.some((item) => item.value === r.name && (paramOf(item, 'req') === true) === r.req));
  if (missingComponents.length > 0) {
    out.missing_components = missingComponents.map((r) => serializeItem({ value: r.name, params: r.req ? [['req', true]] : [] }));
    return refuse('coverage_insufficient', `required but not covered: ${out.missing_components.join(' ')}`);
  }
  if (out.alg !== undefined) {
    const alg = ALGORITHMS.find((a) => a.registry === out.alg);
    if (!alg) return refuse('algorithm_unsupported', `the alg parameter ${shown(out.alg)} is not an algorithm this verifier supports`);
    if (!allowedAlgorithms(options).includes(alg)) return refuse('algorithm_not_allowed', `the algorithm ${alg.id} is not allowed`);
  }
  return undefined;
}

const requirement = (r: RequiredComponent) => (typeof r === 'string' ? { name: r, req: false } : { name: r.name, req: r.req ?? false });

const allowedAlgorithms = (options: VerifyOptions) => ALGORITHMS.filter((a) => options.algorithms.some((name) => algorithmNamed(name) === a));

/** When the caller gives the body, Content-Digest must describe it (RFC 9530 §2). */
function checkDigest(message: HttpMessage, out: SignatureVerification, options: VerifyOptions): Refusal | undefined {
  if (!options.body) return undefined;
  const check = checkContentDigest(fieldLines(message.headers, 'content-digest'), options.body);
  out.content_digest = check.result;
  if (check.result === 'match' || (check.result === 'missing' && options.body.length === 0)) return undefined;
  const detail = check.result === 'mismatch' ? `the ${check.algorithm} digest does not match the body`
    : check.result === 'unsupported' ? `no digest uses sha-256 or sha-512 (${check.algorithms.join(', ')})`
      : check.result === 'malformed' ? `Content-Digest is malformed: ${check.detail}` : 'the message has a body but no Content-Digest';
  return refuse(`content_digest_${check.result}`, detail);
}

async function verifyWithKeys(base: string, signature: Uint8Array, out: SignatureVerification, options: VerifyOptions): Promise<{ alg: Algorithm; jwk: JWK } | Refusal> {
  const candidates = out.keyid === undefined ? options.keys : options.keys.filter((k) => k.kid === out.keyid);
  if (candidates.length === 0) return refuse('key_unknown', out.keyid === undefined ? 'no key to verify with' : `no key has the kid ${shown(out.keyid)}`);
  const data = Buffer.from(base, 'ascii');
  const paramAlg = ALGORITHMS.find((a) => a.registry !== undefined && a.registry === out.alg);
  let first: Refusal | undefined;
  let tried = 0;
  for (const jwk of candidates.slice(0, LIMITS.keys)) {
    const choice = keyProblem(jwk) ?? algorithmsFor(jwk, paramAlg, allowedAlgorithms(options));
    if (isRefusal(choice)) {
      first ??= choice;
      continue;
    }
    for (const alg of choice) {
      const verdict = await verifyOne(alg, jwk, data, signature, options.keyCache ?? defaultKeyCache);
      if (verdict === true) return { alg, jwk };
      if (verdict === false) tried++;
      else first ??= verdict;
    }
  }
  if (tried > 0) return refuse('bad_signature', `the signature does not verify with ${tried === 1 ? 'the key' : `any of ${tried} key and algorithm choices`}`);
  return first ?? refuse('key_unknown', 'no key to verify with');
}

/** Keys a verifier must not use, whatever the signature says (FAPI 2.0 SP §5.4.1 item 2 for RSA size). */
function keyProblem(jwk: JWK): Refusal | undefined {
  if (jwk.use !== undefined && jwk.use !== 'sig') return refuse('key_unusable', `the key ${shown(jwk.kid ?? '')} is not for signatures`);
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return refuse('key_unusable', `the key ${shown(jwk.kid ?? '')} does not allow verify`);
  try {
    if (jwk.kty === 'RSA' && measureKey(jwk).bits < 2048) return refuse('key_unusable', 'an RSA key shorter than 2048 bits');
  } catch {
    return refuse('key_unusable', 'the key is not a usable JWK');
  }
  return undefined;
}

/**
 * §3.2 step 6: the algorithm from the alg parameter, from the key's own `alg`, or from the key
 * type; where two say something, they must agree, and the result must be allowed. An RSA key
 * with neither may be tried with each allowed RSA algorithm.
 */
function algorithmsFor(jwk: JWK, paramAlg: Algorithm | undefined, allowed: readonly Algorithm[]): Algorithm[] | Refusal {
  const keyAlg = jwk.alg === undefined ? undefined : algorithmNamed(jwk.alg);
  if (jwk.alg !== undefined && !keyAlg) return refuse('algorithm_unsupported', `the key's alg ${shown(String(jwk.alg))} is not an algorithm this verifier supports`);
  if (paramAlg && keyAlg && paramAlg !== keyAlg) return refuse('algorithm_mismatch', `the alg parameter says ${paramAlg.id}, the key is for ${keyAlg.id}`);
  const fixed = paramAlg ?? keyAlg;
  if (fixed && !fits(fixed, jwk)) return refuse('algorithm_mismatch', `a ${String(jwk.kty)} key cannot verify ${fixed.id}`);
  if (fixed && !allowed.includes(fixed)) return refuse('algorithm_not_allowed', `the algorithm ${fixed.id} is not allowed`);
  const choices = fixed ? [fixed] : allowed.filter((a) => fits(a, jwk));
  return choices.length > 0 ? choices : refuse('algorithm_not_allowed', `no allowed algorithm fits a ${String(jwk.kty)} key`);
}

async function verifyOne(alg: Algorithm, jwk: JWK, data: Uint8Array, signature: Uint8Array, cache: KeyCache): Promise<boolean | Refusal> {
  let key: CryptoKey;
  try {
    key = await cache.import(jwk, alg.jws);
  } catch {
    return refuse('key_unusable', `the key ${shown(jwk.kid ?? '')} cannot be imported for ${alg.id}`);
  }
  try {
    return await webcrypto.subtle.verify(alg.webcrypto, key as webcrypto.CryptoKey, signature, data);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// FAPI 2.0 HTTP Signatures (draft -01) §5.3: what the resource server signs. What it requires of a
// signed request is the profile's to say (fapi2-message-signing, rules FAPI2-MS-ID1-5.6.1.2-*).

export const FAPI_RESPONSE_TAG = 'fapi-2-response';

const has = (message: HttpMessage, name: string) => fieldLines(message.headers, name) !== undefined;

/**
 * §5.3.2.1 items 2-4, 7: what a resource server covers in its response: @status, its
 * Content-Digest (set it first when there is a body), and from the request its method, target
 * URI, Content-Digest if any, and — when `requestLabel` names the request's verified signature —
 * that signature's Signature and Signature-Input members.
 */
export function fapiResponseComponents(request: HttpRequestMessage, response: HttpResponseMessage, requestLabel?: string): ComponentSpec[] {
  const fromRequest = (name: string, key?: string): ComponentId => ({ name, params: { ...(key === undefined ? {} : { key }), req: true } });
  return [
    '@status',
    ...(has(response, 'content-digest') ? ['content-digest'] : []),
    fromRequest('@method'),
    fromRequest('@target-uri'),
    ...(has(request, 'content-digest') ? [fromRequest('content-digest')] : []),
    ...(requestLabel === undefined ? [] : [fromRequest('signature', requestLabel), fromRequest('signature-input', requestLabel)]),
  ];
}
