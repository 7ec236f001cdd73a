/**
 * Response shapes of the release workflow API (`/api/v1/releases/{name}/...`), shared by the
 * server and the client. Apart from release.ts because that file validates Release specs
 * (semver) and diffs scope (the audit chain's canonical JSON): the client parses answers with
 * these only, and the web UI must not bundle the rest. release.ts re-exports them. The request
 * shapes stay in release.ts (they reuse the spec's scope item schema); the client only needs
 * their types, which cost nothing at run time.
 */
import { z } from 'zod';
import { goNoGoViewSchema } from './go-no-go.js';
import { gateRefusalSchema, releaseResultSchema, scopeExceptionSchema, signoffSchema } from './records.js';

// ---------------------------------------------------------------------------------------------
// Freeze, integration points, scope summary (computed by release.ts)

export const freezeStateSchema = z.object({
  /** The spec's freezeDate; null: the release has none (never frozen). */
  freezeDate: z.string().nullable(),
  frozen: z.boolean(),
  message: z.string(),
});
export type FreezeState = z.infer<typeof freezeStateSchema>;

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

// ---------------------------------------------------------------------------------------------
// Responses

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
