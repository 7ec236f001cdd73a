/**
 * The changes workflow API. The generic objects API serves `GET /api/v1/changes` and
 * `GET /api/v1/changes/{name}`; every write to a Change goes through here (KindDefinition.managedBy),
 * so none bypasses the state machine, separation of duties or approval expiry.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { API_PREFIX, auditEventSchema } from '../../core/api.js';
import { cabListSchema } from '../../core/governance/approvals.js';
import { CHANGE_STATES, CLOSE_CODES, changeSpecSchema } from '../../core/resources/change.js';
import { nameSchema } from '../../core/resources/common.js';
import { storedObjectSchema } from '../../core/resources/kinds.js';
import type { StoredObject } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { ForbiddenError, SeparationOfDutiesError } from '../errors.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { toApiObject } from '../objects/representation.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { problemResponse, secureRoute } from '../route.js';
import { retryOnConflict } from '../rollouts/service.js';
import { ChangeRefusedError, createChangeService, type ChangeService } from './service.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const change = storedObjectSchema('Change');
const nameParams = z.object({ name: nameSchema });
const tags = ['Changes'];

/** A manual change: the Change spec (without the close fields) plus where it goes and a risk fact the spec has no field for. */
export const changeCreateSchema = changeSpecSchema.omit({ closeCode: true, closeNotes: true }).extend({
  /** The Environment the change is for: its data sensitivity and approval rules apply. */
  environment: nameSchema.optional(),
  /** The Release it deploys: its scope size counts for risk, its artifacts' authors may not approve. */
  release: nameSchema.optional(),
  /** The change carries a data migration that cannot be rolled back (a risk factor). */
  irreversibleMigration: z.boolean().optional(),
});

/** Spec fields to change; `null` clears an optional field. Values are checked by the change's schema (errors name the field). */
export const changePatchSchema = z
  .strictObject(Object.fromEntries(Object.keys(changeSpecSchema.shape).map((key) => [key, z.unknown().optional()])) as Record<keyof typeof changeSpecSchema.shape, z.ZodOptional<z.ZodUnknown>>)
  .refine((patch) => Object.keys(patch).length > 0, { message: 'give at least one field to change' });

export const changeTransitionSchema = z.strictObject({
  to: z.enum(CHANGE_STATES),
  /** Required to cancel or to send the change back to New. */
  reason: z.string().max(2000).optional(),
  /** With `to: Closed`: how it went. */
  closeCode: z.enum(CLOSE_CODES).optional(),
  /** With `to: Closed`: required unless closeCode is `successful`. */
  closeNotes: z.string().min(1).max(10_000).optional(),
});

export const changeDecisionSchema = z
  .strictObject({
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(10_000).default(''),
  })
  .superRefine((body, ctx) => {
    if (body.decision === 'reject' && body.comment.trim() === '') ctx.addIssue({ code: 'custom', path: ['comment'], message: 'required when rejecting: say why' });
  });

export const changeReviewSchema = z.strictObject({ notes: z.string().trim().min(1, 'required: what the review found').max(10_000) });

const changeResponse = (description: string) => ({ description, ...json(change) });
const notFound = problemResponse('No Change with that name');
const refused = problemResponse('The change cannot do that in its state (problem type names why: read-only-fields, approvals-missing, review-required, transition-not-allowed, ...); `errors[].path` names the field');
const invalid = problemResponse('Invalid body, missing fields for the target state, or a reference to nothing; `errors[].path` names the field');

export const changeRoutes = {
  create: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${API_PREFIX}/changes`,
    operationId: 'createChange',
    tags,
    summary: 'Create a change record by hand (state New, requested by the caller); name chg-NNNNN is generated; risk and required approvals are assessed',
    request: { body: { required: true, ...json(changeCreateSchema) } },
    responses: { 201: changeResponse('Created'), 409: problemResponse('A concurrent create took the name; retry'), 422: invalid },
  }),
  edit: secureRoute({
    permission: 'deployer',
    method: 'patch',
    path: `${API_PREFIX}/changes/{name}`,
    operationId: 'editChange',
    tags,
    summary: 'Edit spec fields; approval-relevant fields expire every approval given so far; plans, scope and window are read-only once Scheduled',
    request: { params: nameParams, body: { required: true, ...json(changePatchSchema) } },
    responses: { 200: changeResponse('Updated (unchanged when every value was already set)'), 404: notFound, 409: refused, 422: invalid },
  }),
  transition: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${API_PREFIX}/changes/{name}/transitions`,
    operationId: 'transitionChange',
    tags,
    summary: 'Move the change (New → Assess → Authorize → Scheduled → Implement → Review → Closed, or Canceled); Authorize → Scheduled only once approvals are complete',
    request: { params: nameParams, body: { required: true, ...json(changeTransitionSchema) } },
    responses: { 200: changeResponse('Moved'), 404: notFound, 409: refused, 422: invalid },
  }),
  decide: secureRoute({
    permission: 'approver',
    method: 'post',
    path: `${API_PREFIX}/changes/{name}/approvals`,
    operationId: 'decideChange',
    tags,
    summary: 'Approve or reject (comment required) a change in Authorize; the requester and artifact authors are refused (separation of duties); complete approvals schedule the change, a rejection sends it back to New',
    request: { params: nameParams, body: { required: true, ...json(changeDecisionSchema) } },
    responses: {
      201: changeResponse('Decision recorded'),
      200: changeResponse('The same approval was already recorded for this version: nothing changed'),
      404: notFound,
      409: refused,
      422: invalid,
    },
  }),
  review: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${API_PREFIX}/changes/{name}/review`,
    operationId: 'reviewChange',
    tags,
    summary: 'Record the post-release review (required after an emergency override before the change can close)',
    request: { params: nameParams, body: { required: true, ...json(changeReviewSchema) } },
    responses: { 200: changeResponse('Review recorded'), 404: notFound, 409: refused, 422: invalid },
  }),
  cab: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/cab`,
    operationId: 'listCab',
    tags,
    summary: 'Changes awaiting a board decision (Authorize with approvals missing), soonest first, with risk, what each group still has to give, and calendar conflicts',
    responses: { 200: { description: 'Soonest planned start first', ...json(cabListSchema) } },
  }),
  audit: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/changes/{name}/audit`,
    operationId: 'changeAudit',
    tags,
    summary: "The change's audit trail: its own events and the rollout events of the Deployments it authorizes, ascending by seq",
    request: { params: nameParams },
    responses: { 200: { description: 'Ascending by seq', ...json(z.object({ items: z.array(auditEventSchema) })) }, 404: notFound },
  }),
};

export function registerChangesRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps, changes: ChangeService = createChangeService({ now: deps.now })): void {
  const { store, commit } = deps;

  /** ChangeRefusedError as its 409 problem; every other error goes to the app's error handler. */
  async function refusals(c: Context<AppEnv>, work: () => Promise<Response>): Promise<Response> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ChangeRefusedError) return problemBody(c, problem(409, error.code, error.message, error.issues.length > 0 ? { errors: error.issues } : {}));
      throw error;
    }
  }

  /** Wakes the engine for the Deployments a change authorizes (after the commit). */
  const wake = (object: StoredObject) => {
    const deployments = (object.status?.['deployments'] ?? []) as unknown;
    if (Array.isArray(deployments)) for (const name of deployments) if (typeof name === 'string') deps.onDeploymentChange(name);
  };

  const caller = (c: Context<AppEnv>) => ({ user: c.var.principal.user, actor: c.var.principal.actor });

  app.openapi(changeRoutes.create, (c) =>
    refusals(c, async () => {
      const body = c.req.valid('json');
      // Sequential names: two creates may pick the same one; the loser retries with the next.
      const created = await retryOnConflict(() => commit((stores) => changes.create(stores, caller(c), body)));
      return c.json(toApiObject(created), 201);
    }),
  );

  app.openapi(changeRoutes.edit, (c) =>
    refusals(c, async () => {
      const { name } = c.req.valid('param');
      const patch = c.req.valid('json') as Record<string, unknown>;
      const updated = await retryOnConflict(() => commit((stores) => changes.edit(stores, caller(c), name, patch)));
      wake(updated);
      return c.json(toApiObject(updated), 200);
    }),
  );

  app.openapi(changeRoutes.transition, (c) =>
    refusals(c, async () => {
      const { name } = c.req.valid('param');
      const { to, ...options } = c.req.valid('json');
      const updated = await retryOnConflict(() => commit((stores) => changes.transition(stores, caller(c), name, to, options)));
      wake(updated);
      return c.json(toApiObject(updated), 200);
    }),
  );

  app.openapi(changeRoutes.decide, (c) =>
    refusals(c, async () => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      const who = caller(c);
      try {
        const result = await retryOnConflict(() => commit((stores) => changes.decide(stores, who, name, body)));
        for (const deployment of result.deployments) deps.onDeploymentChange(deployment);
        return c.json(toApiObject(result.change), result.recorded ? 201 : 200);
      } catch (error) {
        // The refusal is evidence an auditor wants: record it in its own transaction (the decision's rolled back).
        if (error instanceof SeparationOfDutiesError || error instanceof ForbiddenError) {
          const reason = error instanceof SeparationOfDutiesError ? 'separation-of-duties' : 'not-in-required-group';
          await commit((stores) => changes.recordRefusal(stores, who, name, body.decision, reason, error.message));
        }
        throw error;
      }
    }),
  );

  app.openapi(changeRoutes.review, (c) =>
    refusals(c, async () => {
      const { name } = c.req.valid('param');
      const { notes } = c.req.valid('json');
      const updated = await retryOnConflict(() => commit((stores) => changes.completeReview(stores, caller(c), name, notes)));
      return c.json(toApiObject(updated), 200);
    }),
  );

  app.openapi(changeRoutes.cab, async (c) => c.json({ items: await changes.cab(store.read) }, 200));

  app.openapi(changeRoutes.audit, async (c) => {
    const { name } = c.req.valid('param');
    return c.json({ items: await changes.audit(store.read, name) }, 200);
  });
}
