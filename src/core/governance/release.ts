/**
 * Release scope and components, pure: what changed in the scope, whether the scope is frozen,
 * which services of a release others depend on (critical integration points), scope totals, and
 * the scope change an exception asks for. Also the request shapes of the release workflow API
 * (`/api/v1/releases/{name}/...`); its response shapes are in ./release-wire.ts. No clock, no I/O: callers
 * pass `now` and the objects they read. See docs/governance.md ("Releases, scope and freeze").
 */
import { z } from 'zod';
import { canonicalJson } from '../audit/chain.js';
import { nameSchema } from '../resources/common.js';
import { releaseSpecSchema, type ReleaseSpec } from '../resources/release.js';
import { RESULT_TYPES } from './records.js';
import type { FreezeState, IntegrationPoint, ScopeGroup, ScopeTotals } from './release-wire.js';

export type ScopeItem = ReleaseSpec['scope'][number];
export type ReleaseComponent = ReleaseSpec['components'][number];

/** The Release spec's scope item schema (strict: an unknown field is an error at that field). */
export const scopeItemSchema = releaseSpecSchema.shape.scope.unwrap().element;

export const SCOPE_CLASSIFICATIONS = ['net-new', 'enhancement', 'defect-fix'] as const;
export type ScopeClassificationName = (typeof SCOPE_CLASSIFICATIONS)[number];

// ---------------------------------------------------------------------------------------------
// Scope diff

export interface ScopeDiff {
  added: ScopeItem[];
  removed: ScopeItem[];
  /** Same title, different content (classification, value, link, ...). */
  changed: Array<{ title: string; before: ScopeItem; after: ScopeItem }>;
}

/**
 * Scope items added, removed and changed, matched by title (titles identify scope items: an
 * exception removes by title). Order changes alone are not a difference.
 */
export function scopeDiff(before: readonly ScopeItem[], after: readonly ScopeItem[]): ScopeDiff {
  const beforeByTitle = new Map(before.map((item) => [item.title, item]));
  const afterByTitle = new Map(after.map((item) => [item.title, item]));
  const diff: ScopeDiff = { added: [], removed: [], changed: [] };
  for (const item of after) {
    const previous = beforeByTitle.get(item.title);
    if (!previous) diff.added.push(item);
    else if (canonicalJson(previous) !== canonicalJson(item)) diff.changed.push({ title: item.title, before: previous, after: item });
  }
  for (const item of before) if (!afterByTitle.has(item.title)) diff.removed.push(item);
  return diff;
}

export const isEmptyDiff = (diff: ScopeDiff): boolean => diff.added.length === 0 && diff.removed.length === 0 && diff.changed.length === 0;

/** One line per difference, for refusal messages and audit details: `+ "title"`, `- "title"`, `~ "title"`. */
export function describeScopeDiff(diff: ScopeDiff): string {
  return [
    ...diff.added.map((item) => `+ "${item.title}"`),
    ...diff.removed.map((item) => `- "${item.title}"`),
    ...diff.changed.map((change) => `~ "${change.title}"`),
  ].join(', ');
}

// ---------------------------------------------------------------------------------------------
// Freeze

/** Frozen from `freezeDate` on (inclusive): from then on scope changes need an approved exception. */
export function freezeState(spec: Pick<ReleaseSpec, 'freezeDate'>, now: Date | number): FreezeState {
  if (spec.freezeDate === undefined) return { freezeDate: null, frozen: false, message: 'no freeze date: the scope can change at any time' };
  const at = Date.parse(spec.freezeDate);
  const nowMs = typeof now === 'number' ? now : now.getTime();
  return nowMs >= at
    ? { freezeDate: spec.freezeDate, frozen: true, message: `scope is frozen since ${spec.freezeDate}` }
    : { freezeDate: spec.freezeDate, frozen: false, message: `scope freezes at ${spec.freezeDate}` };
}

// ---------------------------------------------------------------------------------------------
// Integration points

export interface ServiceDependencies {
  name: string;
  dependsOn?: readonly string[] | undefined;
}

/**
 * For each component service (in component order, once each): the services that depend on it
 * (from every Service's `dependsOn`), split into those inside the release and those outside.
 * A component nothing depends on is listed with `critical: false`.
 */
export function integrationPoints(components: readonly Pick<ReleaseComponent, 'service'>[], services: readonly ServiceDependencies[]): IntegrationPoint[] {
  const inRelease = new Set(components.map((component) => component.service));
  const byName = new Map(services.map((service) => [service.name, service]));
  const points: IntegrationPoint[] = [];
  for (const service of inRelease) {
    const dependents = services
      .filter((other) => other.name !== service && (other.dependsOn ?? []).includes(service))
      .map((other) => other.name)
      .sort();
    const inside = dependents.filter((name) => inRelease.has(name));
    const outside = dependents.filter((name) => !inRelease.has(name));
    points.push({
      service,
      dependsOn: [...new Set(byName.get(service)?.dependsOn ?? [])].sort(),
      dependents: { inside, outside },
      critical: dependents.length > 0,
    });
  }
  return points;
}

// ---------------------------------------------------------------------------------------------
// Scope summary

function totals(items: readonly ScopeItem[]): ScopeTotals {
  return {
    items: items.length,
    value: items.reduce((sum, item) => sum + (item.value ?? 0), 0),
    contractual: items.filter((item) => item.contractual === true).length,
    jurisdictions: [...new Set(items.flatMap((item) => item.jurisdictions ?? []))].sort(),
  };
}

/** Scope grouped by classification (net-new, enhancement, defect-fix; empty groups left out) with totals per group and overall. */
export function scopeSummary(scope: readonly ScopeItem[]): { groups: ScopeGroup[]; totals: ScopeTotals } {
  const groups = SCOPE_CLASSIFICATIONS.flatMap((classification) => {
    const items = scope.filter((item) => item.classification === classification);
    return items.length === 0 ? [] : [{ classification, scope: [...items], ...totals(items) }];
  });
  return { groups, totals: totals(scope) };
}

// ---------------------------------------------------------------------------------------------
// Scope exceptions

export interface ScopeChangeIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Why `add` / `remove` cannot apply to `scope` (empty: it can): a title to remove that is not in
 * the scope, a title to add that is already there (and not removed in the same change), a title
 * added twice, or nothing asked at all. Paths are relative to the request (`add.0.title`, `remove.1`).
 */
export function checkScopeChange(scope: readonly ScopeItem[], add: readonly ScopeItem[], remove: readonly string[]): ScopeChangeIssue[] {
  const issues: ScopeChangeIssue[] = [];
  if (add.length === 0 && remove.length === 0) issues.push({ path: ['add'], message: 'give scope items to add or titles to remove' });
  const titles = new Set(scope.map((item) => item.title));
  const removed = new Set<string>();
  remove.forEach((title, index) => {
    if (!titles.has(title)) issues.push({ path: ['remove', index], message: `no scope item titled "${title}"` });
    else if (removed.has(title)) issues.push({ path: ['remove', index], message: `"${title}" is listed twice` });
    removed.add(title);
  });
  const added = new Set<string>();
  add.forEach((item, index) => {
    if (titles.has(item.title) && !removed.has(item.title)) issues.push({ path: ['add', index, 'title'], message: `"${item.title}" is already in the scope` });
    else if (added.has(item.title)) issues.push({ path: ['add', index, 'title'], message: `"${item.title}" is added twice` });
    added.add(item.title);
  });
  return issues;
}

/** The scope after removing `remove` (by title) and appending `add`. Check it with checkScopeChange first. */
export function applyScopeChange(scope: readonly ScopeItem[], add: readonly ScopeItem[], remove: readonly string[]): ScopeItem[] {
  const removed = new Set(remove);
  return [...scope.filter((item) => !removed.has(item.title)), ...add];
}

// ---------------------------------------------------------------------------------------------
// Wire shapes of the release workflow API

export const releaseResultRequestSchema = z.strictObject({
  name: z.string().min(1).max(200),
  type: z.enum(RESULT_TYPES),
  passed: z.boolean(),
  value: z.number().optional(),
  findings: z.strictObject({ critical: z.number().int().min(0), high: z.number().int().min(0), medium: z.number().int().min(0), low: z.number().int().min(0) }).partial().optional(),
  summary: z.string().max(2000).optional(),
  url: z.string().max(2000).optional(),
  environment: nameSchema.optional(),
  /** A component of the release; absent: the result is about the whole release. */
  service: nameSchema.optional(),
});
export type ReleaseResultRequest = z.infer<typeof releaseResultRequestSchema>;

export const scopeExceptionRequestSchema = z.strictObject({
  reason: z.string().trim().min(1).max(2000),
  add: z.array(scopeItemSchema).default([]),
  remove: z.array(z.string().min(1)).default([]),
});
export type ScopeExceptionRequest = z.input<typeof scopeExceptionRequestSchema>;

export const scopeExceptionDecisionRequestSchema = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  comment: z.string().trim().min(1).max(2000),
});
export type ScopeExceptionDecisionRequest = z.infer<typeof scopeExceptionDecisionRequestSchema>;

export const signoffRequestSchema = z.strictObject({
  group: nameSchema,
  comment: z.string().trim().min(1).max(2000),
});
export type SignoffRequest = z.infer<typeof signoffRequestSchema>;

// The response shapes are in ./release-wire.ts (see there why); re-exported for the server.
export {
  freezeStateSchema,
  integrationPointSchema,
  linkedChangeSchema,
  overviewComponentSchema,
  promotionStageSchema,
  releaseObjectSchema,
  releaseOverviewSchema,
  releaseResultResponseSchema,
  scopeExceptionResponseSchema,
  scopeGroupSchema,
  scopeTotalsSchema,
  signoffResponseSchema,
  type FreezeState,
  type IntegrationPoint,
  type PromotionStage,
  type ReleaseOverview,
  type ScopeGroup,
  type ScopeTotals,
} from './release-wire.js';
