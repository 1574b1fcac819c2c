/**
 * The test files the mutation run (stryker.config.json, `npm run mutation`) uses: those that
 * exercise the five mutated modules in-process. Child-process and server-heavy suites are left
 * out; they cannot see a mutant anyway and would only slow every mutant down.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/mutation/*.test.ts',
      'test/engine.test.ts',
      'test/overlay.test.ts',
      'test/pdp-bundle.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
