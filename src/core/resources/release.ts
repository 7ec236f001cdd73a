import { z } from 'zod';
import semver from 'semver';
import { nameSchema, sha256DigestSchema } from './common.js';
import { goNoGoSpecSchema } from './go-no-go.js';

export const semverSchema = z.string().refine((value) => semver.valid(value) !== null, 'must be a semantic version such as 1.4.0');

export const releaseSpecSchema = z.strictObject({
  version: semverSchema,
  description: z.string().optional(),
  components: z
    .array(
      z.strictObject({
        service: nameSchema,
        version: z.string().min(1),
        digest: sha256DigestSchema,
        /** The business services this component touches (e.g. `payments`), for impact and risk. */
        businessServices: z.array(nameSchema).optional(),
      }),
    )
    .default([]),
  scope: z
    .array(
      z.strictObject({
        title: z.string().min(1),
        link: z.string().optional(),
        classification: z.enum(['net-new', 'enhancement', 'defect-fix']),
        /** Business value, 0..100, for ordering and go/no-go trade-offs. */
        value: z.number().min(0).max(100).optional(),
        /** A contractual obligation: dropping it from the release needs an approved exception. */
        contractual: z.boolean().optional(),
        /** Jurisdictions the item affects (e.g. `eu`, `us-ca`): such scope needs a compliance sign-off. */
        jurisdictions: z.array(z.string().min(1).regex(/^[a-z][a-z0-9-]*$/, 'must be a lowercase tag such as "eu" or "us-ca"')).optional(),
      }),
    )
    .default([]),
  /** After this instant adding or removing scope needs an approved exception (recorded in the status). */
  freezeDate: z.iso.datetime({ offset: true }).optional(),
  /** The promotion path; default: the one Pipeline whose services include every component. */
  pipeline: nameSchema.optional(),
  /** Go / no-go criteria of this release (on top of its pipeline stage's). */
  goNoGo: goNoGoSpecSchema.optional(),
});
export type ReleaseSpec = z.infer<typeof releaseSpecSchema>;
