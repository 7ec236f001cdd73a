import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildJsonSchema } from '../../src/core/resources/json-schema.js';
import { validateDocument } from '../../src/core/resources/validate.js';

const root = path.resolve(import.meta.dirname, '../..');
const published = JSON.parse(readFileSync(path.join(root, 'schemas/rollgate.schema.json'), 'utf8'));
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(published);

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
const documentsIn = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as unknown).filter((d) => d !== null);

describe('published JSON Schema (schemas/rollgate.schema.json)', () => {
  it('is generated from the zod schemas and up to date (run `npm run schema` if this fails)', () => {
    expect(published).toEqual(JSON.parse(JSON.stringify(buildJsonSchema())));
  });

  it('accepts every example manifest, as the zod schemas do', () => {
    const files = yamlFiles(path.join(root, 'examples'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      for (const document of documentsIn(file)) {
        expect(validateDocument(document).ok, `${file} (zod)`).toBe(true);
        expect(validate(document), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    }
  });

  it('rejects what the zod schemas reject: wrong value, unknown field, wrong kind', () => {
    const base = { apiVersion: 'rollgate.dev/v1alpha1', kind: 'RolloutStrategy', metadata: { name: 'x' } };
    const bad = [
      { ...base, spec: { canary: { steps: [{ setWeight: 500 }] } } },
      { ...base, spec: { canary: { steps: [{ setWeight: 5 }] }, bogus: true } },
      { ...base, kind: 'Nope', spec: {} },
      { ...base, kind: 'Service', spec: { owner: 'a', target: { type: 'process' } } },
    ];
    for (const document of bad) {
      expect(validateDocument(document).ok).toBe(false);
      expect(validate(document), JSON.stringify(document)).toBe(false);
    }
  });
});
