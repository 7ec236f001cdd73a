/**
 * Release scope and components, pure: what changed in the scope, whether the scope is frozen,
 * which services of a release others depend on (critical integration points), scope totals, and
 * the scope change an exception asks for. Also the wire shapes of the release workflow API
 * (`/api/v1/releases/{name}/...`), shared by the server and the client. No clock, no I/O: callers
 * pass `now` and the objects they read. See docs/governance.md ("Releases, scope and freeze").
 */
import { z } from 'zod';
import { canonicalJson } from '../audit/chain.js';
import { nameSchema } from '../resources/common.js';
import { releaseSpecSchema, type ReleaseSpec } from '../resources/release.js';
import { gateRefusalSchema, releaseResultSchema, RESULT_TYPES, scopeExceptionSchema, signoffSchema } from './records.js';
import { goNoGoViewSchema } from './go-no-go.js';

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

export const freezeStateSchema = z.object({
  /** The spec's freezeDate; null: the release has none (never frozen). */
  freezeDate: z.string().nullable(),
  frozen: z.boolean(),
  message: z.string(),
});
export type FreezeState = z.infer<typeof freezeStateSchema>;

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

export const integrationPointSchema = z.object({
  service: z.string(),
  /** Services this component depends on (its Service's dependsOn). */
  dependsOn: z.array(z.string()),
  /** Services that depend on this component, inside the release (also components) and outside it. */
  dependents: z.object({ inside: z.array(z.string()), outside: z.array(z.string()) }),
  /** Anything depends on it: a change here can break others, so it is an integration point to test. */
  critical: z.boolean(),
});
export type IntegrationPoint = z.infer<typeof integrationPointSchema>;

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

const overviewScopeItemSchema = z.looseObject({
  title: z.string(),
  classification: z.string(),
  link: z.string().optional(),
  value: z.number().optional(),
  contractual: z.boolean().optional(),
  jurisdictions: z.array(z.string()).optional(),
});

export const scopeTotalsSchema = z.object({
  items: z.number().int(),
  /** Sum of the items' business value (items without one count 0). */
  value: z.number(),
  /** Items that are contractual obligations. */
  contractual: z.number().int(),
  /** Every jurisdiction tag, once, sorted. */
  jurisdictions: z.array(z.string()),
});
export type ScopeTotals = z.infer<typeof scopeTotalsSchema>;

export const scopeGroupSchema = scopeTotalsSchema.extend({ classification: z.string(), scope: z.array(overviewScopeItemSchema) });
export type ScopeGroup = z.infer<typeof scopeGroupSchema>;

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

/** The Release object as the API returns it (loose: the client must not break on new fields). */
export const releaseObjectSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('Release'),
  metadata: z.looseObject({ name: z.string(), version: z.number().int(), createdAt: z.string(), updatedAt: z.string() }),
  spec: z.record(z.string(), z.unknown()),
  status: z.record(z.string(), z.unknown()).nullable(),
});

export const releaseResultResponseSchema = z.object({ result: releaseResultSchema, release: releaseObjectSchema });
export const scopeExceptionResponseSchema = z.object({ exception: scopeExceptionSchema, release: releaseObjectSchema });
export const signoffResponseSchema = z.object({ signoff: signoffSchema, release: releaseObjectSchema });

export const overviewComponentSchema = z.object({
  service: z.string(),
  version: z.string(),
  digest: z.string(),
  /** The component's business services (the Service's when the component names none). */
  businessServices: z.array(z.string()),
  /** The Artifact record with this service and digest; null: none registered. */
  artifact: z
    .object({ name: z.string(), signed: z.boolean(), signatures: z.number().int(), author: z.string().nullable(), attestations: z.array(z.string()) })
    .nullable(),
});

export const promotionStageSchema = z.object({
  environment: z.string(),
  production: z.boolean(),
  promoted: z.boolean(),
  at: z.string().nullable(),
  by: z.string().nullable(),
  change: z.string().nullable(),
  deployments: z.array(
    z.object({ service: z.string(), deployment: z.string(), version: z.string(), digest: z.string(), phase: z.string().nullable() }),
  ),
});
export type PromotionStage = z.infer<typeof promotionStageSchema>;

export const linkedChangeSchema = z.object({
  name: z.string(),
  environment: z.string().nullable(),
  found: z.boolean(),
  state: z.string().nullable(),
  risk: z.string().nullable(),
});

/** `GET /api/v1/releases/{name}/overview`: everything `rollgate release show` prints, in one answer. */
export const releaseOverviewSchema = z.object({
  release: releaseObjectSchema,
  version: z.string(),
  description: z.string().nullable(),
  /** The promotion path used (the spec's, else the one Pipeline covering every component); null: none. */
  pipeline: z.string().nullable(),
  scope: z.object({ groups: z.array(scopeGroupSchema), totals: scopeTotalsSchema }),
  components: z.array(overviewComponentSchema),
  integrationPoints: z.array(integrationPointSchema),
  freeze: freezeStateSchema,
  exceptions: z.array(scopeExceptionSchema),
  results: z.array(releaseResultSchema),
  signoffs: z.array(signoffSchema),
  /** Per environment (the default go/no-go environment and every one with a recorded decision): criteria now and the last decision. */
  goNoGo: z.array(goNoGoViewSchema),
  /** The pipeline's stages in order (or, without a pipeline, the environments promoted to). */
  promotionPath: z.array(promotionStageSchema),
  refusals: z.array(gateRefusalSchema),
  changes: z.array(linkedChangeSchema),
});
export type ReleaseOverview = z.infer<typeof releaseOverviewSchema>;
