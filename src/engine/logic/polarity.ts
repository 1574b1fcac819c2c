/**
 * Which way a rule moves when one setting it reads moves: the polarity of a json-logic expression
 * in one read site (a `var` of `settings.…` the compiler recorded, at its JSON pointer).
 *
 * '+' means raising the setting's value (booleans false < true, numbers by size, lists by inclusion)
 * can only raise the expression (false < true); '-' only lower it; '0' leaves it alone; '?' means it
 * cannot be told, which callers must treat as the wrong way. The walk goes from the root down to
 * the site, multiplying the polarity of each operand position on the way.
 *
 * Evaluation errors count too: a missing or malformed fact makes a rule deny. An `and`/`or` whose
 * earlier operand is the site decides whether later operands run at all, so it can make such an
 * error appear or vanish; where that vanishing could turn a deny into an allow, the site is '?'.
 */
import { pointerToPath } from '../text.js';
import { truthy } from './values.js';

export type Polarity = '+' | '-' | '0' | '?';

export interface PolarityResult {
  polarity: Polarity;
  /** Why the polarity is '?': which operator or position hides the direction. */
  why?: string;
}

/** The order a value is compared in: truthiness, size, list inclusion, or none. */
export type Order = 'bool' | 'num' | 'set' | 'none';

export function orderOf(value: unknown): Order {
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return 'num';
  return Array.isArray(value) ? 'set' : 'none';
}

export function times(a: Polarity, b: Polarity): Polarity {
  if (a === '0' || b === '0') return '0';
  if (a === '?' || b === '?') return '?';
  return a === b ? '+' : '-';
}

/** How a value in one order reads in another: a list's truthiness grows with the list. */
export function convert(from: Order, to: Order | 'any'): Polarity {
  if (to === 'any' || from === to) return '+';
  return from === 'set' && to === 'bool' ? '+' : '?';
}

/**
 * Where an evaluation error stands, seen from one node's truthiness order: on the false side
 * (it denies like a failed check) or the true side, and `strict` when it is strictly beyond that
 * end (a `when` that errors denies, which a `when` that holds does not always do). Null below an
 * operator that does not work on truthiness.
 */
interface ErrorSide {
  side: 'F' | 'T' | null;
  strict: boolean;
}

const ROOT_SIDE: Record<'when' | 'check', ErrorSide> = {
  // A when that errors denies outright: beyond true. A check that errors denies, as false does.
  when: { side: 'T', strict: true },
  check: { side: 'F', strict: false },
};

interface Walked extends PolarityResult {
  order: Order;
}

const unknown = (why: string): Walked => ({ polarity: '?', order: 'none', why });

/** The polarity of `expr` (a rule's `when` or logic `check`) in the setting read at `at`. */
export function logicPolarity(expr: unknown, at: string, value: unknown, field: 'when' | 'check'): PolarityResult {
  const { polarity, why } = descend(expr, pointerToPath(at), 0, value, ROOT_SIDE[field]);
  return why === undefined ? { polarity } : { polarity, why };
}

function descend(node: unknown, tokens: string[], i: number, value: unknown, errors: ErrorSide): Walked {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return unknown('the setting is read inside a literal list');
  const op = tokens[i] as string;
  const raw = (node as Record<string, unknown>)[op];
  if (!Object.hasOwn(node, op)) return unknown('the compiler and the expression disagree on where the setting is read');
  if (op === 'var') return variable(raw, tokens, i + 1, value, errors);
  const args = Array.isArray(raw) ? raw : [raw];
  const index = Array.isArray(raw) ? Number(tokens[i + 1]) : 0;
  const next = Array.isArray(raw) ? i + 2 : i + 1;
  if (!Number.isInteger(index) || index < 0 || index >= args.length) return unknown(`'${op}' reads the setting where lint cannot follow it`);
  const step = operand(op, args, index);
  if ('why' in step) return unknown(step.why);
  const inner = descend(args[index], tokens, next, value, sideBelow(errors, step));
  if (inner.polarity === '?') return inner;
  const converted = convert(inner.order, step.wants);
  if (converted === '?') return unknown(`'${op}' reads a ${inner.order === 'none' ? 'non-scalar' : inner.order} setting as ${step.wants === 'any' ? 'a value' : step.wants}`);
  const skipped = skippedError(op, args, index, errors);
  if (skipped) return unknown(skipped);
  return { polarity: times(times(inner.polarity, converted), step.polarity), order: step.out === 'same' ? inner.order : step.out };
}

/** The site itself (`{var: path}` or `{var: [path, default]}`), or a setting read in a var's default. */
function variable(raw: unknown, tokens: string[], i: number, value: unknown, errors: ErrorSide): Walked {
  const rest = tokens.slice(i);
  if (rest.length === 0 || (rest.length === 1 && rest[0] === '0')) return { polarity: '+', order: orderOf(value) };
  if (rest[0] === '1' && Array.isArray(raw)) return descend(raw[1], tokens, i + 1, value, errors);
  return unknown('the setting is read inside a var path');
}

type Step =
  | { wants: Order | 'any'; polarity: Polarity; out: Order | 'same'; flips?: boolean; truth?: boolean }
  | { why: string };

const bool = (polarity: Polarity): Step => ({ wants: 'bool', polarity, out: 'bool', truth: true, flips: polarity === '-' });
const cannot = (op: string, what = 'this operand'): Step => ({ why: `'${op}' is not monotone in ${what}` });

/** What an operator does with operand `i`: the order it reads it in, its polarity there, its output order. */
function operand(op: string, args: unknown[], i: number): Step {
  const n = args.length;
  switch (op) {
    case '!':
      return bool('-');
    case '!!':
    case 'and':
    case 'or':
      return bool('+');
    case 'if':
    case '?:':
      return i % 2 === 0 && i < n - 1 ? condition(op, args, i) : { wants: 'any', polarity: '+', out: 'same', truth: true };
    case '<':
    case '<=':
      if (n === 3 && i === 1) return cannot(op, 'the middle of a range');
      return { wants: 'num', polarity: i === 0 ? '-' : '+', out: 'bool' };
    case '>':
    case '>=':
      return { wants: 'num', polarity: i === 0 ? '+' : '-', out: 'bool' };
    case '+':
    case 'min':
    case 'max':
      return { wants: 'num', polarity: '+', out: 'num' };
    case '-':
      return { wants: 'num', polarity: n === 1 || i === 1 ? '-' : '+', out: 'num' };
    case '*':
      return scaled(op, args.filter((_, k) => k !== i));
    case '/':
      return i === 0 ? scaled(op, [args[1]]) : cannot(op, 'its divisor');
    case 'in':
      return i === 1 ? { wants: 'set', polarity: '+', out: 'bool' } : cannot(op, 'the value it looks for');
    case 'subset':
      return { wants: 'set', polarity: i === 0 ? '-' : '+', out: 'bool' };
    case 'merge':
      return { wants: 'set', polarity: '+', out: 'set' };
    case 'some':
      return i === 0 ? { wants: 'set', polarity: '+', out: 'bool' } : cannot(op, 'its body');
    case 'none':
      return i === 0 ? { wants: 'set', polarity: '-', out: 'bool' } : cannot(op, 'its body');
    case 'map':
    case 'filter':
      return i === 0 ? { wants: 'set', polarity: '+', out: 'set' } : cannot(op, 'its body');
    case 'length':
      return { wants: 'set', polarity: '+', out: 'num' };
    default:
      // ==, !=, all (false on []), cat, starts_with, words, typeof, %: no order survives them.
      return cannot(op);
  }
}

/** `*` and `/` keep the direction only when the other operands are constant numbers of known sign. */
function scaled(op: string, others: unknown[]): Step {
  let polarity: Polarity = '+';
  for (const k of others) {
    if (typeof k !== 'number' || k === 0) return cannot(op, 'operands multiplied by anything but a non-zero literal');
    if (k < 0) polarity = times(polarity, '-');
  }
  return { wants: 'num', polarity, out: 'num' };
}

/**
 * A setting in the condition of an `if` chooses a branch: monotone only when the branch it turns
 * to is, whatever the rest would give, always at least (or at most) as true. Decided here for
 * literal branches; anything else is unknown.
 */
function condition(op: string, args: unknown[], i: number): Step {
  const chosen = args[i + 1];
  const rest = args.slice(i + 2);
  const outcomes = rest.filter((_, k) => k % 2 === 1 || k === rest.length - 1);
  if (rest.length % 2 === 0) outcomes.push(null);
  const conditions = rest.filter((_, k) => k % 2 === 0 && k < rest.length - 1);
  if (![chosen, ...outcomes].every(isLiteral) || conditions.some(mayFail)) return cannot(op, 'a condition whose branches are not literals');
  const up = outcomes.every((o) => !truthy(o) || truthy(chosen));
  const down = outcomes.every((o) => truthy(o) || !truthy(chosen));
  const polarity: Polarity = up && down ? '0' : up ? '+' : down ? '-' : '?';
  return polarity === '?' ? cannot(op, 'this condition') : bool(polarity);
}

function isLiteral(value: unknown): boolean {
  return value === null || typeof value !== 'object' || (Array.isArray(value) && value.every(isLiteral));
}

/** Where errors stand below an operand: truthiness operators keep (or flip) it; others lose it. */
function sideBelow(errors: ErrorSide, step: Exclude<Step, { why: string }>): ErrorSide {
  if (!step.truth || errors.side === null) return { side: null, strict: false };
  if (!step.flips) return errors;
  return { side: errors.side === 'F' ? 'T' : 'F', strict: errors.strict };
}

/**
 * With the site in operand i of `and`/`or`, the operands after it run or not as the site changes.
 * Turning `and`'s operand true lets a later error through (harmless unless errors sit strictly
 * below false here); turning `or`'s operand true hides a later error (harmless unless errors sit
 * strictly above true). Unknown error placement with a later operand that may fail is unknown.
 */
function skippedError(op: string, args: unknown[], i: number, errors: ErrorSide): string | undefined {
  if (op !== 'and' && op !== 'or') return undefined;
  if (!args.slice(i + 1).some(mayFail)) return undefined;
  const harmful = errors.side === null || (errors.strict && errors.side === (op === 'and' ? 'F' : 'T'));
  if (!harmful) return undefined;
  return `'${op}' would ${op === 'and' ? 'no longer run' : 'skip'} a later operand that can fail on a missing or malformed fact`;
}

/** Operators that never throw themselves: only their operands can. */
const TOTAL = new Set(['!', '!!', 'and', 'or', 'if', '?:', '==', '===', '!=', '!==', 'typeof']);

/**
 * Whether evaluating an expression can throw (a missing fact, a malformed one): conservative,
 * true unless it reads no facts or only reads them with defaults through operators that never throw.
 */
function mayFail(expr: unknown): boolean {
  if (expr === null || typeof expr !== 'object') return false;
  if (Array.isArray(expr)) return expr.some(mayFail);
  const [op] = Object.keys(expr);
  const raw = (expr as Record<string, unknown>)[op as string];
  const args = Array.isArray(raw) ? raw : [raw];
  if (op === 'var') return !isSettingPath(args[0]) && (args.length < 2 || mayFail(args[1]));
  if (op === 'missing' || op === 'missing_some') return false;
  if (TOTAL.has(op as string)) return args.some(mayFail);
  if (op === 'in' && !readsFacts(args[1]) && (Array.isArray(args[1]) || isSettingRead(args[1]))) return mayFail(args[0]);
  return readsFacts(expr);
}

function isSettingPath(path: unknown): boolean {
  return typeof path === 'string' && path.startsWith('settings.');
}

function isSettingRead(expr: unknown): boolean {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr) || !Object.hasOwn(expr, 'var')) return false;
  const raw = (expr as { var: unknown }).var;
  return isSettingPath(Array.isArray(raw) ? raw[0] : raw);
}

/** Whether anything below reads a fact: what is left is folded to a constant when compiled. */
function readsFacts(expr: unknown): boolean {
  if (expr === null || typeof expr !== 'object') return false;
  if (Array.isArray(expr)) return expr.some(readsFacts);
  const [op] = Object.keys(expr);
  const raw = (expr as Record<string, unknown>)[op as string];
  if (op === 'missing' || op === 'missing_some') return true;
  if (op === 'var') return !isSettingRead(expr) || (Array.isArray(raw) && readsFacts(raw[1]));
  return readsFacts(raw);
}
