import { z } from 'zod';
import { nameSchema } from './common.js';

/**
 * A named person (or robot) that API tokens belong to. Groups (`cab`, `release-managers`,
 * `compliance`, ...) decide which approvals and sign-offs the user can give; the token's role
 * decides which API calls it may make. See docs/governance.md ("Identities").
 */
export const userSpecSchema = z.strictObject({
  displayName: z.string().min(1).optional(),
  email: z.string().email().optional(),
  groups: z.array(nameSchema).default([]),
});
export type UserSpec = z.infer<typeof userSpecSchema>;
