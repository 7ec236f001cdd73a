import { z } from 'zod';

export const API_VERSION = 'rollgate.dev/v1alpha1';

/** DNS-1123 label: what Kubernetes, Argo and Flagger users already type for names. */
export const nameSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lowercase letters, digits and "-", starting and ending with a letter or digit');

const labelKey = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$/, 'invalid label key');
const labelValue = z
  .string()
  .max(63)
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/, 'invalid label value');

export const labelsSchema = z.record(labelKey, labelValue);

/** Go-style duration as Argo Rollouts writes it: "30s", "2m", "1h30m", "500ms". */
export const durationSchema = z
  .string()
  .regex(/^(\d+(ms|s|m|h))+$/, 'must be a duration such as "30s", "2m" or "1h30m"');

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a duration string already validated by `durationSchema`. */
export function durationToMs(duration: string): number {
  let total = 0;
  for (const match of duration.matchAll(/(\d+)(ms|s|m|h)/g)) {
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2]!] ?? 0);
  }
  return total;
}

export const metadataInputSchema = z.strictObject({
  name: nameSchema,
  labels: labelsSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  /** Optimistic concurrency: when given on update, the write fails if the stored version differs. */
  version: z.number().int().positive().optional(),
});

/** Records (Release, Deployment, ...) may omit the name; the server then generates one. */
export const recordMetadataInputSchema = metadataInputSchema.extend({ name: nameSchema.optional() });

export const storedMetadataSchema = z.object({
  name: nameSchema,
  labels: labelsSchema,
  annotations: z.record(z.string(), z.string()),
  version: z.number().int().positive(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type StoredMetadata = z.infer<typeof storedMetadataSchema>;

export const sha256DigestSchema = z
  .string()
  .regex(/^sha256:[a-f0-9]{64}$/, 'must be "sha256:" followed by 64 lowercase hex digits');

export const percentSchema = z.number().int().min(0).max(100);
