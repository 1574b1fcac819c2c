/** The tighten-only invariant: how a new setting value compares with its base, per kind. */
import type { RefineKind } from './schema.js';

export type Direction = 'same' | 'tighter' | 'looser' | 'changed';

export function compareSetting(kind: RefineKind, base: unknown, next: unknown): Direction {
  if (JSON.stringify(base) === JSON.stringify(next)) return 'same';
  switch (kind) {
    case 'allow-list':
      return listDirection(next, base, 'tighter');
    case 'required-list':
      return listDirection(base, next, 'tighter');
    case 'maximum':
      return (next as number) < (base as number) ? 'tighter' : 'looser';
    case 'minimum':
      return (next as number) > (base as number) ? 'tighter' : 'looser';
    case 'require':
      return next === true ? 'tighter' : 'looser';
    case 'permit':
      return next === false ? 'tighter' : 'looser';
  }
}

/** `inner ⊆ outer` means `ifSubset`; otherwise looser (members the other side lacks). */
function listDirection(inner: unknown, outer: unknown, ifSubset: Direction): Direction {
  const a = Array.isArray(inner) ? inner : [];
  const b = Array.isArray(outer) ? outer : [];
  const subset = a.every((x) => b.includes(x));
  if (!subset) return 'looser';
  return a.length === b.length ? 'same' : ifSubset;
}

export function describeKind(kind: RefineKind): string {
  return {
    'allow-list': 'an allow-list may only lose members',
    'required-list': 'a required list may only gain members',
    maximum: 'a maximum may only fall',
    minimum: 'a minimum may only rise',
    require: 'a requirement must stay on',
    permit: 'a permission may only be withdrawn',
  }[kind];
}
