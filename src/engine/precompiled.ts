/**
 * Validators for the package's own schemas (facts, profile language) and the meta-schemas rule
 * schemas are checked against, compiled by ajv at build time
 * into plain modules under dist/generated, so a fresh process imports them in milliseconds instead
 * of compiling them (about 150 ms for the facts schemas, 100 ms for the profile schema). Rule
 * schemas come from profiles and are never precompiled. Where no generated module exists (running
 * from the TypeScript sources, as the tests do) the callers compile at run time, with the same
 * ajv options; a test checks that both agree.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';

export type PrecompiledModule = 'facts-validators' | 'profile-validators' | 'meta-validators' | 'secure-validators';

/** The generated modules sit in dist/generated; this file is dist/src/engine/precompiled.js. */
export function precompiledUrl(name: PrecompiledModule): URL {
  return new URL(`../../generated/${name}.js`, import.meta.url);
}

/** The named validators of a generated module, or null when it is absent or incomplete. */
export async function loadPrecompiled(name: PrecompiledModule, expected: readonly string[]): Promise<ReadonlyMap<string, ValidateFunction> | null> {
  let module: Record<string, unknown>;
  try {
    // A generated module: its exports are ajv validate functions (typed here, not by the import).
    module = (await import(precompiledUrl(name).href)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const found = expected.map((key) => [key, module[key]] as const);
  if (found.some(([, fn]) => typeof fn !== 'function')) return null;
  return new Map(found as ReadonlyArray<readonly [string, ValidateFunction]>);
}
