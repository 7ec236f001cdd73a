/**
 * Which approvals a change needs and how far it got. Pure: the change service (server) decides
 * with it when a change may leave Authorize, the CAB view and `rollgate change show` display it,
 * and the engine's gate may reuse it. See docs/governance.md ("Approvals and separation of duties").
 *
 * Counting: a requirement of `count` from `group` is met by that many distinct users with a valid
 * `approve` whose recorded `groups` (the approver's groups when they decided) include `group`. Each
 * requirement is counted on its own, so two requirements of one group are both met by the larger
 * count, and one person in two groups counts for both (as src/core/governance/gate.ts and the
 * calendar's `pendingGroups` count). A valid `reject` blocks whatever the counts say.
 */
import { z } from 'zod';
import { CHANGE_STATES, CHANGE_TYPES, type ChangeType } from '../resources/change.js';
import type { EnvironmentSpec } from '../resources/environment.js';
import { approvalRequirementSchema, riskRecordSchema, type ApprovalRecord, type ApprovalRequirement } from './records.js';
import { RISK_LEVELS, type RiskLevel } from './risk-levels.js';

/** The group a change needs when its environment has no approval rules and its risk is high or above. */
export const DEFAULT_APPROVAL_GROUP = 'cab';
export const DEFAULT_APPROVAL_MIN_RISK: RiskLevel = 'high';

export type EnvironmentApprovalRule = NonNullable<EnvironmentSpec['approvals']>[number];

export interface RequirementsInput {
  type: ChangeType;
  /** The assessed risk level. */
  level: RiskLevel;
  /** The change's environment and its rules; null when the change names no environment. */
  environment: { name: string; approvals?: readonly EnvironmentApprovalRule[] | undefined } | null;
  /** Requirements the caller adds (a pipeline stage's approvals). */
  extra?: readonly ApprovalRequirement[];
}

const rank = (level: RiskLevel): number => RISK_LEVELS.indexOf(level);

/**
 * The approvals a change needs:
 * - `standard`: none, whatever else applies: a standard change is pre-approved (its template is).
 * - otherwise every environment rule that applies (risk ≥ `minRisk` when given, type in
 *   `changeTypes` when given) adds a requirement, then `extra` is appended;
 * - an environment without rules (or no environment): normal and emergency changes of risk high
 *   or critical need 1 approval from `cab`, lower risk none.
 */
export function requiredApprovalsFor(input: RequirementsInput): ApprovalRequirement[] {
  if (input.type === 'standard') return [];
  const rules = input.environment?.approvals ?? [];
  const required: ApprovalRequirement[] = [];
  if (rules.length > 0) {
    rules.forEach((rule, index) => {
      if (rule.minRisk !== undefined && rank(input.level) < rank(rule.minRisk)) return;
      if (rule.changeTypes !== undefined && !rule.changeTypes.includes(input.type)) return;
      const conditions = [
        ...(rule.minRisk !== undefined ? [`risk ${input.level} ≥ ${rule.minRisk}`] : []),
        ...(rule.changeTypes !== undefined ? [`type ${input.type}`] : []),
      ];
      required.push({
        group: rule.group,
        count: rule.count,
        reason: `environment ${input.environment!.name} rule ${index + 1}: ${rule.count} from ${rule.group}${conditions.length > 0 ? ` (${conditions.join(', ')})` : ''}`,
      });
    });
  } else if (rank(input.level) >= rank(DEFAULT_APPROVAL_MIN_RISK)) {
    const where = input.environment ? `environment ${input.environment.name} has no approval rules` : 'no environment';
    required.push({ group: DEFAULT_APPROVAL_GROUP, count: 1, reason: `default (${where}): risk ${input.level} needs 1 from ${DEFAULT_APPROVAL_GROUP}` });
  }
  for (const extra of input.extra ?? []) required.push({ group: extra.group, count: extra.count, reason: extra.reason });
  return required;
}

export const requirementProgressSchema = approvalRequirementSchema.extend({
  /** Distinct users with a valid approval counted for this requirement, in the order they approved. */
  approvers: z.array(z.string()),
  remaining: z.number().int().min(0),
  satisfied: z.boolean(),
});
export type RequirementProgress = z.infer<typeof requirementProgressSchema>;

export const approvalRejectionSchema = z.object({ user: z.string(), comment: z.string(), at: z.string() });

export interface ApprovalProgress {
  requirements: RequirementProgress[];
  /** Every requirement met and no valid rejection. */
  satisfied: boolean;
  /** The most recent valid rejection, if any: it blocks. */
  rejected: { user: string; comment: string; at: string } | null;
  /** What is missing, one phrase per unmet requirement: `1 more from cab (has 1 of 2: alice)`. */
  missing: string[];
}

const byTime = (a: ApprovalRecord, b: ApprovalRecord) => Date.parse(a.at) - Date.parse(b.at);

/** How far `approvals` go towards `requirements`. Invalid (expired) decisions do not count. */
export function approvalProgress(requirements: readonly ApprovalRequirement[], approvals: readonly ApprovalRecord[]): ApprovalProgress {
  const valid = approvals.filter((approval) => approval.valid).sort(byTime);
  const approving = valid.filter((approval) => approval.decision === 'approve');
  const progress = requirements.map((requirement): RequirementProgress => {
    const approvers = [...new Set(approving.filter((approval) => approval.groups.includes(requirement.group)).map((approval) => approval.user))];
    const remaining = Math.max(0, requirement.count - approvers.length);
    return { group: requirement.group, count: requirement.count, reason: requirement.reason, approvers, remaining, satisfied: remaining === 0 };
  });
  const rejection = valid.filter((approval) => approval.decision === 'reject').at(-1);
  const missing = progress
    .filter((requirement) => !requirement.satisfied)
    .map(
      (requirement) =>
        `${requirement.remaining} more from ${requirement.group} (has ${requirement.approvers.length} of ${requirement.count}${requirement.approvers.length > 0 ? `: ${requirement.approvers.join(', ')}` : ''})`,
    );
  return {
    requirements: progress,
    satisfied: !rejection && progress.every((requirement) => requirement.satisfied),
    rejected: rejection ? { user: rejection.user, comment: rejection.comment, at: rejection.at } : null,
    missing,
  };
}

/** Groups of the requirements (each once, in requirement order). */
export const requiredGroups = (requirements: readonly ApprovalRequirement[]): string[] => [...new Set(requirements.map((requirement) => requirement.group))];

/**
 * Marks every still-valid decision invalid (an edit, or a new authorization round). Returns a new
 * array and how many were invalidated; decisions already invalid keep their first reason.
 */
export function invalidateApprovals(approvals: readonly ApprovalRecord[], at: string, reason: string): { approvals: ApprovalRecord[]; invalidated: number } {
  let invalidated = 0;
  const next = approvals.map((approval) => {
    if (!approval.valid) return approval;
    invalidated += 1;
    return { ...approval, valid: false, invalidatedAt: at, invalidatedReason: reason };
  });
  return { approvals: next, invalidated };
}

// ---------------------------------------------------------------------------------------------
// Wire shape of the CAB view (GET /api/v1/cab); the server builds it, the client parses it.

export const cabEntrySchema = z.object({
  name: z.string(),
  title: z.string(),
  type: z.enum(CHANGE_TYPES),
  state: z.enum(CHANGE_STATES),
  environment: z.string().nullable(),
  release: z.string().nullable(),
  requestedBy: z.string(),
  authors: z.array(z.string()),
  /** Rollgate Services the change touches (its spec); servers from before these fields omit them. */
  services: z.array(z.string()).default([]),
  /** Business services (CMDB names) the change affects. */
  businessServices: z.array(z.string()).default([]),
  /** The change's evidence (test reports, SBOMs, runbooks: src/core/resources/change.ts `changeEvidenceSchema`). */
  evidence: z.array(z.looseObject({ title: z.string(), link: z.string(), kind: z.string() })).default([]),
  plannedStart: z.string().nullable(),
  plannedEnd: z.string().nullable(),
  risk: riskRecordSchema.nullable(),
  /** Every requirement with its progress; `remaining` > 0 on those the board still has to meet. */
  requirements: z.array(requirementProgressSchema),
  rejected: approvalRejectionSchema.nullable(),
  /** Calendar conflicts of the change (src/core/governance/calendar.ts `Conflict`). */
  conflicts: z.array(
    z.looseObject({ id: z.string(), type: z.string(), severity: z.string(), changes: z.array(z.string()), message: z.string() }),
  ),
});
export type CabEntry = z.infer<typeof cabEntrySchema>;
export const cabListSchema = z.object({ items: z.array(cabEntrySchema) });
