/**
 * Bounded YAML parsing with source positions. Profiles come from third parties, so size, nesting,
 * aliases (billion laughs) and prototype keys are all limited before anything else looks at them.
 */
import { Composer, isAlias, isScalar, LineCounter, Parser, visit, YAMLParseError, type CST, type Document, type Node } from 'yaml';
import { FORBIDDEN_KEYS } from '../engine/logic/values.js';
import type { Diagnostic } from './diagnostics.js';

export const YAML_LIMITS = { maxBytes: 1024 * 1024, maxDepth: 64, maxAliases: 100, maxNodes: 200_000 } as const;

export interface Source {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain JSON data. */
  data: unknown;
}

export type ParseResult = { ok: true; source: Source } | { ok: false; diagnostics: Diagnostic[] };

export function parseSource(file: string, text: string): ParseResult {
  const fail = (message: string, line = 1, col = 1): ParseResult => ({ ok: false, diagnostics: [{ file, line, col, severity: 'error', message }] });
  if (Buffer.byteLength(text, 'utf8') > YAML_LIMITS.maxBytes) return fail(`file is larger than ${YAML_LIMITS.maxBytes} bytes`);
  const lines = new LineCounter();
  // The syntax tree is built without recursion; composing it into a document recurses once per
  // level, so nesting is bounded on the tree first (a deep document would otherwise overflow the stack).
  const tokens = [...new Parser(lines.addNewLine).parse(text)];
  const deep = tooDeep(tokens, YAML_LIMITS.maxDepth);
  if (deep !== undefined) {
    const at = lines.linePos(deep);
    return fail(`the document is nested more than ${YAML_LIMITS.maxDepth} levels`, at.line, at.col);
  }
  const doc = compose(tokens, text.length);
  if (doc.errors.length) {
    return {
      ok: false,
      diagnostics: doc.errors.map((e) => ({ file, ...lines.linePos(e.pos[0]), severity: 'error' as const, message: `YAML: ${e.message.split('\n')[0]}` })),
    };
  }
  const shape = astProblem(doc, lines);
  if (shape) return fail(shape.message, shape.line, shape.col);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliases });
  } catch (e) {
    return fail(`YAML: ${(e as Error).message}`);
  }
  const hostile = hostileShape(data, { maxDepth: YAML_LIMITS.maxDepth, maxNodes: YAML_LIMITS.maxNodes });
  if (hostile) return fail(`${hostile.message}${hostile.path ? ` at ${hostile.path}` : ''}`);
  return { ok: true, source: { file, doc, lines, data } };
}

/** What yaml's parseDocument does after parsing: the first document, with an error for any further one. */
function compose(tokens: readonly CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ uniqueKeys: true, strict: true, prettyErrors: false, merge: false, stringKeys: true });
  let first: Document.Parsed | undefined;
  for (const doc of composer.compose(tokens, true, length)) {
    if (!first) first = doc;
    else {
      first.errors.push(new YAMLParseError(doc.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
  }
  return first as Document.Parsed;
}

/**
 * The offset of the first collection nested more than `max` levels deep in the syntax tree, or
 * undefined. Iterative, with an explicit stack, so the check itself cannot overflow.
 */
function tooDeep(tokens: readonly CST.Token[], max: number): number | undefined {
  const stack: Array<[CST.Token | undefined, number]> = tokens.map((t) => [t, 0]);
  while (stack.length) {
    const [token, depth] = stack.pop() as [CST.Token | undefined, number];
    if (!token) continue;
    if (token.type === 'document') stack.push([token.value, depth]);
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > max) return token.offset;
      for (const item of token.items) stack.push([item.key as CST.Token | undefined, depth + 1], [item.value, depth + 1]);
    }
  }
  return undefined;
}

/** Walks the composed document once (its depth already bounded): forbidden keys and numbers, with their positions. */
function astProblem(doc: Document.Parsed, lines: LineCounter): { message: string; line: number; col: number } | null {
  let problem: { message: string; line: number; col: number } | null = null;
  const at = (node: Node | null | undefined) => lines.linePos(node?.range?.[0] ?? 0);
  visit(doc, {
    // NaN and the infinities (.nan, .inf, 1e999) have no JSON form: canonical JSON and digests would
    // confuse them with null, so they are refused where they are written.
    Scalar(_, node) {
      if (typeof node.value === 'number' && !Number.isFinite(node.value)) {
        problem = { message: `numbers must be finite: ${String(node.source ?? node.value)} has no JSON form`, ...at(node) };
        return visit.BREAK;
      }
      return undefined;
    },
    Pair(_, pair) {
      if (isScalar(pair.key) && FORBIDDEN_KEYS.has(String(pair.key.value))) {
        problem = { message: `the key '${String(pair.key.value)}' is not allowed`, ...at(pair.key as Node) };
        return visit.BREAK;
      }
      if (isAlias(pair.key) || (pair.key && !isScalar(pair.key))) {
        problem = { message: 'mapping keys must be plain scalars', ...at(pair.key as Node) };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return problem;
}

/** Line and column of the node at a data path (or its nearest existing ancestor). */
export function positionOf(source: Source, path: ReadonlyArray<string | number>): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const node = source.doc.getIn(path.slice(0, n), true) as Node | undefined;
    if (node?.range) return source.lines.linePos(node.range[0]);
    // For a map key, point at the pair's key rather than the value when the value is missing.
  }
  return { line: 1, col: 1 };
}

export { pointerToPath } from '../engine/text.js';

interface ShapeProblem {
  path: string;
  message: string;
}

/**
 * Depth, size and prototype-key bounds, checked before ajv sees the value. The scan allocates
 * nothing on the way; the path of a problem is only worked out once one is found.
 */
function hostileShape(value: unknown, limits: { maxDepth: number; maxNodes: number }): ShapeProblem | null {
  const budget = { nodes: limits.maxNodes };
  if (clean(value, limits.maxDepth, budget)) return null;
  if (budget.nodes < 0) return { path: '', message: `the document has more than ${limits.maxNodes} values` };
  return locate(value, limits.maxDepth, '', limits.maxDepth) ?? { path: '', message: 'the document is malformed' };
}

function clean(node: unknown, depthLeft: number, budget: { nodes: number }): boolean {
  if (--budget.nodes < 0) return false;
  if (node === null || typeof node !== 'object') return true;
  if (depthLeft <= 0) return false;
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) if (!clean(node[i], depthLeft - 1, budget)) return false;
    return true;
  }
  // for...in also lists inherited enumerable names; facts are JSON, so every name found is their own.
  for (const key in node) {
    // Spelled out rather than a Set lookup: this loop runs for every member of every decision.
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return false;
    if (!clean((node as Record<string, unknown>)[key], depthLeft - 1, budget)) return false;
  }
  return true;
}

function locate(node: unknown, depthLeft: number, path: string, maxDepth: number): ShapeProblem | null {
  if (node === null || typeof node !== 'object') return null;
  if (depthLeft <= 0) return { path, message: `the document is nested more than ${maxDepth} levels (through aliases)` };
  const entries: Array<[string, unknown]> = Array.isArray(node) ? node.map((v, i) => [String(i), v]) : Object.entries(node);
  for (const [key, child] of entries) {
    if (!Array.isArray(node) && FORBIDDEN_KEYS.has(key)) return { path: `${path}/${key}`, message: `the document may not contain the key '${key}'` };
    const found = locate(child, depthLeft - 1, `${path}/${key}`, maxDepth);
    if (found) return found;
  }
  return null;
}
