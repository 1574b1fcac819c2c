/**
 * The two ajv instances of the engine. Facts schemas ship with the package and are trusted;
 * rule schemas come from profiles and are not: those run through a linear-time regex engine
 * (re2js) and ajv's secure meta-schema, as ajv recommends for untrusted schemas.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { Ajv, type ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import secureMeta from 'ajv/dist/refs/json-schema-secure.json' with { type: 'json' };

type RegExpEngine = ((pattern: string, flags: string) => { test: (s: string) => boolean; toString(): string }) & { code: string };

/** `^literal` or `^literal$` with no other metacharacters: a prefix or an exact comparison. */
const LITERAL = /^\^((?:[^\\^$.|?*+()[\]{}]|\\[\\^$.|?*+()[\]{}/-])*)(\$?)$/;

/**
 * Compiles a pattern with RE2 semantics: matching time is linear in the input, so no ReDoS.
 * Anchored literals (`^https://`, the commonest pattern in profiles) skip the regex engine.
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
    const re = RE2JS.compile(pattern);
    return { test: (s: string) => re.matcher(s).find(), toString };
  },
  { code: 'linearRegExp' },
);

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
    validateFormats: false,
    code: { regExp: linearRegExp },
    // A rule schema may only refer inside itself; nothing is loaded from elsewhere.
    loadSchema: undefined,
  });
}

let secureChecker: ValidateFunction | undefined;

/** Errors from ajv's secure meta-schema (e.g. a pattern without maxLength), as readable strings. */
export function insecureSchemaFindings(schema: unknown): string[] {
  secureChecker ??= new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(secureMeta);
  if (secureChecker(schema)) return [];
  return (secureChecker.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? 'insecure'}`);
}
