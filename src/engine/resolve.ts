/**
 * Turns a Deployment and the objects it names into the RolloutSpec decide() runs with. Done once,
 * at the rollout's first pass; the result is frozen into the Deployment's status so that editing
 * a strategy or template later does not move a rollout already under way.
 */
import type { AnalysisTemplateSpec } from '../core/resources/analysis-template.js';
import type { DeploymentSpec } from '../core/resources/deployment.js';
import { strategyTemplateRefs, type RolloutStrategySpec } from '../core/resources/rollout-strategy.js';
import type { ServiceSpec } from '../core/resources/service.js';
import type { RolloutSpec } from '../core/rollout/index.js';
import type { StoredObject, Stores } from '../ports/store.js';

export const DEFAULT_ENVIRONMENT = 'default';

/** Without a strategy a new version replaces the stable one as soon as it is ready. */
const IMMEDIATE_STRATEGY: RolloutStrategySpec = { canary: { steps: [] } };

/** What the engine records on a Service about each environment (Service `status.environments`). */
export interface ServiceEnvironmentStatus {
  stableVersion: string;
  deployment: string;
  since: string;
}

export const environmentOf = (spec: DeploymentSpec): string => spec.environment ?? DEFAULT_ENVIRONMENT;

export function stableVersionOf(service: StoredObject, environment: string): ServiceEnvironmentStatus | null {
  const environments = (service.status?.environments ?? {}) as Record<string, ServiceEnvironmentStatus | undefined>;
  return environments[environment] ?? null;
}

export class ResolveError extends Error {
  override readonly name = 'ResolveError';
}

export async function resolveRolloutSpec(stores: Pick<Stores, 'objects'>, deployment: StoredObject): Promise<{ spec: RolloutSpec; service: StoredObject }> {
  const spec = deployment.spec as unknown as DeploymentSpec;
  const service = await stores.objects.get('Service', spec.service);
  if (!service) throw new ResolveError(`service "${spec.service}" does not exist`);
  const serviceSpec = service.spec as unknown as ServiceSpec;

  const strategyName = spec.strategy ?? serviceSpec.strategy;
  let strategy = IMMEDIATE_STRATEGY;
  if (strategyName) {
    const stored = await stores.objects.get('RolloutStrategy', strategyName);
    if (!stored) throw new ResolveError(`RolloutStrategy "${strategyName}" does not exist`);
    strategy = stored.spec as unknown as RolloutStrategySpec;
  }

  const templates: Record<string, AnalysisTemplateSpec> = {};
  for (const ref of strategyTemplateRefs(strategy)) {
    if (templates[ref.name]) continue;
    const stored = await stores.objects.get('AnalysisTemplate', ref.name);
    if (!stored) throw new ResolveError(`AnalysisTemplate "${ref.name}" does not exist`);
    templates[ref.name] = stored.spec as unknown as AnalysisTemplateSpec;
  }

  const environment = environmentOf(spec);
  const stable = stableVersionOf(service, environment);
  return {
    service,
    spec: {
      id: deployment.name,
      service: spec.service,
      environment,
      stableVersion: stable?.stableVersion ?? null,
      canaryVersion: spec.version,
      strategy,
      templates,
      replicas: 1,
    },
  };
}
