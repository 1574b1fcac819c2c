/**
 * The vetted json-logic operator set. Each entry turns already-parsed arguments into a closure.
 * Semantics follow json-logic-js except where its JavaScript looseness would fail open:
 * equality is strict, ordering and arithmetic take numbers only, `in` never matches substrings.
 */
import { LogicCompileError, MalformedFactError, MissingFactError } from '../errors.js';
import type { Compiler } from './compile.js';
import type { Evaluator, Node, Scope } from './node.js';
import { compiledWalk } from './node.js';
import { list, num, str, truthy, typeOf } from './values.js';
import { sameHttpUri } from '../uri.js';

export interface OpContext {
  compiler: Compiler;
  args: unknown[];
  scope: Scope;
  at: string;
  argAt: (i: number) => string;
  depth: number;
}

type Factory = (ctx: OpContext) => Node;

function compileArgs(ctx: OpContext, scope: Scope = ctx.scope): Node[] {
  return ctx.args.map((a, i) => ctx.compiler.compile(a, scope, ctx.argAt(i), ctx.depth));
}

function fnOf(node: Node): Evaluator {
  if (node.constant) {
    const value = node.value;
    return () => value;
  }
  return node.fn;
}

function arity(ctx: OpContext, op: string, min: number, max = min): void {
  const n = ctx.args.length;
  if (n < min || n > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new LogicCompileError(`'${op}' takes ${want} argument(s), got ${n}`, ctx.at);
  }
}

/**
 * A value computed at compile time from constant operands. What would have been a run-time fact
 * error there (a wrong type in a literal or a setting) is the profile's mistake: a compile error.
 */
function folded(ctx: OpContext, compute: () => unknown): Node {
  try {
    return { constant: true, value: compute() };
  } catch (e) {
    throw new LogicCompileError((e as Error).message, ctx.at);
  }
}

/** Operators whose arguments are all evaluated first; folded at compile time when all are constant. */
function eager(op: string, min: number, max: number, apply: (values: unknown[], nodes: Node[]) => unknown): Factory {
  return (ctx) => {
    arity(ctx, op, min, max);
    const nodes = compileArgs(ctx);
    if (nodes.every((n) => n.constant)) return folded(ctx, () => apply(nodes.map((n) => n.value), nodes));
    const fns = nodes.map(fnOf);
    if (fns.length === 1) {
      const [a] = fns as [Evaluator];
      return { constant: false, fn: (r) => apply([a(r)], nodes) };
    }
    if (fns.length === 2) {
      const [a, b] = fns as [Evaluator, Evaluator];
      return { constant: false, fn: (r) => apply([a(r), b(r)], nodes) };
    }
    return { constant: false, fn: (r) => apply(fns.map((f) => f(r)), nodes) };
  };
}

/** Binary operators get a dedicated closure: the hot path of most rules. */
function binary(op: string, apply: (a: unknown, b: unknown, na: Node, nb: Node) => unknown): Factory {
  return (ctx) => {
    arity(ctx, op, 2);
    const [na, nb] = compileArgs(ctx) as [Node, Node];
    if (na.constant && nb.constant) return folded(ctx, () => apply(na.value, nb.value, na, nb));
    if (nb.constant) {
      const a = fnOf(na);
      const bv = nb.value;
      return { constant: false, fn: (r) => apply(a(r), bv, na, nb) };
    }
    const a = fnOf(na);
    const b = fnOf(nb);
    return { constant: false, fn: (r) => apply(a(r), b(r), na, nb) };
  };
}

/** Unary operators get a dedicated closure too (no argument arrays on the hot path). */
function unary(op: string, apply: (a: unknown, na: Node) => unknown): Factory {
  return (ctx) => {
    arity(ctx, op, 1);
    const [na] = compileArgs(ctx) as [Node];
    if (na.constant) return folded(ctx, () => apply(na.value, na));
    const a = na.fn;
    return { constant: false, fn: (r) => apply(a(r), na) };
  };
}

/**
 * Equality is the commonest check: its closures skip the generic apply call, and a fact compared
 * with a constant is read straight from its slot.
 */
function equality(op: string, negate: boolean): Factory {
  return (ctx) => {
    arity(ctx, op, 2);
    const [na, nb] = compileArgs(ctx) as [Node, Node];
    if (na.constant && nb.constant) return { constant: true, value: negate ? na.value !== nb.value : na.value === nb.value };
    const [v, k] = nb.constant ? [na, nb] : na.constant ? [nb, na] : [undefined, undefined];
    if (v && k && !v.constant) {
      const kv = k.value;
      if (v.slot !== undefined) {
        const { slot, pointer = '' } = v;
        // The slot read is spelled out here: a nested call would not be inlined on this path.
        const fn: Evaluator = (s) => {
          const value = (s as unknown[])[slot];
          if (value === undefined || value === null) throw new MissingFactError(pointer);
          return negate ? value !== kv : value === kv;
        };
        return { constant: false, fn };
      }
      const a = v.fn;
      return { constant: false, fn: negate ? (r) => a(r) !== kv : (r) => a(r) === kv };
    }
    const a = fnOf(na);
    const b = fnOf(nb);
    return { constant: false, fn: negate ? (r) => a(r) !== b(r) : (r) => a(r) === b(r) };
  };
}

const strictEq = equality('===', false);
const strictNe = equality('!==', true);

function compare(op: string, test: (a: number, b: number) => boolean, allowBetween: boolean): Factory {
  const two = binary(op, (a, b, na, nb) => test(num(a, op, na.pointer), num(b, op, nb.pointer)));
  if (!allowBetween) return two;
  const three = eager(op, 3, 3, ([a, b, c], nodes) => {
    const mid = num(b, op, nodes[1]?.pointer);
    return test(num(a, op, nodes[0]?.pointer), mid) && test(mid, num(c, op, nodes[2]?.pointer));
  });
  return (ctx) => (ctx.args.length === 3 ? three(ctx) : two(ctx));
}

function numbers(values: unknown[], nodes: Node[], op: string): number[] {
  return values.map((v, i) => num(v, op, nodes[i]?.pointer));
}

/**
 * `in` against an array; a constant haystack becomes a Set once. A string haystack is refused.
 * The needle is always read first, so a missing needle fact fails the rule even when there is
 * nothing to search. Membership is strict equality: NaN is never a member.
 */
const membership: Factory = (ctx) => {
  arity(ctx, 'in', 2);
  const wordSearch = scopeWordSearch(ctx);
  if (wordSearch) return wordSearch;
  const [needle, hay] = compileArgs(ctx) as [Node, Node];
  if (hay.constant && hay.value !== null && !Array.isArray(hay.value)) {
    throw new LogicCompileError(`'in' needs an array to search, got ${typeOf(hay.value)}`, ctx.at);
  }
  if (hay.constant) {
    const set = new Set<unknown>(((hay.value as unknown[] | null) ?? []).filter((x) => x === x));
    if (needle.constant) return { constant: true, value: set.has(needle.value) };
    if (needle.slot !== undefined) {
      const { slot, pointer = '' } = needle;
      return {
        constant: false,
        fn: (s) => {
          const value = (s as unknown[])[slot];
          if (value === undefined || value === null) throw new MissingFactError(pointer);
          return set.has(value);
        },
      };
    }
    const n = needle.fn;
    return { constant: false, fn: (r) => set.has(n(r)) };
  }
  const n = fnOf(needle);
  const h = hay.fn;
  return {
    constant: false,
    fn: (r) => {
      const value = n(r);
      const haystack = h(r);
      if (haystack === null || haystack === undefined || value !== value) return false;
      return list(haystack, 'in', hay.pointer).includes(value);
    },
  };
};

/**
 * `{in: ["openid", {words: scope}]}`, the usual scope test, searches the string for the word
 * instead of splitting it on every decision. Same answer as splitting: '' is never a word.
 */
function scopeWordSearch(ctx: OpContext): Node | undefined {
  const [word, hay] = ctx.args;
  if (typeof word !== 'string' || hay === null || typeof hay !== 'object' || Array.isArray(hay)) return undefined;
  const keys = Object.keys(hay);
  if (keys.length !== 1 || keys[0] !== 'words') return undefined;
  const raw = (hay as { words: unknown }).words;
  const inner = ctx.compiler.compile(Array.isArray(raw) && raw.length === 1 ? raw[0] : raw, ctx.scope, `${ctx.argAt(1)}/words`, ctx.depth + 1);
  if (inner.constant) return folded(ctx, () => hasWord(str(inner.value, 'words'), word));
  const read = inner.fn;
  return { constant: false, fn: (r) => hasWord(str(read(r), 'words', inner.pointer), word) };
}

function hasWord(text: string, word: string): boolean {
  if (word === '' || word.includes(' ')) return false;
  for (let i = text.indexOf(word); i !== -1; i = text.indexOf(word, i + 1)) {
    const end = i + word.length;
    if ((i === 0 || text[i - 1] === ' ') && (end === text.length || text[end] === ' ')) return true;
  }
  return false;
}

/**
 * and / or return the first operand that decides (json-logic semantics). Constant operands are
 * folded: ones that cannot decide are dropped, and nothing after a deciding constant runs.
 */
const logical = (op: 'and' | 'or'): Factory => (ctx) => {
  arity(ctx, op, 1, Infinity);
  const stopOn = op === 'or';
  const nodes: Node[] = [];
  for (const node of compileArgs(ctx)) {
    nodes.push(node);
    if (node.constant && truthy(node.value) === stopOn) break;
  }
  const kept = nodes.filter((n, i) => !(n.constant && i < nodes.length - 1 && truthy(n.value) !== stopOn));
  if (kept.length === 1) return kept[0] as Node;
  const fns = kept.map(fnOf);
  if (fns.length === 2) {
    const [f, g] = fns as [Evaluator, Evaluator];
    return { constant: false, fn: (r) => {
      const first = f(r);
      return truthy(first) === stopOn ? first : g(r);
    } };
  }
  return {
    constant: false,
    fn: (r) => {
      let value: unknown;
      for (const f of fns) {
        value = f(r);
        if (truthy(value) === stopOn) return value;
      }
      return value;
    },
  };
};

const conditional: Factory = (ctx) => {
  const nodes = compileArgs(ctx);
  const fns = nodes.map(fnOf);
  const choose: Evaluator = (r) => {
    let i = 0;
    for (; i + 1 < fns.length; i += 2) {
      if (truthy((fns[i] as Evaluator)(r))) return (fns[i + 1] as Evaluator)(r);
    }
    return i < fns.length ? (fns[i] as Evaluator)(r) : null;
  };
  return nodes.every((n) => n.constant) ? { constant: true, value: choose(undefined) } : { constant: false, fn: choose };
};

/** some / all / none / map / filter: the second argument runs once per element, in element scope. */
function iteration(op: 'some' | 'all' | 'none' | 'map' | 'filter'): Factory {
  return (ctx) => {
    arity(ctx, op, 2);
    const source = ctx.compiler.compile(ctx.args[0], ctx.scope, ctx.argAt(0), ctx.depth);
    const body = fnOf(ctx.compiler.compile(ctx.args[1], 'element', ctx.argAt(1), ctx.depth));
    const items = fnOf(source);
    const read = (r: unknown): readonly unknown[] | null => {
      const value = items(r);
      if (value === null || value === undefined) return null;
      return list(value, op, source.pointer);
    };
    const run: Record<typeof op, Evaluator> = {
      some: (r) => (read(r) ?? []).some((e) => truthy(body(e))),
      none: (r) => !(read(r) ?? []).some((e) => truthy(body(e))),
      all: (r) => {
        const xs = read(r);
        return xs !== null && xs.length > 0 && xs.every((e) => truthy(body(e)));
      },
      map: (r) => (read(r) ?? []).map((e) => body(e)),
      filter: (r) => (read(r) ?? []).filter((e) => truthy(body(e))),
    };
    if (!source.constant) return { constant: false, fn: run[op] };
    // A constant source (settings, literals): the body runs over known elements once, here.
    return folded(ctx, () => run[op](undefined));
  };
}

/** Compiles the literal keys of `missing` into readers once; json-logic counts null and "" as missing. */
function missingReader(ctx: OpContext, keys: readonly unknown[]): (root: unknown) => string[] {
  checkMissingKeys(ctx, keys);
  const readers = (keys as string[]).map((key) => {
    const path = key.replaceAll('${stage}', ctx.compiler.options.stage);
    const segments = path === '' ? [] : path.split('.');
    if (ctx.scope === 'element') return { path, read: compiledWalk(segments) };
    const index = ctx.compiler.options.slots.slot(segments.slice(1));
    return { path, read: (slots: unknown) => (slots as unknown[])[index] };
  });
  return (root) => {
    const out: string[] = [];
    for (const { path, read } of readers) {
      const value = read(root);
      if (value === undefined || value === null || value === '') out.push(path);
    }
    return out;
  };
}

/** `missing` reads facts directly; its keys must be literal so the compiler can check them. */
const missing: Factory = (ctx) => {
  const keys = (ctx.args.length === 1 && Array.isArray(ctx.args[0]) ? ctx.args[0] : ctx.args) as unknown[];
  return { constant: false, fn: missingReader(ctx, keys) };
};

const missingSome: Factory = (ctx) => {
  arity(ctx, 'missing_some', 2);
  const [need, keys] = ctx.args;
  if (typeof need !== 'number' || !Array.isArray(keys)) throw new LogicCompileError("'missing_some' takes [count, [paths]]", ctx.at);
  const read = missingReader(ctx, keys);
  return {
    constant: false,
    fn: (r) => {
      const absent = read(r);
      return keys.length - absent.length >= need ? [] : absent;
    },
  };
};

function checkMissingKeys(ctx: OpContext, keys: readonly unknown[]): void {
  for (const key of keys) {
    if (typeof key !== 'string') throw new LogicCompileError("'missing' takes literal var paths", ctx.at);
    if (ctx.scope === 'top' && !key.startsWith('facts.')) throw new LogicCompileError(`'missing' path '${key}' must start with 'facts.'`, ctx.at);
    if (/(^|\.)(__proto__|constructor|prototype)(\.|$)/.test(key)) throw new LogicCompileError(`'missing' path '${key}' names a forbidden key`, ctx.at);
  }
}

export const OPERATORS: Readonly<Record<string, Factory>> = Object.freeze({
  // var is compiled by readVar (it needs the scope and the settings); listed so it counts as vetted.
  var: () => {
    throw new Error('unreachable');
  },
  missing,
  missing_some: missingSome,
  if: conditional,
  '?:': conditional,
  '==': strictEq,
  '===': strictEq,
  '!=': strictNe,
  '!==': strictNe,
  '!': unary('!', (a) => !truthy(a)),
  '!!': unary('!!', (a) => truthy(a)),
  and: logical('and'),
  or: logical('or'),
  '<': compare('<', (a, b) => a < b, true),
  '<=': compare('<=', (a, b) => a <= b, true),
  '>': compare('>', (a, b) => a > b, false),
  '>=': compare('>=', (a, b) => a >= b, false),
  '+': eager('+', 1, Infinity, (v, n) => numbers(v, n, '+').reduce((x, y) => x + y, 0)),
  '*': eager('*', 1, Infinity, (v, n) => numbers(v, n, '*').reduce((x, y) => x * y, 1)),
  '-': (ctx) =>
    ctx.args.length === 1
      ? unary('-', (a, na) => -num(a, '-', na.pointer))(ctx)
      : binary('-', (a, b, na, nb) => num(a, '-', na.pointer) - num(b, '-', nb.pointer))(ctx),
  '/': binary('/', (a, b, na, nb) => num(a, '/', na.pointer) / num(b, '/', nb.pointer)),
  '%': binary('%', (a, b, na, nb) => num(a, '%', na.pointer) % num(b, '%', nb.pointer)),
  min: eager('min', 1, Infinity, (v, n) => Math.min(...numbers(v, n, 'min'))),
  max: eager('max', 1, Infinity, (v, n) => Math.max(...numbers(v, n, 'max'))),
  in: membership,
  cat: eager('cat', 1, Infinity, (v, n) =>
    v.map((x, i) => (typeof x === 'number' ? String(x) : str(x, 'cat', n[i]?.pointer))).join(''),
  ),
  merge: eager('merge', 0, Infinity, (v) => v.flatMap((x) => (Array.isArray(x) ? x : [x]))),
  some: iteration('some'),
  all: iteration('all'),
  none: iteration('none'),
  map: iteration('map'),
  filter: iteration('filter'),
  length: unary('length', (a, n) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    throw new MalformedFactError(`'length' needs a string or an array, got ${typeOf(a)}`, n.pointer);
  }),
  starts_with: binary('starts_with', (a, b, na, nb) => str(a, 'starts_with', na.pointer).startsWith(str(b, 'starts_with', nb.pointer))),
  same_http_uri: binary('same_http_uri', (a, b, na, nb) =>
    sameHttpUri(str(a, 'same_http_uri', na.pointer), str(b, 'same_http_uri', nb.pointer), [na.pointer, nb.pointer])),
  subset: binary('subset', (a, b, na, nb) => {
    const inner = list(a, 'subset', na.pointer);
    const outer = list(b, 'subset', nb.pointer);
    return inner.every((x) => outer.includes(x));
  }),
  words: unary('words', (a, n) => str(a, 'words', n.pointer).split(' ').filter((w) => w !== '')),
  typeof: unary('typeof', (a) => typeOf(a)),
});
