#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the package's `prepare` step).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('rollgate: dist/ is missing; run `npm install` (or `npm run build`) in the package first.\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
