import { z } from 'zod';
import { nameSchema } from './common.js';

/**
 * Change record (ServiceNow-style). Registered in kinds.ts with `managedBy: 'changes'`: written only
 * through /api/v1/changes. The state machine that moves `status.state` lives in
 * src/core/governance/change.ts; the status document is `changeRecordStatusSchema` (records.ts).
 */

export const CHANGE_TYPES = ['standard', 'normal', 'emergency'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const CHANGE_STATES = ['New', 'Assess', 'Authorize', 'Scheduled', 'Implement', 'Review', 'Closed', 'Canceled'] as const;
export type ChangeState = (typeof CHANGE_STATES)[number];

export const CLOSE_CODES = ['successful', 'successful-with-issues', 'unsuccessful'] as const;
export type CloseCode = (typeof CLOSE_CODES)[number];

/** The risk levels of src/core/governance/risk.ts (assessRisk). */
export const CHANGE_RISKS = ['low', 'medium', 'high', 'critical'] as const;

const isoDateTime = z.iso.datetime({ offset: true });

export const changeEvidenceSchema = z.strictObject({
  title: z.string().min(1),
  link: z.string().min(1),
  /** What the evidence is, e.g. "test-report", "sbom", "screenshot", "runbook". Free text. */
  kind: z.string().min(1),
});
export type ChangeEvidence = z.infer<typeof changeEvidenceSchema>;

export const changeSpecSchema = z.strictObject({
  type: z.enum(CHANGE_TYPES),
  title: z.string().min(1),
  description: z.string().optional(),
  /** Rollgate Service names the change touches. */
  services: z.array(nameSchema).default([]),
  /** Business services (CMDB names, free text) affected by the change. */
  businessServices: z.array(z.string().min(1)).default([]),
  plannedStart: isoDateTime.optional(),
  plannedEnd: isoDateTime.optional(),
  implementationPlan: z.string().min(1).optional(),
  backoutPlan: z.string().min(1).optional(),
  testPlan: z.string().min(1).optional(),
  justification: z.string().min(1).optional(),
  risk: z.enum(CHANGE_RISKS).optional(),
  evidence: z.array(changeEvidenceSchema).default([]),
  closeCode: z.enum(CLOSE_CODES).optional(),
  closeNotes: z.string().min(1).optional(),
});
export type ChangeSpec = z.infer<typeof changeSpecSchema>;
export type ChangeSpecInput = z.input<typeof changeSpecSchema>;

export const changeStatusSchema = z.strictObject({
  state: z.enum(CHANGE_STATES).default('New'),
  /** When the change entered `state` (ISO 8601); absent for a fresh New change. */
  stateEnteredAt: isoDateTime.optional(),
});
export type ChangeStatus = z.infer<typeof changeStatusSchema>;
