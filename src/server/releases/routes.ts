/**
 * Release workflow routes under /api/v1/releases/{name}/...: results, scope exceptions, sign-offs,
 * go / no-go, and the overview. Release objects themselves are written through the objects API
 * (their freeze and promotion rules are in ./rules.ts). Each write is one transaction, retried as
 * a whole when it loses a compare-and-swap race; refusals that must be on record (a refused `go`, a
 * decision refused by separation of duties) are written in a transaction of their own first.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { criteriaGateResults, goNoGoDecisionRequestSchema, goNoGoDecisionResponseSchema, goNoGoViewSchema } from '../../core/governance/go-no-go.js';
import {
  releaseOverviewSchema,
  releaseResultRequestSchema,
  releaseResultResponseSchema,
  scopeExceptionDecisionRequestSchema,
  scopeExceptionRequestSchema,
  scopeExceptionResponseSchema,
  signoffRequestSchema,
  signoffResponseSchema,
} from '../../core/governance/release.js';
import { nameSchema } from '../../core/resources/common.js';
import type { AppEnv } from '../context.js';
import { ForbiddenError, GateRefusedError, SeparationOfDutiesError } from '../errors.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { toApiObject } from '../objects/representation.js';
import { problem, problemResponse as problemBody } from '../problem.js';
import { problemResponse, secureRoute } from '../route.js';
import { retryOnConflict } from '../rollouts/service.js';
import { createReleaseService, GoRefusedError, ReleaseWorkflowError, type Requester } from './service.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const nameParams = z.object({ name: nameSchema });
const exceptionParams = z.object({ name: nameSchema, id: z.string().min(1).max(100) });
const tags = ['Releases'];
const base = `${API_PREFIX}/releases/{name}`;

const notFound = problemResponse('No Release with that name (or no such exception / environment)');
const invalid = problemResponse('Invalid body; `errors[].path` names the field');

export const releaseRoutes = {
  postResult: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${base}/results`,
    operationId: 'postReleaseResult',
    tags,
    summary: 'Post a result (test run, coverage, benchmark, data-migration check, scan) for the release or one of its components; replaces the previous one with the same name and component',
    request: { params: nameParams, body: { required: true, ...json(releaseResultRequestSchema) } },
    responses: {
      201: { description: 'Recorded in status.results', ...json(releaseResultResponseSchema) },
      404: notFound,
      422: problemResponse('Invalid body, or `service` is not a component of the release'),
    },
  }),
  requestException: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${base}/scope-exceptions`,
    operationId: 'requestScopeException',
    tags,
    summary: 'Ask to add or remove scope after the freeze; a release manager other than the requester approves or rejects it',
    request: { params: nameParams, body: { required: true, ...json(scopeExceptionRequestSchema) } },
    responses: {
      201: { description: 'Pending in status.scopeExceptions', ...json(scopeExceptionResponseSchema) },
      404: notFound,
      409: problemResponse('The release is not frozen: edit it directly'),
      422: invalid,
    },
  }),
  decideException: secureRoute({
    permission: 'approver',
    method: 'post',
    path: `${base}/scope-exceptions/{id}/decision`,
    operationId: 'decideScopeException',
    tags,
    summary: 'Approve (the scope change is applied to the spec) or reject a pending scope exception; release managers only, never the requester',
    request: { params: exceptionParams, body: { required: true, ...json(scopeExceptionDecisionRequestSchema) } },
    responses: {
      200: { description: 'Decided', ...json(scopeExceptionResponseSchema) },
      403: problemResponse('Not a release manager, or the requester (separation-of-duties)'),
      404: notFound,
      409: problemResponse('Already decided, or the change no longer applies to the scope'),
      422: invalid,
    },
  }),
  signoff: secureRoute({
    permission: 'approver',
    method: 'post',
    path: `${base}/signoffs`,
    operationId: 'signoffRelease',
    tags,
    summary: 'Sign the release off for a group the user belongs to (e.g. compliance); once per user and group',
    request: { params: nameParams, body: { required: true, ...json(signoffRequestSchema) } },
    responses: {
      201: { description: 'Recorded in status.signoffs', ...json(signoffResponseSchema) },
      403: problemResponse('The user is not a member of the group'),
      404: notFound,
      409: problemResponse('The user already signed off for that group'),
      422: invalid,
    },
  }),
  goNoGo: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${base}/go-no-go`,
    operationId: 'getReleaseGoNoGo',
    tags,
    summary: "The go / no-go criteria for an environment (default: the release's goNoGo.environment, else its pipeline's first production stage), their states now, and the last decision",
    request: { params: nameParams, query: z.object({ environment: nameSchema.optional() }) },
    responses: {
      200: { description: 'Criteria and states', ...json(goNoGoViewSchema) },
      404: notFound,
      422: problemResponse('No environment given and the release has no default one'),
    },
  }),
  decide: secureRoute({
    permission: 'approver',
    method: 'post',
    path: `${base}/go-no-go`,
    operationId: 'decideReleaseGoNoGo',
    tags,
    summary: 'Record a go / no-go decision for an environment with every criterion\'s state; release managers only; `go` is refused while a required criterion is not met',
    request: { params: nameParams, body: { required: true, ...json(goNoGoDecisionRequestSchema) } },
    responses: {
      201: { description: 'Recorded in status.goNoGo (latest per environment)', ...json(goNoGoDecisionResponseSchema) },
      403: problemResponse('Not a release manager'),
      404: notFound,
      409: problemResponse('gate-refused: required criteria not met (each one listed in `gates`)'),
      422: invalid,
    },
  }),
  overview: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${base}/overview`,
    operationId: 'getReleaseOverview',
    tags,
    summary: 'Everything about a release in one answer: scope, components, integration points, freeze, results, sign-offs, go / no-go, promotion path, refusals, changes',
    request: { params: nameParams },
    responses: { 200: { description: 'The overview', ...json(releaseOverviewSchema) }, 404: notFound },
  }),
};

/** The service's 409 refusals as problems; anything else is rethrown for the app's error handler. */
function refusal(c: Context<AppEnv>, error: unknown): never {
  if (error instanceof ReleaseWorkflowError) return problemBody(c, problem(409, error.slug, error.message)) as never;
  throw error;
}

export function registerReleasesRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  const { store, commit } = deps;
  const releases = createReleaseService({ now: deps.now });
  const requester = (c: Context<AppEnv>): Requester => ({ actor: c.var.principal.actor, user: c.var.principal.user });

  app.openapi(releaseRoutes.postResult, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    try {
      const { result, release } = await retryOnConflict(() => commit((stores) => releases.postResult(stores, requester(c), name, body)));
      return c.json({ result, release: toApiObject(release) }, 201);
    } catch (error) {
      return refusal(c, error);
    }
  });

  app.openapi(releaseRoutes.requestException, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    try {
      const { exception, release } = await retryOnConflict(() => commit((stores) => releases.requestException(stores, requester(c), name, body)));
      return c.json({ exception, release: toApiObject(release) }, 201);
    } catch (error) {
      return refusal(c, error);
    }
  });

  app.openapi(releaseRoutes.decideException, async (c) => {
    const { name, id } = c.req.valid('param');
    const body = c.req.valid('json');
    const who = requester(c);
    try {
      const { exception, release } = await retryOnConflict(() => commit((stores) => releases.decideException(stores, who, name, id, body)));
      return c.json({ exception, release: toApiObject(release) }, 200);
    } catch (error) {
      // The refusal stays on record although the decision's transaction rolled back.
      if (error instanceof SeparationOfDutiesError) await commit((stores) => releases.recordRefusedDecision(stores, who, name, id, 'separation-of-duties'));
      if (error instanceof ForbiddenError) await commit((stores) => releases.recordRefusedDecision(stores, who, name, id, error.message));
      return refusal(c, error);
    }
  });

  app.openapi(releaseRoutes.signoff, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const who = requester(c);
    try {
      const { signoff, release } = await retryOnConflict(() => commit((stores) => releases.signoff(stores, who, name, body)));
      return c.json({ signoff, release: toApiObject(release) }, 201);
    } catch (error) {
      if (error instanceof ForbiddenError) await commit((stores) => releases.recordRefusal(stores, who, name, 'release.signoff-refused', { group: body.group, reason: error.message }));
      return refusal(c, error);
    }
  });

  app.openapi(releaseRoutes.goNoGo, async (c) => {
    const { name } = c.req.valid('param');
    const { environment } = c.req.valid('query');
    return c.json(await releases.goNoGo(store.read, name, environment), 200);
  });

  app.openapi(releaseRoutes.decide, async (c) => {
    const { name } = c.req.valid('param');
    const body = c.req.valid('json');
    const who = requester(c);
    try {
      const { decision, release } = await retryOnConflict(() => commit((stores) => releases.decide(stores, who, name, body)));
      return c.json({ decision, release: toApiObject(release) }, 201);
    } catch (error) {
      if (error instanceof ForbiddenError) {
        await commit((stores) => releases.recordRefusal(stores, who, name, 'release.decision-refused', { environment: body.environment, decision: body.decision, reason: error.message }));
      }
      if (!(error instanceof GoRefusedError)) return refusal(c, error);
      // Recorded first, in its own transaction: the refused attempt is part of the release's history.
      await commit((stores) => releases.recordRefusedGo(stores, who, name, body, error.criteria));
      throw new GateRefusedError(error.message, criteriaGateResults(error.criteria));
    }
  });

  app.openapi(releaseRoutes.overview, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(await releases.overview(store.read, name), 200);
  });
}
