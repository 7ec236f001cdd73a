/** Gathers what decide() needs to see: the target's versions, the router's live state, due measurements. */
import { dueMeasurements, type MeasurementObservation, type Observations, type Operation, type RolloutSpec, type RolloutStatus, type TargetObservation, type TargetState } from '../core/rollout/index.js';
import type { VersionState } from '../ports/deploy-target.js';
import type { ServiceRuntime } from './runtime.js';

const TARGET_STATES: Record<VersionState['phase'], TargetState> = {
  starting: 'starting',
  running: 'ready',
  // An instance failing its health checks is not ready; analysis judges what it serves meanwhile.
  unhealthy: 'starting',
  failed: 'failed',
  stopped: 'absent',
};

function targetObservation(states: VersionState[], version: string | null): TargetObservation | null {
  if (version === null) return null;
  const state = states.find((candidate) => candidate.version === version);
  if (!state) return { version, state: 'absent' };
  const mapped = state.phase === 'running' && !state.healthy ? 'starting' : TARGET_STATES[state.phase];
  return { version, state: mapped, ...(state.message ? { message: state.message } : {}) };
}

/** Queries every due measurement; a provider failure becomes that measurement's error, never the pass's. */
async function measure(runtime: ServiceRuntime, spec: RolloutSpec, status: RolloutStatus | null, now: number): Promise<MeasurementObservation[]> {
  const due = dueMeasurements(spec, status, now);
  return Promise.all(
    due.map(async (entry): Promise<MeasurementObservation> => {
      const base = { runId: entry.runId, metric: entry.metric, window: entry.window };
      try {
        if ('builtin' in entry.provider) {
          const provider = runtime.metrics.builtin;
          if (!provider) return { ...base, result: { error: 'this service has no builtin metrics (its router is not the embedded one)' } };
          const result = await provider.query({ metric: entry.provider.builtin.metric, window: entry.window, versions: entry.versions });
          return { ...base, result };
        }
        const provider = runtime.metrics.prometheus;
        if (!provider) return { ...base, result: { error: 'no Prometheus metric provider is configured' } };
        const result = await provider.query({ metric: entry.provider.prometheus.query ?? '', window: entry.window, versions: entry.versions });
        return { ...base, result };
      } catch (error) {
        return { ...base, result: { error: (error as Error).message } };
      }
    }),
  );
}

export async function gatherObservations(runtime: ServiceRuntime, spec: RolloutSpec, status: RolloutStatus | null, operations: Operation[], now: number): Promise<Observations> {
  const [states, router, measurements] = await Promise.all([runtime.target.observe(), runtime.router.verify(), measure(runtime, spec, status, now)]);
  return {
    canary: targetObservation(states, status?.canaryVersion ?? spec.canaryVersion),
    stable: targetObservation(states, status?.stableVersion ?? spec.stableVersion),
    router,
    measurements,
    operations,
  };
}
