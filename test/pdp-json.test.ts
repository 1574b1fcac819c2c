import { describe, expect, it, vi } from 'vitest';
import { HttpError } from '../src/pdp/errors.js';
import { firstTooDeep, parseJson, syntaxError } from '../src/pdp/json.js';

const buf = (text: string) => Buffer.from(text, 'utf8');

function refusal(text: string | Buffer, maxDepth = 8): HttpError {
  try {
    parseJson(typeof text === 'string' ? buf(text) : text, maxDepth);
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('parseJson accepted the body');
}

describe('the nesting check before JSON.parse', () => {
  it('counts brackets outside strings only, and sees through escapes', () => {
    expect(firstTooDeep(buf('[[[]]]'), 0, 3)).toBe(-1);
    expect(firstTooDeep(buf('[[[[]]]]'), 0, 3)).toBe(3);
    expect(firstTooDeep(buf('{"a":{"b":[{}]}}'), 0, 4)).toBe(-1);
    expect(firstTooDeep(buf('{"a":{"b":[{}]}}'), 0, 3)).toBe(11);
    expect(firstTooDeep(buf('["[[[[[[", "{{{{"]'), 0, 1)).toBe(-1);
    expect(firstTooDeep(buf('["\\"[[[[", "\\\\", [[]]]'), 0, 2)).toBe(18);
    expect(firstTooDeep(buf('["\\\\"  , [[[]]]]'), 0, 3)).toBe(11);
  });

  it('stops where more brackets closed than opened (JSON.parse fails there first)', () => {
    expect(firstTooDeep(buf(']' + '['.repeat(50)), 0, 8)).toBe(-1);
    expect(refusal(']' + '['.repeat(50)).message).toBe("request body is not valid JSON: unexpected character ']', expected a value at byte 0");
  });

  it('refuses a body deeper than the limit before parsing it, naming the byte', () => {
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const e = refusal('['.repeat(1 << 20));
      expect(e).toMatchObject({ status: 400, code: 'invalid_json', message: 'JSON nesting is deeper than 8 (at byte 8)' });
      expect(parse).not.toHaveBeenCalled();
    } finally {
      parse.mockRestore();
    }
  });

  it('accepts exactly the limit', () => {
    const nine = '['.repeat(8) + ']'.repeat(8);
    expect(parseJson(buf(nine), 8)).toEqual([[[[[[[[]]]]]]]]);
    expect(refusal(`[${nine}]`).message).toMatch(/nesting is deeper than 8/);
    expect(parseJson(buf(`{"a":"${'['.repeat(100)}"}`), 1)).toEqual({ a: '['.repeat(100) });
  });
});

describe('syntax errors in our own words', () => {
  const cases: Array<[string, string]> = [
    ['\u0000', 'unexpected byte 0x00, expected a value at byte 0'],
    ['{"profile": ', 'unexpected end of input, expected a value at byte 12'],
    ['{"a" 1}', "unexpected character '1', expected ':' after a member name at byte 5"],
    ['{"a":1,}', "unexpected character '}', expected a member name in double quotes at byte 7"],
    ['{"a":1 "b":2}', "unexpected character '\"', expected ',' or '}' at byte 7"],
    ['[1 2]', "unexpected character '2', expected ',' or ']' at byte 3"],
    ['{"a":"x\r\ny"}', 'byte 0x0d in a string: control characters must be escaped at byte 7'],
    ['["\\x"]', "unexpected character 'x', expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t, or \\u and four hex digits at byte 3"],
    ['["\\u12"]', "unexpected character 'u', expected an escape: \\\" \\\\ \\/ \\b \\f \\n \\r \\t, or \\u and four hex digits at byte 3"],
    ['["abc', 'unexpected end of input, expected the closing \'"\' of a string at byte 5'],
    ['{} x', "unexpected character 'x', expected the end of the body after the JSON value at byte 3"],
    ['[01]', "unexpected character '1', expected ',' or ']' at byte 2"],
    ['[-]', "unexpected character '-', expected a value at byte 1"],
    ['[tru]', "unexpected character 't', expected a value at byte 1"],
    ['{"\u202e": ¤}', 'unexpected byte 0xc2, expected a value at byte 8'],
  ];
  for (const [text, message] of cases) {
    it(`${JSON.stringify(text)} -> ${message}`, () => {
      const e = refusal(text);
      expect(e).toMatchObject({ status: 400, code: 'invalid_json', message: `request body is not valid JSON: ${message}` });
      expect(e.message).toMatch(/^[\x20-\x7e]*$/);
    });
  }

  it('counts offsets from the first byte of the body, a byte order mark included', () => {
    expect(refusal(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), buf('{,}')])).message).toMatch(/at byte 4$/);
  });

  it('agrees with JSON.parse on what is valid, over thousands of mutated bodies', () => {
    const seeds = [
      '{"profile":"mini-base","stage":"par","facts":{"time":1767225600,"params":{"a":[1,-2.5e3,true,false,null],"s":"x\\u00e9\\n\\"y"}}}',
      '[{"a":{}},[],"\\/",0.5,-0,1E+2,"é€𝄞"]',
      ' \t\r\n{ "k" : [ 1 , 2 ] } \n',
    ];
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '1', '-', '.', 'e', '+', 't', 'n', ' ', '\n', '\u0001', 'x', 'é'];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let invalid = 0;
    for (let round = 0; round < 3000; round++) {
      const chars = [...(seeds[round % seeds.length] as string)];
      for (let k = 1 + random(3); k > 0; k--) {
        const at = random(chars.length + 1);
        const op = random(3);
        if (op === 0) chars.splice(at, 1);
        else if (op === 1) chars.splice(at, 0, alphabet[random(alphabet.length)] as string);
        else chars.splice(at, 1, alphabet[random(alphabet.length)] as string);
      }
      const text = chars.join('');
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const located = syntaxError(buf(text), 0);
      if (valid) expect(located, text).toBe('JSON.parse refused it, and the error could not be located');
      else {
        invalid++;
        expect(located, text).toMatch(/ at byte \d+$/);
      }
    }
    expect(invalid).toBeGreaterThan(1000);
  });
});
