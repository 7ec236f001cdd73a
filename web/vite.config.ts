/**
 * Builds the web UI into dist/web, which the npm package ships (`files: ["dist"]`) and
 * `rollgate serve` serves (src/server/web/static.ts). No React plugin: Vite's own transform compiles
 * JSX, and there is no dev server workflow that needs fast refresh yet.
 */
import path from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

export default defineConfig({
  root: here,
  // Absolute asset URLs, so a deep link such as /rollouts/checkout-v2 still loads /assets/...
  base: '/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: path.resolve(here, '../dist/web'),
    emptyOutDir: true,
    // No source maps in the package: the entry chunk's map alone is 1 MB (build locally with --sourcemap to debug).
    sourcemap: false,
    // Hashed file names under assets/ are what the server marks immutable.
    assetsDir: 'assets',
    // The entry chunk is React DOM, zod and the client's wire schemas: ~270 kB (~85 kB gzip), see
    // docs/adr/0005-web-ui.md. A warning beyond 400 kB means core's heavy modules (CEL, semver,
    // luxon) crept back in: test/architecture.test.ts names the import that brought them.
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npx vite --config web/vite.config.ts` against a `rollgate serve` on the default port.
    proxy: { '/api': 'http://127.0.0.1:7070' },
  },
});
