/**
 * Follows a Deployment's rollout through the API only (the typed client), the way any other client
 * would: it reads the Deployment every `pollMs` and at once when the server's change stream (SSE)
 * says it changed, and reports each history event and each analysis measurement it has not
 * reported yet, oldest first.
 */
import type { ApiObject, RollgateClient } from '../../client/index.js';
import type { Measurement, MetricRunStatus } from '../../core/analysis/types.js';
import { buildPlan, readDeploymentStatus, type PlanStep, type RolloutEvent, type RolloutSpec, type RolloutStatus } from '../../core/rollout/index.js';

/** Wakes waiters when the server reports a change to a Deployment (SSE), so polling can stay slow. */
export class ChangeFeed {
  private readonly waiters = new Set<{ name: string; resolve: () => void }>();
  private readonly controller = new AbortController();
  private running: Promise<void> | null = null;

  constructor(private readonly client: RollgateClient) {}

  /** Starts listening; a broken stream only means the watchers fall back to polling. */
  start(): void {
    this.running ??= (async () => {
      try {
        for await (const event of this.client.events({ signal: this.controller.signal })) {
          if (event.kind !== 'Deployment') continue;
          for (const waiter of [...this.waiters]) {
            if (waiter.name === event.name) {
              this.waiters.delete(waiter);
              waiter.resolve();
            }
          }
        }
      } catch {
        // aborted, or the server went away: polling carries on
      }
    })();
  }

  /** Resolves when `name` changes, after `ms`, or when `signal` aborts, whichever comes first. */
  wait(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter = { name, resolve: () => finish() };
      const timer = setTimeout(() => finish(), ms);
      const onAbort = () => finish();
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      if (signal?.aborted) return finish();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    this.controller.abort(new Error('demo finished'));
    for (const waiter of [...this.waiters]) waiter.resolve();
    this.waiters.clear();
    await this.running;
  }
}

/** Measurements of one analysis run taken together (same run, same sequence number per metric). */
export interface MeasurementGroup {
  runId: string;
  takenAt: number;
  stepIndex: number | null;
  items: Array<{ metric: MetricRunStatus; measurement: Measurement }>;
}

export type WatchItem = { kind: 'event'; at: number; event: RolloutEvent } | { kind: 'measurements'; at: number; group: MeasurementGroup };

export interface WatchOptions {
  /** Stop watching once this holds for the status (e.g. a finished phase). */
  until: (status: RolloutStatus) => boolean;
  /** Called for every new event and measurement group, oldest first. */
  onItem: (item: WatchItem, status: RolloutStatus) => void;
  /** Called with every status read, before its items. */
  onStatus?: (status: RolloutStatus, deployment: ApiObject, resolved: RolloutSpec | null) => void;
  /** What was reported already (to continue an earlier watch without repeating it); updated in place. */
  seen?: { events: Set<number>; measurements: Set<string> };
  /** Gives up (throws) after this long. */
  timeoutMs: number;
  pollMs?: number;
  feed?: ChangeFeed;
  signal?: AbortSignal;
}

export class WatchTimeoutError extends Error {
  override readonly name = 'WatchTimeoutError';
  constructor(
    message: string,
    readonly last: RolloutStatus | null,
  ) {
    super(message);
  }
}

/** Watches one Deployment until `until(status)` holds; returns that status and the Deployment. */
export async function watchRollout(client: RollgateClient, name: string, options: WatchOptions): Promise<{ status: RolloutStatus; deployment: ApiObject; resolved: RolloutSpec | null }> {
  const pollMs = options.pollMs ?? 250;
  const deadline = Date.now() + options.timeoutMs;
  const seenEvents = options.seen?.events ?? new Set<number>();
  const seenMeasurements = options.seen?.measurements ?? new Set<string>();
  let last: RolloutStatus | null = null;
  for (;;) {
    if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new Error('interrupted');
    const deployment = await client.get('Deployment', name);
    if (!deployment) throw new Error(`Deployment ${name} disappeared`);
    const stored = readDeploymentStatus(deployment.status);
    const status = stored.rollout;
    if (status) {
      last = status;
      options.onStatus?.(status, deployment, stored.resolved);
      const items: WatchItem[] = [];
      for (const event of status.history) {
        if (seenEvents.has(event.seq)) continue;
        seenEvents.add(event.seq);
        items.push({ kind: 'event', at: event.at, event });
      }
      for (const group of newMeasurementGroups(status, seenMeasurements)) items.push({ kind: 'measurements', at: group.takenAt, group });
      // Oldest first; a measurement before the events its pass recorded.
      items.sort((a, b) => a.at - b.at || (a.kind === b.kind ? 0 : a.kind === 'measurements' ? -1 : 1));
      for (const item of items) options.onItem(item, status);
      if (options.until(status)) return { status, deployment, resolved: stored.resolved };
    } else if (stored.failure) {
      throw new Error(`Deployment ${name} could not start: ${stored.failure.message}`);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WatchTimeoutError(`Deployment ${name} did not finish in ${Math.round(options.timeoutMs / 1000)} s (last: ${last ? `${last.phase}: ${last.message}` : 'not started'})`, last);
    if (options.feed) await options.feed.wait(name, Math.min(pollMs, left), options.signal);
    else await sleep(Math.min(pollMs, left), options.signal);
  }
}

function newMeasurementGroups(status: RolloutStatus, seen: Set<string>): MeasurementGroup[] {
  const groups = new Map<string, MeasurementGroup>();
  for (const run of status.analysisRuns) {
    for (const metric of run.metrics) {
      for (const measurement of metric.measurements) {
        const key = `${run.id}/${metric.key}/${measurement.seq}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const groupKey = `${run.id}#${measurement.seq}`;
        const group = groups.get(groupKey) ?? { runId: run.id, takenAt: measurement.takenAt, stepIndex: run.stepIndex, items: [] };
        group.takenAt = Math.min(group.takenAt, measurement.takenAt);
        group.items.push({ metric, measurement });
        groups.set(groupKey, group);
      }
    }
  }
  return [...groups.values()];
}

/** The steps of a rollout as decide() walks them (empty for a direct deploy). */
export function planSteps(resolved: RolloutSpec | null): PlanStep[] {
  if (!resolved) return [];
  const plan = buildPlan(resolved);
  return plan.ok ? plan.plan.steps : [];
}

/**
 * The canary weight in force right after `event`: 0 after an abort, 100 after promotion, else the
 * last `setWeight` reached (a setWeight step counts once its traffic moved). A StepCompleted event
 * already carries the index of the next step.
 */
export function weightAfter(event: Pick<RolloutEvent, 'type' | 'stepIndex' | 'phase'>, steps: readonly PlanStep[]): number {
  if (event.type === 'Promoted' || event.phase === 'Healthy') return 100;
  if (event.type === 'Aborted' || event.phase === 'Aborted' || event.phase === 'Degraded') return 0;
  let weight = 0;
  for (let index = 0; index < Math.min(event.stepIndex, steps.length); index += 1) {
    const step = steps[index]!;
    if (step.kind === 'setWeight') weight = step.weight;
  }
  const current = steps[event.stepIndex];
  if (current?.kind === 'setWeight' && event.type === 'TrafficShifted') weight = current.weight;
  return weight;
}

/** The short label of the step an event belongs to: `setWeight 25`, `analysis`, `promote`, `abort`, `retire`. */
export function stepLabel(event: Pick<RolloutEvent, 'type' | 'stepIndex'>, steps: readonly PlanStep[]): string {
  if (event.type === 'Promoted') return 'promote';
  if (event.type === 'Aborted') return 'abort';
  if (event.type === 'VersionRetired') return 'retire';
  const index = event.type === 'StepCompleted' || event.type === 'StepSkipped' ? event.stepIndex - 1 : event.stepIndex;
  const step = steps[index];
  if (!step) return steps.length === 0 ? 'direct' : index < 0 ? 'start' : 'done';
  return shortLabel(step);
}

/** `analysis` instead of `analysis <templates>` (the messages name the templates). */
export function shortLabel(step: PlanStep): string {
  return step.kind === 'analysis' ? 'analysis' : step.label;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
