/** Promotion routes: promote a release into an environment; drift per environment and overall. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { driftOverviewSchema, environmentDriftSchema, promotionRequestSchema } from '../../core/governance/promotion.js';
import { promotionSchema } from '../../core/governance/records.js';
import { nameSchema } from '../../core/resources/common.js';
import { storedObjectSchema } from '../../core/resources/kinds.js';
import type { AppEnv } from '../context.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { toApiObject } from '../objects/representation.js';
import { problemResponse, secureRoute } from '../route.js';
import { createPromotionService } from './service.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const nameParams = z.object({ name: nameSchema });
const tags = ['Promotions'];

export const promotionRoutes = {
  promote: secureRoute({
    permission: 'deployer',
    method: 'post',
    path: `${API_PREFIX}/releases/{name}/promotions`,
    operationId: 'promoteRelease',
    tags,
    summary:
      'Promote a release into an environment by digest: checks the promotion gates (path, digest, analysis, freeze, go/no-go, active rollouts, promote policies), then creates the change record (where required) and one Deployment per component',
    request: { params: nameParams, body: { required: true, ...json(promotionRequestSchema) } },
    responses: {
      201: {
        description: 'Promoted: the promotion recorded on the release, the Deployments created and the change record (null when the environment needs none)',
        ...json(z.object({ promotion: promotionSchema, deployments: z.array(storedObjectSchema('Deployment')), change: storedObjectSchema('Change').nullable() })),
      },
      404: problemResponse('No Release with that name'),
      409: problemResponse('`gate-refused`: a gate denied or is pending; `gates` lists every gate\'s result, `errors` the refusing ones (the refusal is recorded on the release and in the audit log)'),
      422: problemResponse('Invalid body, or the environment does not exist (`errors[].path` names the field)'),
    },
  }),
  environmentDrift: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/environments/{name}/drift`,
    operationId: 'getEnvironmentDrift',
    tags,
    summary: 'What runs in an environment against what was promoted into it, per service; a changed drift set is reported in the audit log (`environment.drift`)',
    request: { params: nameParams },
    responses: {
      200: { description: 'The drift report', ...json(environmentDriftSchema) },
      404: problemResponse('No Environment with that name'),
    },
  }),
  drift: secureRoute({
    permission: 'viewer',
    method: 'get',
    path: `${API_PREFIX}/drift`,
    operationId: 'getDrift',
    tags,
    summary: 'The drift report of every environment',
    responses: { 200: { description: 'Every environment\'s drift report', ...json(driftOverviewSchema) } },
  }),
};

export function registerPromotionsRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  const { store, commit } = deps;
  const promotions = createPromotionService({ now: deps.now });

  app.openapi(promotionRoutes.promote, async (c) => {
    const { name } = c.req.valid('param');
    const request = c.req.valid('json');
    const { actor, user } = c.var.principal;
    const outcome = await promotions.promote(commit, { actor, user }, name, request);
    // The commit already woke the engine for each created Deployment (its create events); asking
    // again is harmless (a wake is idempotent) and keeps working if that wiring changes.
    for (const deployment of outcome.deployments) deps.onDeploymentChange(deployment.name);
    return c.json(
      { promotion: outcome.promotion, deployments: outcome.deployments.map(toApiObject), change: outcome.change ? toApiObject(outcome.change) : null },
      201,
    );
  });

  app.openapi(promotionRoutes.environmentDrift, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(await promotions.drift(store.read, commit, c.var.principal.actor, name), 200);
  });

  app.openapi(promotionRoutes.drift, async (c) => c.json(await promotions.driftAll(store.read, commit, c.var.principal.actor), 200));
}
