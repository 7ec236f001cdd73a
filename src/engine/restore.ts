/**
 * Rebuilds a service's data plane from the stored state when this process first builds its
 * runtime (start-up, or takeover from a crashed control plane): the stable version — and the
 * canary, its weight and header route when a rollout is under way — running and routed as the
 * stored status says. Instances a previous process left running are adopted, not restarted.
 */
import { DEPLOYMENT_LABELS, isFinishedPhase, readDeploymentStatus, type RolloutStatus } from '../core/rollout/index.js';
import type { ServiceSpec } from '../core/resources/service.js';
import type { EnvSpec } from '../core/secrets/env.js';
import type { StoredObject, Stores } from '../ports/store.js';
import type { ServiceEnvironmentStatus } from './resolve.js';
import { envOfStable } from './pass.js';
import type { ServiceRuntime } from './runtime.js';
import { createEngineSecrets, type EngineSecrets } from './secrets.js';

async function latestRollout(read: Pick<Stores, 'objects'>, service: string, environment: string): Promise<RolloutStatus | null> {
  let latest: StoredObject | null = null;
  let cursor: string | undefined;
  const labels = { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: environment };
  do {
    const page = await read.objects.list('Deployment', { labels, limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const deployment of page.items) {
      if (readDeploymentStatus(deployment.status).rollout && (!latest || deployment.createdAt > latest.createdAt)) latest = deployment;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return latest ? readDeploymentStatus(latest.status).rollout : null;
}

async function envOf(read: Pick<Stores, 'objects'>, service: StoredObject, version: string, rollout: RolloutStatus | null): Promise<EnvSpec | undefined> {
  if (rollout && rollout.canaryVersion === version) {
    const deployment = await read.objects.get('Deployment', rollout.rolloutId);
    return (deployment?.spec as { env?: EnvSpec } | undefined)?.env;
  }
  for (const environment of Object.keys((service.status?.environments ?? {}) as object)) {
    const env = await envOfStable(read, service, environment, version);
    if (env) return env;
  }
  return undefined;
}

/**
 * How many instances `version` ran with: the rollout's count for its canary (a Healthy rollout's
 * canary was scaled to the plan's count at promotion), else the `replicas` of the rollout that made
 * it stable; 1 when neither is recorded.
 */
async function replicasOf(read: Pick<Stores, 'objects'>, service: StoredObject, environment: string, version: string, rollout: RolloutStatus | null): Promise<number> {
  if (rollout && rollout.canaryVersion === version && rollout.newVersion.replicas > 0) return rollout.newVersion.replicas;
  const stable = ((service.status?.environments ?? {}) as Record<string, ServiceEnvironmentStatus | undefined>)[environment];
  if (stable?.stableVersion !== version) return 1;
  const deployment = await read.objects.get('Deployment', stable.deployment);
  const replicas = deployment ? readDeploymentStatus(deployment.status).resolved?.replicas : undefined;
  return typeof replicas === 'number' && replicas >= 1 ? replicas : 1;
}

/** Restores the data plane of `service` in one environment (each environment has its own runtime). */
export async function restoreDataPlane(
  read: Pick<Stores, 'objects'>,
  runtime: ServiceRuntime,
  service: StoredObject,
  environment = 'default',
  secrets: EngineSecrets = createEngineSecrets(),
): Promise<void> {
  const rollout = await latestRollout(read, service.name, environment);
  const recorded = ((service.status?.environments ?? {}) as Record<string, ServiceEnvironmentStatus | undefined>)[environment]?.stableVersion ?? null;

  const active = rollout !== null && !isFinishedPhase(rollout.phase);
  const stable = rollout?.phase === 'Healthy' ? rollout.canaryVersion : (rollout?.stableVersion ?? recorded);
  if (stable === null) return;

  const ensure = async (version: string) => {
    const resolved = await secrets.envFor(service.spec as unknown as ServiceSpec, environment, await envOf(read, service, version, rollout));
    const replicas = runtime.target.capabilities.replicas ? await replicasOf(read, service, environment, version, rollout) : 1;
    const state = await runtime.target.ensure({ version, replicas, environment, ...(resolved ? { env: resolved.env, secrets: resolved.secrets } : {}) });
    return { version, endpoints: state.endpoints };
  };
  const stableBackend = await ensure(stable);
  if (active && rollout.newVersion.backendsSetAt !== null && rollout.canaryVersion !== stable) {
    await runtime.router.setBackends({ stable: stableBackend, canary: await ensure(rollout.canaryVersion) });
    await runtime.router.setWeights({ canary: rollout.canaryWeight });
    await runtime.router.setHeaderRoute(rollout.headerRoute);
  } else {
    await runtime.router.setBackends({ stable: stableBackend, canary: null });
    await runtime.router.setWeights({ canary: 0 });
    await runtime.router.setHeaderRoute(null);
  }
}
