import { describe, expect, it } from 'vitest';
import {
  parseDictionary, serializeBareItem, serializeDictionary, serializeMember, SfDecimal, SfToken, StructuredFieldError, type InnerList, type Item,
} from '../../src/crypto/structured-fields.js';

const reserialize = (text: string) => serializeDictionary(parseDictionary(text));

describe('structured field dictionaries (RFC 8941)', () => {
  it('parse items, inner lists and parameters, and serialize them strictly (RFC 9421 §2.1.1 example)', () => {
    expect(reserialize('a=1,    b=2;x=1;y=2,   c=(a   b   c)')).toBe('a=1, b=2;x=1;y=2, c=(a b c)');
  });

  it('serialize one member without its key, a bare key as ?1 (RFC 9421 §2.1.2 examples)', () => {
    const dict = parseDictionary('a=1, b=2;x=1;y=2, c=(a   b    c), d');
    expect(['a', 'd', 'b', 'c'].map((k) => serializeMember(dict.get(k) as Item))).toEqual(['1', '?1', '2;x=1;y=2', '(a b c)']);
    expect(reserialize('a=1, b=2;x=1;y=2, c=(a   b    c), d')).toBe('a=1, b=2;x=1;y=2, c=(a b c), d');
  });

  it('read every bare item type', () => {
    const dict = parseDictionary('i=-42, d=1.50, s="say \\"hi\\" \\\\", t=foo/bar:baz, b=:aGVsbG8=:, y=?1, n=?0, l=("x";req "y");created=1');
    expect((dict.get('i') as Item).value).toBe(-42);
    expect((dict.get('d') as Item).value).toEqual(new SfDecimal(1.5));
    expect((dict.get('s') as Item).value).toBe('say "hi" \\');
    expect((dict.get('t') as Item).value).toEqual(new SfToken('foo/bar:baz'));
    expect(Buffer.from((dict.get('b') as Item).value as Uint8Array).toString()).toBe('hello');
    expect((dict.get('y') as Item).value).toBe(true);
    expect((dict.get('n') as Item).value).toBe(false);
    const list = dict.get('l') as InnerList;
    expect(list.items.map((i) => [i.value, i.params])).toEqual([['x', [['req', true]]], ['y', []]]);
    expect(list.params).toEqual([['created', 1]]);
    expect(serializeDictionary(dict)).toBe('i=-42, d=1.5, s="say \\"hi\\" \\\\", t=foo/bar:baz, b=:aGVsbG8=:, y, n=?0, l=("x";req "y");created=1');
  });

  it('combine several field lines with ", " and accept tabs around commas', () => {
    expect(serializeDictionary(parseDictionary(['a=1', 'b=2']))).toBe('a=1, b=2');
    expect(reserialize(' a=1\t,\tb=2\t')).toBe('a=1, b=2');
  });

  it('tolerate missing base64 padding, as §4.2.7 asks', () => {
    expect(Buffer.from((parseDictionary('b=:aGVsbG8:').get('b') as Item).value as Uint8Array).toString()).toBe('hello');
  });

  it('keep decimals as decimals when serializing', () => {
    expect(serializeBareItem(new SfDecimal(1))).toBe('1.0');
    expect(serializeBareItem(new SfDecimal(-0.25))).toBe('-0.25');
    expect(reserialize('x=123456789012.123')).toBe('x=123456789012.123');
  });

  it.each([
    ['a trailing comma', 'a=1,'],
    ['an upper-case key', 'A=1'],
    ['a key starting with a digit', '1a=1'],
    ['an unterminated string', 'a="abc'],
    ['a bad escape', 'a="\\n"'],
    ['a non-ASCII string', 'a="é"'],
    ['a control character in a string', 'a="\u0001"'],
    ['a 16-digit integer', 'a=1234567890123456'],
    ['a lone minus', 'a=-'],
    ['a minus before a point', 'a=-.5'],
    ['four fraction digits', 'a=1.2345'],
    ['13 integer digits in a decimal', 'a=1234567890123.1'],
    ['a decimal without fraction digits', 'a=1.'],
    ['a character outside base64', 'a=:ab$c:'],
    ['"=" inside base64', 'a=:ab=c:'],
    ['an impossible base64 length', 'a=:abcde:'],
    ['an unterminated byte sequence', 'a=:abc'],
    ['a bad boolean', 'a=?2'],
    ['a repeated key', 'a=1, a=2'],
    ['a repeated parameter', 'a=1;x;x'],
    ['items not separated in an inner list', 'a=("x""y")'],
    ['an unterminated inner list', 'a=("x"'],
    ['garbage after a member', 'a=1 b=2'],
    ['a lone item', '"x"'],
    ['a leading tab', '\ta=1'],
  ])('refuse %s', (_what, text) => {
    expect(() => parseDictionary(text)).toThrow(StructuredFieldError);
  });

  it('refuse what is beyond the limits, before doing the work', () => {
    const limits = { maxChars: 100, maxMembers: 2, maxListItems: 2, maxParams: 2 };
    expect(() => parseDictionary('a='.padEnd(101, '1'), limits)).toThrow(/longer than 100/);
    expect(() => parseDictionary('a, b, c', limits)).toThrow(/more than 2 members/);
    expect(() => parseDictionary('a=(1 2 3)', limits)).toThrow(/more than 2 items/);
    expect(() => parseDictionary('a;x;y;z', limits)).toThrow(/more than 2 parameters/);
    expect(parseDictionary('a=(1 2), b;x;y=2', limits).size).toBe(2);
  });

  it('refuse to serialize what is not valid', () => {
    expect(() => serializeBareItem('line\nbreak')).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(1e16)).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(1.5)).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(new SfToken('1abc'))).toThrow(StructuredFieldError);
    expect(() => serializeDictionary(new Map([['Upper', { value: 1, params: [] }]]))).toThrow(StructuredFieldError);
  });
});
