/**
 * Policies routes. Policies themselves are resources (objects API, `apply`); this is the dry run:
 * `POST /api/v1/policies/evaluate` evaluates every applicable Policy on the facts of a release or
 * deployment entering an environment, exactly as the gates would (src/engine/governance/policy-gate.ts),
 * and returns the results with the facts. Nothing is recorded.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX } from '../../core/api.js';
import { anyDenied, policyEvaluationRequestSchema, policyEvaluationSchema, type PolicyEvaluation } from '../../core/governance/policy.js';
import { readReleaseStatus } from '../../core/governance/records.js';
import type { KindName } from '../../core/resources/kinds.js';
import { evaluateLoadedPolicies, loadPolicies, loadPolicyFacts, type PolicySubject } from '../../engine/governance/policy-gate.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import { InvalidContentError } from '../errors.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { problemResponse, secureRoute } from '../route.js';

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });
const tags = ['Policies'];

export const policiesRoutes = {
  evaluate: secureRoute({
    permission: 'viewer',
    method: 'post',
    path: `${API_PREFIX}/policies/evaluate`,
    operationId: 'evaluatePolicies',
    tags,
    summary:
      'Dry run: evaluate the Policies of a gate (promote or start) on the facts of a release or deployment entering an environment; returns each result, whether the gate would refuse, and the facts per component',
    request: { body: { required: true, ...json(policyEvaluationRequestSchema) } },
    responses: {
      200: { description: 'Results (one per applicable policy and component), `denied`, and the facts each component was evaluated on', ...json(policyEvaluationSchema) },
      422: problemResponse('Invalid body, or the environment, release, deployment or change it names does not exist (errors[].path names the field)'),
    },
  }),
};

type Request = z.output<typeof policyEvaluationRequestSchema>;

/** The object a body field names, or a 422 naming that field. */
async function mustGet(read: Pick<Stores, 'objects'>, kind: KindName, name: string, field: string): Promise<StoredObject> {
  const object = await read.objects.get(kind, name);
  if (!object) {
    const message = `${kind} "${name}" does not exist`;
    throw new InvalidContentError(message, [{ path: [field], message }]);
  }
  return object;
}

/**
 * What would run, with its release and change: the deployment's, else the release's; body
 * `components` and `change` override. Without a named change, the release's latest promotion to
 * the environment that recorded one stands in (what the start gate would see).
 */
async function resolveSubject(read: Pick<Stores, 'objects'>, request: Request): Promise<PolicySubject> {
  await mustGet(read, 'Environment', request.environment, 'environment');
  if (request.release && request.deployment) {
    const message = 'give release or deployment, not both (a deployment brings its own release)';
    throw new InvalidContentError(message, [{ path: ['deployment'], message }]);
  }
  let release: StoredObject | null = null;
  let change: StoredObject | null = null;
  let components: PolicySubject['components'] = [];

  if (request.deployment) {
    const deployment = await mustGet(read, 'Deployment', request.deployment, 'deployment');
    const spec = deployment.spec as { service: string; version: string; artifact?: { digest?: string }; release?: string; change?: string };
    components = [{ service: spec.service, version: spec.version, digest: spec.artifact?.digest ?? null }];
    if (spec.release) release = await read.objects.get('Release', spec.release);
    if (spec.change) change = await read.objects.get('Change', spec.change);
  }
  if (request.release) {
    release = await mustGet(read, 'Release', request.release, 'release');
    const spec = release.spec as { components?: Array<{ service: string; version: string; digest: string }> };
    components = (spec.components ?? []).map((component) => ({ service: component.service, version: component.version, digest: component.digest }));
  }
  if (request.components) components = request.components.map((component) => ({ ...component, digest: component.digest ?? null }));
  if (!request.release && !request.deployment && !request.components) {
    const message = 'give release, deployment or components';
    throw new InvalidContentError(message, [{ path: [], message }]);
  }

  if (request.change) {
    change = await mustGet(read, 'Change', request.change, 'change');
  } else if (!change && release) {
    const promoted = readReleaseStatus(release.status)
      .promotions.filter((promotion) => promotion.environment === request.environment && promotion.change)
      .at(-1);
    if (promoted?.change) change = await read.objects.get('Change', promoted.change);
  }
  return { environment: request.environment, release, components, change };
}

export function registerPoliciesRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  const { store, now } = deps;

  app.openapi(policiesRoutes.evaluate, async (c) => {
    const request = c.req.valid('json');
    const read = store.read;
    const subject = await resolveSubject(read, request);
    const policies = await loadPolicies(read);
    const facts = await loadPolicyFacts(read, subject, now());
    const severities = new Map(policies.map((policy) => [policy.name, 'spec' in policy ? policy.spec.severity : policy.severity]));
    const results = evaluateLoadedPolicies(policies, facts, request.gate).map((result) => {
      const severity = severities.get(result.name);
      return severity ? { ...result, severity } : result;
    });
    const body: PolicyEvaluation = { results, denied: anyDenied(results), facts };
    return c.json(body, 200);
  });
}
