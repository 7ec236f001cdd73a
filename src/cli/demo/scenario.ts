/**
 * The story `rollgate demo` tells, against any running control plane, through the typed client:
 *
 * 1. apply examples/demo/*.yaml (Service demo-shop, RolloutStrategy demo-canary, AnalysisTemplate
 *    demo-golden-signals);
 * 2. v1 1.0.0: first deploy (direct); then steady load on the service's router;
 * 3. v2 2.0.0: a healthy canary, walked 5 → 25 → 50 → 100 with analysis after each weight step;
 * 4. v3 3.0.0: a canary with errors and 200 ms of latency (the Deployment's `env`), stopped by
 *    analysis, traffic back on 2.0.0 by itself;
 * 5. the numbers: decision times, traffic share per weight step, requests and errors per version,
 *    and a check that the router ends with everything on 2.0.0.
 *
 * It never reaches into the engine: progress comes from the API; only the router's address and
 * its Prometheus text come from the composition root (`DataPlaneView`).
 */
import type { ApiObject, RollgateClient } from '../../client/index.js';
import type { PlanStep, RolloutSpec, RolloutStatus } from '../../core/rollout/index.js';
import { isFinishedPhase } from '../../core/rollout/index.js';
import { CliError } from '../context.js';
import { formatIssue, loadManifests } from '../manifests.js';
import { LoadGenerator, type LoadTarget } from './load.js';
import { routerNumbers } from './prometheus.js';
import { summarizeEvidence } from '../../core/analysis/sequential/judge.js';
import { eventLine, measurementLine, sampleSummary, type DemoSummary, type FailedMetricSummary, type RolloutSummary, type TrafficShare } from './report.js';
import { ChangeFeed, planSteps, sleep, watchRollout, weightAfter } from './watch.js';

export const DEMO_SERVICE = 'demo-shop';
/** Relative to the package root. */
export const DEMO_MANIFESTS = 'examples/demo';
export const BAD_ENV = Object.freeze({ ERROR_RATE: '0.05', LATENCY_MS: '200' });
const BURST_REQUESTS = 40;

/** What the scenario may see of the data plane besides the API. */
export interface DataPlaneView {
  /** Where the service's embedded router listens, once the engine started it. */
  routerAddress(service: string): Promise<LoadTarget | null>;
  /** The router's Prometheus exposition. */
  prometheus(service: string): Promise<string | null>;
}

export interface ScenarioConfig {
  client: RollgateClient;
  packageRoot: string;
  dataPlane: DataPlaneView;
  /** Where progress lines go. */
  say(line: string): void;
  /** Aborted on Ctrl-C: the scenario stops at the next wait and throws `DemoInterrupted`. */
  signal: AbortSignal;
  /** Load generator requests per second. */
  rate: number;
  /** Give up (ms since epoch). */
  deadline: number;
  /** The demo's start (offsets in the output are from here). */
  origin: number;
  controlPlane: { url: string; dataDir: string };
  /**
   * Change notifications from the server (started here). The caller stops it after closing the
   * server: the server ends the stream itself then, whereas a stream the client aborts first can
   * keep the server's shutdown waiting for its grace period.
   */
  feed: ChangeFeed;
}

export class DemoInterrupted extends Error {
  override readonly name = 'DemoInterrupted';
}

interface Act {
  act: 'v1' | 'v2' | 'v3';
  deployment: string;
  version: string;
  expected: 'Healthy' | 'Aborted';
  env?: Record<string, string>;
  title: string;
}

const ACTS: readonly Act[] = [
  { act: 'v1', deployment: `${DEMO_SERVICE}-v1`, version: '1.0.0', expected: 'Healthy', title: 'first deploy of 1.0.0 (direct: nothing to compare with yet)' },
  { act: 'v2', deployment: `${DEMO_SERVICE}-v2`, version: '2.0.0', expected: 'Healthy', title: 'canary 2.0.0, a healthy version: 5% → 25% → 50% → 100%, analysis after each step' },
  {
    act: 'v3',
    deployment: `${DEMO_SERVICE}-v3`,
    version: '3.0.0',
    expected: 'Aborted',
    env: { ...BAD_ENV },
    title: `canary 3.0.0, a bad version (env ERROR_RATE=${BAD_ENV.ERROR_RATE} LATENCY_MS=${BAD_ENV.LATENCY_MS}): analysis should stop it`,
  },
];

/** Runs the whole story; returns the summary (ok or not). Throws only `DemoInterrupted`. */
export async function runScenario(config: ScenarioConfig): Promise<DemoSummary> {
  const { say, signal, feed } = config;
  let load: LoadGenerator | null = null;
  let routerUrl: string | null = null;
  const rollouts: RolloutSummary[] = [];
  let finalBurst: DemoSummary['finalBurst'] = null;
  let failure: string | null = null;
  const checkInterrupt = () => {
    if (signal.aborted) throw new DemoInterrupted('interrupted');
  };

  try {
    feed.start();
    await applyManifests(config);
    checkInterrupt();

    for (const act of ACTS) {
      say('');
      say(`▸ ${act.act}: ${act.title}`);
      const result = await runAct(config, act, feed, load);
      rollouts.push(result.summary);
      checkInterrupt();
      if (act.act === 'v1') {
        if (result.summary.phase !== 'Healthy') throw new Error(`v1 did not become Healthy: ${result.summary.phase}: ${result.summary.message}`);
        const address = await config.dataPlane.routerAddress(DEMO_SERVICE);
        if (!address) throw new Error(`the router of ${DEMO_SERVICE} is not listening`);
        routerUrl = `http://${address.host}:${address.port}`;
        load = new LoadGenerator(address, { rate: config.rate });
        load.setSegment(segmentKey(act, result.status));
        load.start();
        say(`  load: ${config.rate} requests/s to ${routerUrl}/shop (the service's embedded router)`);
        // A little history for the baseline before the first canary shows up.
        await sleep(1000, signal);
        checkInterrupt();
      } else if (result.summary.phase !== act.expected) {
        // The story depends on each act going as planned: stop here and say why.
        failure = `${act.act} ${act.version} is ${result.summary.phase}${result.summary.abort ? ` (${result.summary.abort.reason})` : ''}, expected ${act.expected}: ${result.summary.message}`;
        break;
      } else if (act.act === 'v3') {
        if (result.summary.abort?.reason !== 'AnalysisFailed') {
          failure = `v3 was aborted for ${result.summary.abort?.reason ?? 'no recorded reason'}, expected AnalysisFailed`;
          break;
        }
        // Traffic is back on 2.0.0 already; keep the load on a moment to show it, until 3.0.0 is retired.
        await watchRetirement(config, act, feed, load, result);
      }
    }

    if (load && !failure) {
      await load.stop();
      checkInterrupt();
      finalBurst = { requests: BURST_REQUESTS, ...(await load.burst(BURST_REQUESTS)) };
    }
  } catch (error) {
    if (error instanceof DemoInterrupted || signal.aborted) throw new DemoInterrupted('interrupted');
    failure = error instanceof Error ? error.message : String(error);
  } finally {
    await load?.stop();
  }

  return buildSummary(config, { rollouts, load, routerUrl, finalBurst, failure });
}

async function applyManifests(config: ScenarioConfig): Promise<void> {
  const loaded = await loadManifests([DEMO_MANIFESTS], { cwd: config.packageRoot });
  if (loaded.issues.length > 0) throw new CliError(`cannot read the demo's manifests in ${config.packageRoot}/${DEMO_MANIFESTS}`, 1, loaded.issues.map(formatIssue));
  const result = await config.client.apply(loaded.documents.map((document) => document.value as Record<string, unknown>));
  config.say(`applied ${DEMO_MANIFESTS}/: ${result.results.map((item) => `${item.kind.toLowerCase()}/${item.name} ${item.action}`).join(', ')}`);
}

/**
 * Requests are counted per act, weight the control plane had set, and stage (`starting`: the new
 * version gets no traffic yet; `after`: the rollout was stopped); see LoadGenerator.setSegment.
 */
function segmentKey(act: Act, status: Pick<RolloutStatus, 'canaryWeight' | 'phase'>): string {
  const stage = status.phase === 'Aborted' || status.phase === 'Degraded' ? 'after' : status.canaryWeight === 0 ? 'starting' : '';
  return `${act.act}|${act.version}|${status.canaryWeight}|${stage}`;
}

interface ActResult {
  summary: RolloutSummary;
  status: RolloutStatus;
  steps: PlanStep[];
  seen: { events: Set<number>; measurements: Set<string> };
}

async function runAct(config: ScenarioConfig, act: Act, feed: ChangeFeed, load: LoadGenerator | null): Promise<ActResult> {
  const { client, say, origin } = config;
  const deployedAt = Date.now();
  const created = await client.create({
    apiVersion: 'rollgate.dev/v1alpha1',
    kind: 'Deployment',
    metadata: { name: act.deployment },
    spec: { service: DEMO_SERVICE, version: act.version, ...(act.env ? { env: act.env } : {}) },
  });
  say(`  created deployment/${created.metadata.name} (version ${act.version}${act.env ? `, env ${Object.entries(act.env).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`);

  let resolved: RolloutSpec | null = null;
  let steps = planSteps(null);
  const seen = { events: new Set<number>(), measurements: new Set<string>() };
  const remaining = Math.max(config.deadline - Date.now(), 1000);
  const { status, deployment } = await watchRollout(client, act.deployment, {
    feed,
    seen,
    signal: config.signal,
    timeoutMs: Math.min(remaining, act.act === 'v2' ? 60_000 : 45_000),
    // Finished, or paused waiting for a human (no data, inconclusive): nobody will come in a demo.
    until: (current) => isFinishedPhase(current.phase) || (current.phase === 'Paused' && current.pause?.reason !== 'pauseStep'),
    onStatus: (current, _object, spec) => {
      load?.setSegment(segmentKey(act, current));
      if (!resolved && spec) {
        resolved = spec;
        steps = planSteps(spec);
      }
    },
    onItem: (item, current) => say(item.kind === 'event' ? eventLine(item.event, current, steps, origin) : measurementLine(item.group, current, steps, origin)),
  }).catch((error: unknown) => {
    if (config.signal.aborted) throw new DemoInterrupted('interrupted');
    throw error;
  });
  return { summary: rolloutSummary(act, status, deployment, deployedAt, steps), status, steps, seen };
}

/** After an abort: keep watching (bounded) until the new version is retired, printing what happens. */
async function watchRetirement(config: ScenarioConfig, act: Act, feed: ChangeFeed, load: LoadGenerator | null, result: ActResult): Promise<void> {
  await watchRollout(config.client, act.deployment, {
    feed,
    seen: result.seen,
    signal: config.signal,
    timeoutMs: Math.max(Math.min(8000, config.deadline - Date.now()), 500),
    until: (status) => status.retirements.every((retirement) => retirement.retiredAt !== null),
    onStatus: (status) => load?.setSegment(segmentKey(act, status)),
    onItem: (item, status) => config.say(item.kind === 'event' ? eventLine(item.event, status, result.steps, config.origin) : measurementLine(item.group, status, result.steps, config.origin)),
  }).catch((error: unknown) => {
    if (config.signal.aborted) throw new DemoInterrupted('interrupted');
    // Not retired in time: the summary does not depend on it, and shutdown stops it anyway.
    config.say(`  (${(error as Error).message})`);
  });
}

function rolloutSummary(act: Act, status: RolloutStatus, deployment: ApiObject, fallbackDeployedAt: number, steps: readonly PlanStep[]): RolloutSummary {
  const createdAt = Date.parse(deployment.metadata.createdAt);
  const deployedAt = Number.isFinite(createdAt) ? createdAt : fallbackDeployedAt;
  const shifted = status.history.find((event) => event.type === 'TrafficShifted' && weightAfter(event, steps) > 0);
  const aborted = status.history.find((event) => event.type === 'Aborted');
  const canaryTrafficAt = shifted?.at ?? null;
  const weightZeroAt = status.abort?.at ?? aborted?.at ?? null;
  const measurements = status.analysisRuns.flatMap((run) => run.metrics.flatMap((metric) => metric.measurements));
  return {
    act: act.act,
    deployment: act.deployment,
    version: act.version,
    expected: act.expected,
    strategy: status.strategy,
    phase: status.phase,
    message: status.message,
    abort: status.abort ? { reason: status.abort.reason, message: status.abort.message, at: status.abort.at } : null,
    deployedAt,
    promotedAt: status.promotedAt,
    finishedAt: status.finishedAt,
    decisionMs: status.phase === 'Healthy' && status.promotedAt !== null ? status.promotedAt - deployedAt : null,
    reactionMs: status.phase === 'Aborted' && canaryTrafficAt !== null && weightZeroAt !== null ? weightZeroAt - canaryTrafficAt : null,
    canaryTrafficAt,
    weightZeroAt: status.phase === 'Aborted' ? weightZeroAt : null,
    measurements: { total: measurements.length, failed: measurements.filter((m) => m.phase === 'Failed').length },
    analysisRuns: status.analysisRuns.length,
    failedMetrics: failedMetrics(status),
    evidence: lastEvidence(status),
  };
}

/** Each metric's last judged evidence in the last analysis run that judged anything. */
function lastEvidence(status: RolloutStatus): RolloutSummary['evidence'] {
  const run = status.analysisRuns.findLast((candidate) => candidate.metrics.some((metric) => metric.measurements.length > 0));
  return (run?.metrics ?? []).flatMap((metric) => {
    const summary = summarizeEvidence(metric.measurements.at(-1)?.details);
    return summary ? [{ metric: metric.name, summary }] : [];
  });
}

function failedMetrics(status: RolloutStatus): FailedMetricSummary[] {
  const run = status.analysisRuns.find((candidate) => candidate.phase === 'Failed');
  return (run?.metrics ?? [])
    .filter((metric) => metric.phase === 'Failed' || metric.phase === 'Error')
    .map((metric) => {
      const measurement = metric.measurements.findLast((m) => m.phase === 'Failed') ?? metric.measurements.at(-1) ?? null;
      return {
        metric: metric.key,
        phase: metric.phase,
        condition: measurement?.inputs.successCondition ?? metric.settings.successCondition ?? metric.settings.failureCondition,
        evidence: summarizeEvidence(measurement?.details) || null,
        measurement: measurement && {
          seq: measurement.seq,
          phase: measurement.phase,
          window: { ...measurement.window },
          message: measurement.message,
          canary: sampleSummary(measurement.inputs.canary),
          baseline: sampleSummary(measurement.inputs.baseline),
        },
      };
    });
}

async function buildSummary(
  config: ScenarioConfig,
  parts: { rollouts: RolloutSummary[]; load: LoadGenerator | null; routerUrl: string | null; finalBurst: DemoSummary['finalBurst']; failure: string | null },
): Promise<DemoSummary> {
  const { rollouts, load, finalBurst } = parts;
  const exposition = await config.dataPlane.prometheus(DEMO_SERVICE).catch(() => null);
  const numbers = exposition ? routerNumbers(exposition) : { byVersion: {}, canaryWeight: null };
  const service = await config.client.get('Service', DEMO_SERVICE).catch(() => null);
  const environments = (service?.status as { environments?: Record<string, { stableVersion?: string }> } | null)?.environments;
  const stableVersion = environments?.default?.stableVersion ?? null;

  const trafficShares: TrafficShare[] = (load?.allSegments() ?? []).map((segment) => {
    const [act, version, weight, stage] = segment.key.split('|') as [string, string, string, string];
    const versionRequests = segment.byVersion[version] ?? 0;
    return { act, version, weight: Number(weight), stage: stage === 'after' || stage === 'starting' ? stage : null, requests: segment.requests, versionRequests, observedPercent: segment.requests > 0 ? (versionRequests / segment.requests) * 100 : null };
  });

  const v2 = rollouts.find((r) => r.act === 'v2');
  const v3 = rollouts.find((r) => r.act === 'v3');
  let reason = parts.failure;
  if (!reason) {
    if (v2?.phase !== 'Healthy') reason = `v2 ended ${v2?.phase ?? 'not deployed'}, expected Healthy`;
    else if (v3?.phase !== 'Aborted' || v3.abort?.reason !== 'AnalysisFailed') reason = `v3 ended ${v3?.phase ?? 'not deployed'}${v3?.abort ? ` (${v3.abort.reason})` : ''}, expected Aborted (AnalysisFailed)`;
    else if (!finalBurst) reason = 'the router was not checked';
    else if (finalBurst.errors > 0 || (finalBurst.byVersion[v2.version] ?? 0) !== finalBurst.requests) {
      reason = `the router does not send everything to ${v2.version}: final burst answered by ${JSON.stringify(finalBurst.byVersion)} with ${finalBurst.errors} errors`;
    } else if (numbers.canaryWeight !== null && numbers.canaryWeight !== 0) reason = `the router's canary weight is ${numbers.canaryWeight}%, expected 0`;
    else if (stableVersion !== v2.version) reason = `the service's stable version is ${stableVersion ?? 'unknown'}, expected ${v2.version}`;
  }
  const counts = load?.counts;
  return {
    ok: reason === null,
    reason,
    totalMs: Date.now() - config.origin,
    controlPlane: { ...config.controlPlane, kept: false },
    routerUrl: parts.routerUrl,
    rollouts,
    promoted: v2?.phase === 'Healthy' ? v2.version : null,
    rolledBack: v3?.phase === 'Aborted' ? v3.version : null,
    clients: {
      rate: config.rate,
      sent: counts?.sent ?? 0,
      answered: counts?.answered ?? 0,
      errors: counts?.errors ?? 0,
      failed: counts?.failed ?? 0,
      skipped: counts?.skipped ?? 0,
      byVersion: Object.fromEntries(Object.entries(counts?.byVersion ?? {}).map(([version, c]) => [version, { requests: c.requests, errors: c.errors }])),
    },
    router: { byVersion: numbers.byVersion, canaryWeight: numbers.canaryWeight, stableVersion },
    trafficShares,
    finalBurst,
  };
}
