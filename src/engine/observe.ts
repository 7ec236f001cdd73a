/** Gathers what decide() needs to see: the target's versions, the router's live state, due measurements. */
import { durationToMs } from '../core/resources/common.js';
import { dueMeasurements, type DueMeasurement, type MeasurementObservation, type Observations, type Operation, type RolloutSpec, type RolloutStatus, type TargetObservation, type TargetState } from '../core/rollout/index.js';
import type { VersionState } from '../ports/deploy-target.js';
import type { MetricQueries, MetricQuery } from '../ports/metric-provider.js';
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

const NO_PROMETHEUS =
  'no Prometheus is configured: start the server with --prometheus-url URL (or env ROLLGATE_PROMETHEUS_URL), or set the metric\'s provider.prometheus.address';

/** The metric's `prometheus` block as a MetricQuery: its PromQL templates, step, timeout and retries, the service and the run's arguments. */
export function prometheusQuery(entry: DueMeasurement, service: string): MetricQuery {
  if (!('prometheus' in entry.provider)) throw new TypeError(`metric ${entry.metric} has no prometheus provider`);
  const block = entry.provider.prometheus;
  const queries: MetricQueries = {};
  if (block.query !== undefined) queries.value = block.query;
  if (block.requests !== undefined) queries.requests = block.requests;
  if (block.errors !== undefined) queries.errors = block.errors;
  if (block.histogram !== undefined) queries.histogram = block.histogram;
  return {
    metric: entry.metric,
    window: entry.window,
    versions: entry.versions,
    queries,
    ...(block.step !== undefined ? { stepMs: durationToMs(block.step) } : {}),
    ...(block.timeout !== undefined ? { timeoutMs: durationToMs(block.timeout) } : {}),
    ...(block.retries !== undefined ? { retries: block.retries } : {}),
    service,
    args: { ...entry.args },
  };
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
        const block = entry.provider.prometheus;
        const provider = block.address ? runtime.prometheusAt?.(block.address) : runtime.metrics.prometheus;
        if (!provider) return { ...base, result: { error: block.address ? 'this service\'s runtime cannot query Prometheus' : NO_PROMETHEUS } };
        const result = await provider.query(prometheusQuery(entry, spec.service));
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
