import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      // The run viewer's browser code lives beside its build config, outside src/.
      'packages/ui/app/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    // Integration tests share one Redis and one Postgres server; each test isolates itself with its own
    // queue prefix and database, so files can run in parallel.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
