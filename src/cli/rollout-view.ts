/**
 * How `rollgate rollout status` and `rollout history` show a Deployment's rollout. Pure: the
 * output depends only on the Deployment, `now` and the options, so it is tested with statuses
 * produced by the real decide().
 */
import { summarizeEvidence } from '../core/analysis/sequential/judge.js';
import type { AnalysisRunStatus, Measurement, MetricRunStatus, Sample } from '../core/analysis/types.js';
import { readDeploymentStatus, type DeploymentStatus } from '../core/rollout/deployment-status.js';
import { buildPlan } from '../core/rollout/plan.js';
import { parseRolloutStatus } from '../core/rollout/status-schema.js';
import type { RolloutPhase, RolloutStatus } from '../core/rollout/types.js';
import { renderTable } from './output.js';

/** The parts of an API object the views read (structurally an `ApiObject` of the client). */
export interface DeploymentView {
  metadata: { name: string; createdAt: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  status: Record<string, unknown> | null;
}

export interface RenderOptions {
  /** ms since epoch, or a Date: relative times ("12s ago") are computed from it. */
  now: number | Date;
  /** ANSI colours. */
  color: boolean;
  /** Clock times in UTC instead of the local time zone (tests). */
  utc?: boolean;
  /** History events shown (default 6). */
  events?: number;
}

/**
 * A Deployment's phase: the rollout's; `Pending` until the engine's first pass; `Failed` when the
 * rollout could not start at all (its service, strategy or templates do not resolve).
 */
export type DeploymentPhase = RolloutPhase | 'Pending' | 'Failed';

export const FINISHED_PHASES: ReadonlySet<DeploymentPhase> = new Set(['Healthy', 'Aborted', 'Degraded', 'Failed']);

export function deploymentPhase(deployment: DeploymentView): DeploymentPhase {
  const status = readDeploymentStatus(deployment.status);
  return status.rollout?.phase ?? (status.failure ? 'Failed' : 'Pending');
}

// ---------------------------------------------------------------------------------------------
// Formatting helpers

const ANSI = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Style = keyof typeof ANSI;

function painter(color: boolean) {
  return (text: string, ...styles: Style[]): string => (color && styles.length > 0 ? `\x1b[${styles.map((style) => ANSI[style]).join(';')}m${text}\x1b[0m` : text);
}

const PHASE_STYLE: Record<DeploymentPhase, Style> = { Failed: 'red', Pending: 'blue', Progressing: 'cyan', Paused: 'yellow', Healthy: 'green', Aborted: 'red', Degraded: 'red' };
const RUN_STYLE: Record<string, Style> = { Running: 'cyan', Successful: 'green', Failed: 'red', Error: 'red', Inconclusive: 'yellow', NoData: 'yellow', Terminated: 'dim' };

/** `950ms`, `12s`, `2m05s`, `1h04m`, `3d2h`. */
export function formatDuration(ms: number): string {
  const abs = Math.max(0, Math.round(ms));
  if (abs < 1000) return `${abs}ms`;
  const seconds = Math.floor(abs / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${hours % 24}h`;
}

/** `12s ago` / `in 1m30s` / `now`. */
export function relative(at: number, now: number): string {
  const delta = now - at;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

function clock(at: number, utc: boolean): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return '?';
  const [h, m, s] = utc ? [date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()] : [date.getHours(), date.getMinutes(), date.getSeconds()];
  return `${[h, m, s].map((part) => String(part).padStart(2, '0')).join(':')}${utc ? 'Z' : ''}`;
}

const percent = (value: number): string => `${(value * 100).toFixed(2)}%`;
const latency = (seconds: number): string => (seconds >= 1 ? `${seconds.toFixed(2)}s` : `${(seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0)}ms`);
const number = (value: number): string => (Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4))));

const LATENCY_FIELDS = ['p50', 'p90', 'p95', 'p99', 'max', 'mean'] as const;
type Field = 'errorRate' | 'requests' | 'errors' | 'value' | (typeof LATENCY_FIELDS)[number];

function fieldValue(sample: Sample | null, field: Field): string {
  if (!sample) return 'no data';
  switch (field) {
    case 'errorRate':
      return sample.errorRate === null ? '-' : percent(sample.errorRate);
    case 'requests':
      return String(sample.requests);
    case 'errors':
      return String(sample.errors);
    case 'value':
      return sample.value === undefined || sample.value === null ? '-' : number(sample.value);
    default:
      return sample.latency ? latency(sample.latency[field]) : '-';
  }
}

/** The sample fields the conditions read (`canary.p99`, `baseline.errorRate`, `result.value`, ...), else errorRate and p99. */
export function fieldsOf(conditions: Array<string | null>): Field[] {
  const found = new Set<Field>();
  for (const condition of conditions) {
    for (const match of (condition ?? '').matchAll(/\b(canary|baseline|result)\.([A-Za-z0-9]+)/g)) {
      const name = match[2]!;
      if (name === 'latency') found.add('p99');
      else if (name === 'errorRate' || name === 'requests' || name === 'errors' || name === 'value' || (LATENCY_FIELDS as readonly string[]).includes(name)) found.add(name as Field);
    }
  }
  if (found.size === 0) return ['errorRate', 'p99'];
  return [...found];
}

// ---------------------------------------------------------------------------------------------
// rollout status

interface Ctx {
  now: number;
  utc: boolean;
  paint: ReturnType<typeof painter>;
}

const LABEL_WIDTH = 12;

/** The whole status view of one Deployment. */
export function renderRolloutStatus(deployment: DeploymentView, options: RenderOptions): string {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const ctx: Ctx = { now, utc: options.utc ?? false, paint: painter(options.color) };
  const { paint } = ctx;
  const field = (label: string, value: string) => `${paint(`${label}:`.padEnd(LABEL_WIDTH), 'bold')}${value}`;
  const spec = deployment.spec as { service?: string; environment?: string; version?: string; artifact?: { digest?: string }; release?: string; strategy?: string };
  const status = readDeploymentStatus(deployment.status);
  const lines: string[] = [];

  const where = [
    `service ${spec.service ?? '?'}`,
    `environment ${spec.environment ?? 'default'}`,
    `version ${spec.version ?? '?'}`,
    ...(spec.release ? [`release ${spec.release}`] : []),
    ...(spec.artifact?.digest ? [`artifact ${spec.artifact.digest.slice(0, 19)}…`] : []),
  ].join(' · ');
  lines.push(field('Deployment', `${paint(deployment.metadata.name, 'bold')}  (${where})`));

  if (status.rollout === null) {
    const created = Date.parse(deployment.metadata.createdAt);
    if (status.failure) lines.push(field('Phase', `${paint('Failed', PHASE_STYLE.Failed, 'bold')} — the rollout cannot start: ${status.failure.message}`));
    else lines.push(field('Phase', `${paint('Pending', PHASE_STYLE.Pending, 'bold')} — waiting for the engine to start the rollout${Number.isNaN(created) ? '' : ` (created ${relative(created, now)})`}`));
    lines.push(...blockedLines(status, ctx, field));
    lines.push(...operationLines(status, ctx, field));
    return lines.join('\n');
  }
  const parsed = parseRolloutStatus(status.rollout);
  if (!parsed.ok) {
    const phase = (status.rollout as { phase?: string }).phase ?? '?';
    lines.push(field('Phase', `${phase} — the stored rollout status cannot be read (${parsed.error})`));
    return lines.join('\n');
  }
  const rollout = parsed.status;

  lines.push(field('Phase', `${paint(rollout.phase, PHASE_STYLE[rollout.phase], 'bold')} — ${rollout.message}`));
  const strategy = rollout.strategy === 'direct' ? 'direct (no steps, no analysis)' : rollout.strategy === 'blueGreen' ? 'blue-green' : 'canary';
  const timing = rollout.finishedAt !== null ? `finished ${relative(rollout.finishedAt, now)} after ${formatDuration(rollout.finishedAt - rollout.startedAt)}` : `running for ${formatDuration(now - rollout.startedAt)}`;
  lines.push(field('Strategy', `${strategy}${spec.strategy ? ` (${spec.strategy})` : ''} · attempt ${rollout.attempt} · started ${clock(rollout.startedAt, ctx.utc)} · ${timing}`));
  lines.push(field('Versions', versionsLine(rollout, ctx)));
  lines.push(field('Traffic', trafficLine(rollout, ctx)));
  lines.push(...stepLines(rollout, status, ctx, field));
  lines.push(...blockedLines(status, ctx, field));
  if (rollout.pause) lines.push(field('Pause', pauseLine(rollout, spec.service ?? 'SERVICE', ctx)));
  if (rollout.abort) {
    const { abort } = rollout;
    lines.push(field(rollout.phase === 'Degraded' ? 'Degraded' : 'Aborted', `${paint(abort.reason, 'red')} by ${abort.actor} at ${clock(abort.at, ctx.utc)} (${relative(abort.at, now)}): ${abort.message}`));
  }
  const retiring = rollout.retirements.filter((retirement) => retirement.retiredAt === null);
  if (retiring.length > 0) {
    lines.push(field('Retiring', retiring.map((retirement) => `${retirement.version} ${retirement.notBefore > now ? relative(retirement.notBefore, now) : 'once traffic left it'} (${retirement.reason})`).join('; ')));
  }
  lines.push(...analysisLines(rollout, ctx));
  lines.push(...operationLines(status, ctx, field));
  lines.push(...eventLines(rollout, ctx, options.events ?? 6));
  return lines.join('\n');
}

/** Why the engine cannot take the next step (a secret that does not resolve yet); it keeps trying. */
function blockedLines(status: DeploymentStatus, ctx: Ctx, field: (label: string, value: string) => string): string[] {
  if (!status.blocked) return [];
  const since = Date.parse(status.blocked.at);
  const when = Number.isNaN(since) ? '' : ` since ${clock(since, ctx.utc)} (${relative(since, ctx.now)})`;
  return [field('Blocked', `${ctx.paint(status.blocked.message, 'red')}${when}; the engine tries again by itself`)];
}

function versionsLine(rollout: RolloutStatus, ctx: Ctx): string {
  const { paint } = ctx;
  const newVersion = rollout.newVersion;
  const state = newVersion.state ? ` (${newVersion.state}${newVersion.message ? `: ${newVersion.message}` : ''})` : newVersion.ensuredAt !== null ? ' (starting)' : '';
  if (rollout.phase === 'Healthy') {
    return `stable ${paint(rollout.stableVersion ?? '-', 'green')}${rollout.previousStableVersion && rollout.previousStableVersion !== rollout.stableVersion ? ` · previous ${rollout.previousStableVersion}` : ''}`;
  }
  return `stable ${paint(rollout.stableVersion ?? 'none (first deploy)', 'green')} · canary ${paint(rollout.canaryVersion, 'cyan')}${state}`;
}

function trafficLine(rollout: RolloutStatus, ctx: Ctx): string {
  const { paint } = ctx;
  const width = 20;
  const filled = Math.round((Math.min(100, Math.max(0, rollout.canaryWeight)) / 100) * width);
  const bar = `[${paint('█'.repeat(filled), 'cyan')}${paint('░'.repeat(width - filled), 'dim')}]`;
  const who = rollout.phase === 'Healthy' ? `${rollout.canaryVersion} serves 100%` : `canary ${rollout.canaryWeight}% · stable ${100 - rollout.canaryWeight}%`;
  const route = rollout.headerRoute
    ? ` · header route ${rollout.headerRoute.name} (${rollout.headerRoute.match
        .map((match) => `${match.headerName} ${match.exact !== undefined ? `= "${match.exact}"` : match.prefix !== undefined ? `starts with "${match.prefix}"` : `~ /${match.regex ?? ''}/`}`)
        .join(', ')})`
    : '';
  return `${bar} ${who}${route}`;
}

/** Step labels from the resolved spec (the same plan the engine walks); null when unknown. */
function stepLabels(status: DeploymentStatus): string[] | null {
  if (!status.resolved) return null;
  const plan = buildPlan(status.resolved);
  return plan.ok ? plan.plan.steps.map((step) => step.label) : null;
}

function stepLines(rollout: RolloutStatus, status: DeploymentStatus, ctx: Ctx, field: (label: string, value: string) => string): string[] {
  const { paint } = ctx;
  if (rollout.stepCount === 0) return [field('Steps', rollout.strategy === 'direct' ? 'none: deployed directly, marked stable once ready' : 'none')];
  const labels = stepLabels(status);
  const stopped = rollout.phase === 'Aborted' || rollout.phase === 'Degraded';
  const done = Math.min(rollout.stepIndex, rollout.stepCount);
  const marks: string[] = [];
  for (let index = 0; index < rollout.stepCount; index += 1) {
    if (index < done) marks.push(paint('■', 'green'));
    else if (index === done) marks.push(stopped ? paint('✗', 'red') : paint('▶', 'cyan', 'bold'));
    else marks.push(paint('□', 'dim'));
  }
  const summary = done >= rollout.stepCount ? `all ${rollout.stepCount} done` : `step ${done + 1} of ${rollout.stepCount}${stopped ? ' (stopped here)' : ''}`;
  const lines = [field('Steps', `${marks.join('')}  ${summary}`)];
  if (labels && labels.length === rollout.stepCount) {
    labels.forEach((label, index) => {
      const number = `${index + 1}.`.padStart(String(rollout.stepCount).length + 1);
      if (index < done) lines.push(`  ${paint('✓', 'green')} ${number} ${label}`);
      else if (index === done) lines.push(`  ${stopped ? paint('✗', 'red') : paint('▶', 'cyan')} ${number} ${paint(label, 'bold')}${stopped ? '' : `  ${paint(`(for ${formatDuration(ctx.now - rollout.step.startedAt)})`, 'dim')}`}`);
      else lines.push(`  ${paint('·', 'dim')} ${number} ${paint(label, 'dim')}`);
    });
  } else if (rollout.stepLabel) {
    lines.push(`  ${paint('▶', 'cyan')} ${done + 1}. ${rollout.stepLabel}`);
  }
  return lines;
}

function pauseLine(rollout: RolloutStatus, service: string, ctx: Ctx): string {
  const pause = rollout.pause!;
  const { paint } = ctx;
  const since = `since ${clock(pause.since, ctx.utc)} (${relative(pause.since, ctx.now)}) by ${pause.actor}`;
  let until: string;
  if (pause.reason === 'gate') {
    // Held by the governance gate: it opens by itself; resume and promote are refused meanwhile.
    const earliest = pause.until !== null ? ` (${clock(pause.until, ctx.utc)} at the earliest, ${relative(pause.until, ctx.now)})` : '';
    until = `until the governance gate opens${earliest}; abort still works`;
  } else if (pause.until !== null) until = `until ${clock(pause.until, ctx.utc)} (${relative(pause.until, ctx.now)})`;
  else if (pause.reason === 'pauseStep') until = `until promoted: rollgate rollout promote ${service}`;
  else until = `until resumed: rollgate rollout resume ${service} (or promote)`;
  return `${paint(pause.reason, 'yellow')} ${since}; ${until}`;
}

const MAX_RUNS_SHOWN = 4;

function runTitle(run: AnalysisRunStatus): string {
  const what =
    run.kind === 'step' ? `step ${(run.stepIndex ?? 0) + 1} analysis` : run.kind === 'background' ? 'background analysis' : run.kind === 'prePromotion' ? 'pre-promotion analysis' : 'post-promotion analysis';
  return `${what} (${run.templates.join(', ')})`;
}

function analysisLines(rollout: RolloutStatus, ctx: Ctx): string[] {
  const { paint } = ctx;
  const runs = rollout.analysisRuns.filter((run) => run.attempt === rollout.attempt);
  if (runs.length === 0) return [];
  const shown = runs.slice(-MAX_RUNS_SHOWN);
  const lines = ['', paint('Analysis', 'bold')];
  if (runs.length > shown.length) lines.push(`  ${paint(`(${runs.length - shown.length} earlier run(s) not shown)`, 'dim')}`);
  for (const run of shown) {
    const ended = run.finishedAt !== null ? `ended ${relative(run.finishedAt, ctx.now)}` : `started ${relative(run.startedAt, ctx.now)}`;
    lines.push(`  ${run.id}  ${runTitle(run)}  ${paint(run.phase, RUN_STYLE[run.phase] ?? 'dim', 'bold')}  ${paint(ended, 'dim')}${run.message && run.phase !== 'Running' ? ` — ${run.message}` : ''}`);
    const score = run.scores?.at(-1);
    if (score) lines.push(`    score ${paint(String(score.score), score.outcome === 'Pass' ? 'green' : score.outcome === 'Marginal' ? 'yellow' : 'red', 'bold')} (${score.outcome}) after interval ${score.interval} of ${score.template}${score.message ? ` — ${score.message}` : ''}`);
    for (const metric of run.metrics) lines.push(...metricLines(metric, ctx, run.message));
  }
  return lines;
}

function metricLines(metric: MetricRunStatus, ctx: Ctx, runMessage: string | null): string[] {
  const { paint } = ctx;
  const settings = metric.settings;
  const progress = settings.count === null ? `${metric.counted} measured (until the rollout ends)` : `${metric.counted}/${settings.count} measured`;
  const next = metric.nextMeasurementAt !== null && metric.phase === 'Running' ? ` · next ${relative(metric.nextMeasurementAt, ctx.now)}` : '';
  const lines = [`    ${paint(metric.key, 'bold')}  ${paint(metric.phase, RUN_STYLE[metric.phase] ?? 'dim')}  ${progress}${next}${metric.message && metric.message !== runMessage ? ` — ${metric.message}` : ''}`];
  const ack = metric.acknowledged;
  const counts = [
    `${paint(String(metric.successful), 'green')} successful`,
    `${paint(String(metric.failed), metric.failed > settings.failureLimit ? 'red' : metric.failed > 0 ? 'yellow' : 'dim')} failed (limit ${settings.failureLimit})`,
    `${metric.inconclusive} inconclusive (limit ${settings.inconclusiveLimit}${ack.inconclusive > 0 ? `, ${ack.inconclusive} acknowledged` : ''})`,
    `${metric.errors} error${metric.errors === 1 ? '' : 's'} (${metric.consecutiveErrors} in a row, limit ${settings.consecutiveErrorLimit})`,
    ...(metric.noData > 0 ? [`${metric.noData} no data (${settings.noDataPolicy}${ack.noData > 0 ? `, ${ack.noData} acknowledged` : ''})`] : []),
  ];
  lines.push(`      verdicts: ${counts.join(' · ')}`);
  const latest = metric.measurements[metric.measurements.length - 1];
  if (latest) lines.push(...measurementLines(latest, ctx));
  else if (metric.phase === 'Running') lines.push(`      ${paint('no measurement yet', 'dim')}`);
  return lines;
}

function measurementLines(measurement: Measurement, ctx: Ctx): string[] {
  const { paint } = ctx;
  const { inputs } = measurement;
  const window = formatDuration(measurement.window.endMs - measurement.window.startMs);
  const head = `      latest #${measurement.seq}: ${paint(measurement.phase, RUN_STYLE[measurement.phase] ?? 'dim')}${measurement.countedAs !== measurement.phase.toLowerCase() ? ` (counted as ${measurement.countedAs})` : ''} · ${window} window ending ${clock(measurement.window.endMs, ctx.utc)} (${relative(measurement.takenAt, ctx.now)})`;
  const lines = [head];
  // What the conditions read first, then the error rate and p99 whenever the samples have them.
  const fields = [...new Set<Field>([...fieldsOf([inputs.successCondition, inputs.failureCondition]), 'errorRate', 'p99'])].filter(
    (name) => fieldValue(inputs.canary, name) !== '-' || fieldValue(inputs.baseline, name) !== '-',
  );
  if (inputs.canary || inputs.baseline) {
    const values = fields.map((name) => `${name} ${paint(fieldValue(inputs.canary, name), 'bold')} vs ${fieldValue(inputs.baseline, name)}`);
    const requests = fields.includes('requests') ? '' : ` · requests ${fieldValue(inputs.canary, 'requests')} vs ${fieldValue(inputs.baseline, 'requests')}`;
    lines.push(`        canary vs baseline: ${values.join(' · ')}${requests}`);
  }
  const conditions = [
    ...(inputs.successCondition ? [`success: ${inputs.successCondition}`] : []),
    ...(inputs.failureCondition ? [`failure: ${inputs.failureCondition}`] : []),
  ];
  if (conditions.length > 0) lines.push(`        ${paint(conditions.join(' · '), 'dim')}`);
  if (measurement.message) lines.push(`        ${measurement.message}`);
  const evidence = judgeEvidence(measurement.details);
  if (evidence) lines.push(`        evidence: ${evidence}`);
  return lines;
}

/** The judge's evidence in one line: sequential e-values and intervals, or the Mann-Whitney classification. */
function judgeEvidence(details: Measurement['details']): string {
  const sequential = summarizeEvidence(details);
  if (sequential) return sequential;
  const classification = details?.['classification'];
  if (typeof classification !== 'string') return '';
  const interval = Array.isArray(details?.['interval']) ? `[${(details['interval'] as unknown[]).map(String).join(', ')}]` : '';
  const points = details?.['points'] as { canary?: number; baseline?: number } | undefined;
  return `${classification}${details?.['critical'] === true ? ' (critical)' : ''}: Hodges–Lehmann ${String(details?.['hodgesLehmann'] ?? '-')} ${interval} at ${String(details?.['confidence'] ?? '-')}, mean ratio ${String(details?.['effectSize'] ?? '-')}${points ? `, ${points.canary ?? 0} vs ${points.baseline ?? 0} points` : ''}`;
}

function operationLines(status: DeploymentStatus, ctx: Ctx, field: (label: string, value: string) => string): string[] {
  const { paint } = ctx;
  const lines: string[] = [];
  if (status.pendingOperations.length > 0) {
    lines.push(
      field(
        'Queued',
        status.pendingOperations
          .map((operation) => `${operation.type} by ${operation.actor} ${relative(operation.requestedAt, ctx.now)}${operation.reason ? ` ("${operation.reason}")` : ''}`)
          .join('; '),
      ),
    );
  }
  const last = status.operationResults[status.operationResults.length - 1];
  if (last) {
    const verdict = last.accepted ? paint('accepted', 'green') : paint('rejected', 'red');
    lines.push(field('Last op', `${last.type} by ${last.actor} ${verdict} ${relative(last.handledAt, ctx.now)}: ${last.message}`));
  }
  return lines;
}

const EVENT_STYLE: Partial<Record<string, Style>> = { Aborted: 'red', Degraded: 'red', OperationRejected: 'red', Promoted: 'green', AnalysisCompleted: 'magenta', Paused: 'yellow', Resumed: 'yellow' };

function eventLines(rollout: RolloutStatus, ctx: Ctx, count: number): string[] {
  const { paint } = ctx;
  const events = rollout.history.slice(-count);
  if (events.length === 0 || count <= 0) return [];
  const width = Math.max(...events.map((event) => event.type.length));
  return [
    '',
    paint('Events', 'bold') + (rollout.history.length > events.length ? paint(` (last ${events.length} of ${rollout.eventSeq})`, 'dim') : ''),
    ...events.map((event) => {
      const who = event.actor !== 'system' ? ` (${event.actor})` : '';
      return `  ${clock(event.at, ctx.utc)}  ${paint(event.type.padEnd(width), EVENT_STYLE[event.type] ?? 'dim')}  ${event.message}${who}`;
    }),
  ];
}

// ---------------------------------------------------------------------------------------------
// rollout history

const truncate = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** `rollout history`: one row per Deployment, newest first as given. */
export function renderRolloutHistory(deployments: readonly DeploymentView[], options: { now: number | Date }): string {
  const now = typeof options.now === 'number' ? options.now : options.now.getTime();
  const rows = deployments.map((deployment) => {
    const spec = deployment.spec as { version?: string; environment?: string };
    const stored = readDeploymentStatus(deployment.status);
    const rollout = stored.rollout;
    const created = Date.parse(deployment.metadata.createdAt);
    if (!rollout) {
      const message = stored.failure ? `cannot start: ${stored.failure.message}` : stored.blocked ? `blocked: ${stored.blocked.message}` : 'waiting for the engine';
      return [deployment.metadata.name, spec.environment ?? 'default', spec.version ?? '-', stored.failure ? 'Failed' : 'Pending', Number.isNaN(created) ? '-' : `created ${relative(created, now)}`, '-', truncate(message, 80)];
    }
    const duration = rollout.finishedAt !== null ? formatDuration(rollout.finishedAt - rollout.startedAt) : `${formatDuration(now - rollout.startedAt)} so far`;
    return [deployment.metadata.name, spec.environment ?? 'default', spec.version ?? '-', rollout.phase, relative(rollout.startedAt, now), duration, truncate(rollout.message, 80)];
  });
  return renderTable(['NAME', 'ENVIRONMENT', 'VERSION', 'PHASE', 'STARTED', 'DURATION', 'MESSAGE'], rows);
}
