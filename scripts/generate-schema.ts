/**
 * Writes schemas/rollgate.schema.json from the zod schemas, the single source of every kind's
 * shape. Editors use it for YAML completion (see README). `--check` fails if the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildJsonSchema } from '../src/core/resources/json-schema.js';

const target = fileURLToPath(new URL('../schemas/rollgate.schema.json', import.meta.url));
const text = `${JSON.stringify(buildJsonSchema(), null, 2)}\n`;

if (process.argv.includes('--check')) {
  const current = readFileSync(target, 'utf8');
  if (current !== text) {
    process.stderr.write('schemas/rollgate.schema.json is stale: run `npm run schema`\n');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  process.stdout.write(`wrote ${target}\n`);
}
