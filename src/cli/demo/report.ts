/**
 * What `rollgate demo` prints: one line per rollout event or analysis measurement while it runs,
 * and the summary at the end (text, or the `DemoSummary` object itself for `--output json`).
 * Pure formatting: no I/O here.
 */
import type { Sample } from '../../core/analysis/types.js';
import type { PlanStep, RolloutEvent, RolloutStatus } from '../../core/rollout/index.js';
import type { MeasurementGroup } from './watch.js';
import { shortLabel, stepLabel, weightAfter } from './watch.js';

/** One measurement's inputs, as the summary shows them. */
export interface SampleSummary {
  requests: number;
  errors: number;
  errorRate: number | null;
  /** Seconds. */
  p99: number | null;
}

export interface FailedMetricSummary {
  /** `template/metric`. */
  metric: string;
  phase: string;
  condition: string | null;
  /** The judge's evidence in one line (sequential: e-values and effect intervals); null for threshold. */
  evidence: string | null;
  /** The last failed (or last) measurement of that metric. */
  measurement: {
    seq: number;
    phase: string;
    window: { startMs: number; endMs: number };
    message: string | null;
    canary: SampleSummary | null;
    baseline: SampleSummary | null;
  } | null;
}

export interface RolloutSummary {
  act: 'v1' | 'v2' | 'v3';
  deployment: string;
  version: string;
  /** What the demo expects of it. */
  expected: 'Healthy' | 'Aborted';
  strategy: string | null;
  phase: string;
  message: string;
  abort: { reason: string; message: string; at: number } | null;
  /** ms since epoch. */
  deployedAt: number;
  promotedAt: number | null;
  finishedAt: number | null;
  /** Deploy → Healthy (the promotion decision), ms. */
  decisionMs: number | null;
  /** First traffic on the new version → weight 0 (the abort), ms; aborted rollouts only. */
  reactionMs: number | null;
  canaryTrafficAt: number | null;
  weightZeroAt: number | null;
  measurements: { total: number; failed: number };
  analysisRuns: number;
  /** The metrics that failed the analysis, each with its last failed measurement's inputs. */
  failedMetrics: FailedMetricSummary[];
  /** The judge's evidence at each metric's last measurement of the last analysis run (why it passed). */
  evidence: Array<{ metric: string; summary: string }>;
}

export interface TrafficShare {
  act: string;
  version: string;
  /** Canary weight the control plane had set while these requests were sent. */
  weight: number;
  /** `starting`: before the new version took traffic; `after`: after the rollout was stopped; null: during. */
  stage: 'starting' | 'after' | null;
  requests: number;
  /** Of those, answered by `version`. */
  versionRequests: number;
  /** versionRequests / requests, percent; null without requests. */
  observedPercent: number | null;
}

export interface DemoSummary {
  ok: boolean;
  /** Why the demo failed; null when ok. */
  reason: string | null;
  totalMs: number;
  controlPlane: { url: string; dataDir: string; kept: boolean };
  routerUrl: string | null;
  rollouts: RolloutSummary[];
  promoted: string | null;
  rolledBack: string | null;
  clients: {
    rate: number;
    sent: number;
    answered: number;
    /** 5xx answers plus requests without an answer. */
    errors: number;
    /** No answer at all. */
    failed: number;
    skipped: number;
    byVersion: Record<string, { requests: number; errors: number }>;
  };
  /** From the router's Prometheus exposition. */
  router: { byVersion: Record<string, { requests: number; errors: number }>; canaryWeight: number | null; stableVersion: string | null };
  trafficShares: TrafficShare[];
  finalBurst: { requests: number; byVersion: Record<string, number>; errors: number } | null;
}

export const offset = (at: number, origin: number): string => `+${((at - origin) / 1000).toFixed(1)}s`;
export const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
export const percent = (rate: number | null | undefined): string => (rate === null || rate === undefined ? 'n/a' : `${(rate * 100).toFixed(1)}%`);
export const millis = (secondsValue: number | null | undefined): string => (secondsValue === null || secondsValue === undefined ? 'n/a' : `${Math.round(secondsValue * 1000)} ms`);
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, noun: string): string => `${count(n)} ${n === 1 ? noun : `${noun}s`}`;

export function sampleSummary(sample: Sample | null | undefined): SampleSummary | null {
  if (!sample) return null;
  return { requests: sample.requests, errors: sample.errors, errorRate: sample.errorRate, p99: sample.latency?.p99 ?? null };
}

/** `[███░░░]`: steps done out of the rollout's steps (a direct deploy has one). */
export function progressBar(done: number, total: number): string {
  const width = Math.max(total, 1);
  const filled = Math.max(0, Math.min(width, done));
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]`;
}

function barFor(status: Pick<RolloutStatus, 'stepCount' | 'phase'>, stepIndex: number, type?: string): string {
  if (status.stepCount === 0) return progressBar(status.phase === 'Healthy' || type === 'Promoted' ? 1 : 0, 1);
  return progressBar(type === 'Promoted' ? status.stepCount : stepIndex, status.stepCount);
}

const column = (text: string, width: number): string => (text.length >= width ? `${text} ` : text.padEnd(width));

/** `  +12.3s [██░░░░]  25%  setWeight 25     TrafficShifted   setWeight 25: 25%` */
export function eventLine(event: RolloutEvent, status: RolloutStatus, steps: readonly PlanStep[], origin: number): string {
  const weight = `${weightAfter(event, steps)}%`.padStart(4);
  return `  ${offset(event.at, origin).padStart(7)} ${barFor(status, event.stepIndex, event.type)} ${weight}  ${column(stepLabel(event, steps), 13)} ${column(event.type, 17)} ${event.message}`;
}

/** `  +13.4s [███░░░]  25%  analysis ...   measured   canary errorRate 0.0% vs baseline 0.1%, p99 12 ms vs 11 ms  ✓ error-rate ✓ p99-latency` */
export function measurementLine(group: MeasurementGroup, status: RolloutStatus, steps: readonly PlanStep[], origin: number): string {
  const stepIndex = group.stepIndex ?? status.stepIndex;
  const weight = `${weightAfter({ type: 'StepCompleted', stepIndex, phase: 'Progressing' }, steps)}%`.padStart(4);
  const step = steps[stepIndex];
  const label = step ? shortLabel(step) : 'analysis';
  // Every builtin sample carries errors and latency whatever the metric: take the richest one.
  const first = group.items[0]?.measurement.inputs;
  const canary = first?.canary ?? null;
  const baseline = first?.baseline ?? null;
  const numbers = `canary errorRate ${percent(canary?.errorRate)} vs baseline ${percent(baseline?.errorRate)}, p99 ${millis(canary?.latency?.p99)} vs ${millis(baseline?.latency?.p99)} (${canary?.requests ?? 0} vs ${baseline?.requests ?? 0} req)`;
  const verdicts = group.items
    .map(({ metric, measurement }) => {
      // A sequential judge's "no alarm yet" counts toward the horizon but is not yet a pass.
      const running = measurement.details?.['verdict'] === 'running';
      const mark = running ? '…' : verdictMark(measurement.phase);
      const note = running ? '' : measurement.phase === 'Successful' || measurement.phase === 'Failed' ? '' : ` (${measurement.phase})`;
      return `${mark} ${metric.name}${note}`;
    })
    .join(' ');
  return `  ${offset(group.takenAt, origin).padStart(7)} ${barFor(status, stepIndex)} ${weight}  ${column(label, 13)} ${column('measured', 17)} ${numbers}  ${verdicts}`;
}

const verdictMark = (phase: string): string => (phase === 'Successful' ? '✓' : phase === 'Failed' ? '✗' : '?');

/** Two lines per failed metric: the numbers it judged, and the condition that did not hold. */
function conditionWhy(failed: FailedMetricSummary): string[] {
  const m = failed.measurement;
  if (!m) return [`why: ${failed.metric} ${failed.phase.toLowerCase()}`];
  const c = m.canary;
  const b = m.baseline;
  const window = `${((m.window.endMs - m.window.startMs) / 1000).toFixed(1)} s window`;
  const errors = `canary errorRate ${percent(c?.errorRate)} (${c?.errors ?? 0} of ${plural(c?.requests ?? 0, 'request')}) vs baseline ${percent(b?.errorRate)} (${b?.errors ?? 0} of ${count(b?.requests ?? 0)})`;
  const latency = `canary p99 ${millis(c?.p99)} vs baseline ${millis(b?.p99)} (${plural(c?.requests ?? 0, 'request')} vs ${count(b?.requests ?? 0)})`;
  const condition = failed.condition ?? '';
  const numbers = /errorRate|errors/.test(condition) && !/p\d\d|latency/.test(condition) ? errors : /p\d\d|latency/.test(condition) && !/errorRate|errors/.test(condition) ? latency : `${errors}; ${latency}`;
  const lines = [`why: ${failed.metric} ${m.phase.toLowerCase()} on measurement ${m.seq}: ${numbers} in a ${window}`];
  if (failed.condition) lines.push(`     condition ${failed.condition} → false`);
  if (failed.evidence) lines.push(`     evidence: ${failed.evidence}`);
  if (m.message) lines.push(`     ${m.message}`);
  return lines;
}

/** The summary as text lines. */
export function summaryLines(summary: DemoSummary, origin: number): string[] {
  const lines: string[] = ['', 'Summary'];
  const v2 = summary.rollouts.find((r) => r.act === 'v2');
  const v3 = summary.rollouts.find((r) => r.act === 'v3');
  const label = (text: string) => `  ${text.padEnd(18)}`;
  const indent = ' '.repeat(20);

  if (v2) {
    if (v2.phase === 'Healthy') {
      lines.push(`${label('promoted')}${v2.version}: deploy → promoted in ${seconds(v2.decisionMs)} (${v2.analysisRuns} analysis runs, ${v2.measurements.total} measurements, ${v2.measurements.failed === 0 ? 'all passed' : `${v2.measurements.failed} failed`})`);
      for (const { metric, summary } of v2.evidence) lines.push(`${indent}evidence ${metric}: ${summary}`);
    } else {
      lines.push(`${label('NOT promoted')}${v2.version}: ${v2.phase}${v2.abort ? ` (${v2.abort.reason})` : ''}: ${v2.message}`);
    }
  }
  if (v3) {
    if (v3.phase === 'Aborted') {
      lines.push(`${label('rolled back')}${v3.version}: Aborted (${v3.abort?.reason ?? '?'}) by analysis, reaction ${seconds(v3.reactionMs)}: traffic at ${v3.canaryTrafficAt ? offset(v3.canaryTrafficAt, origin) : '-'}, weight 0 at ${v3.weightZeroAt ? offset(v3.weightZeroAt, origin) : '-'}`);
      for (const failed of v3.failedMetrics) for (const line of conditionWhy(failed)) lines.push(`${indent}${line}`);
      if (v3.failedMetrics.length === 0 && v3.abort) lines.push(`${indent}${v3.abort.message}`);
    } else {
      lines.push(`${label('NOT rolled back')}${v3.version}: ${v3.phase}: ${v3.message}`);
    }
  }

  if (summary.trafficShares.length > 0) {
    lines.push(`${label('traffic share')}as clients saw it (X-Rollgate-Version), per weight the control plane had set:`);
    for (const share of summary.trafficShares) {
      const observed = share.observedPercent === null ? 'n/a' : `${share.observedPercent.toFixed(1)}%`;
      const when = share.stage === 'starting' ? ' (starting)' : share.stage === 'after' ? ' (after abort)' : '';
      lines.push(`${indent}${`${share.act} ${share.version} at ${share.weight}%${when}`.padEnd(30)} ${observed.padStart(6)} of ${count(share.requests).padStart(5)} requests answered by ${share.version}`);
    }
  }

  const versions = Object.keys({ ...summary.clients.byVersion, ...summary.router.byVersion }).sort();
  if (versions.length > 0) {
    const served = versions.map((v) => `${v}: ${count(summary.router.byVersion[v]?.requests ?? 0)}`).join(', ');
    lines.push(`${label('requests served')}${served} (router counters, final burst included; load: ${count(summary.clients.answered)} answered of ${count(summary.clients.sent)} sent at ${summary.clients.rate}/s)`);
    const byVersion = versions.filter((v) => (summary.clients.byVersion[v]?.errors ?? 0) > 0).map((v) => `${v}: ${count(summary.clients.byVersion[v]!.errors)}`);
    const noAnswer = summary.clients.failed > 0 ? `, ${count(summary.clients.failed)} without an answer` : '';
    lines.push(`${label('errors seen')}${count(summary.clients.errors)} by clients${byVersion.length > 0 ? ` (${byVersion.join(', ')}${noAnswer})` : noAnswer}`);
  }
  if (summary.finalBurst) {
    const answered = Object.entries(summary.finalBurst.byVersion).map(([v, n]) => `${n} by ${v}`).join(', ') || 'none answered';
    lines.push(
      `${label('router now')}stable ${summary.router.stableVersion ?? '?'}, canary weight ${summary.router.canaryWeight ?? '?'}%; final burst of ${summary.finalBurst.requests}: ${answered}${summary.finalBurst.errors ? `, ${summary.finalBurst.errors} errors` : ''}`,
    );
  }
  lines.push(`${label('result')}${summary.ok ? `OK: ${summary.promoted} promoted, ${summary.rolledBack} rolled back by analysis, 100% of traffic on ${summary.promoted}` : `FAILED: ${summary.reason}`}`);
  lines.push(`Total time ${seconds(summary.totalMs)}`);
  return lines;
}
