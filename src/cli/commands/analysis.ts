/**
 * `rollgate analysis replay -f TEMPLATE.yaml --samples FILE.jsonl`: evaluates an AnalysisTemplate
 * over recorded per-window samples, offline (no server), with the same run machinery and judges
 * the engine uses, and prints the decision timeline. The decision is output, not an error: any
 * decision exits 0; bad input exits 1 with `file:line[:col]` messages and prints no result.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { checkAnalysisTemplate } from '../../core/analysis/judge.js';
import { parseSampleLines, replayAnalysis, type ReplayArm, type ReplayResult, type SampleRecord } from '../../core/analysis/replay.js';
import type { MeasurementCount, MeasurementPhase } from '../../core/analysis/types.js';
import type { AnalysisTemplateSpec } from '../../core/resources/analysis-template.js';
import { CliError, EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { checkManifests, formatIssue, issueAt, loadManifests, locate, STDIN_NAME, type ManifestDocument, type ManifestIssue } from '../manifests.js';
import { plural, renderTable } from '../output.js';

/** Bad sample lines reported at most (then a count of the rest). */
const MAX_SAMPLE_ISSUES = 50;

const REPLAY_HELP = `
Samples (JSON Lines, one object per line; blank lines are skipped):
  {"t": 10, "version": "canary", "requests": 200, "errors": 3, "latencyMs": [41, 57, 230]}
  t          seconds since the analysis started: the END of the record's own window
  version    "baseline" or "canary"
  requests   integer >= 0; errors: integer <= requests
  latencyMs  optional: latencies (milliseconds) of the window's requests, or of a sample of them
Each metric measures on its own interval: window k is (initialDelay + (k-1)*interval,
initialDelay + k*interval]; the records of a version in a window are summed. A version without a
record in a window has no data there. Windows are measured until the run passes, fails or waits
for a human, or the data ends (the largest t). A Prometheus metric reads the errorRate as its value.

Exit codes: 0 whatever the decision (pass, fail, inconclusive); 1 bad template or samples.

Examples:
  rollgate analysis replay -f examples/analysis/threshold.yaml --samples examples/analysis/bad-canary.jsonl
  rollgate analysis replay -f examples/analysis/sequential.yaml --samples examples/analysis/bad-canary.jsonl --output json`;

export function registerAnalysisCommands(program: Command, ctx: CliContext): void {
  const analysis = program.command('analysis').description('work with analysis templates offline (no server)');

  analysis
    .command('replay')
    .description('evaluate an AnalysisTemplate over recorded samples (JSON Lines) and print the decision timeline')
    .requiredOption('-f, --filename <file>', 'the AnalysisTemplate (YAML or JSON, one document; - for stdin)')
    .addOption(new Option('--samples <file>', 'recorded samples, JSON Lines (- for stdin)').makeOptionMandatory())
    .addHelpText('after', REPLAY_HELP)
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ filename: string; samples: string }>();
        if (options.filename === '-' && options.samples === '-') throw new UsageError('-f and --samples cannot both read stdin');
        const template = await loadTemplate(ctx, options.filename);
        const records = await loadSamples(ctx, options.samples);
        const result = replayAnalysis(template.spec, records, { templateName: template.name });
        const format = ctx.outputFormat(command);
        if (format === 'table') ctx.out(renderReplay(template, result));
        else ctx.printData(format, replayJson(result));
        return EXIT_CODES.ok;
      }),
    );
}

interface LoadedTemplate {
  name: string;
  spec: AnalysisTemplateSpec;
}

/**
 * Reads one AnalysisTemplate resource and validates it like `rollgate validate` (schemas), plus
 * the apply-time checks of its judge (CEL conditions, scoring settings); issues at file:line:col.
 */
async function loadTemplate(ctx: CliContext, file: string): Promise<LoadedTemplate> {
  const loaded = await loadManifests([file], { cwd: ctx.io.cwd, stdin: ctx.io.stdin });
  if (loaded.issues.length > 0) throw templateError(loaded.issues);
  const documents = loaded.documents;
  const name = file === '-' ? STDIN_NAME : file;
  if (documents.length === 0) throw new CliError(`no AnalysisTemplate in ${name}`);
  if (documents.length > 1) {
    const second = documents[1]!;
    const where = locate(second, []);
    throw templateError([{ file: second.file, ...where, message: `expected a single AnalysisTemplate document, found ${documents.length} documents` }]);
  }
  const document = documents[0]!;
  const kindIssue = kindProblem(document);
  if (kindIssue) throw templateError([kindIssue]);
  const checked = checkManifests([document]);
  if (checked.issues.length > 0) throw templateError(checked.issues);
  const valid = checked.valid[0]!;
  const spec = valid.spec as AnalysisTemplateSpec;
  const problems = checkAnalysisTemplate(spec);
  if (problems.length > 0) throw templateError(problems.map((problem) => issueAt(document, ['spec', ...problem.path], problem.message)));
  return { name: valid.metadata.name ?? 'replay', spec };
}

/** Replay needs the resource form; a bare spec or another kind gets one clear message. */
function kindProblem(document: ManifestDocument): ManifestIssue | null {
  const value = document.value;
  const form = 'replay needs an AnalysisTemplate resource (apiVersion: rollgate.dev/v1alpha1, kind: AnalysisTemplate, metadata.name, spec)';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { file: document.file, ...locate(document, []), message: form };
  const kind = (value as { kind?: unknown }).kind;
  if (kind === 'AnalysisTemplate') return null;
  if (kind === undefined) {
    const bare = 'metrics' in value ? '; this looks like a bare spec: put it under `spec:`' : '';
    return { file: document.file, ...locate(document, []), path: 'kind', message: `${form}${bare}` };
  }
  return issueAt(document, ['kind'], `expected AnalysisTemplate, got ${JSON.stringify(kind)}; ${form}`);
}

function templateError(issues: ManifestIssue[]): CliError {
  const summary = `${plural(issues.length, 'error')} in the AnalysisTemplate`;
  return new CliError(summary, EXIT_CODES.failure, issues.map(formatIssue), issues, { type: 'about:blank', title: 'Invalid AnalysisTemplate', detail: summary });
}

/** Reads and checks the samples; every bad line as `file:line: field: message`. */
async function loadSamples(ctx: CliContext, file: string): Promise<SampleRecord[]> {
  let text: string;
  const name = file === '-' ? STDIN_NAME : file;
  try {
    text = file === '-' ? await readStream(ctx.io.stdin) : await readFile(path.resolve(ctx.io.cwd, file), 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const reason = code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : error instanceof Error ? error.message : String(error);
    throw new CliError(`cannot read ${name}: ${reason}`);
  }
  const { records, issues } = parseSampleLines(text);
  if (issues.length > 0) {
    const shown = issues.slice(0, MAX_SAMPLE_ISSUES);
    const lines = shown.map((issue) => `${name}:${issue.line}: ${issue.field === null ? '' : `${issue.field}: `}${issue.message}`);
    if (issues.length > shown.length) lines.push(`${name}: ... and ${plural(issues.length - shown.length, 'more error')}`);
    const structured: ManifestIssue[] = shown.map((issue) => ({ file: name, line: issue.line, ...(issue.field === null ? {} : { path: issue.field }), message: issue.message }));
    const summary = `${plural(issues.length, 'error')} in ${name}`;
    throw new CliError(summary, EXIT_CODES.failure, lines, structured, { type: 'about:blank', title: 'Invalid samples', detail: summary });
  }
  if (records.length === 0) throw new CliError(`no samples in ${name}: expected JSON Lines such as {"t": 10, "version": "canary", "requests": 100, "errors": 1}`);
  return records;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON interface: decision, decidedAt, metrics, then the timeline and (mannWhitney) scores. */
export function replayJson(result: ReplayResult): Record<string, unknown> {
  const json: Record<string, unknown> = {
    decision: result.decision,
    decidedAt: result.decidedAt,
    metrics: result.metrics,
    timeline: result.timeline,
  };
  if (result.scores) json.scores = result.scores;
  return json;
}

// ---------------------------------------------------------------------------------------------
// Human output

const seconds = (t: number): string => `${Number(t.toFixed(3))}s`;

/** Four significant digits, no exponent for everyday magnitudes. */
function number(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) return value.toPrecision(3);
  return String(Number(value.toPrecision(4)));
}

const NATURAL_COUNT: Record<MeasurementPhase, MeasurementCount> = { Successful: 'successful', Failed: 'failed', Inconclusive: 'inconclusive', Error: 'error', NoData: 'noData' };

const armCell = (arm: ReplayArm | null): string => (arm === null ? 'no data' : `${arm.value === null ? '-' : number(arm.value)} (${arm.errors}/${arm.requests})`);

function judgeLine(spec: AnalysisTemplateSpec): string {
  const judge = spec.judge;
  if (judge && 'sequential' in judge) {
    const s = judge.sequential;
    return `sequential (α=${s.alpha ?? 0.05}, tolerance ${s.tolerance ?? 0.1}${s.horizon ? `, horizon ${s.horizon}` : ''})`;
  }
  if (judge && 'mannWhitney' in judge) {
    const m = judge.mannWhitney;
    return `mannWhitney (confidence ${m.confidence ?? 0.98}, pass ${m.pass ?? 95}, marginal ${m.marginal ?? 75})`;
  }
  return 'threshold';
}

/** Header, timeline table, per-metric verdicts and the decision line. */
export function renderReplay(template: LoadedTemplate, result: ReplayResult): string {
  const { summary } = result;
  const lines: string[] = [];
  lines.push(`template: ${template.name}`);
  lines.push(`judge:    ${judgeLine(template.spec)}`);
  const unused = summary.unusedRecords > 0 ? `; ${plural(summary.unusedRecords, 'record')} in no measured window` : '';
  lines.push(`samples:  ${plural(summary.records, 'record')}, data until t=${summary.dataEnd === null ? '-' : seconds(summary.dataEnd)}${unused}`);
  lines.push('');
  if (result.timeline.length === 0) {
    lines.push('no measurement: the data ends before the first window of every metric (interval + initialDelay)');
  } else {
    lines.push(
      renderTable(
        ['T', 'WINDOW', 'METRIC', 'PHASE', 'CANARY', 'BASELINE', 'MESSAGE'],
        result.timeline.map((event) => [
          seconds(event.t),
          `${seconds(event.from)}-${seconds(event.t)}`,
          event.metric,
          NATURAL_COUNT[event.phase] === event.countedAs ? event.phase : `${event.phase} (counted ${event.countedAs})`,
          armCell(event.canary),
          armCell(event.baseline),
          event.message ?? (event.details ? compact(event.details) : '-'),
        ]),
      ),
    );
  }
  if (result.scores && result.scores.length > 0) {
    lines.push('');
    lines.push('scores:');
    lines.push(
      renderTable(
        ['  T', 'INTERVAL', 'SCORE', 'OUTCOME', 'MESSAGE'],
        result.scores.map((score) => [`  ${seconds(score.t)}`, String(score.interval), number(score.score), score.outcome, score.message ?? '-']),
      ),
    );
  }
  lines.push('');
  lines.push('metrics:');
  lines.push(
    renderTable(
      ['  NAME', 'VERDICT', 'DECIDED', 'WHY'],
      result.metrics.map((metric) => [
        `  ${metric.name}`,
        metric.verdict,
        metric.decidedAt === null ? '-' : `t=${seconds(metric.decidedAt)}`,
        summary.metricMessages[metric.name] ?? metric.evidence?.message ?? '-',
      ]),
    ),
  );
  lines.push('');
  lines.push(decisionLine(result));
  return lines.join('\n');
}

function decisionLine(result: ReplayResult): string {
  const at = result.decidedAt === null ? '' : ` at t=${seconds(result.decidedAt)}`;
  const { runPhase, runMessage, dataEnd } = result.summary;
  switch (result.decision) {
    case 'pass':
      return `decision: pass${at}`;
    case 'fail':
      return `decision: fail${at}${runMessage ? `: ${runMessage}` : ''}`;
    case 'inconclusive':
      if (runPhase === 'Inconclusive') return `decision: inconclusive${at} (the run waits for a human)${runMessage ? `: ${runMessage}` : ''}`;
      return `decision: inconclusive (still measuring when the data ended${dataEnd === null ? '' : ` at t=${seconds(dataEnd)}`}; set \`count\` or a sequential \`horizon\` to pass)`;
  }
}

/** `{"success":true,"failure":null}` → `success=true` (null values left out). */
function compact(details: Record<string, unknown>): string {
  const shown = Object.entries(details).filter(([, value]) => value !== null && value !== undefined);
  if (shown.length === 0) return '-';
  return shown
    .map(([key, value]) => `${key}=${typeof value === 'number' ? number(value) : typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join(' ');
}
