import { z } from 'zod';
import { envSchema } from '../secrets/env.js';
import { nameSchema, sha256DigestSchema } from './common.js';

export const deploymentSpecSchema = z.strictObject({
  service: nameSchema,
  environment: nameSchema.optional(),
  version: z.string().min(1),
  artifact: z.strictObject({ digest: sha256DigestSchema, uri: z.string().optional() }).optional(),
  release: nameSchema.optional(),
  /** The Change record authorizing this deployment; production deployments get one automatically. */
  change: nameSchema.optional(),
  /** Overrides the service's RolloutStrategy. */
  strategy: nameSchema.optional(),
  /**
   * Extra environment for this version's processes or commands (on top of the service's): a string,
   * or `{ secretRef: { name, key } }` resolved by the engine when it starts the version (docs/secrets.md).
   */
  env: envSchema.optional(),
});
export type DeploymentSpec = z.infer<typeof deploymentSpecSchema>;
