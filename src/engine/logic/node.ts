import { LogicCompileError, MissingFactError } from '../errors.js';
import { FORBIDDEN_KEYS } from './values.js';
import type { Compiler } from './compile.js';

export type Evaluator = (root: unknown) => unknown;

/** A compiled sub-expression: a constant known at compile time, or a closure over the facts. */
export type Node =
  | { constant: true; value: unknown; pointer?: undefined }
  | { constant: false; fn: Evaluator; pointer?: string };

/** 'top' reads {facts, settings}; 'element' is inside some/all/none/map/filter and reads the current item. */
export type Scope = 'top' | 'element';

/** Compiles `{var: path}` / `{var: [path, default]}`; the path must be a literal. */
export function readVar(c: Compiler, args: unknown[], scope: Scope, at: string): Node {
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
  const dflt = hasDefault ? c.compile(fallback, scope, at.replace(/\/0$/, '/1'), 1) : undefined;
  if (dflt && !dflt.constant) throw new LogicCompileError('a var default must be a constant', at);
  if (scope === 'element') return factAccessor(segments, '', dflt?.value, hasDefault);
  const [root, ...rest] = segments;
  if (root === 'settings') return settingConstant(c, rest, path, at, dflt?.value, hasDefault);
  if (root !== 'facts') throw new LogicCompileError(`var path '${path}' must start with 'facts.' or 'settings.'`, at);
  const pointer = toPointer(rest);
  c.factReads.push(pointer);
  return factAccessor(rest, pointer, dflt?.value, hasDefault);
}

function settingConstant(c: Compiler, segments: string[], path: string, at: string, dflt: unknown, hasDefault: boolean): Node {
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

export function toPointer(segments: readonly string[]): string {
  return segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
