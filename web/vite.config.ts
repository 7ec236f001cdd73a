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
  // See the shim: core's audit module is reachable from the client but its hashing never runs here.
  resolve: { alias: { 'node:crypto': path.resolve(here, 'src/shims/node-crypto.ts') } },
  build: {
    outDir: path.resolve(here, '../dist/web'),
    emptyOutDir: true,
    // No source maps in the package: the entry chunk's map alone is 3 MB (build locally with --sourcemap to debug).
    sourcemap: false,
    // Hashed file names under assets/ are what the server marks immutable.
    assetsDir: 'assets',
    // The typed client brings zod and core's schemas (with CEL and luxon): ~170 kB gzip of the
    // entry chunk today, known and reported in docs/adr/0005-web-ui.md; warn only beyond that.
    chunkSizeWarningLimit: 700,
  },
  server: {
    // `npx vite --config web/vite.config.ts` against a `rollgate serve` on the default port.
    proxy: { '/api': 'http://127.0.0.1:7070' },
  },
});
