/**
 * The two ajv instances of the engine. Facts schemas ship with the package and are trusted;
 * rule schemas come from profiles and are not: those run through a linear-time regex engine
 * (re2js) and ajv's secure meta-schema, as ajv recommends for untrusted schemas.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import secureMeta from 'ajv/dist/refs/json-schema-secure.json' with { type: 'json' };
import { loadPrecompiled } from './precompiled.js';

type RegExpEngine = ((pattern: string, flags: string) => { test: (s: string) => boolean; toString(): string }) & { code: string };

/** One character of a literal: not a metacharacter, or an escaped one. */
const LITERAL_CHAR = String.raw`(?:[^\\^$.|?*+()[\]{}]|\\[\\^$.|?*+()[\]{}/-])`;

/**
 * A character class of literal characters, ranges and escapes, without nested brackets and without
 * \s or \p escapes, whose meaning differs between RE2 and JavaScript.
 */
const CLASS = String.raw`\[(?:[^\\\[\]]|\\[^sSpP])+\]`;

/** `^literal` or `^literal$` with no other metacharacters: a prefix or an exact comparison. */
const LITERAL = new RegExp(`^\\^(${LITERAL_CHAR}*)(\\$?)$`);

/** `suffix$` or `one$|other$`: literal endings (`_endpoint$|_iframe$`), tested with endsWith. */
const SUFFIX = `${LITERAL_CHAR}+\\$`;
const SUFFIXES = new RegExp(`^${SUFFIX}(?:\\|${SUFFIX})*$`);
const SUFFIX_PIECES = new RegExp(SUFFIX, 'g');

/**
 * `^[class]{m,n}$`, `^[class]+$` or `^[class]*$`: one anchored character class under one quantifier
 * matches in linear time on any engine (there is nothing to backtrack into), so the native engine
 * runs it.
 */
const SINGLE_CLASS = new RegExp(String.raw`^\^${CLASS}(?:\{\d{1,4}(?:,\d{0,4})?\}|\+|\*)\$$`);

/**
 * An anchored sequence of literal characters and character classes, each at most repeated a fixed
 * number of times (`^[0-9a-f]{8}-[0-9a-f]{4}$`, a UUID): every position has one way to match, so no
 * engine backtracks.
 */
const FIXED_SEQUENCE = new RegExp(String.raw`^\^(?:(?:${CLASS}|${LITERAL_CHAR})(?:\{\d{1,4}\})?)+\$$`);

function literalSuffixes(pattern: string): string[] | null {
  if (!SUFFIXES.test(pattern)) return null;
  // The pieces between unescaped '|', each without its '$' and unescaped.
  return (pattern.match(SUFFIX_PIECES) ?? []).map((piece) => piece.slice(0, -1).replace(/\\(.)/g, '$1'));
}

function nativeRegExp(pattern: string): RegExp | null {
  if (!SINGLE_CLASS.test(pattern) && !FIXED_SEQUENCE.test(pattern)) return null;
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return null; // RE2 may still accept it
  }
}

/**
 * Compiles a pattern with RE2 semantics: matching time is linear in the input, so no ReDoS.
 * Anchored literals (`^https://`, the commonest pattern in profiles) skip the regex engine, and a
 * single anchored character class under one quantifier, or a fixed-width sequence, runs natively
 * (linear by construction).
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => {
    // ajv caches compiled patterns by toString(); it must be unique per pattern.
    const toString = () => `re2:${pattern}`;
    const literal = LITERAL.exec(pattern);
    if (literal) {
      const text = (literal[1] as string).replace(/\\(.)/g, '$1');
      return { test: literal[2] ? (s: string) => s === text : (s: string) => s.startsWith(text), toString };
    }
    const suffixes = literalSuffixes(pattern);
    if (suffixes) return { test: (s: string) => suffixes.some((end) => s.endsWith(end)), toString };
    const native = nativeRegExp(pattern);
    if (native) return { test: (s: string) => native.test(s), toString };
    const re = RE2JS.compile(pattern);
    const size = programSize(re, pattern);
    return {
      test: (s: string) => {
        if (s.length * size > REGEX_LIMITS.maxSteps) throw new Error(`pattern ${JSON.stringify(pattern)} is too costly for a string of ${s.length} characters (${size} instructions)`);
        return re.matcher(s).find();
      },
      toString,
    };
  },
  { code: 'linearRegExp' },
);

/**
 * RE2 matching is linear in the input but also in the compiled program, and counted repeats
 * expand: `[a-z]{1000}` is a thousand instructions. A match costs about input length × program
 * size steps (~20 ns each here), so both the program and that product are bounded; a match
 * over budget throws, which fails its rule closed.
 */
const REGEX_LIMITS = { maxProgram: 2000, maxSteps: 1_000_000 } as const;

function programSize(re: RE2JS, pattern: string): number {
  // re2js keeps its compiled program on an internal field; a version without it is refused
  // (and test/profile-loading.test.ts fails) rather than matched without a bound.
  const size = (re as unknown as { re2Input?: { prog?: { inst?: unknown[] } } }).re2Input?.prog?.inst?.length;
  if (typeof size !== 'number') throw new Error(`cannot measure the cost of pattern ${JSON.stringify(pattern)}`);
  if (size > REGEX_LIMITS.maxProgram) throw new Error(`pattern ${JSON.stringify(pattern)} compiles to ${size} instructions; at most ${REGEX_LIMITS.maxProgram} are allowed`);
  return size;
}

/**
 * minLength/maxLength count UTF-16 code units (`unicode: false`) rather than code points: ajv's
 * code-point count walks every string and was over 90% of facts validation. For size bounds the
 * unit count is the stricter of the two. ajv flags the option as deprecated; that notice is dropped.
 */
const COMMON = { unicode: false, logger: quietLogger() } as const;

function quietLogger() {
  return {
    log: console.log,
    warn: (...args: unknown[]) => {
      if (!String(args[0]).startsWith('DEPRECATED: option unicode')) console.warn(...args);
    },
    error: console.error,
  };
}

/**
 * For the package's own schemas. They are checked by the test suite, so they are not validated
 * against the meta-schema at run time (compiling the meta-schema costs ~50 ms per instance).
 */
export function trustedAjv(options: { allErrors?: boolean; source?: boolean } = {}): Ajv2020 {
  // strictRequired is off: `if: {required: [extends]}` names a property declared by the parent schema.
  // strictTypes is off: the `json` levels of the facts schemas apply to any type on purpose.
  return new Ajv2020({
    ...COMMON, strict: true, strictRequired: false, strictTypes: false, validateSchema: false, allErrors: options.allErrors ?? false, allowUnionTypes: true,
    // `source` keeps the generated code, for precompiling (see precompiled.ts).
    ...(options.source ? { code: { source: true, esm: true } } : {}),
  });
}

export function untrustedAjv(): Ajv2020 {
  return new Ajv2020({
    ...COMMON,
    // Unknown keywords stay errors; type annotations are the author's business.
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allErrors: false,
    allowUnionTypes: true,
    // Checked against the meta-schemas by `ruleSchemaProblems` instead: ajv would compile the
    // 2020-12 meta-schema again for every instance (~35 ms per profile load).
    validateSchema: false,
    // No formats are registered, so with strict mode any `format` is a compile error rather than
    // a keyword silently ignored (which would let every value pass).
    validateFormats: true,
    code: { regExp: linearRegExp },
    // A rule schema may only refer inside itself; nothing is loaded from elsewhere.
    loadSchema: undefined,
  });
}

const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

/** The draft 2020-12 meta-schema, as ajv ships it: is a rule schema a valid JSON Schema at all? */
export function draft2020MetaAjv(options: { source?: boolean } = {}): Ajv2020 {
  return new Ajv2020({ strict: false, allErrors: true, ...(options.source ? { code: { source: true, esm: true } } : {}) });
}

/** ajv's secure meta-schema (draft-07): would a valid schema be slow or unbounded on hostile data? */
export function secureMetaAjv(options: { source?: boolean } = {}): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, ...(options.source ? { code: { source: true, esm: true } } : {}) });
  ajv.addSchema(secureMeta, 'secure');
  return ajv;
}

export const META_VALIDATORS = { draft2020: DRAFT_2020, secure: 'secure' } as const;

/** Precompiled at build time (precompiled.ts); otherwise compiled once per process, on first use. */
let draft2020Check = (await loadPrecompiled('meta-validators', ['draft2020']))?.get('draft2020');
let secureCheck = (await loadPrecompiled('secure-validators', ['secure']))?.get('secure');

/**
 * Why a rule schema may not be compiled: not a valid 2020-12 schema, or unsafe on untrusted data
 * by ajv's secure meta-schema (e.g. a pattern without maxLength). Empty when it may.
 */
export function ruleSchemaProblems(schema: unknown): string[] {
  draft2020Check ??= draft2020MetaAjv().getSchema(DRAFT_2020) as ValidateFunction;
  const invalid = findings(draft2020Check, schema);
  if (invalid.length) return [`schema is invalid: ${invalid.join('; ')}`];
  secureCheck ??= secureMetaAjv().getSchema('secure') as ValidateFunction;
  const unsafe = findings(secureCheck, schema);
  return unsafe.length ? [`schema is unsafe for untrusted input: ${unsafe.join('; ')}`] : [];
}

function findings(validate: ValidateFunction, schema: unknown): string[] {
  if (validate(schema)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'is invalid'}`);
}
