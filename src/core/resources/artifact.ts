import { z } from 'zod';
import { nameSchema, sha256DigestSchema } from './common.js';

export const artifactSpecSchema = z.strictObject({
  service: nameSchema,
  version: z.string().min(1),
  digest: sha256DigestSchema,
  uri: z.string().optional(),
  /** The User who authored the change this artifact was built from; never allowed to approve its deployment. */
  author: z.string().min(1).optional(),
  /** Free-form build metadata (commit, builder, ...), visible to policies as `artifact.metadata`. */
  metadata: z.record(z.string(), z.string()).optional(),
  signatures: z.array(z.strictObject({ keyId: z.string().min(1), signature: z.string().min(1) })).default([]),
  attestations: z
    .array(
      z.strictObject({
        type: z.enum(['provenance', 'sbom', 'sarif', 'coverage']),
        uri: z.string().optional(),
        digest: sha256DigestSchema.optional(),
      }),
    )
    .default([]),
});
export type ArtifactSpec = z.infer<typeof artifactSpecSchema>;
