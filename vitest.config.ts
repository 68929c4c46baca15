import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Real bsdiff runs on 10 MB images take seconds each on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
