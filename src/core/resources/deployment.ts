import { z } from 'zod';
import { nameSchema, sha256DigestSchema } from './common.js';

export const deploymentSpecSchema = z.strictObject({
  service: nameSchema,
  environment: nameSchema.optional(),
  version: z.string().min(1),
  artifact: z.strictObject({ digest: sha256DigestSchema, uri: z.string().optional() }).optional(),
  release: nameSchema.optional(),
  /** Overrides the service's RolloutStrategy. */
  strategy: nameSchema.optional(),
});
export type DeploymentSpec = z.infer<typeof deploymentSpecSchema>;
