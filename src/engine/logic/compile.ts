/**
 * Compiles a json-logic expression once into nested JavaScript closures.
 *
 * Profiles are untrusted, so nothing is ever turned into source text (no eval, no new Function):
 * each operator is a closure factory from a vetted table. Settings are constants of a compiled
 * profile, so `settings.*` reads are resolved here and folded into the closures.
 */
import { LogicCompileError } from '../errors.js';
import type { Settings } from '../types.js';
import { pointerToken } from '../text.js';
import { OPERATORS } from './operators.js';
import { readVar, SlotTable, type Evaluator, type Node, type Scope } from './node.js';

export type { Evaluator } from './node.js';

const LOGIC_LIMITS = { maxDepth: 32, maxNodes: 2000 } as const;

export interface CompileOptions {
  settings: Settings;
  /** Replaces `${stage}` in var paths of rules that span stages. */
  stage: string;
  /** The stage's fact slots; a private table when compiling a lone expression. */
  slots?: SlotTable;
}

export interface CompiledLogic {
  /** Evaluates over a facts object (reads the slots itself): for lone expressions and tests. */
  evaluate: Evaluator;
  /** Evaluates over the slots the caller loaded from `options.slots`: the decision hot path. */
  run: Evaluator;
  /** JSON pointers of the facts the expression reads, in the order they appear. */
  factReads: string[];
  /** Every read of a setting: which one, and where in the expression (for polarity.ts). */
  settingReads: SettingSite[];
  /** True when the expression does not depend on facts at all. */
  constant: boolean;
}

/** A place where a rule reads a setting: the dotted setting path and the JSON pointer of the read. */
export interface SettingSite {
  setting: string;
  at: string;
}

export interface Compiler {
  compile(expr: unknown, scope: Scope, at: string, depth: number): Node;
  readonly options: Required<CompileOptions>;
  readonly factReads: string[];
  readonly settingReads: SettingSite[];
}

export function compileLogic(expr: unknown, options: CompileOptions): CompiledLogic {
  const factReads: string[] = [];
  const settingReads: SettingSite[] = [];
  const slots = options.slots ?? new SlotTable();
  let nodes = 0;
  const compiler: Compiler = {
    options: { ...options, slots },
    factReads,
    settingReads,
    compile(e, scope, at, depth) {
      if (++nodes > LOGIC_LIMITS.maxNodes) throw new LogicCompileError(`expression has more than ${LOGIC_LIMITS.maxNodes} nodes`, at);
      if (depth > LOGIC_LIMITS.maxDepth) throw new LogicCompileError(`expression is nested deeper than ${LOGIC_LIMITS.maxDepth}`, at);
      return compileNode(compiler, e, scope, at, depth);
    },
  };
  const node = compiler.compile(expr, 'top', '', 0);
  const run = toEvaluator(node);
  const evaluate: Evaluator = (facts) => run(slots.load(facts, []));
  return { evaluate, run, factReads, settingReads, constant: node.constant };
}

function compileNode(c: Compiler, expr: unknown, scope: Scope, at: string, depth: number): Node {
  if (expr === null || typeof expr !== 'object') {
    if (typeof expr === 'number' && !Number.isFinite(expr)) throw new LogicCompileError('numbers must be finite', at);
    return { constant: true, value: expr };
  }
  if (Array.isArray(expr)) {
    const items = expr.map((e, i) => c.compile(e, scope, `${at}/${i}`, depth + 1));
    if (items.every((n) => n.constant)) return { constant: true, value: items.map((n) => n.value) };
    const fns = items.map(toEvaluator);
    return { constant: false, fn: (root) => fns.map((f) => f(root)) };
  }
  const keys = Object.keys(expr);
  if (keys.length !== 1) throw new LogicCompileError(`an operation is an object with exactly one key, found ${keys.length}`, at);
  const op = keys[0] as string;
  const factory = Object.hasOwn(OPERATORS, op) ? OPERATORS[op] : undefined;
  if (!factory) throw new LogicCompileError(`operator '${op}' is not in the vetted set`, at);
  const raw = (expr as Record<string, unknown>)[op];
  const args = Array.isArray(raw) ? raw : [raw];
  const argAt = (i: number) => (Array.isArray(raw) ? `${at}/${pointerToken(op)}/${i}` : `${at}/${pointerToken(op)}`);
  if (op === 'var') return readVar(c, args, scope, argAt(0), depth + 1);
  return factory({ compiler: c, args, scope, at: `${at}/${pointerToken(op)}`, argAt, depth: depth + 1 });
}

function toEvaluator(node: Node): Evaluator {
  if (node.constant) {
    const value = node.value;
    return () => value;
  }
  return node.fn;
}
