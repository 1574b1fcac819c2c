/**
 * The little ASN.1 DER this project needs: enough to write a self-signed or CA-issued X.509
 * certificate (the AS's first-start TLS certificate, test PKIs) and to read the subject name and
 * subject alternative names of a client certificate (RFC 8705 §2.1). Certificates come from
 * clients, so the reader is bounded: definite lengths only, a depth limit, no reads past the end.
 */

export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  null: 0x05,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31,
} as const;

// ---------------------------------------------------------------------------------------------
// Writing

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

export const sequence = (...items: Buffer[]) => tlv(TAG.sequence, Buffer.concat(items));

/** DER sorts the members of a SET OF by their encodings (X.690 §11.6). */
export const set = (...items: Buffer[]) => tlv(TAG.set, Buffer.concat([...items].sort(Buffer.compare)));

export const nullValue = () => tlv(TAG.null, Buffer.alloc(0));
export const boolean = (value: boolean) => tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
export const octetString = (value: Buffer) => tlv(TAG.octetString, value);
export const utf8String = (value: string) => tlv(TAG.utf8String, Buffer.from(value, 'utf8'));

/** A BIT STRING of whole bytes (no unused bits), as keys and signatures are. */
export const bitString = (value: Buffer) => tlv(TAG.bitString, Buffer.concat([Buffer.from([0]), value]));

/** A BIT STRING of named bits (KeyUsage): bit 0 is the most significant bit of the first byte. */
export function namedBits(bits: readonly number[]): Buffer {
  const top = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(top / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)] = (bytes[Math.floor(b / 8)] as number) | (0x80 >> (b % 8));
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([7 - (top % 8)]), bytes]));
}

/** A context-specific tag: [n] EXPLICIT wraps a whole element, IMPLICIT replaces its tag. */
export const explicit = (n: number, content: Buffer) => tlv(0xa0 | n, content);
export const implicitPrimitive = (n: number, content: Buffer) => tlv(0x80 | n, content);

/** A non-negative INTEGER from big-endian bytes (a leading zero keeps it positive). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return tlv(TAG.integer, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (n: number) => unsignedInteger(Buffer.from([n]));

export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = parts;
  const bytes = [40 * first + second];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(bytes));
}

/** UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
export function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return date.getUTCFullYear() < 2050 ? tlv(TAG.utcTime, Buffer.from(`${iso.slice(2)}Z`)) : tlv(TAG.generalizedTime, Buffer.from(`${iso}Z`));
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface Element {
  tag: number;
  /** The content octets. */
  value: Buffer;
  /** The whole encoding, tag and length included. */
  raw: Buffer;
}

export class DerError extends Error {
  override name = 'DerError';
}

/** Reads one element at `offset`; definite lengths only (DER), never past the buffer. */
export function readElement(buf: Buffer, offset = 0): Element & { end: number } {
  const tag = buf[offset];
  let lenByte = buf[offset + 1];
  if (tag === undefined || lenByte === undefined) throw new DerError('truncated DER');
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let pos = offset + 2;
  let len = lenByte;
  if (lenByte & 0x80) {
    const count = lenByte & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    len = 0;
    for (let i = 0; i < count; i++) {
      lenByte = buf[pos++];
      if (lenByte === undefined) throw new DerError('truncated DER');
      len = len * 256 + lenByte;
    }
  }
  const end = pos + len;
  if (end > buf.length) throw new DerError('DER length runs past the end');
  return { tag, value: buf.subarray(pos, end), raw: buf.subarray(offset, end), end };
}

/** The elements inside a constructed element. */
export function children(element: Element, max = 10_000): Element[] {
  const out: Element[] = [];
  for (let pos = 0; pos < element.value.length;) {
    if (out.length >= max) throw new DerError('too many DER elements');
    const child = readElement(element.value, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function readOid(element: Element): string {
  if (element.tag !== TAG.oid || element.value.length === 0) throw new DerError('expected an OBJECT IDENTIFIER');
  const bytes = element.value;
  const first = bytes[0] as number;
  const parts = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let n = 0;
  for (let i = 1; i < bytes.length; i++) {
    const b = bytes[i] as number;
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/** The text of a directory string (UTF8String, PrintableString, IA5String, T61 as Latin-1, BMPString). */
export function readString(element: Element): string {
  switch (element.tag) {
    case 0x0c:
    case 0x13:
    case 0x16:
    case 0x1a:
      return element.value.toString('utf8');
    case 0x14:
      return element.value.toString('latin1');
    case 0x1e: {
      if (element.value.length % 2) throw new DerError('odd-length BMPString');
      return Buffer.from(element.value).swap16().toString('utf16le');
    }
    default:
      throw new DerError(`unsupported string type 0x${element.tag.toString(16)}`);
  }
}
