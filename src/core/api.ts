/**
 * Wire shapes of the HTTP API that are not resource documents. The server builds its OpenAPI
 * from these; the client types its calls with them. Both import this file, never each other.
 */
import { z } from 'zod';
import { nameSchema } from './resources/common.js';
// kind-names.ts, not kinds.ts: the client imports this file, and kinds.ts brings every spec schema.
import { KIND_NAMES, ROLES, type KindName } from './resources/kind-names.js';

export const API_PREFIX = '/api/v1';

/** RFC 9457 problem details, with Rollgate's field-level `errors`. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(
      z.object({
        /** Index of the document in an apply batch. */
        document: z.number().int().optional(),
        /** Field path inside the body or document, e.g. ["spec","steps",2,"setWeight"]. */
        path: z.array(z.union([z.string(), z.number()])),
        message: z.string(),
      }),
    )
    .optional(),
  /** On 409 `gate-refused`: every gate's result (src/core/governance/records.ts GateResult). */
  gates: z.array(z.record(z.string(), z.unknown())).optional(),
  /** On 409: the version currently stored. */
  currentVersion: z.number().int().nullable().optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const applyRequestSchema = z.object({
  documents: z.array(z.record(z.string(), z.unknown())).min(1).max(500),
  dryRun: z.boolean().default(false),
});
export type ApplyRequest = z.input<typeof applyRequestSchema>;

export const applyActionSchema = z.enum(['created', 'configured', 'unchanged']);
export const applyResultSchema = z.object({
  dryRun: z.boolean(),
  results: z.array(
    z.object({
      kind: z.enum(KIND_NAMES as [KindName, ...KindName[]]),
      name: z.string(),
      action: applyActionSchema,
      version: z.number().int(),
    }),
  ),
});
export type ApplyResult = z.infer<typeof applyResultSchema>;

export const auditEventSchema = z.object({
  seq: z.number().int(),
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  kind: z.string(),
  name: z.string(),
  beforeDigest: z.string().nullable(),
  afterDigest: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).optional(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditEventWire = z.infer<typeof auditEventSchema>;

/**
 * `nextCursor` is the page's last seq: the next page in the same order is `afterSeq=<nextCursor>`
 * (ascending) or `beforeSeq=<nextCursor>` (`order=desc`); null on the last page.
 */
export const auditPageSchema = z.object({ items: z.array(auditEventSchema), nextCursor: z.string().nullable() });

export const AUDIT_ORDERS = ['asc', 'desc'] as const;
export type AuditOrder = (typeof AUDIT_ORDERS)[number];

/** Query parameters of `GET /api/v1/audit`. */
export const auditListQuerySchema = z.object({
  /** Only events with seq greater than this. */
  afterSeq: z.coerce.number().int().min(0).optional(),
  /** Only events with seq less than this. */
  beforeSeq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  kind: z.string().min(1).optional(),
  name: z.string().min(1).optional(),
  actor: z.string().min(1).optional(),
  /** Exact action (`change.create`), or a prefix with a trailing `*` (`rollout.*`). */
  action: z.string().min(1).optional(),
  /** `asc` (default): oldest first; `desc`: newest first. */
  order: z.enum(AUDIT_ORDERS).optional(),
});

/** What a caller passes for `GET /api/v1/audit` (the typed client's `audit.list`). */
export interface AuditListQuery {
  /** Only events after this seq; with the default order, pass a page's `nextCursor` here for the next page. */
  afterSeq?: number;
  /** Only events before this seq; with `order: 'desc'`, pass a page's `nextCursor` here for the next (older) page. */
  beforeSeq?: number;
  /** 1..1000; default 100. */
  limit?: number;
  kind?: string;
  name?: string;
  actor?: string;
  /** Exact action, or a prefix ending in `*` (`rollout.*`: every rollout operation and event). */
  action?: string;
  /** `asc` (default): oldest first; `desc`: newest first. */
  order?: AuditOrder;
}

export const auditVerifySchema = z.object({
  ok: z.boolean(),
  checked: z.number().int(),
  headHash: z.string().optional(),
  brokenAt: z.number().int().optional(),
  reason: z.string().optional(),
});
export type AuditVerifyResult = z.infer<typeof auditVerifySchema>;

export const roleSchema = z.enum(ROLES as unknown as ['viewer', 'deployer', 'approver', 'admin']);

export const tokenCreateSchema = z.object({
  name: z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only'),
  role: roleSchema,
  /** The User the token acts for (must exist); omitted: the token acts as a user named like itself, with no groups. */
  user: nameSchema.optional(),
});
export type TokenCreateInput = z.infer<typeof tokenCreateSchema>;
export const tokenInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: roleSchema,
  /** The User the token acts for; null: created without one (servers from before identities omit it). */
  user: z.string().nullable().default(null),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export const tokenCreatedSchema = tokenInfoSchema.extend({
  /** Shown once; only its hash is stored. */
  token: z.string(),
});
export type TokenInfo = z.infer<typeof tokenInfoSchema>;
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;

/** One Server-Sent Event on /api/v1/events (event name `change`). */
export const changeEventSchema = z.object({
  seq: z.number().int(),
  action: z.string(),
  kind: z.string(),
  name: z.string(),
  version: z.number().int().nullable(),
  actor: z.string(),
  time: z.string(),
});
export type ChangeEvent = z.infer<typeof changeEventSchema>;

/** `GET /api/v1/tokens`: never includes secrets or hashes. */
export const tokenListSchema = z.object({ items: z.array(tokenInfoSchema) });
export type TokenList = z.infer<typeof tokenListSchema>;
