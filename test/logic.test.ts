/**
 * The json-logic compiler (src/engine/logic): differential testing against json-logic-js on
 * well-typed expressions, the places where we deliberately differ from it, compile errors,
 * and the documented semantics (README, profile authoring guide: "Rules" and "The vetted
 * json-logic operators").
 */
import jsonLogic from 'json-logic-js';
import { describe, expect, it } from 'vitest';
import { LogicCompileError, MalformedFactError, MissingFactError } from '../src/engine/errors.js';
import { compileLogic } from '../src/engine/logic/compile.js';
import { mulberry32 } from './helpers.js';

// ---------------------------------------------------------------------------------------------
// Reference: json-logic-js plus our custom operators with the meanings the doc gives them.
// ---------------------------------------------------------------------------------------------

jsonLogic.add_operation('length', (a: string | unknown[]) => a.length);
jsonLogic.add_operation('starts_with', (a: string, prefix: string) => a.startsWith(prefix));
jsonLogic.add_operation('subset', (a: unknown[], b: unknown[]) => a.every((x) => b.indexOf(x) !== -1));
jsonLogic.add_operation('words', (s: string) => s.split(' ').filter((w) => w !== ''));
jsonLogic.add_operation('typeof', (v: unknown) => (v === null || v === undefined ? 'null' : Array.isArray(v) ? 'array' : typeof v));

const SETTINGS = {
  algs: ['PS256', 'ES256'],
  methods: ['S256'],
  max: 10,
  name: 'S256',
  flag: true,
  off: false,
  nested: { list: [1, 2, 3], empty: [] as string[] },
  signing_algs: { par: ['PS256'], token: ['ES256', 'EdDSA'] },
};

function compile(expr: unknown, stage = 'par') {
  return compileLogic(expr, { settings: SETTINGS, stage });
}

function run(expr: unknown, facts: unknown): unknown {
  return compile(expr).evaluate(facts);
}

/** json-logic-js over the same {facts, settings} data our compiler sees. */
function ref(expr: unknown, facts: unknown): unknown {
  return jsonLogic.apply(expr as never, { facts, settings: SETTINGS });
}

function thrown(fn: () => unknown): unknown {
  let value: unknown;
  try {
    value = fn();
  } catch (e) {
    return e;
  }
  throw new Error(`expected an exception, got the value ${JSON.stringify(value)}`);
}

function missingFact(fn: () => unknown): MissingFactError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(MissingFactError);
  return e as MissingFactError;
}

function malformedFact(fn: () => unknown): MalformedFactError {
  const e = thrown(fn);
  expect(e).toBeInstanceOf(MalformedFactError);
  return e as MalformedFactError;
}

function compileError(expr: unknown): LogicCompileError {
  const e = thrown(() => compile(expr));
  expect(e).toBeInstanceOf(LogicCompileError);
  return e as LogicCompileError;
}

// ---------------------------------------------------------------------------------------------
// 1. Differential test
// ---------------------------------------------------------------------------------------------

type Ty = 'num' | 'str' | 'bool' | 'strArr' | 'numArr' | 'objArr' | 'any';
/** 'top' reads {facts, settings}; the others are the element type inside some/all/none/map/filter. */
type Sc = 'top' | 'str' | 'num' | 'obj';

const STRINGS = ['PS256', 'ES256', 'EdDSA', 'S256', 'RS256', 'plain', 'openid', ''] as const;
const NUMBERS = [-3, 0, 1, 2, 5, 7, 10, 60, 0.5, 2.25] as const;
const SCOPES = ['openid', 'openid accounts', 'openid payments accounts', 'accounts', ''] as const;
const TOP_VARS: Record<Exclude<Ty, 'any'>, readonly string[]> = {
  num: ['facts.n', 'facts.m', 'facts.obj.n', 'facts.nums.0', 'facts.items.0.n', 'settings.max', 'settings.nested.list.1'],
  str: ['facts.s', 'facts.t', 'facts.obj.s', 'facts.algs.0', 'facts.items.0.alg', 'facts.scope', 'settings.name'],
  bool: ['facts.b', 'facts.obj.deep.b', 'settings.flag', 'settings.off'],
  strArr: ['facts.algs', 'facts.obj.list', 'facts.items.0.tags', 'settings.algs', 'settings.methods', 'settings.nested.empty'],
  numArr: ['facts.nums', 'settings.nested.list'],
  objArr: ['facts.items'],
};
const MISSING_KEYS: Record<Sc, readonly string[]> = {
  top: ['facts.s', 'facts.n', 'facts.obj.s', 'facts.opt', 'facts.algs.0', 'facts.nope', 'facts.obj.deep.b', 'facts.scope'],
  obj: ['alg', 'n', 'tags', 'tags.0', 'zzz'],
  str: ['x', 'a.b'],
  num: ['x'],
};

class Gen {
  /** Top-scope fact reads, in the order they appear in the expression. */
  reads: { pointer: string; hasDefault: boolean }[] = [];

  constructor(private readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  chance(p: number): boolean {
    return this.rnd() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  strArr(max = 4): string[] {
    return Array.from({ length: this.int(max + 1) }, () => this.pick(STRINGS));
  }

  facts(): Record<string, unknown> {
    const facts: Record<string, unknown> = {
      n: this.pick(NUMBERS),
      m: this.pick(NUMBERS),
      s: this.pick(STRINGS),
      t: this.pick(STRINGS),
      b: this.chance(0.5),
      algs: this.strArr(),
      nums: Array.from({ length: this.int(5) }, () => this.pick(NUMBERS)),
      scope: this.pick(SCOPES),
      obj: { n: this.pick(NUMBERS), s: this.pick(STRINGS), list: this.strArr(), deep: { b: this.chance(0.5) } },
      items: Array.from({ length: this.int(4) }, () => ({ alg: this.pick(STRINGS), n: this.pick(NUMBERS), tags: this.strArr(3) })),
    };
    if (this.chance(0.5)) facts.opt = this.pick(NUMBERS);
    for (const key of Object.keys(facts)) if (this.chance(0.06)) delete facts[key];
    return facts;
  }

  /** An operation; unary operators sometimes use json-logic's bare-argument form. */
  op(name: string, args: unknown[]): unknown {
    if (args.length === 1 && !Array.isArray(args[0]) && this.chance(0.3)) return { [name]: args[0] };
    return { [name]: args };
  }

  literal(ty: Exclude<Ty, 'any'>): unknown {
    switch (ty) {
      case 'num':
        return this.pick(NUMBERS);
      case 'str':
        return this.pick(STRINGS);
      case 'bool':
        return this.chance(0.5);
      case 'strArr':
        return this.strArr(3);
      case 'numArr':
        return Array.from({ length: this.int(4) }, () => this.pick(NUMBERS));
      case 'objArr':
        return [];
    }
  }

  /** A var of the given type, or undefined when the scope has none. */
  variable(ty: Exclude<Ty, 'any'>, sc: Sc): unknown {
    if (sc === 'top') {
      if (ty === 'num' && this.chance(0.15)) return this.withDefault('facts.opt', ty);
      if (this.chance(0.1) && ty !== 'objArr') return { var: ['settings.nope', this.literal(ty)] };
      const path = this.pick(TOP_VARS[ty]);
      return this.chance(0.2) ? this.withDefault(path, ty) : this.plainVar(path);
    }
    const elem: Partial<Record<Exclude<Ty, 'any'>, string>> =
      sc === 'obj' ? { str: 'alg', num: 'n', strArr: 'tags' } : sc === 'str' ? { str: '' } : { num: '' };
    const path = elem[ty];
    if (path === undefined) return undefined;
    if (path === '' && this.chance(0.3)) return { var: [''] };
    return this.chance(0.5) ? { var: path } : { var: [path] };
  }

  plainVar(path: string): unknown {
    if (path.startsWith('facts.')) this.reads.push({ pointer: '/' + path.split('.').slice(1).join('/'), hasDefault: false });
    return this.chance(0.5) ? { var: path } : { var: [path] };
  }

  withDefault(path: string, ty: Exclude<Ty, 'any'>): unknown {
    if (path.startsWith('facts.')) this.reads.push({ pointer: '/' + path.split('.').slice(1).join('/'), hasDefault: true });
    return { var: [path, this.literal(ty)] };
  }

  leaf(ty: Exclude<Ty, 'any'>, sc: Sc): unknown {
    if (this.chance(0.65)) {
      const v = this.variable(ty, sc);
      if (v !== undefined) return v;
    }
    return this.literal(ty);
  }

  prim(): 'num' | 'str' | 'bool' {
    return this.pick(['num', 'str', 'bool'] as const);
  }

  iterate(op: string, source: 'strArr' | 'numArr' | 'objArr', body: Ty, d: number, sc: Sc): unknown {
    const elemScope: Sc = source === 'strArr' ? 'str' : source === 'numArr' ? 'num' : 'obj';
    const src = this.expr(source, d - 1, sc);
    const fn = this.expr(body, d - 1, elemScope);
    return { [op]: [src, fn] };
  }

  expr(ty: Ty, d: number, sc: Sc): unknown {
    if (ty === 'any') {
      const r = this.int(12);
      if (d > 0 && r < 2) return { [this.pick(['and', 'or'])]: Array.from({ length: 1 + this.int(3) }, () => this.expr('any', d - 1, sc)) };
      if (d > 0 && r < 3) return { if: [this.expr('bool', d - 1, sc), this.expr('any', d - 1, sc), this.expr('any', d - 1, sc)] };
      // if without an else (null when nothing matches), and merge flattening exactly one level
      if (d > 0 && r < 4) return { if: Array.from({ length: this.pick([0, 2, 4]) }, (_, i) => this.expr(i % 2 ? 'any' : 'bool', d - 1, sc)) };
      if (d > 0 && r < 5) return { merge: [[this.expr('strArr', d - 1, sc)], this.expr(this.pick(['str', 'numArr'] as const), d - 1, sc)] };
      return this.expr(this.pick(['num', 'str', 'bool', 'strArr', 'numArr', 'objArr'] as const), d, sc);
    }
    if (d <= 0 || this.chance(0.25)) return this.leaf(ty, sc);
    const sub = (t: Ty) => this.expr(t, d - 1, sc);
    const some = (t: Ty, min: number, max: number) => Array.from({ length: min + this.int(max - min + 1) }, () => sub(t));
    switch (ty) {
      case 'num':
        switch (this.int(9)) {
          case 0:
            return { '+': some('num', 1, 3) };
          case 1:
            return { '*': some('num', 1, 3) };
          case 2:
            return this.chance(0.3) ? this.op('-', [sub('num')]) : { '-': [sub('num'), sub('num')] };
          case 3:
            return { '/': [sub('num'), this.pick([2, 3, 0.5, -4])] };
          case 4:
            return { '%': [sub('num'), this.pick([2, 3, 7])] };
          case 5:
            return { [this.pick(['min', 'max'])]: some('num', 1, 3) };
          case 6:
            return this.op('length', [sub(this.pick(['str', 'strArr', 'numArr'] as const))]);
          case 7:
            return this.chance(0.7)
              ? { if: [sub('bool'), sub('num'), sub('num')] }
              : { '?:': [sub('bool'), sub('num'), sub('num')] };
          default:
            return this.leaf('num', sc);
        }
      case 'str':
        switch (this.int(5)) {
          case 0:
          case 1:
            return { cat: Array.from({ length: 1 + this.int(3) }, () => sub(this.pick(['str', 'num'] as const))) };
          case 2:
            return this.chance(0.5)
              ? { if: [sub('bool'), sub('str'), sub('str')] }
              : { if: [sub('bool'), sub('str'), sub('bool'), sub('str'), sub('str')] };
          case 3:
            return this.op('typeof', [sub('any')]);
          default:
            return this.leaf('str', sc);
        }
      case 'bool':
        switch (this.int(16)) {
          case 0:
          case 1:
            return { [this.pick(['<', '<=', '>', '>='])]: [sub('num'), sub('num')] };
          case 2:
            return { [this.pick(['<', '<='])]: [sub('num'), sub('num'), sub('num')] };
          case 3:
          case 4: {
            const t = this.prim();
            return { [this.pick(['==', '!=', '===', '!=='])]: [sub(t), sub(t)] };
          }
          case 5:
            return this.chance(0.6) ? { in: [sub('str'), sub('strArr')] } : { in: [sub('num'), sub('numArr')] };
          case 6:
            return this.op(this.pick(['!', '!!']), [sub('any')]);
          case 7:
            return { [this.pick(['and', 'or'])]: some('bool', 1, 3) };
          case 8:
          case 9:
            return this.iterate(this.pick(['some', 'all', 'none']), this.pick(['strArr', 'numArr', 'objArr'] as const), 'bool', d, sc);
          case 10:
            return { starts_with: [sub('str'), sub('str')] };
          case 11:
            return { subset: [sub('strArr'), sub('strArr')] };
          case 12:
            return { '==': [this.op('typeof', [sub('any')]), this.pick(['string', 'number', 'boolean', 'array', 'object', 'null'])] };
          case 13:
            return this.op('!', [this.missing(sc)]);
          default:
            return this.leaf('bool', sc);
        }
      case 'strArr':
        switch (this.int(9)) {
          case 0:
            return this.iterate('filter', 'strArr', 'bool', d, sc);
          case 1:
            return this.iterate('map', 'strArr', 'str', d, sc);
          case 2:
            return this.iterate('map', 'objArr', 'str', d, sc);
          case 3:
            return { merge: [sub('strArr'), sub(this.pick(['str', 'strArr'] as const))] };
          case 4:
            return this.op('words', [sub('str')]);
          case 5:
            return this.missing(sc);
          case 6:
            return { if: [sub('bool'), sub('strArr'), sub('strArr')] };
          default:
            return this.leaf('strArr', sc);
        }
      case 'numArr':
        switch (this.int(6)) {
          case 0:
            return this.iterate('filter', 'numArr', 'bool', d, sc);
          case 1:
            return this.iterate('map', 'numArr', 'num', d, sc);
          case 2:
            return this.iterate('map', 'objArr', 'num', d, sc);
          case 3:
            return { merge: [sub('numArr'), sub(this.pick(['num', 'numArr'] as const))] };
          default:
            return this.leaf('numArr', sc);
        }
      case 'objArr':
        return this.chance(0.5) ? this.iterate('filter', 'objArr', 'bool', d, sc) : this.leaf('objArr', sc);
    }
  }

  missing(sc: Sc): unknown {
    const keys = MISSING_KEYS[sc];
    const chosen = Array.from({ length: 1 + this.int(3) }, () => this.pick(keys));
    if (this.chance(0.3)) return { missing_some: [this.int(chosen.length + 1), chosen] };
    return this.chance(0.3) ? { missing: [chosen] } : { missing: chosen };
  }
}

/** Own-property JSON lookup of a dotted facts path (what "present" means for a var). */
function lookup(root: unknown, pointer: string): unknown {
  let current: unknown = root;
  for (const key of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** -0 and 0 are the same answer (json-logic-js's parseFloat in + and * turns -0 into 0). */
function normalize(v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? 0 : v;
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

const DIFF_SEEDS = [1, 42, 0x5eed, 20250101] as const;
const DIFF_CASES_PER_SEED = 750; // 3,000 expressions, each evaluated over 2 fact sets

describe('differential: compiled logic agrees with json-logic-js on well-typed expressions', () => {
  for (const seed of DIFF_SEEDS) {
    it(`seed ${seed}: ${DIFF_CASES_PER_SEED} expressions × 2 fact sets`, () => {
      const g = new Gen(mulberry32(seed));
      const failures: string[] = [];
      let compared = 0;
      let missingThrown = 0;
      for (let i = 0; i < DIFF_CASES_PER_SEED && failures.length < 5; i++) {
        g.reads = [];
        const ty = g.pick(['bool', 'bool', 'num', 'str', 'strArr', 'numArr', 'any'] as const);
        const expr = g.expr(ty, 1 + g.int(4), 'top');
        const reads = g.reads;
        const where = () => `case ${i} (seed ${seed}) expr=${JSON.stringify(expr)}`;
        let compiled: ReturnType<typeof compile>;
        try {
          compiled = compile(expr);
        } catch (e) {
          failures.push(`${where()}: compile threw ${String(e)}`);
          continue;
        }
        const distinct = (xs: string[]) => [...new Set(xs)];
        const wantReads = distinct(reads.map((r) => r.pointer));
        if (JSON.stringify(distinct(compiled.factReads)) !== JSON.stringify(wantReads)) {
          failures.push(`${where()}: factReads ${JSON.stringify(compiled.factReads)}, want (distinct, in order) ${JSON.stringify(wantReads)}`);
        }
        for (let k = 0; k < 2; k++) {
          const facts = g.facts();
          const at = `${where()} facts=${JSON.stringify(facts)}`;
          const absent = reads.filter((r) => !r.hasDefault && lookup(facts, r.pointer) == null).map((r) => r.pointer);
          let actual: unknown;
          let ours: unknown;
          try {
            actual = compiled.evaluate(facts);
          } catch (e) {
            ours = e;
          }
          if (ours !== undefined && absent.length > 0 && ours instanceof MissingFactError && absent.includes(ours.pointer)) {
            missingThrown++; // an absent fact was read: fail closed (json-logic-js would see null)
            continue;
          }
          let expected: unknown;
          try {
            expected = ref(expr, facts);
          } catch (e) {
            failures.push(`${at}: json-logic-js threw ${String(e)}; ours ${ours === undefined ? `gave ${JSON.stringify(actual)}` : `threw ${String(ours)}`}`);
            continue;
          }
          if (ours !== undefined) {
            failures.push(`${at}: ours threw ${String(ours)} (absent reads: ${JSON.stringify(absent)}), json-logic-js gave ${JSON.stringify(expected)}`);
            continue;
          }
          // When a read fact is absent and ours still answers, that fact was never evaluated
          // (short-circuit), so json-logic-js must give the same answer too.
          if (JSON.stringify(normalize(actual)) !== JSON.stringify(normalize(expected)) || typeof actual !== typeof expected) {
            failures.push(`${at}: ours ${JSON.stringify(actual)}, json-logic-js ${JSON.stringify(expected)}`);
          }
          if (absent.length === 0) compared++;
        }
      }
      expect(failures, failures.join('\n\n')).toEqual([]);
      // The generator must actually exercise the fully-present path, and the missing-fact path.
      expect(compared).toBeGreaterThan(DIFF_CASES_PER_SEED);
      expect(missingThrown).toBeGreaterThan(0);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 2. Where we deliberately differ from json-logic-js
// ---------------------------------------------------------------------------------------------

describe('deliberate differences from json-logic-js (fail closed)', () => {
  it('ordering takes numbers only: null < 5', () => {
    expect(ref({ '<': [null, 5] }, {})).toBe(true);
    // a literal null is refused when the profile is compiled ...
    expect(compileError({ '<': [null, 5] }).message).toMatch(/'<' needs a number, got null/);
    // ... and a null at run time is a malformed fact (a deny), never `true`
    const expr = { '<': [{ var: ['facts.a', null] }, 5] };
    expect(ref(expr, {})).toBe(true);
    expect(malformedFact(() => run(expr, {})).message).toMatch(/'<' needs a number, got null/);
    const s = { '<': [{ var: 'facts.a' }, 5] };
    expect(ref(s, { a: '4' })).toBe(true);
    expect(malformedFact(() => run(s, { a: '4' })).pointer).toBe('/a');
    expect(ref({ '<': ['a', 'b'] }, {})).toBe(true);
    expect(compileError({ '<': ['a', 'b'] }).message).toMatch(/needs a number, got string/);
    expect(malformedFact(() => run({ '>=': [{ var: 'facts.a' }, 1] }, { a: true })).pointer).toBe('/a');
  });

  it('a missing fact in a comparison is a MissingFactError naming it', () => {
    const expr = { '<': [{ var: 'facts.a' }, 5] };
    expect(ref(expr, {})).toBe(true);
    expect(missingFact(() => run(expr, {})).pointer).toBe('/a');
    expect(missingFact(() => run({ '<=': [1, { var: 'facts.x.y' }, 9] }, { x: {} })).pointer).toBe('/x/y');
  });

  it('in never does substring search', () => {
    expect(ref({ in: ['PS', 'PS256'] }, {})).toBe(true);
    // constant haystack: refused at compile time
    expect(compileError({ in: ['PS', 'PS256'] }).message).toMatch(/'in' needs an array to search, got string/);
    expect(compileError({ in: [{ var: 'facts.alg' }, { var: 'settings.name' }] }).message).toMatch(/'in' needs an array/);
    // fact haystack: malformed fact at run time, naming the haystack
    const expr = { in: ['PS', { var: 'facts.alg' }] };
    expect(ref(expr, { alg: 'PS256' })).toBe(true);
    const e = malformedFact(() => run(expr, { alg: 'PS256' }));
    expect(e.pointer).toBe('/alg');
    expect(e.message).toMatch(/'in' needs an array, got string/);
  });

  it('== and != are strict', () => {
    expect(ref({ '==': [1, '1'] }, {})).toBe(true);
    expect(run({ '==': [1, '1'] }, {})).toBe(false);
    expect(ref({ '==': [{ var: 'facts.n' }, '1'] }, { n: 1 })).toBe(true);
    expect(run({ '==': [{ var: 'facts.n' }, '1'] }, { n: 1 })).toBe(false);
    expect(run({ '==': ['1', { var: 'facts.n' }] }, { n: 1 })).toBe(false);
    expect(ref({ '==': ['0', false] }, {})).toBe(true);
    expect(run({ '==': ['0', false] }, {})).toBe(false);
    expect(ref({ '==': [{ var: 'facts.s' }, false] }, { s: '0' })).toBe(true);
    expect(run({ '==': [{ var: 'facts.s' }, false] }, { s: '0' })).toBe(false);
    expect(ref({ '==': [[], false] }, {})).toBe(true);
    expect(run({ '==': [[], false] }, {})).toBe(false);
    expect(ref({ '==': [{ var: 'facts.l' }, false] }, { l: [] })).toBe(true);
    expect(run({ '==': [{ var: 'facts.l' }, false] }, { l: [] })).toBe(false);
    expect(ref({ '!=': [0, ''] }, {})).toBe(false);
    expect(run({ '!=': [0, ''] }, {})).toBe(true);
    expect(ref({ '!=': [{ var: 'facts.n' }, ''] }, { n: 0 })).toBe(false);
    expect(run({ '!=': [{ var: 'facts.n' }, ''] }, { n: 0 })).toBe(true);
    expect(run({ '!=': [{ var: 'facts.n' }, { var: 'facts.s' }] }, { n: 1, s: '1' })).toBe(true);
  });

  it('var reads own properties only and refuses prototype names', () => {
    // json-logic-js walks the prototype chain
    expect(ref({ var: 'facts.constructor' }, {})).toBe(Object);
    expect(ref({ var: 'facts.__proto__' }, {})).toBe(Object.prototype);
    expect(ref({ var: 'facts.toString' }, {})).toBe(Object.prototype.toString);
    expect(ref({ var: 'facts.hasOwnProperty' }, {})).toBe(Object.prototype.hasOwnProperty);
    expect(ref({ var: 'facts.algs.map' }, { algs: [] })).toBe(Array.prototype.map);
    // ours: forbidden names do not compile ...
    for (const path of ['facts.constructor', 'facts.__proto__', 'facts.prototype', 'facts.a.constructor', 'settings.__proto__', 'settings.constructor']) {
      expect(compileError({ var: path }).message, path).toMatch(/forbidden key/);
      expect(compileError({ var: [path, null] }).message, path).toMatch(/forbidden key/);
    }
    expect(compileError({ some: [{ var: 'facts.algs' }, { var: 'constructor' }] }).message).toMatch(/forbidden key/);
    // ... and inherited names are simply absent
    expect(missingFact(() => run({ var: 'facts.toString' }, {})).pointer).toBe('/toString');
    expect(missingFact(() => run({ var: 'facts.hasOwnProperty' }, {})).pointer).toBe('/hasOwnProperty');
    expect(missingFact(() => run({ var: 'facts.a.valueOf' }, { a: { x: 1 } })).pointer).toBe('/a/valueOf');
    expect(missingFact(() => run({ var: 'facts.algs.map' }, { algs: [] })).pointer).toBe('/algs/map');
    expect(run({ var: ['facts.toString', 'none'] }, {})).toBe('none');
    expect(run({ '!': { var: ['facts.toString', null] } }, {})).toBe(true);
    expect(ref({ '!': { var: ['facts.toString', null] } }, {})).toBe(false);
    // own properties of the same name are read normally
    expect(run({ var: 'facts.toString' }, { toString: 'x' })).toBe('x');
    expect(run({ var: 'facts.a.length' }, { a: { length: 3 } })).toBe(3);
    // settings follow the same rule
    expect(compileError({ var: 'settings.toString' }).message).toMatch(/unknown setting 'settings\.toString'/);
    // missing treats an inherited name as missing, json-logic-js does not
    expect(ref({ missing: ['facts.toString'] }, {})).toEqual([]);
    expect(run({ missing: ['facts.toString'] }, {})).toEqual(['facts.toString']);
    expect(compileError({ missing: ['facts.constructor'] }).message).toMatch(/forbidden key/);
    expect(compileError({ missing: ['facts.a.__proto__.b'] }).message).toMatch(/forbidden key/);
    // in element scope a path may start with the forbidden name itself
    for (const key of ['__proto__', 'constructor.name', 'prototype', 'a.constructor']) {
      const e = compileError({ some: [{ var: 'facts.items' }, { missing: [key] }] });
      expect(e.message, key).toBe(`'missing' path '${key}' names a forbidden key`);
      expect(compileError({ filter: [{ var: 'facts.items' }, { missing_some: [1, ['alg', key]] }] }).message, key).toMatch(/forbidden key/);
    }
    expect(run({ some: [{ var: 'facts.items' }, { missing: ['constructors', 'my_prototype'] }] }, { items: [{}] })).toBe(true);
  });

  it('arithmetic takes numbers only', () => {
    expect(ref({ '+': ['1', 2] }, {})).toBe(3);
    expect(compileError({ '+': ['1', 2] }).message).toMatch(/'\+' needs a number, got string/);
    const expr = { '+': [{ var: 'facts.s' }, 2] };
    expect(ref(expr, { s: '1' })).toBe(3);
    expect(malformedFact(() => run(expr, { s: '1' })).pointer).toBe('/s');
    expect(ref({ '*': [{ var: 'facts.s' }, 3] }, { s: '2' })).toBe(6);
    expect(malformedFact(() => run({ '*': [{ var: 'facts.s' }, 3] }, { s: '2' })).pointer).toBe('/s');
    expect(ref({ '-': [{ var: 'facts.s' }, 1] }, { s: '5' })).toBe(4);
    expect(malformedFact(() => run({ '-': [{ var: 'facts.s' }, 1] }, { s: '5' })).pointer).toBe('/s');
    expect(ref({ max: [{ var: 'facts.s' }, 2] }, { s: '3' })).toBe(3);
    expect(malformedFact(() => run({ max: [{ var: 'facts.s' }, 2] }, { s: '3' })).pointer).toBe('/s');
    expect(malformedFact(() => run({ '-': { var: 'facts.b' } }, { b: true })).pointer).toBe('/b');
    expect(malformedFact(() => run({ '%': [{ var: 'facts.b' }, 2] }, { b: 'x' })).pointer).toBe('/b');
    expect(compileError({ cat: ['a', null] }).message).toMatch(/'cat' needs a string, got null/);
    expect(malformedFact(() => run({ cat: ['a', { var: 'facts.b' }] }, { b: true })).pointer).toBe('/b');
  });

  it('a null fact is a missing fact even with a default json-logic-js would not use', () => {
    expect(ref({ var: ['facts.a', 'd'] }, { a: null })).toBe(null);
    expect(run({ var: ['facts.a', 'd'] }, { a: null })).toBe('d');
  });
});

// ---------------------------------------------------------------------------------------------
// 3. Compile errors
// ---------------------------------------------------------------------------------------------

describe('compile errors', () => {
  it('refuses operators outside the vetted set, with a pointer to the node', () => {
    const e = compileError({ and: [true, { frobnicate: [1] }] });
    expect(e.message).toMatch(/operator 'frobnicate' is not in the vetted set/);
    expect(e.pointer).toBe('/and/1');
    expect(compileError({ frobnicate: 1 }).pointer).toBe('');
    for (const op of ['method', 'log', 'reduce', 'substr', 'toString', 'hasOwnProperty', 'constructor', '__proto__', 'valueOf']) {
      const expr = JSON.parse(`{"!": [{"${op}": ["abc", "toUpperCase"]}]}`) as unknown;
      const err = compileError(expr);
      expect(err.message, op).toMatch(new RegExp(`operator '${op}' is not in the vetted set`));
      expect(err.pointer, op).toBe('/!/0');
    }
  });

  it('refuses objects that are not exactly one operation', () => {
    const e = compileError({ '==': [1, 1], '!=': [1, 2] });
    expect(e.message).toMatch(/exactly one key, found 2/);
    expect(e.pointer).toBe('');
    const nested = compileError({ or: [false, { '!': [{ a: 1, b: 2 }] }] });
    expect(nested.message).toMatch(/exactly one key, found 2/);
    expect(nested.pointer).toBe('/or/1/!/0');
    expect(compileError({ '==': [{ var: 'facts.o' }, {}] }).message).toMatch(/exactly one key, found 0/);
  });

  it('refuses var paths that are not literal strings', () => {
    const bare = compileError({ var: { cat: ['facts.', 'a'] } });
    expect(bare.message).toMatch(/var path must be a literal/);
    expect(bare.pointer).toBe('/var');
    const listed = compileError({ and: [{ var: [{ cat: ['facts.', 'a'] }, 1] }] });
    expect(listed.message).toMatch(/var path must be a literal/);
    expect(listed.pointer).toBe('/and/0/var/0');
    expect(compileError({ var: [] }).message).toMatch(/literal/);
    expect(compileError({ var: [null] }).message).toMatch(/literal/);
    expect(compileError({ var: true }).message).toMatch(/literal/);
  });

  it('refuses a var default that is not a constant', () => {
    const e = compileError({ var: ['facts.a', { var: 'facts.b' }] });
    expect(e.message).toMatch(/default must be a constant/);
  });

  it("refuses top-level var paths that do not start with 'facts.' or 'settings.'", () => {
    for (const path of ['params.x', 'a', '', 'factsx.a', 'Facts.a', 'setting.max', 1]) {
      const e = compileError({ '!': { var: path } });
      expect(e.message, String(path)).toMatch(/must start with 'facts\.' or 'settings\.'/);
      expect(e.pointer, String(path)).toBe('/!/var');
    }
  });

  it('refuses unknown settings (unless the var has a default)', () => {
    const e = compileError({ in: ['x', { var: 'settings.nope.deeper' }] });
    expect(e.message).toMatch(/unknown setting 'settings\.nope\.deeper'/);
    expect(e.pointer).toBe('/in/1/var');
    expect(compileError({ var: 'settings.max.x' }).message).toMatch(/unknown setting/);
    expect(compileError({ var: 'settings.algs.7' }).message).toMatch(/unknown setting/);
    expect(compile({ var: ['settings.nope', 3] }).evaluate({})).toBe(3);
  });

  it('refuses nesting deeper than 32', () => {
    const nest = (n: number, inner: unknown): unknown => (n === 0 ? inner : { '!': [nest(n - 1, inner)] });
    expect(compile(nest(20, { var: 'facts.b' })).evaluate({ b: true })).toBe(true);
    const e = compileError(nest(40, { var: 'facts.b' }));
    expect(e.message).toMatch(/nested deeper than 32/);
    expect(e.pointer.startsWith('/!/0/!/0')).toBe(true);
    const arrays = (n: number): unknown => (n === 0 ? 'x' : [arrays(n - 1)]);
    expect(compileError({ in: ['x', arrays(40)] }).message).toMatch(/nested deeper than 32/);
  });

  it('counts depth in the scope-word fast path as the general path does', () => {
    const nest = (n: number, inner: unknown): unknown => (n === 0 ? inner : { '!': [nest(n - 1, inner)] });
    // 'openid' (a literal word) takes the fast path; a needle read from the facts the general one.
    const fast = (n: number) => nest(n, { in: ['openid', { words: { var: 'facts.scope' } }] });
    const general = (n: number) => nest(n, { in: [{ var: 'facts.word' }, { words: { var: 'facts.scope' } }] });
    const compiles = (expr: unknown) => {
      try {
        compile(expr);
        return true;
      } catch (e) {
        if (e instanceof LogicCompileError) return false;
        throw e;
      }
    };
    const verdicts = (make: (n: number) => unknown) => [28, 29, 30, 31, 32].map((n) => compiles(make(n)));
    expect(verdicts(general)).toContain(true);
    expect(verdicts(general)).toContain(false);
    expect(verdicts(fast)).toEqual(verdicts(general));
    const deepest = [28, 29, 30, 31, 32].find((n) => !compiles(fast(n))) as number;
    expect(compileError(fast(deepest)).message).toMatch(/nested deeper than 32/);
    expect(compileError(fast(deepest)).pointer).toMatch(/\/in\/1\/words$/);
    // one level shallower compiles and answers (an even number of negations keeps the answer)
    expect(compile(fast(deepest - 1)).evaluate({ scope: 'openid x' })).toBe((deepest - 1) % 2 === 0);
  });

  it('counts the depth of a var default from where the var sits (no reset)', () => {
    // 25 levels of '!' around a var whose default is 25 levels of nested arrays: ~51 deep.
    const nest = (n: number, inner: unknown): unknown => (n === 0 ? inner : { '!': [nest(n - 1, inner)] });
    const arrays = (n: number): unknown => (n === 0 ? 'x' : [arrays(n - 1)]);
    expect(compileError(nest(25, { var: ['facts.a', arrays(25)] })).message).toMatch(/nested deeper than 32/);
    // a chain of settings defaults (each a constant) must not escape the bound either
    let chain: unknown = 1;
    for (let i = 0; i < 40; i++) chain = { var: [`settings.nope${i}`, chain] };
    expect(compileError(chain).message).toMatch(/nested deeper than 32/);
  });

  it('refuses more than 2,000 nodes', () => {
    expect(compile({ '+': Array(1999).fill(1) }).evaluate({})).toBe(1999);
    expect(compileError({ '+': Array(2000).fill(1) }).message).toMatch(/more than 2000 nodes/);
    const wide = { or: Array.from({ length: 1500 }, (_, i) => ({ '==': [{ var: `facts.k${i}` }, i] })) };
    expect(compileError(wide).message).toMatch(/more than 2000 nodes/);
  });

  it('checks arity', () => {
    const cases: [unknown, RegExp][] = [
      [{ '==': [1, 1, 1] }, /'===?' takes 2 argument\(s\), got 3/],
      [{ '!=': [1] }, /takes 2 argument\(s\), got 1/],
      [{ '!': [1, 2] }, /'!' takes 1 argument\(s\), got 2/],
      [{ '!!': [] }, /'!!' takes 1 argument\(s\), got 0/],
      [{ in: ['a'] }, /'in' takes 2 argument\(s\), got 1/],
      [{ '>': [1, 2, 3] }, /'>' takes 2 argument\(s\), got 3/],
      [{ '>=': [1, 2, 3] }, /'>=' takes 2 argument\(s\), got 3/],
      [{ '>=': [{ var: 'facts.a' }, 2, 3] }, /'>=' takes 2 argument\(s\), got 3/],
      [{ '<': [1, 2, 3, 4] }, /'<' takes 2 argument\(s\), got 4/],
      [{ '<=': [1, 2, 3, 4] }, /'<=' takes 2 argument\(s\), got 4/],
      [{ '<=': [1] }, /'<=' takes 2 argument\(s\), got 1/],
      [{ some: [[1]] }, /'some' takes 2 argument\(s\), got 1/],
      [{ map: [[1], { var: '' }, 3] }, /'map' takes 2 argument\(s\), got 3/],
      [{ starts_with: ['a'] }, /'starts_with' takes 2/],
      [{ subset: [['a']] }, /'subset' takes 2/],
      [{ words: ['a', 'b'] }, /'words' takes 1/],
      [{ typeof: [] }, /'typeof' takes 1/],
      [{ length: ['a', 'b'] }, /'length' takes 1/],
      [{ and: [] }, /'and' takes at least 1/],
      [{ or: [] }, /'or' takes at least 1/],
      [{ '+': [] }, /'\+' takes at least 1/],
      [{ cat: [] }, /'cat' takes at least 1/],
      [{ '/': [1] }, /'\/' takes 2/],
      [{ '-': [1, 2, 3] }, /'-' takes 2/],
      [{ missing_some: [1, 'facts.a'] }, /missing_some/],
      [{ missing_some: [1] }, /missing_some/],
      [{ missing_some: ['1', ['facts.a']] }, /'missing_some' takes \[count, \[paths\]\]/],
      [{ missing_some: [null, ['facts.a']] }, /'missing_some' takes \[count, \[paths\]\]/],
      [{ missing_some: [{ var: 'facts.n' }, ['facts.a']] }, /'missing_some' takes \[count, \[paths\]\]/],
    ];
    for (const [expr, message] of cases) {
      const e = compileError({ or: [false, expr] });
      expect(e.message, JSON.stringify(expr)).toMatch(message);
      expect(e.pointer, JSON.stringify(expr)).toMatch(/^\/or\/1\//);
    }
    expect(compile({ '==': [{ var: 'facts.a' }, 1] }).evaluate({ a: 1 })).toBe(true);
  });

  it('refuses missing keys that are not literal facts paths', () => {
    expect(compileError({ missing: [{ var: 'facts.k' }] }).message).toMatch(/literal/);
    expect(compileError({ missing: ['params.a'] }).message).toMatch(/must start with 'facts\.'/);
    expect(compileError({ missing: [1] }).message).toMatch(/literal/);
    expect(compileError({ missing_some: [1, ['facts.a', 'settings.max']] }).message).toMatch(/must start with 'facts\.'/);
  });

  it('turns errors found while folding constants into compile errors', () => {
    expect(compileError({ '<': [{ var: 'settings.name' }, 1] }).message).toMatch(/'<' needs a number, got string/);
    expect(compileError({ starts_with: [{ var: 'settings.max' }, 'x'] }).message).toMatch(/needs a string, got number/);
    expect(compileError({ length: [{ var: 'settings.max' }] }).message).toMatch(/'length' needs a string or an array/);
    expect(compileError({ subset: [{ var: 'settings.name' }, []] }).message).toMatch(/'subset' needs an array/);
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Semantics
// ---------------------------------------------------------------------------------------------

describe('semantics', () => {
  it('replaces ${stage} in var paths', () => {
    const fact = compile({ var: 'facts.${stage}.alg' }, 'token');
    expect(fact.factReads).toEqual(['/token/alg']);
    expect(fact.evaluate({ token: { alg: 'PS256' }, par: { alg: 'none' } })).toBe('PS256');
    const expr = { in: [{ var: 'facts.alg' }, { var: 'settings.signing_algs.${stage}' }] };
    expect(compile(expr, 'par').evaluate({ alg: 'PS256' })).toBe(true);
    expect(compile(expr, 'token').evaluate({ alg: 'PS256' })).toBe(false);
    expect(compile(expr, 'token').evaluate({ alg: 'EdDSA' })).toBe(true);
    expect(compile({ var: 'settings.signing_algs.${stage}' }, 'token').evaluate({})).toEqual(['ES256', 'EdDSA']);
    expect(thrown(() => compile(expr, 'userinfo'))).toBeInstanceOf(LogicCompileError);
    expect((thrown(() => compile(expr, 'userinfo')) as Error).message).toMatch(/unknown setting 'settings\.signing_algs\.userinfo'/);
    // element scope too
    expect(compile({ map: [{ var: 'facts.items' }, { var: '${stage}' }] }, 'par').evaluate({ items: [{ par: 1 }, { par: 2 }] })).toEqual([1, 2]);
  });

  it('folds expressions over settings only into constants', () => {
    const cases: [unknown, unknown][] = [
      [{ in: ['PS256', { var: 'settings.algs' }] }, true],
      [{ in: ['RS256', { var: 'settings.algs' }] }, false],
      [{ and: [{ var: 'settings.flag' }, { '>': [{ var: 'settings.max' }, 5] }] }, true],
      [{ or: [{ var: 'settings.off' }, { '==': [{ var: 'settings.name' }, 'S256'] }] }, true],
      [{ '+': [{ var: 'settings.max' }, 1] }, 11],
      [{ merge: [{ var: 'settings.algs' }, 'EdDSA'] }, ['PS256', 'ES256', 'EdDSA']],
      [{ '!': { var: 'settings.flag' } }, false],
      [{ cat: [{ var: 'settings.name' }, '-', { var: 'settings.max' }] }, 'S256-10'],
      [{ subset: [{ var: 'settings.methods' }, ['S256', 'plain']] }, true],
      [{ length: { var: 'settings.algs' } }, 2],
      [{ '<': [0, { var: 'settings.max' }, 11] }, true],
      [{ var: ['settings.nope', 'd'] }, 'd'],
    ];
    for (const [expr, value] of cases) {
      const c = compile(expr);
      expect(c.constant, JSON.stringify(expr)).toBe(true);
      expect(c.factReads, JSON.stringify(expr)).toEqual([]);
      expect(c.evaluate({}), JSON.stringify(expr)).toEqual(value);
      expect(c.evaluate(null), JSON.stringify(expr)).toEqual(value);
      expect(ref(expr, {}), JSON.stringify(expr)).toEqual(value);
    }
    expect(compile({ in: [{ var: 'facts.alg' }, { var: 'settings.algs' }] }).constant).toBe(false);
    expect(compile({ var: ['facts.alg', 'x'] }).constant).toBe(false);
    expect(compile({ missing: ['facts.a'] }).constant).toBe(false);
  });

  it('reports constant: true for if / ?: / some / map over settings only', () => {
    // "True when the expression does not depend on facts at all" (CompiledLogic.constant)
    const cases: unknown[] = [
      { if: [{ var: 'settings.flag' }, 1, 2] },
      { '?:': [{ var: 'settings.off' }, 'a', 'b'] },
      { some: [{ var: 'settings.algs' }, { '==': [{ var: '' }, 'PS256'] }] },
      { map: [{ var: 'settings.nested.list' }, { '*': [{ var: '' }, 2] }] },
    ];
    for (const expr of cases) {
      const c = compile(expr);
      expect(c.evaluate({}), JSON.stringify(expr)).toEqual(ref(expr, {}));
      expect(c.constant, JSON.stringify(expr)).toBe(true);
    }
  });

  it('lists the facts an expression reads, in order, as JSON pointers', () => {
    const expr = {
      and: [
        { var: 'facts.b' },
        { '==': [{ var: 'facts.a.x' }, { var: 'settings.name' }] },
        { var: ['facts.c', 1] },
        { some: [{ var: 'facts.items' }, { '==': [{ var: 'alg' }, 'PS256'] }] },
        { var: 'facts.a~b/c.0' },
      ],
    };
    expect(compile(expr).factReads).toEqual(['/b', '/a/x', '/c', '/items', '/a~0b~1c/0']);
    expect(missingFact(() => run({ var: 'facts.a~b/c.0' }, {})).pointer).toBe('/a~0b~1c/0');
    expect(run({ var: 'facts.a~b/c.0' }, { 'a~b/c': ['v'] })).toBe('v');
    expect(compile({ var: 'facts' }).factReads).toEqual(['']);
    expect(run({ var: 'facts' }, { a: 1 })).toEqual({ a: 1 });
  });

  it('missing and missing_some behave as json-logic (null and "" are missing; 0, false, [] are not)', () => {
    const facts = { a: 0, b: false, c: [], d: '', e: null, f: { g: 'x' } };
    const cases: unknown[] = [
      { missing: ['facts.a', 'facts.b', 'facts.c', 'facts.d', 'facts.e', 'facts.f.g', 'facts.f.h', 'facts.z'] },
      { missing: [['facts.z', 'facts.a']] },
      { missing: 'facts.z' },
      { missing: [] },
      { missing_some: [1, ['facts.z', 'facts.a']] },
      { missing_some: [2, ['facts.z', 'facts.a', 'facts.d']] },
      { missing_some: [0, ['facts.z']] },
      { if: [{ missing: ['facts.z'] }, 'absent', 'present'] },
      { some: [{ var: 'facts.items' }, { missing: ['alg'] }] },
      { filter: [{ var: 'facts.items' }, { '!': { missing_some: [1, ['alg', 'n']] } }] },
    ];
    const withItems = { ...facts, items: [{ alg: 'PS256' }, { n: 2 }, { x: 1 }] };
    for (const expr of cases) expect(run(expr, withItems), JSON.stringify(expr)).toEqual(ref(expr, withItems));
    expect(run(cases[0], withItems)).toEqual(['facts.d', 'facts.e', 'facts.f.h', 'facts.z']);
    expect(run(cases[5], withItems)).toEqual(['facts.z', 'facts.d']);
    // a guard keeps an optional fact from failing the rule
    const guarded = { or: [{ missing: ['facts.nonce'] }, { '<=': [{ length: { var: 'facts.nonce' } }, 64] }] };
    expect(run(guarded, {})).toEqual(['facts.nonce']);
    expect(run(guarded, { nonce: 'abc' })).toBe(true);
    expect(run(guarded, { nonce: 'n'.repeat(65) })).toBe(false);
  });

  it('missing [""] inside an iteration tests the element itself, as json-logic does', () => {
    const expr = { filter: [{ var: 'facts.list' }, { '!': { missing: [''] } }] };
    const facts = { list: ['a', '', 'b'] };
    expect(ref(expr, facts)).toEqual(['a', 'b']);
    expect(run(expr, facts)).toEqual(ref(expr, facts));
  });

  it('a var default suppresses MissingFactError', () => {
    expect(run({ var: ['facts.a', 0] }, {})).toBe(0);
    expect(run({ var: ['facts.a', false] }, {})).toBe(false);
    expect(run({ var: ['facts.a', null] }, {})).toBe(null);
    expect(run({ var: ['facts.a.b', 'd'] }, { a: 'str' })).toBe('d');
    expect(run({ var: ['facts.a.b', 'd'] }, { a: { b: 'v' } })).toBe('v');
    expect(run({ var: ['facts.a.1', 'd'] }, { a: ['x'] })).toBe('d');
    expect(run({ var: ['facts.a', ['x']] }, {})).toEqual(['x']);
    expect(run({ '==': [{ var: ['facts.a', 'none'] }, 'none'] }, {})).toBe(true);
    expect(run({ in: [{ var: ['facts.a', 'none'] }, ['none']] }, {})).toBe(true);
    expect(run({ '!!': [{ var: ['facts.nonce', null] }] }, {})).toBe(false);
    expect(missingFact(() => run({ var: ['facts.a'] }, {})).pointer).toBe('/a');
    expect(missingFact(() => run({ var: 'facts.a.b.c' }, { a: { b: 'str' } })).pointer).toBe('/a/b/c');
  });

  it('a null fact value counts as missing', () => {
    const facts = { a: null, o: { p: null } };
    expect(missingFact(() => run({ var: 'facts.a' }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ var: 'facts.o.p' }, facts)).pointer).toBe('/o/p');
    expect(missingFact(() => run({ '==': [{ var: 'facts.a' }, null] }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ '!=': [{ var: 'facts.a' }, 'x'] }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ in: [{ var: 'facts.a' }, ['x']] }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ in: [{ var: 'facts.a' }, { var: 'settings.algs' }] }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ '!': { var: 'facts.a' } }, facts)).pointer).toBe('/a');
    expect(missingFact(() => run({ and: [true, { var: 'facts.o.p' }] }, facts)).pointer).toBe('/o/p');
    expect(run({ var: ['facts.a', 7] }, facts)).toBe(7);
    expect(ref({ var: ['facts.a', 7] }, facts)).toBe(null);
  });

  it('reads vars relative to the element inside some/all/none/map/filter', () => {
    const facts = { items: [{ alg: 'PS256', tags: ['x'] }, { alg: 'ES256', tags: [] }], algs: ['PS256', 'none'], nums: [1, 2, 3] };
    const cases: [unknown, unknown][] = [
      [{ some: [{ var: 'facts.items' }, { '==': [{ var: 'alg' }, 'ES256'] }] }, true],
      [{ all: [{ var: 'facts.items' }, { '==': [{ var: 'alg' }, 'ES256'] }] }, false],
      [{ none: [{ var: 'facts.items' }, { '==': [{ var: 'alg' }, 'RS256'] }] }, true],
      [{ map: [{ var: 'facts.items' }, { var: 'alg' }] }, ['PS256', 'ES256']],
      [{ filter: [{ var: 'facts.algs' }, { '!=': [{ var: '' }, 'none'] }] }, ['PS256']],
      [{ map: [{ var: 'facts.nums' }, { '*': [{ var: '' }, 2] }] }, [2, 4, 6]],
      [{ map: [{ var: 'facts.nums' }, { var: [''] }] }, [1, 2, 3]],
      [{ some: [{ var: 'facts.items' }, { in: ['x', { var: 'tags' }] }] }, true],
      [{ all: [{ var: 'facts.items' }, { some: [{ var: 'tags' }, { '==': [{ var: '' }, 'x'] }] }] }, false],
      [{ filter: [{ var: 'facts.items' }, { var: ['tags.0', null] }] }, [{ alg: 'PS256', tags: ['x'] }]],
      [{ map: [[[1, 2], [3]], { length: [{ var: '' }] }] }, [2, 1]],
    ];
    for (const [expr, value] of cases) {
      expect(run(expr, facts), JSON.stringify(expr)).toEqual(value);
      expect(ref(expr, facts), JSON.stringify(expr)).toEqual(value);
    }
    // settings.* inside an iteration is element-relative too (as json-logic): absent, so the rule fails
    const inner = { all: [{ var: 'facts.algs' }, { in: [{ var: '' }, { var: 'settings.algs' }] }] };
    expect(thrown(() => run(inner, facts))).toBeInstanceOf(MissingFactError);
    // a missing element field fails the rule
    expect(thrown(() => run({ some: [{ var: 'facts.items' }, { '==': [{ var: 'nope' }, 1] }] }, facts))).toBeInstanceOf(MissingFactError);
    expect(run({ some: [{ var: 'facts.items' }, { '==': [{ var: ['nope', 1] }, 1] }] }, facts)).toBe(true);
    // a non-array source is a malformed fact naming it
    expect(malformedFact(() => run({ some: [{ var: 'facts.alg' }, true] }, { alg: 'PS256' })).pointer).toBe('/alg');
    expect(missingFact(() => run({ all: [{ var: 'facts.nope' }, true] }, facts)).pointer).toBe('/nope');
  });

  it('some / map / filter over a null source (a var default) see no elements; a null constant source folds the same way', () => {
    const none = { source: { var: ['facts.nope', null] } };
    const cases: [unknown, unknown][] = [
      [{ some: [none.source, true] }, false],
      [{ map: [none.source, 1] }, []],
      [{ filter: [none.source, true] }, []],
      [{ some: [null, true] }, false],
      [{ map: [null, 1] }, []],
      [{ filter: [null, true] }, []],
      [{ all: [null, true] }, false],
      [{ none: [null, true] }, true],
    ];
    for (const [expr, value] of cases) {
      expect(run(expr, {}), JSON.stringify(expr)).toEqual(value);
      expect(ref(expr, {}), JSON.stringify(expr)).toEqual(value);
    }
    // a null fact without a default is a missing fact, not an empty list
    expect(missingFact(() => run({ some: [{ var: 'facts.items' }, true] }, { items: null })).pointer).toBe('/items');
  });

  it('<= and < with three arguments test that the middle lies between the others', () => {
    const between = (op: string, x: unknown) => run({ [op]: [1, { var: 'facts.x' }, 3] }, { x });
    expect([0, 1, 2, 3, 4].map((x) => between('<=', x))).toEqual([false, true, true, true, false]);
    expect([0, 1, 2, 3, 4].map((x) => between('<', x))).toEqual([false, false, true, false, false]);
    expect(run({ '<=': [1, 2, 3] }, {})).toBe(true);
    expect(run({ '<=': [3, 2, 1] }, {})).toBe(false);
    for (const x of [0, 1, 2, 3, 4]) expect(between('<=', x)).toBe(ref({ '<=': [1, { var: 'facts.x' }, 3] }, { x }));
  });

  it('all of [] is false; some of [] is false; none of [] is true', () => {
    const cases: [unknown, unknown][] = [
      [{ all: [{ var: 'facts.list' }, true] }, false],
      [{ all: [[], true] }, false],
      [{ some: [{ var: 'facts.list' }, true] }, false],
      [{ none: [{ var: 'facts.list' }, true] }, true],
      [{ map: [{ var: 'facts.list' }, 1] }, []],
      [{ filter: [{ var: 'facts.list' }, true] }, []],
      [{ all: [{ var: ['facts.nope', null] }, true] }, false],
      [{ none: [{ var: ['facts.nope', null] }, true] }, true],
    ];
    for (const [expr, value] of cases) {
      expect(run(expr, { list: [] }), JSON.stringify(expr)).toEqual(value);
      expect(ref(expr, { list: [] }), JSON.stringify(expr)).toEqual(value);
    }
  });

  it('in: membership in a settings array and in a facts array, with strict equality', () => {
    const viaSettings = compile({ in: [{ var: 'facts.alg' }, { var: 'settings.algs' }] });
    expect(viaSettings.evaluate({ alg: 'PS256' })).toBe(true);
    expect(viaSettings.evaluate({ alg: 'ES256' })).toBe(true);
    expect(viaSettings.evaluate({ alg: 'RS256' })).toBe(false);
    expect(viaSettings.evaluate({ alg: 'PS' })).toBe(false);
    expect(viaSettings.evaluate({ alg: ['PS256'] })).toBe(false);
    expect(missingFact(() => viaSettings.evaluate({})).pointer).toBe('/alg');
    expect(compile({ in: [{ var: 'facts.n' }, [1, 2]] }).evaluate({ n: '1' })).toBe(false);
    expect(compile({ in: [{ cat: [{ var: 'facts.a' }, '256'] }, { var: 'settings.algs' }] }).evaluate({ a: 'PS' })).toBe(true);
    const viaFacts = compile({ in: ['PS256', { var: 'facts.algs' }] });
    expect(viaFacts.evaluate({ algs: ['ES256', 'PS256'] })).toBe(true);
    expect(viaFacts.evaluate({ algs: ['ES256'] })).toBe(false);
    expect(viaFacts.evaluate({ algs: [] })).toBe(false);
    expect(missingFact(() => viaFacts.evaluate({})).pointer).toBe('/algs');
    const both = compile({ in: [{ var: 'facts.alg' }, { var: 'facts.algs' }] });
    expect(both.evaluate({ alg: 'ES256', algs: ['ES256'] })).toBe(true);
    expect(both.evaluate({ alg: 1, algs: ['1'] })).toBe(false);
    expect(run({ in: ['a', null] }, {})).toBe(false);
    expect(run({ in: ['a', { var: ['facts.list', null] }] }, {})).toBe(false);
  });

  it('in still reads its needle when the haystack is null (a missing needle fact fails the rule)', () => {
    // A deny-list check: "alg must not be in the (optional) deny list". With alg missing the rule
    // must fail with a violation naming /alg, not pass because the list is absent.
    const viaFact = compile({ '!': { in: [{ var: 'facts.alg' }, { var: ['facts.denied', null] }] } });
    expect(missingFact(() => viaFact.evaluate({})).pointer).toBe('/alg');
    const viaSetting = compile({ '!': { in: [{ var: 'facts.alg' }, { var: ['settings.denied', null] }] } });
    expect(viaSetting.constant).toBe(false);
    expect(missingFact(() => viaSetting.evaluate({})).pointer).toBe('/alg');
  });

  it('in uses strict equality: NaN is never a member', () => {
    // x % 0 is NaN; strict equality (json-logic-js indexOf) never finds NaN, and == says NaN != NaN
    const nan = { '%': [{ var: 'facts.n' }, 0] };
    const facts = { n: 1, nums: [1] };
    expect(run({ '==': [nan, nan] }, facts)).toBe(false);
    const constHay = { in: [nan, { merge: [{ '%': [1, 0] }] }] };
    const factHay = { in: [nan, { map: [{ var: 'facts.nums' }, { '%': [{ var: '' }, 0] }] }] };
    for (const expr of [constHay, factHay]) {
      expect(ref(expr, facts), JSON.stringify(expr)).toBe(false);
      let outcome: unknown;
      try {
        outcome = run(expr, facts);
      } catch (e) {
        outcome = e; // refusing NaN outright is fine too
      }
      expect(outcome, JSON.stringify(expr)).not.toBe(true);
    }
  });

  it('subset', () => {
    const expr = { subset: [{ var: 'facts.algs' }, { var: 'settings.algs' }] };
    expect(run(expr, { algs: ['PS256'] })).toBe(true);
    expect(run(expr, { algs: ['ES256', 'PS256', 'PS256'] })).toBe(true);
    expect(run(expr, { algs: [] })).toBe(true);
    expect(run(expr, { algs: ['PS256', 'RS256'] })).toBe(false);
    expect(run({ subset: [[1], ['1']] }, {})).toBe(false);
    expect(run({ subset: [{ var: 'settings.algs' }, { var: 'facts.algs' }] }, { algs: ['ES256', 'PS256', 'x'] })).toBe(true);
    expect(malformedFact(() => run(expr, { algs: 'PS256' })).pointer).toBe('/algs');
    expect(missingFact(() => run(expr, {})).pointer).toBe('/algs');
  });

  it('words splits a scope string', () => {
    expect(run({ words: { var: 'facts.scope' } }, { scope: 'openid payments accounts' })).toEqual(['openid', 'payments', 'accounts']);
    expect(run({ words: [{ var: 'facts.scope' }] }, { scope: 'openid' })).toEqual(['openid']);
    expect(run({ words: { var: 'facts.scope' } }, { scope: '' })).toEqual([]);
    const has = { in: ['payments', { words: { var: 'facts.scope' } }] };
    expect(run(has, { scope: 'openid payments' })).toBe(true);
    expect(run(has, { scope: 'openid paymentsX' })).toBe(false);
    expect(run({ subset: [{ words: { var: 'facts.scope' } }, ['openid', 'accounts']] }, { scope: 'accounts openid' })).toBe(true);
    expect(run({ words: 'a b' }, {})).toEqual(['a', 'b']);
    expect(malformedFact(() => run({ words: { var: 'facts.scope' } }, { scope: ['openid'] })).pointer).toBe('/scope');
  });

  it('typeof names every JSON type', () => {
    const facts = { s: 'x', n: 1.5, b: false, a: [], o: {} };
    const cases: [unknown, string][] = [
      [{ typeof: { var: 'facts.s' } }, 'string'],
      [{ typeof: { var: 'facts.n' } }, 'number'],
      [{ typeof: { var: 'facts.b' } }, 'boolean'],
      [{ typeof: [{ var: 'facts.a' }] }, 'array'],
      [{ typeof: { var: 'facts.o' } }, 'object'],
      [{ typeof: [{ var: ['facts.z', null] }] }, 'null'],
      [{ typeof: [null] }, 'null'],
      [{ typeof: [['x']] }, 'array'],
      [{ typeof: '' }, 'string'],
      [{ typeof: 0 }, 'number'],
      [{ typeof: true }, 'boolean'],
      [{ typeof: { var: 'settings.nested' } }, 'object'],
    ];
    for (const [expr, type] of cases) {
      expect(run(expr, facts), JSON.stringify(expr)).toBe(type);
      expect(ref(expr, facts), JSON.stringify(expr)).toBe(type);
    }
    expect(missingFact(() => run({ typeof: { var: 'facts.z' } }, { z: null })).pointer).toBe('/z');
  });

  it('starts_with and length', () => {
    const expr = { starts_with: [{ var: 'facts.iss' }, 'https://'] };
    expect(run(expr, { iss: 'https://as.example' })).toBe(true);
    expect(run(expr, { iss: 'http://as.example' })).toBe(false);
    expect(run(expr, { iss: '' })).toBe(false);
    expect(run({ starts_with: [{ var: 'facts.iss' }, ''] }, { iss: 'x' })).toBe(true);
    expect(malformedFact(() => run(expr, { iss: 42 })).pointer).toBe('/iss');
    expect(malformedFact(() => run({ starts_with: ['abc', { var: 'facts.p' }] }, { p: ['a'] })).pointer).toBe('/p');
    expect(run({ length: { var: 'facts.s' } }, { s: 'héllo' })).toBe(5);
    expect(run({ length: [{ var: 'facts.l' }] }, { l: [1, 2] })).toBe(2);
    expect(malformedFact(() => run({ length: { var: 'facts.o' } }, { o: { length: 3 } })).pointer).toBe('/o');
  });

  it('and / or return the deciding operand and short-circuit', () => {
    const cases: [unknown, unknown][] = [
      [{ and: [1, 'a', [1]] }, [1]],
      [{ and: [1, 0, { var: 'facts.missing' }] }, 0],
      [{ or: [0, '', { var: 'facts.v' }] }, 'v'],
      [{ or: [{ var: 'facts.v' }, { var: 'facts.missing' }] }, 'v'],
      [{ and: [{ var: 'facts.e' }, { var: 'facts.missing' }] }, []],
      [{ or: [{ var: 'facts.e' }, 0] }, 0],
      [{ or: [false, { var: 'facts.e' }, ''] }, ''],
      [{ and: [true, { var: 'facts.v' }] }, 'v'],
      [{ if: [{ var: 'facts.e' }, { var: 'facts.missing' }, 'else'] }, 'else'],
      [{ if: [false, 1, { var: 'facts.e' }, 2, 3] }, 3],
      [{ if: [false, 1] }, null],
      [{ if: [] }, null],
      [{ '?:': [{ var: 'facts.v' }, 'yes', { var: 'facts.missing' }] }, 'yes'],
    ];
    const facts = { v: 'v', e: [] };
    for (const [expr, value] of cases) {
      expect(run(expr, facts), JSON.stringify(expr)).toEqual(value);
      expect(ref(expr, facts), JSON.stringify(expr)).toEqual(value);
    }
    expect(missingFact(() => run({ and: [{ var: 'facts.v' }, { var: 'facts.missing' }] }, facts)).pointer).toBe('/missing');
    expect(missingFact(() => run({ or: [{ var: 'facts.e' }, { var: 'facts.missing' }, 1] }, facts)).pointer).toBe('/missing');
  });

  it('a compiled expression is reusable and does not keep state between evaluations', () => {
    const c = compile({ and: [{ in: [{ var: 'facts.alg' }, { var: 'settings.algs' }] }, { '<': [{ var: 'facts.exp' }, 100] }] });
    expect(c.evaluate({ alg: 'PS256', exp: 1 })).toBe(true);
    expect(missingFact(() => c.evaluate({ alg: 'PS256' })).pointer).toBe('/exp');
    expect(c.evaluate({ alg: 'RS256', exp: 1 })).toBe(false);
    expect(c.evaluate({ alg: 'ES256', exp: 99 })).toBe(true);
    expect(c.evaluate({ alg: 'ES256', exp: 100 })).toBe(false);
  });
});

describe('scope word search', () => {
  it('answers like splitting the string into words', () => {
    const scopes = ['openid', 'openid accounts', 'accounts openid', 'accounts  openid ', 'openidx', 'xopenid accounts', '', ' ', 'open id'];
    for (const word of ['openid', 'accounts', '', 'open id']) {
      const fast = compileLogic({ in: [word, { words: { var: 'facts.scope' } }] }, { settings: {}, stage: 'par' });
      for (const scope of scopes) {
        const split = scope.split(' ').filter((w) => w !== '');
        expect({ word, scope, got: fast.evaluate({ scope }) }).toEqual({ word, scope, got: split.includes(word) });
      }
    }
  });
});
