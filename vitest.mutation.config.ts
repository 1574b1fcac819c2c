/**
 * The test files the mutation run (stryker.config.json, `npm run mutation`) uses: those that
 * exercise the five mutated modules in-process. Child-process and server suites are left out:
 * they cannot see a mutant, or reach the mutated code from hooks, where a failure kills no mutant
 * under the vitest runner (pdp-bundle.test.ts; test/mutation/bundle.test.ts covers its checks).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/mutation/*.test.ts',
      'test/engine.test.ts',
      'test/overlay.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
