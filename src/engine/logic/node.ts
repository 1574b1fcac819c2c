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
  const segments = parseSegments(path);
  const fn: Evaluator = (root) => {
    const value = walkParsed(root, segments);
    if (value !== undefined && value !== null) return value;
    if (hasDefault) return dflt;
    throw new MissingFactError(pointer);
  };
  return { constant: false, fn, pointer };
}

/** A path segment; array indices are pre-parsed so the hot path does no string work. */
type Segment = { key: string; index: number };

function parseSegments(path: readonly string[]): Segment[] {
  return path.map((key) => ({ key, index: /^(0|[1-9]\d{0,8})$/.test(key) ? Number(key) : -1 }));
}

/** Reads own properties only (array items by index), so prototypes are never reached. */
function walkParsed(root: unknown, segments: readonly Segment[]): unknown {
  let current: unknown = root;
  for (const { key, index } of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (index < 0) return undefined;
      current = current[index];
    } else {
      if (!Object.hasOwn(current, key)) return undefined;
      current = (current as Record<string, unknown>)[key];
    }
  }
  return current;
}

export function walk(root: unknown, path: readonly string[]): unknown {
  return walkParsed(root, parseSegments(path));
}

/** A reader for a fixed path, with its segments parsed once. */
export function compiledWalk(path: readonly string[]): (root: unknown) => unknown {
  const segments = parseSegments(path);
  return (root) => walkParsed(root, segments);
}

export function toPointer(segments: readonly string[]): string {
  return segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
