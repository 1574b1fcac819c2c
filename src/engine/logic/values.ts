import { MalformedFactError } from '../errors.js';

/** json-logic truthiness: empty arrays are false, everything else as in JavaScript. */
export function truthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value);
}

export function typeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function num(value: unknown, op: string, pointer?: string): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new MalformedFactError(`'${op}' needs a number, got ${typeOf(value)}`, pointer);
  }
  return value;
}

export function str(value: unknown, op: string, pointer?: string): string {
  if (typeof value !== 'string') throw new MalformedFactError(`'${op}' needs a string, got ${typeOf(value)}`, pointer);
  return value;
}

export function list(value: unknown, op: string, pointer?: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new MalformedFactError(`'${op}' needs an array, got ${typeOf(value)}`, pointer);
  return value;
}

/** Path segments no profile may name and no facts may carry: they reach object prototypes. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
