/**
 * The polarity of a rule schema's verdict (valid = the check passes) in one `$setting` it reads:
 * the same question as logic/polarity.ts asks of json-logic, answered per JSON Schema keyword.
 * Keywords that take a schema pass the direction on (`not` reverses it); keywords that take a
 * value have a direction of their own (`enum` grows with its list, `required` shrinks, `minimum`
 * shrinks as it rises). Anything else, and any schema whose parts can be reached out of place
 * (`$ref`) or whose verdict depends on other parts' annotations (`unevaluated*`), is unknown.
 */
import { convert, orderOf, times, type Order, type Polarity, type PolarityResult } from './logic/polarity.js';
import { pointerToPath } from './text.js';

/** Keywords whose value is one schema, and the direction they pass on. */
const SUBSCHEMA: Readonly<Record<string, Polarity>> = {
  not: '-', then: '+', else: '+', items: '+', additionalItems: '+', additionalProperties: '+', propertyNames: '+', contains: '+',
};

/** Keywords whose value is a map of schemas. */
const SCHEMA_MAP = new Set(['properties', 'patternProperties', 'dependentSchemas']);

/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST: Readonly<Record<string, Polarity>> = { allOf: '+', anyOf: '+', prefixItems: '+' };

/** Keywords that take a value, the order they read it in, and which way validity follows it. */
const VALUE: Readonly<Record<string, [Order, Polarity]>> = {
  enum: ['set', '+'],
  required: ['set', '-'],
  uniqueItems: ['bool', '-'],
  minimum: ['num', '-'], exclusiveMinimum: ['num', '-'], minLength: ['num', '-'], minItems: ['num', '-'], minProperties: ['num', '-'], minContains: ['num', '-'],
  maximum: ['num', '+'], exclusiveMaximum: ['num', '+'], maxLength: ['num', '+'], maxItems: ['num', '+'], maxProperties: ['num', '+'], maxContains: ['num', '+'],
};

const OPAQUE = ['$ref', '$dynamicRef', 'unevaluatedProperties', 'unevaluatedItems'];

export function schemaPolarity(schema: unknown, at: string, value: unknown): PolarityResult {
  const opaque = OPAQUE.find((k) => containsKey(schema, k));
  if (opaque) return { polarity: '?', why: `the schema uses ${opaque}, whose effect depends on other parts of it` };
  return walkSchema(schema, pointerToPath(at), 0, value);
}

function walkSchema(node: unknown, tokens: string[], i: number, value: unknown): PolarityResult {
  // The setting stands where a schema goes: a boolean setting is the true or false schema.
  if (i === tokens.length) return orderOf(value) === 'bool' ? { polarity: '+' } : { polarity: '?', why: 'a non-boolean setting stands where a schema goes' };
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return { polarity: '?', why: 'lint cannot follow where the setting stands' };
  const schema = node as Record<string, unknown>;
  const keyword = tokens[i] as string;
  const child = schema[keyword];
  if (keyword === 'if') return conditional(schema, tokens, i, value);
  if (keyword in SUBSCHEMA) {
    if (keyword === 'contains' && 'maxContains' in schema) return { polarity: '?', why: 'contains with maxContains is not monotone' };
    return along(SUBSCHEMA[keyword] as Polarity, walkSchema(child, tokens, i + 1, value));
  }
  if (SCHEMA_MAP.has(keyword) && i + 1 < tokens.length) {
    return walkSchema((child as Record<string, unknown>)?.[tokens[i + 1] as string], tokens, i + 2, value);
  }
  if (keyword in SCHEMA_LIST && i + 1 < tokens.length) {
    return along(SCHEMA_LIST[keyword] as Polarity, walkSchema((child as unknown[])?.[Number(tokens[i + 1])], tokens, i + 2, value));
  }
  if (keyword === 'dependentRequired' && i + 2 === tokens.length) return valueKeyword('required', value);
  if (i + 1 === tokens.length && keyword in VALUE) return valueKeyword(keyword, value);
  return { polarity: '?', why: `lint cannot tell which way '${keyword}' moves with the setting` };
}

function along(step: Polarity, inner: PolarityResult): PolarityResult {
  return inner.polarity === '?' ? inner : { polarity: times(step, inner.polarity) };
}

function valueKeyword(keyword: string, value: unknown): PolarityResult {
  const [order, polarity] = VALUE[keyword] as [Order, Polarity];
  const read = convert(orderOf(value), order);
  if (read === '?') return { polarity: '?', why: `'${keyword}' takes a ${order === 'set' ? 'list' : order === 'num' ? 'number' : 'boolean'}` };
  return { polarity: times(read, polarity) };
}

/**
 * `if` chooses between `then` and `else`: valid = (if and then) or (not if and else). With only a
 * `then` the verdict falls as the condition holds more often; with only an `else` it rises. A
 * pattern inside the condition can fail closed (an over-long match), which would then count as a
 * verdict the condition turned, so such a condition is unknown.
 */
function conditional(schema: Record<string, unknown>, tokens: string[], i: number, value: unknown): PolarityResult {
  const open = (k: string) => !(k in schema) || schema[k] === true;
  const step: Polarity | undefined = open('then') && open('else') ? '0' : open('else') ? '-' : open('then') ? '+' : undefined;
  if (step === undefined) return { polarity: '?', why: "an 'if' with both 'then' and 'else' is not monotone in its condition" };
  if (containsKey(schema.if, 'pattern') || containsKey(schema.if, 'patternProperties')) {
    return { polarity: '?', why: "a pattern in the 'if' condition can fail closed, which the setting would then turn into a pass" };
  }
  return along(step, walkSchema(schema.if, tokens, i + 1, value));
}

function containsKey(node: unknown, key: string): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) return node.some((n) => containsKey(n, key));
  return Object.keys(node).some((k) => k === key || containsKey((node as Record<string, unknown>)[k], key));
}
