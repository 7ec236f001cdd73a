import { z } from 'zod';
import { API_VERSION } from './common.js';
import { documentSchema, KIND_NAMES } from './kinds.js';

export const SCHEMA_ID = 'https://rollgate.dev/schemas/rollgate.schema.json';

/**
 * One JSON Schema (draft 2020-12) for every document Rollgate accepts: `if kind == X then X's
 * schema`, so an editor completes the fields of the kind being written.
 */
export function buildJsonSchema(): Record<string, unknown> {
  const branches = KIND_NAMES.map((kind) => {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(documentSchema(kind), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    return { if: { properties: { kind: { const: kind } }, required: ['kind'] }, then: schema };
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: SCHEMA_ID,
    title: `Rollgate resources (${API_VERSION})`,
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    properties: {
      apiVersion: { const: API_VERSION },
      kind: { enum: KIND_NAMES },
    },
    allOf: branches,
  };
}
