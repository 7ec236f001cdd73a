import { z } from 'zod';
import { RISK_LEVELS } from '../governance/risk-levels.js';
import { CHANGE_TYPES } from './change.js';
import { nameSchema } from './common.js';

export const environmentSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** Production environments get change records and the strictest gates. */
  production: z.boolean().default(false),
  dataSensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']).default('internal'),
  /** IANA time zone used to show and evaluate this environment's windows. */
  timeZone: z.string().optional(),
  /** Deployments here need a Change record (one is created automatically). Default: `production`. */
  changeRequired: z.boolean().optional(),
  /**
   * Approvals a change into this environment needs: every rule that applies adds a requirement of
   * `count` distinct approvers from `group` (rules apply from `minRisk` up, to `changeTypes` when given).
   */
  approvals: z
    .array(
      z.strictObject({
        group: nameSchema,
        count: z.number().int().min(1).default(1),
        minRisk: z.enum(RISK_LEVELS).optional(),
        changeTypes: z.array(z.enum(CHANGE_TYPES)).optional(),
      }),
    )
    .optional(),
  /** Distinct approvals an emergency change needs to run inside a blackout window (default 2). */
  emergencyApprovals: z.number().int().min(1).optional(),
});
export type EnvironmentSpec = z.infer<typeof environmentSpecSchema>;
