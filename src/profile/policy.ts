/**
 * OpenID Federation `metadata_policy` operators, applied by an overlay to one base setting.
 * Order as in the Federation spec: value, add, default, subset_of, then the checks one_of,
 * superset_of and essential.
 */
export interface PolicyOperators {
  value?: unknown;
  add?: unknown[];
  default?: unknown;
  one_of?: unknown[];
  subset_of?: unknown[];
  superset_of?: unknown[];
  essential?: boolean;
}

export type PolicyResult = { ok: true; value: unknown } | { ok: false; message: string };

const show = (v: unknown) => JSON.stringify(v);

export function applyPolicy(base: unknown, ops: PolicyOperators): PolicyResult {
  let value = base;
  if ('value' in ops) {
    if (ops.value === null) return { ok: false, message: 'value: null would remove the setting; every setting needs a value' };
    value = ops.value;
  }
  if (ops.add) {
    if (!Array.isArray(value)) return { ok: false, message: `add needs a list setting, the value is ${show(value)}` };
    value = [...value, ...ops.add.filter((x) => !(value as unknown[]).includes(x))];
  }
  if ('default' in ops && (value === undefined || value === null)) value = ops.default;
  if (ops.subset_of) {
    if (!Array.isArray(value)) return { ok: false, message: `subset_of needs a list setting, the value is ${show(value)}` };
    const keep = ops.subset_of;
    value = value.filter((x) => keep.includes(x));
  }
  if (ops.one_of && !ops.one_of.some((candidate) => sameValue(candidate, value))) return { ok: false, message: `one_of: ${show(value)} is not one of ${show(ops.one_of)}` };
  if (ops.superset_of) {
    if (!Array.isArray(value)) return { ok: false, message: `superset_of needs a list setting, the value is ${show(value)}` };
    const lacking = ops.superset_of.filter((x) => !(value as unknown[]).includes(x));
    if (lacking.length) return { ok: false, message: `superset_of: ${show(value)} lacks ${show(lacking)}` };
  }
  if (ops.essential && (value === undefined || value === null || (Array.isArray(value) && value.length === 0))) {
    return { ok: false, message: 'essential: the setting has no value' };
  }
  return { ok: true, value };
}

/** one_of compares values: a list setting names a list, equal when both hold the same members. */
function sameValue(a: unknown, b: unknown): boolean {
  if (!Array.isArray(a) || !Array.isArray(b)) return a === b;
  return a.length === b.length && a.every((x) => b.includes(x)) && b.every((x) => a.includes(x));
}
