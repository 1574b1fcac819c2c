import { LogicCompileError, MissingFactError } from '../errors.js';
import { pointerToken } from '../text.js';
import { FORBIDDEN_KEYS } from './values.js';
import type { Compiler } from './compile.js';

export type Evaluator = (root: unknown) => unknown;

/**
 * A compiled sub-expression: a constant known at compile time, or a closure. At top scope the
 * closure receives the stage's fact slots (see SlotTable); inside some/all/... the current element.
 * `slot` is set on a plain fact read without a default, so operators can read the slot inline.
 */
export type Node =
  | { constant: true; value: unknown; pointer?: undefined; slot?: undefined }
  | { constant: false; fn: Evaluator; pointer?: string; slot?: number };

/**
 * The distinct fact paths the rules of a stage read. A decision reads each path once into an
 * array of slots; rules then index that array instead of walking the facts again and again.
 * Paths are kept as a trie so a shared prefix (facts.params, facts.jwt.claims) is walked once.
 */
export class SlotTable {
  readonly pointers: string[] = [];
  private readonly root: TrieNode[] = [];
  private readonly byPointer = new Map<string, number>();

  slot(path: readonly string[]): number {
    const pointer = toPointer(path);
    const known = this.byPointer.get(pointer);
    if (known !== undefined) return known;
    const index = this.pointers.length;
    this.byPointer.set(pointer, index);
    this.pointers.push(pointer);
    let level = this.root;
    let node: TrieNode | undefined;
    for (const segment of parseSegments(path)) {
      node = level.find((n) => n.segment.key === segment.key);
      if (!node) {
        node = { segment, slot: -1, children: [] };
        level.push(node);
      }
      level = node.children;
    }
    if (node) node.slot = index;
    else this.rootSlots.push(index);
    return index;
  }

  /** Slots for the empty path: the facts object itself. */
  private readonly rootSlots: number[] = [];

  get size(): number {
    return this.pointers.length;
  }

  /** Fills `into` with the value at every path (undefined where absent). */
  load(facts: unknown, into: unknown[]): unknown[] {
    for (const i of this.rootSlots) into[i] = facts;
    fill(facts, this.root, into);
    return into;
  }
}

interface TrieNode {
  segment: Segment;
  slot: number;
  children: TrieNode[];
}

function fill(value: unknown, nodes: readonly TrieNode[], into: unknown[]): void {
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i] as TrieNode;
    const child = value === undefined ? undefined : step(value, node.segment);
    if (node.slot >= 0) into[node.slot] = child;
    if (node.children.length) fill(child, node.children, into);
  }
}

/** 'top' reads {facts, settings}; 'element' is inside some/all/none/map/filter and reads the current item. */
export type Scope = 'top' | 'element';

/** Compiles `{var: path}` / `{var: [path, default]}`; the path must be a literal. */
export function readVar(c: Compiler, args: unknown[], scope: Scope, at: string, depth: number): Node {
  const [rawPath, fallback] = args;
  if (typeof rawPath !== 'string' && typeof rawPath !== 'number') {
    throw new LogicCompileError('a var path must be a literal string', at);
  }
  const path = String(rawPath).replaceAll('${stage}', c.options.stage);
  const segments = path === '' ? [] : path.split('.');
  for (const s of segments) {
    if (FORBIDDEN_KEYS.has(s)) throw new LogicCompileError(`var path '${path}' names the forbidden key '${s}'`, at);
  }
  const hasDefault = args.length > 1;
  // The default counts toward the nesting limit from where the var sits.
  const dflt = hasDefault ? c.compile(fallback, scope, at.replace(/\/0$/, '/1'), depth) : undefined;
  if (dflt && !dflt.constant) throw new LogicCompileError('a var default must be a constant', at);
  if (scope === 'element') return factAccessor(segments, '', dflt?.value, hasDefault);
  const [root, ...rest] = segments;
  if (root === 'settings') return settingConstant(c, rest, path, at, dflt?.value, hasDefault);
  if (root !== 'facts') throw new LogicCompileError(`var path '${path}' must start with 'facts.' or 'settings.'`, at);
  const pointer = toPointer(rest);
  c.factReads.push(pointer);
  return slotAccessor(c.options.slots.slot(rest), pointer, dflt?.value, hasDefault);
}

function slotAccessor(index: number, pointer: string, dflt: unknown, hasDefault: boolean): Node {
  const fn: Evaluator = (slots) => {
    const value = (slots as unknown[])[index];
    if (value !== undefined && value !== null) return value;
    if (hasDefault) return dflt;
    throw new MissingFactError(pointer);
  };
  return hasDefault ? { constant: false, fn, pointer } : { constant: false, fn, pointer, slot: index };
}

function settingConstant(c: Compiler, segments: string[], path: string, at: string, dflt: unknown, hasDefault: boolean): Node {
  c.settingReads.push({ setting: segments.join('.'), at });
  const value = walk(c.options.settings, segments);
  if (value === undefined || value === null) {
    if (hasDefault) return { constant: true, value: dflt };
    throw new LogicCompileError(`unknown setting '${path}'`, at);
  }
  return { constant: true, value };
}

function factAccessor(path: string[], pointer: string, dflt: unknown, hasDefault: boolean): Node {
  const read = compiledWalk(path);
  const fn: Evaluator = (root) => {
    const value = read(root);
    if (value !== undefined && value !== null) return value;
    if (hasDefault) return dflt;
    throw new MissingFactError(pointer);
  };
  return { constant: false, fn, pointer };
}

/** A path segment; array indices are pre-parsed so the hot path does no string work. */
type Segment = { key: string; index: number; inherited: boolean };

/** Names plain objects and arrays inherit: reading them needs an own-property check. */
const INHERITED = new Set([...Object.getOwnPropertyNames(Object.prototype), ...Object.getOwnPropertyNames(Array.prototype)]);

function parseSegments(path: readonly string[]): Segment[] {
  return path.map((key) => ({ key, index: /^(0|[1-9]\d{0,8})$/.test(key) ? Number(key) : -1, inherited: INHERITED.has(key) }));
}

/**
 * One step down a path. Facts are validated JSON, so a name no prototype carries can be read
 * directly; inherited names (toString, length, ...) must be own properties to count.
 */
function step(current: unknown, s: Segment): unknown {
  if (current === null || typeof current !== 'object') return undefined;
  if (Array.isArray(current)) return s.index >= 0 ? current[s.index] : undefined;
  if (s.inherited && !Object.hasOwn(current, s.key)) return undefined;
  return (current as Record<string, unknown>)[s.key];
}

function walkParsed(root: unknown, segments: readonly Segment[]): unknown {
  let current: unknown = root;
  for (let i = 0; i < segments.length && current !== undefined; i++) current = step(current, segments[i] as Segment);
  return current;
}

/** Unrolled readers for the usual short paths: the hottest code in the engine. */
function reader(segments: readonly Segment[]): (root: unknown) => unknown {
  const [a, b, c, d] = segments as [Segment, Segment, Segment, Segment];
  switch (segments.length) {
    case 0:
      return (r) => r;
    case 1:
      return (r) => step(r, a);
    case 2:
      return (r) => step(step(r, a), b);
    case 3:
      return (r) => step(step(step(r, a), b), c);
    case 4:
      return (r) => step(step(step(step(r, a), b), c), d);
    default:
      return (r) => walkParsed(r, segments);
  }
}

export function walk(root: unknown, path: readonly string[]): unknown {
  return walkParsed(root, parseSegments(path));
}

/** A reader for a fixed path, with its segments parsed once. */
export function compiledWalk(path: readonly string[]): (root: unknown) => unknown {
  return reader(parseSegments(path));
}

function toPointer(segments: readonly string[]): string {
  return segments.map((s) => '/' + pointerToken(s)).join('');
}
