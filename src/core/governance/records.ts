/**
 * The status documents the control plane keeps on governance records (Change, Release). Specs are
 * what people write; these are what Rollgate records about them: approvals, risk, gate results,
 * go/no-go decisions, promotions. Every feature reads and writes them through these schemas, so
 * the server, the engine, the CLI and the web UI agree on one shape. See docs/adr/0004-governance.md.
 */
import { z } from 'zod';
import { CHANGE_STATES } from '../resources/change.js';
import { RISK_LEVELS } from './risk-levels.js';

const isoDateTime = z.iso.datetime({ offset: true });

// ---------------------------------------------------------------------------------------------
// Gate results (promotion gates, runtime gates, policies)

export const GATE_OUTCOMES = ['pass', 'warn', 'deny', 'pending'] as const;
export type GateOutcome = (typeof GATE_OUTCOMES)[number];

/**
 * One gate's verdict. `gate` says which check (`digest`, `goNoGo`, `policy`, `change`, `window`,
 * `approval`, `freeze`); `name` the object it came from (policy name, window name, ...).
 * `pending`: not refused, not yet satisfied (waiting for approvals, a window to end).
 */
export const gateResultSchema = z.object({
  gate: z.string(),
  name: z.string(),
  outcome: z.enum(GATE_OUTCOMES),
  message: z.string(),
  /** Policies: the CEL expression and the inputs it was evaluated with. */
  expression: z.string().optional(),
  inputs: z.record(z.string(), z.unknown()).optional(),
  /** The service (component) the result is about, when per component. */
  service: z.string().optional(),
});
export type GateResult = z.infer<typeof gateResultSchema>;

// ---------------------------------------------------------------------------------------------
// Change status

export const approvalRecordSchema = z.object({
  id: z.string(),
  /** The approving user (never the requester or an artifact's author). */
  user: z.string(),
  /** The user's groups when they decided; which requirement the approval counts for. */
  groups: z.array(z.string()),
  decision: z.enum(['approve', 'reject']),
  comment: z.string(),
  at: isoDateTime,
  /** false once the change was edited after the decision (or the decision was withdrawn). */
  valid: z.boolean(),
  invalidatedAt: isoDateTime.optional(),
  invalidatedReason: z.string().optional(),
});
export type ApprovalRecord = z.infer<typeof approvalRecordSchema>;

export const approvalRequirementSchema = z.object({
  group: z.string(),
  count: z.number().int().min(1),
  /** Why it is required, e.g. `environment prod: risk high needs 2 from cab`. */
  reason: z.string(),
});
export type ApprovalRequirement = z.infer<typeof approvalRequirementSchema>;

export const riskFactorRecordSchema = z.object({
  name: z.string(),
  value: z.unknown(),
  points: z.number(),
  max: z.number(),
  explanation: z.string(),
});

/** RiskAssessment of src/core/governance/risk.ts as stored, plus when it was computed. */
export const riskRecordSchema = z.object({
  score: z.number(),
  level: z.enum(RISK_LEVELS),
  levelBeforeFloor: z.enum(RISK_LEVELS),
  factors: z.array(riskFactorRecordSchema),
  floor: z.object({ rule: z.string(), level: z.enum(RISK_LEVELS), reason: z.string() }).nullable(),
  skippedRules: z.array(z.object({ rule: z.string(), error: z.string() })).default([]),
  assessedAt: isoDateTime,
});
export type RiskRecord = z.infer<typeof riskRecordSchema>;

export const postReleaseReviewSchema = z.object({
  required: z.boolean(),
  reason: z.string(),
  createdAt: isoDateTime,
  dueAt: isoDateTime.optional(),
  completedAt: isoDateTime.optional(),
  completedBy: z.string().optional(),
  notes: z.string().optional(),
});
export type PostReleaseReview = z.infer<typeof postReleaseReviewSchema>;

export const changeHistoryEntrySchema = z.object({
  at: isoDateTime,
  actor: z.string(),
  from: z.enum(CHANGE_STATES),
  to: z.enum(CHANGE_STATES),
  reason: z.string().optional(),
});

/**
 * `status` of a Change object. `state` / `stateEnteredAt` are the state machine's
 * (src/core/governance/change.ts); the rest is recorded by the change service and the engine.
 */
export const changeRecordStatusSchema = z.object({
  state: z.enum(CHANGE_STATES).default('New'),
  stateEnteredAt: isoDateTime.optional(),
  /** The user who requested the change (never allowed to approve it). */
  requestedBy: z.string(),
  /** Authors of the artifacts the change deploys (never allowed to approve it). */
  authors: z.array(z.string()).default([]),
  /** `manual` (created by a person) or `automatic` (created for a production deployment or promotion). */
  origin: z.enum(['manual', 'automatic']).default('manual'),
  environment: z.string().optional(),
  release: z.string().optional(),
  /** Deployments this change authorizes (the engine holds them until the change allows them to run). */
  deployments: z.array(z.string()).default([]),
  risk: riskRecordSchema.nullable().default(null),
  requiredApprovals: z.array(approvalRequirementSchema).default([]),
  /** Approvals a pipeline stage added to the environment's rules (kept so reassessment keeps them). */
  extraApprovals: z.array(approvalRequirementSchema).default([]),
  approvals: z.array(approvalRecordSchema).default([]),
  /** Set when an emergency change was allowed through a blackout window. */
  override: z
    .object({ at: isoDateTime, window: z.string(), approvers: z.array(z.string()), reason: z.string() })
    .optional(),
  postReleaseReview: postReleaseReviewSchema.optional(),
  /** Results of the gates evaluated for this change (policies at `start`, windows), latest first evaluation kept. */
  gates: z.array(gateResultSchema).default([]),
  history: z.array(changeHistoryEntrySchema).default([]),
});
export type ChangeRecordStatus = z.infer<typeof changeRecordStatusSchema>;

// ---------------------------------------------------------------------------------------------
// Release status

export const RESULT_TYPES = ['test', 'coverage', 'benchmark', 'migration', 'static-analysis', 'security-scan', 'other'] as const;
export type ResultType = (typeof RESULT_TYPES)[number];

/** A result posted to the API by CI or a person: a test run, coverage, a benchmark, a migration check. */
export const releaseResultSchema = z.object({
  id: z.string(),
  /** Unique per release and component: a later post with the same name and component replaces it. */
  name: z.string(),
  type: z.enum(RESULT_TYPES),
  passed: z.boolean(),
  value: z.number().optional(),
  /** Static analysis / security scans: findings by severity. */
  findings: z.object({ critical: z.number().int(), high: z.number().int(), medium: z.number().int(), low: z.number().int() }).partial().optional(),
  summary: z.string().optional(),
  url: z.string().optional(),
  environment: z.string().optional(),
  /** The service (component) the result is about; absent: the whole release. */
  service: z.string().optional(),
  postedBy: z.string(),
  at: isoDateTime,
});
export type ReleaseResult = z.infer<typeof releaseResultSchema>;

export const scopeItemSchemaLoose = z.record(z.string(), z.unknown());

export const scopeExceptionSchema = z.object({
  id: z.string(),
  requestedBy: z.string(),
  requestedAt: isoDateTime,
  reason: z.string(),
  /** Scope items to add (release scope item shape). */
  add: z.array(scopeItemSchemaLoose).default([]),
  /** Titles of scope items to remove. */
  remove: z.array(z.string()).default([]),
  state: z.enum(['pending', 'approved', 'rejected']),
  decidedBy: z.string().optional(),
  decidedAt: isoDateTime.optional(),
  comment: z.string().optional(),
});
export type ScopeException = z.infer<typeof scopeExceptionSchema>;

export const signoffSchema = z.object({
  /** The group the signer signed for, e.g. `compliance`. */
  group: z.string(),
  user: z.string(),
  at: isoDateTime,
  comment: z.string(),
});
export type Signoff = z.infer<typeof signoffSchema>;

export const CRITERION_STATES = ['met', 'unmet', 'pending', 'waived'] as const;
export const criterionStateSchema = z.object({
  id: z.string(),
  description: z.string(),
  kind: z.enum(['automatic', 'manual']),
  required: z.boolean(),
  state: z.enum(CRITERION_STATES),
  detail: z.string(),
  /** Manual criteria: the sign-off they need, `count` members of `group` (POST .../signoffs for that group). */
  signoff: z.object({ group: z.string(), count: z.number().int() }).optional(),
});
export type CriterionState = z.infer<typeof criterionStateSchema>;

export const goNoGoDecisionSchema = z.object({
  decision: z.enum(['go', 'no-go']),
  /** The environment the decision is for (usually the production stage). */
  environment: z.string(),
  decidedBy: z.string(),
  at: isoDateTime,
  comment: z.string(),
  /** Every criterion's state when the decision was taken. */
  criteria: z.array(criterionStateSchema),
});
export type GoNoGoDecision = z.infer<typeof goNoGoDecisionSchema>;

export const promotionSchema = z.object({
  environment: z.string(),
  at: isoDateTime,
  actor: z.string(),
  /** The change record created for (or named by) this promotion. */
  change: z.string().optional(),
  deployments: z.array(z.object({ service: z.string(), version: z.string(), digest: z.string(), deployment: z.string() })),
  gates: z.array(gateResultSchema),
});
export type Promotion = z.infer<typeof promotionSchema>;

export const gateRefusalSchema = z.object({
  environment: z.string(),
  at: isoDateTime,
  actor: z.string(),
  gates: z.array(gateResultSchema),
});

/** `status` of a Release object. */
export const releaseRecordStatusSchema = z.object({
  results: z.array(releaseResultSchema).default([]),
  scopeExceptions: z.array(scopeExceptionSchema).default([]),
  signoffs: z.array(signoffSchema).default([]),
  /** Latest decision per environment. */
  goNoGo: z.array(goNoGoDecisionSchema).default([]),
  promotions: z.array(promotionSchema).default([]),
  /** The most recent refused promotions (newest last, at most 20). */
  refusals: z.array(gateRefusalSchema).default([]),
});
export type ReleaseRecordStatus = z.infer<typeof releaseRecordStatusSchema>;

/** A Release's status as stored (null before anything was recorded) with defaults filled in. */
export function readReleaseStatus(status: unknown): ReleaseRecordStatus {
  const parsed = releaseRecordStatusSchema.safeParse(status ?? {});
  return parsed.success ? parsed.data : releaseRecordStatusSchema.parse({});
}
