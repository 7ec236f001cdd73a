import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { checkAnalysisTemplate } from '../../../src/core/analysis/judge.js';
import { analysisTemplateSpecSchema } from '../../../src/core/resources/analysis-template.js';

const root = path.resolve(import.meta.dirname, '../../..');

describe('shipped examples', () => {
  it('examples/analysis-template.yaml passes apply-time CEL validation', () => {
    const docs = parseAllDocuments(readFileSync(path.join(root, 'examples/analysis-template.yaml'), 'utf8')).map((doc) => doc.toJS());
    const templates = docs.filter((doc) => doc?.kind === 'AnalysisTemplate');
    expect(templates.length).toBeGreaterThan(0);
    for (const doc of templates) expect(checkAnalysisTemplate(analysisTemplateSpecSchema.parse(doc.spec))).toEqual([]);
  });
});
