import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The web UI's component tests render JSX (React's automatic runtime, as web/vite.config.ts).
  oxc: { jsx: { runtime: 'automatic' } },
  test: {
    // web/: component tests, each declaring `// @vitest-environment jsdom`.
    include: ['test/**/*.test.ts', 'web/**/*.test.ts', 'web/**/*.test.tsx'],
    // dist/web is built once, before any suite (the browser suites serve it).
    globalSetup: ['test/web/build-once.ts'],
    // Integration suites start real processes and databases; forks keep native modules isolated.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
