/** How the client reads an object and a page of objects from the API (shared by the feature clients). */
import { z } from 'zod';
import { KIND_NAMES, type KindName } from '../core/resources/kind-names.js';

const looseRecord = z.record(z.string(), z.unknown());

export const apiObjectSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.enum(KIND_NAMES as [KindName, ...KindName[]]),
  metadata: z.looseObject({
    name: z.string(),
    labels: z.record(z.string(), z.string()).default({}),
    annotations: z.record(z.string(), z.string()).default({}),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  spec: looseRecord,
  status: looseRecord.nullable().default(null),
});

export const objectPageSchema = z.object({ items: z.array(apiObjectSchema), nextCursor: z.string().nullable().default(null) });
