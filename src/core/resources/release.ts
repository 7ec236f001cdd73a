import { z } from 'zod';
import semver from 'semver';
import { nameSchema, sha256DigestSchema } from './common.js';

export const semverSchema = z.string().refine((value) => semver.valid(value) !== null, 'must be a semantic version such as 1.4.0');

export const releaseSpecSchema = z.strictObject({
  version: semverSchema,
  description: z.string().optional(),
  components: z
    .array(z.strictObject({ service: nameSchema, version: z.string().min(1), digest: sha256DigestSchema }))
    .default([]),
  scope: z
    .array(
      z.strictObject({
        title: z.string().min(1),
        link: z.string().optional(),
        classification: z.enum(['net-new', 'enhancement', 'defect-fix']),
      }),
    )
    .default([]),
  freezeDate: z.iso.datetime({ offset: true }).optional(),
});
export type ReleaseSpec = z.infer<typeof releaseSpecSchema>;
