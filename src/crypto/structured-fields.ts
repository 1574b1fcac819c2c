/**
 * Structured Field Values for HTTP (RFC 8941), as far as HTTP message signatures (RFC 9421) and
 * digest fields (RFC 9530) use them: Dictionaries whose members are Items or Inner Lists, with
 * Parameters, and every bare item type. Lists (§3.1) are not parsed: no field here is one.
 *
 * The values come from the network, so the parser is strict and bounded: one pass over the text,
 * no regular expressions, a cap on its length and on the number of members, list items and
 * parameters. It is stricter than RFC 8941 in one way: a key repeated in a Dictionary or in
 * Parameters is an error here, where §4.2.2/§4.2.3.2 would keep the last value. RFC 9421 §4.1/§4.2
 * require unique signature labels, and for every other key here two values are an ambiguity, which
 * a verifier refuses rather than resolves.
 */

/** A Token (§3.3.4), kept apart from a String because the two serialize differently. */
export class SfToken {
  constructor(readonly value: string) {}
}

/** A Decimal (§3.3.2), kept apart from an Integer: `1.0` and `1` serialize differently. */
export class SfDecimal {
  constructor(readonly value: number) {}
}

/** Integer (a JS integer), String, Boolean, Byte Sequence (Uint8Array), Token, Decimal. */
export type BareItem = number | string | boolean | Uint8Array | SfToken | SfDecimal;
export type Parameters = ReadonlyArray<readonly [string, BareItem]>;
export interface Item {
  value: BareItem;
  params: Parameters;
}
export interface InnerList {
  items: Item[];
  params: Parameters;
}
export type Member = Item | InnerList;
export type Dictionary = Map<string, Member>;

export class StructuredFieldError extends Error {
  override name = 'StructuredFieldError';
}

export interface SfLimits {
  /** Characters in the whole field value. */
  maxChars: number;
  maxMembers: number;
  maxListItems: number;
  /** Parameters on one item or inner list. */
  maxParams: number;
}

export const DEFAULT_SF_LIMITS: SfLimits = { maxChars: 8192, maxMembers: 16, maxListItems: 64, maxParams: 16 };

export const isInnerList = (member: Member): member is InnerList => 'items' in member;

// ---------------------------------------------------------------------------------------------
// Parsing (RFC 8941 §4.2)

const isDigit = (c: string) => c >= '0' && c <= '9';
const isLcAlpha = (c: string) => c >= 'a' && c <= 'z';
const isAlpha = (c: string) => isLcAlpha(c) || (c >= 'A' && c <= 'Z');
const isKeyChar = (c: string) => isLcAlpha(c) || isDigit(c) || c === '_' || c === '-' || c === '.' || c === '*';
const TCHAR_EXTRA = "!#$%&'*+-.^_`|~:/";
const isTokenChar = (c: string) => isAlpha(c) || isDigit(c) || TCHAR_EXTRA.includes(c);
const isBase64Char = (c: string) => isAlpha(c) || isDigit(c) || c === '+' || c === '/' || c === '=';

class Parser {
  private i = 0;

  constructor(private readonly s: string, private readonly limits: SfLimits) {}

  private fail(what: string): never {
    throw new StructuredFieldError(`${what} at character ${this.i}`);
  }

  private peek(): string {
    return this.s[this.i] ?? '';
  }

  private skip(chars: string): void {
    while (this.i < this.s.length && chars.includes(this.s[this.i] as string)) this.i++;
  }

  /** §4.2: the field value is one Dictionary and nothing after it but spaces. */
  dictionary(): Dictionary {
    const out: Dictionary = new Map();
    this.skip(' ');
    while (this.i < this.s.length) {
      const key = this.key();
      if (out.has(key)) this.fail(`the key "${key}" is repeated`);
      if (out.size >= this.limits.maxMembers) this.fail(`more than ${this.limits.maxMembers} members`);
      if (this.peek() === '=') {
        this.i++;
        out.set(key, this.peek() === '(' ? this.innerList() : this.item());
      } else {
        out.set(key, { value: true, params: this.parameters() });
      }
      this.skip(' \t');
      if (this.i >= this.s.length) break;
      if (this.peek() !== ',') this.fail('expected "," between members');
      this.i++;
      this.skip(' \t');
      if (this.i >= this.s.length) this.fail('a trailing ","');
    }
    return out;
  }

  private innerList(): InnerList {
    this.i++; // '('
    const items: Item[] = [];
    for (;;) {
      this.skip(' ');
      if (this.peek() === ')') {
        this.i++;
        return { items, params: this.parameters() };
      }
      if (items.length >= this.limits.maxListItems) this.fail(`more than ${this.limits.maxListItems} items in an inner list`);
      items.push(this.item());
      const next = this.peek();
      if (next !== ' ' && next !== ')') this.fail('expected " " or ")" in an inner list');
    }
  }

  private item(): Item {
    return { value: this.bareItem(), params: this.parameters() };
  }

  private parameters(): Parameters {
    const out: Array<[string, BareItem]> = [];
    while (this.peek() === ';') {
      this.i++;
      this.skip(' ');
      const key = this.key();
      if (out.some(([k]) => k === key)) this.fail(`the parameter "${key}" is repeated`);
      if (out.length >= this.limits.maxParams) this.fail(`more than ${this.limits.maxParams} parameters`);
      let value: BareItem = true;
      if (this.peek() === '=') {
        this.i++;
        value = this.bareItem();
      }
      out.push([key, value]);
    }
    return out;
  }

  private key(): string {
    const start = this.i;
    const first = this.peek();
    if (!isLcAlpha(first) && first !== '*') this.fail('expected a key');
    this.i++;
    while (this.i < this.s.length && isKeyChar(this.s[this.i] as string)) this.i++;
    return this.s.slice(start, this.i);
  }

  private bareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || isDigit(c)) return this.number();
    if (c === '"') return this.string();
    if (c === ':') return this.byteSequence();
    if (c === '?') return this.boolean();
    if (c === '*' || isAlpha(c)) return this.token();
    return this.fail('expected an item');
  }

  private number(): number | SfDecimal {
    const start = this.i;
    if (this.peek() === '-') this.i++;
    if (!isDigit(this.peek())) this.fail('a number without digits');
    let digits = 0;
    let point = -1;
    while (this.i < this.s.length) {
      const c = this.s[this.i] as string;
      if (isDigit(c)) digits++;
      else if (c === '.' && point < 0) {
        if (digits > 12) this.fail('a decimal with more than 12 integer digits');
        point = digits;
      } else break;
      this.i++;
      if (point < 0 ? digits > 15 : digits - point > 3) this.fail('a number that is too long');
    }
    if (point === digits) this.fail('a decimal without fraction digits');
    const text = this.s.slice(start, this.i);
    return point < 0 ? Number(text) : new SfDecimal(Number(text));
  }

  private string(): string {
    this.i++; // '"'
    let out = '';
    while (this.i < this.s.length) {
      const c = this.s[this.i++] as string;
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.s[this.i++];
        if (next !== '"' && next !== '\\') this.fail('a bad escape in a string');
        out += next;
      } else if (c < ' ' || c > '~') {
        this.fail('a character outside printable ASCII in a string');
      } else {
        out += c;
      }
    }
    return this.fail('an unterminated string');
  }

  private token(): SfToken {
    const start = this.i++;
    while (this.i < this.s.length && isTokenChar(this.s[this.i] as string)) this.i++;
    return new SfToken(this.s.slice(start, this.i));
  }

  /** §4.2.7: missing "=" padding and non-zero pad bits are tolerated, as the RFC asks of parsers. */
  private byteSequence(): Uint8Array {
    const start = ++this.i;
    while (this.i < this.s.length && this.s[this.i] !== ':') {
      if (!isBase64Char(this.s[this.i] as string)) this.fail('a character outside base64 in a byte sequence');
      this.i++;
    }
    if (this.i >= this.s.length) this.fail('an unterminated byte sequence');
    const b64 = this.s.slice(start, this.i++);
    const pad = b64.indexOf('=');
    const body = pad < 0 ? b64 : b64.slice(0, pad);
    // "=" only at the end, and never where a whole byte could not follow it.
    if ((pad >= 0 && (b64.length - pad > 2 || !/^=+$/.test(b64.slice(pad)))) || body.length % 4 === 1) this.fail('a malformed byte sequence');
    return new Uint8Array(Buffer.from(body, 'base64'));
  }

  private boolean(): boolean {
    this.i++;
    const c = this.s[this.i++];
    if (c === '1') return true;
    if (c === '0') return false;
    return this.fail('a malformed boolean');
  }
}

/**
 * Parses a Dictionary field value. Several field lines of one field are combined with ", " first
 * (§4.2). Throws StructuredFieldError on anything malformed or beyond the limits.
 */
export function parseDictionary(value: string | readonly string[], limits: SfLimits = DEFAULT_SF_LIMITS): Dictionary {
  const text = typeof value === 'string' ? value : value.join(', ');
  if (text.length > limits.maxChars) throw new StructuredFieldError(`the field value is longer than ${limits.maxChars} characters`);
  return new Parser(text, limits).dictionary();
}

// ---------------------------------------------------------------------------------------------
// Serializing (RFC 8941 §4.1). Values here are either parsed (so valid) or our own; an invalid one
// is a programming error and throws.

export function serializeKey(key: string): string {
  const first = key[0] ?? '';
  if ((!isLcAlpha(first) && first !== '*') || ![...key].every(isKeyChar)) throw new StructuredFieldError(`not a valid key: ${JSON.stringify(key)}`);
  return key;
}

function serializeString(value: string): string {
  let out = '"';
  for (const c of value) {
    if (c < ' ' || c > '~') throw new StructuredFieldError('a string can hold only printable ASCII');
    out += c === '"' || c === '\\' ? `\\${c}` : c;
  }
  return `${out}"`;
}

export function serializeBareItem(value: BareItem): string {
  if (typeof value === 'string') return serializeString(value);
  if (typeof value === 'boolean') return value ? '?1' : '?0';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) > 999_999_999_999_999) throw new StructuredFieldError('an integer out of range');
    return String(value);
  }
  if (value instanceof Uint8Array) return `:${Buffer.from(value).toString('base64')}:`;
  if (value instanceof SfToken) {
    const first = value.value[0] ?? '';
    if ((!isAlpha(first) && first !== '*') || ![...value.value].every(isTokenChar)) throw new StructuredFieldError('not a valid token');
    return value.value;
  }
  return serializeDecimal(value.value);
}

function serializeDecimal(value: number): string {
  const rounded = Math.round(value * 1000) / 1000;
  if (!Number.isFinite(rounded) || Math.abs(Math.trunc(rounded)) > 999_999_999_999) throw new StructuredFieldError('a decimal out of range');
  // At most three fraction digits, trailing zeros dropped but one always kept (§4.1.5).
  return rounded.toFixed(3).replace(/0{1,2}$/, '');
}

function serializeParams(params: Parameters): string {
  return params.map(([key, value]) => `;${serializeKey(key)}${value === true ? '' : `=${serializeBareItem(value)}`}`).join('');
}

export const serializeItem = (item: Item): string => serializeBareItem(item.value) + serializeParams(item.params);

export const serializeInnerList = (list: InnerList): string => `(${list.items.map(serializeItem).join(' ')})${serializeParams(list.params)}`;

export const serializeMember = (member: Member): string => (isInnerList(member) ? serializeInnerList(member) : serializeItem(member));

export function serializeDictionary(dict: Dictionary): string {
  return [...dict].map(([key, member]) => {
    if (!isInnerList(member) && member.value === true) return serializeKey(key) + serializeParams(member.params);
    return `${serializeKey(key)}=${serializeMember(member)}`;
  }).join(', ');
}
