/** `rollgate analysis replay`, in-process: offline, exit codes, the JSON interface, file:line errors, the shipped examples. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, main } from '../../src/cli/main.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `rollgate ...args` in-process; any attempt to reach a server fails the test. */
async function rollgate(args: string[], options: { cwd?: string; stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from(options.stdin === undefined ? [] : [options.stdin]),
    env: {},
    cwd: options.cwd ?? work,
    fetch: (() => {
      throw new Error('analysis replay must not talk to a server');
    }) as unknown as typeof fetch,
  });
  return { code, stdout, stderr };
}

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-replay-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const templateYaml = (metric: string, extra = '') => `apiVersion: rollgate.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: errors-only
spec:${extra}
  metrics:
    - name: error-rate
      provider:
        builtin:
          metric: errorRate
      interval: 10s
${metric}`;

const goodMetric = '      count: 3\n      successCondition: canary.errorRate <= 0.02\n';
writeFileSync(path.join(work, 'template.yaml'), templateYaml(goodMetric));

const line = (t: number, version: string, requests: number, errors: number) => JSON.stringify({ t, version, requests, errors });
const samples = (canaryErrors: (t: number) => number) =>
  [10, 20, 30, 40, 50, 60].flatMap((t) => [line(t, 'baseline', 400, 4), line(t, 'canary', 100, canaryErrors(t))]).join('\n') + '\n';
writeFileSync(path.join(work, 'healthy.jsonl'), samples(() => 1));
writeFileSync(path.join(work, 'bad.jsonl'), samples((t) => (t >= 20 ? 10 : 1)));

describe('rollgate analysis replay: decisions', () => {
  it('prints a header, the timeline and the decision; exit 0 on pass', async () => {
    const run = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'healthy.jsonl']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT_CODES.ok);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual(['template: errors-only', 'judge:    threshold', 'samples:  12 records, data until t=60s; 6 records in no measured window']);
    expect(run.stdout).toMatch(/^T\s+WINDOW\s+METRIC\s+PHASE\s+CANARY\s+BASELINE\s+MESSAGE$/m);
    expect(run.stdout).toMatch(/^10s\s+0s-10s\s+error-rate\s+Successful\s+0\.01 \(1\/100\)\s+0\.01 \(4\/400\)\s+success=true$/m);
    expect(run.stdout).toMatch(/^ {2}error-rate\s+pass\s+t=30s/m);
    expect(lines.at(-1)).toBe('decision: pass at t=30s');
  });

  it('a failing canary is a decision, not an error: exit 0', async () => {
    const run = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'bad.jsonl']);
    expect(run.code).toBe(EXIT_CODES.ok);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('decision: fail at t=20s: errors-only/error-rate: 1 failed measurement(s), failureLimit 0');
  });

  it('--output json prints only {decision, decidedAt, metrics, timeline}', async () => {
    const run = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'bad.jsonl', '--output', 'json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['decision', 'decidedAt', 'metrics', 'timeline']);
    expect(result).toMatchObject({ decision: 'fail', decidedAt: 20 });
    const metrics = result.metrics as Array<Record<string, unknown>>;
    expect(metrics.map((metric) => Object.keys(metric))).toEqual([['name', 'verdict', 'decidedAt', 'evidence']]);
    expect(metrics[0]).toEqual({ name: 'error-rate', verdict: 'fail', decidedAt: 20, evidence: { details: { success: false, failure: null }, message: null } });
    expect(result.timeline).toEqual([
      expect.objectContaining({ t: 10, from: 0, metric: 'error-rate', phase: 'Successful', message: null }),
      expect.objectContaining({ t: 20, from: 10, metric: 'error-rate', phase: 'Failed', canary: { requests: 100, errors: 10, value: 0.1 } }),
    ]);
    // -o json (short form) and the global option before the command work the same.
    expect((await rollgate(['-o', 'json', 'analysis', 'replay', '-f', 'template.yaml', '--samples', 'bad.jsonl'])).stdout).toBe(run.stdout);
  });

  it('reads the samples from stdin with --samples -', async () => {
    const run = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', '-', '-o', 'json'], { stdin: samples(() => 1) });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ decision: 'pass', decidedAt: 30 });
  });

  it('is listed in --help; a missing --samples is a usage error (2)', async () => {
    expect((await rollgate(['--help'])).stdout).toContain('  analysis');
    const help = await rollgate(['analysis', 'replay', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--samples <file>');
    expect(help.stdout).toContain('"version": "canary"');
    const missing = await rollgate(['analysis', 'replay', '-f', 'template.yaml']);
    expect(missing.code).toBe(EXIT_CODES.usage);
    expect(missing.stderr).toContain("required option '--samples <file>' not specified");
  });
});

describe('rollgate analysis replay: bad input (exit 1, nothing on stdout)', () => {
  it('a bad samples line: FILE:LINE: field: message', async () => {
    const text = [line(10, 'baseline', 400, 4), '{"t": 10, "version": "cnary", "requests": 100, "errors": 1}', '', '{"t": 20, "version": "canary", "requests": 5, "errors": 6}', 'not json'].join('\n');
    writeFileSync(path.join(work, 'broken.jsonl'), text);
    const run = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'broken.jsonl']);
    expect(run.code).toBe(EXIT_CODES.failure);
    expect(run.stdout).toBe('');
    const errors = run.stderr.trimEnd().split('\n');
    expect(errors.slice(0, 2)).toEqual(['broken.jsonl:2: version: must be "baseline" or "canary", got "cnary"', 'broken.jsonl:4: errors: must not exceed requests (5), got 6']);
    expect(errors[2]).toMatch(/^broken\.jsonl:5: invalid JSON: /);
    expect(errors.at(-1)).toBe('error: 3 errors in broken.jsonl');

    const json = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'broken.jsonl', '-o', 'json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    const problem = JSON.parse(json.stderr) as { title: string; errors: Array<{ file: string; line: number; path?: string }> };
    expect(problem.title).toBe('Invalid samples');
    expect(problem.errors.map((error) => [error.file, error.line, error.path])).toEqual([
      ['broken.jsonl', 2, 'version'],
      ['broken.jsonl', 4, 'errors'],
      ['broken.jsonl', 5, undefined],
    ]);
  });

  it('an empty or missing samples file', async () => {
    writeFileSync(path.join(work, 'empty.jsonl'), '\n\n');
    const empty = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'empty.jsonl']);
    expect(empty).toMatchObject({ code: 1, stdout: '' });
    expect(empty.stderr).toMatch(/^error: no samples in empty\.jsonl/);
    const missing = await rollgate(['analysis', 'replay', '-f', 'template.yaml', '--samples', 'nope.jsonl']);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'error: cannot read nope.jsonl: no such file or directory\n' });
  });

  it('a bad template field: FILE:line:col: field: message', async () => {
    writeFileSync(path.join(work, 'bad-interval.yaml'), templateYaml('      interval: soon\n      successCondition: canary.errorRate <= 0.02\n').replace('      interval: 10s\n', ''));
    const run = await rollgate(['analysis', 'replay', '-f', 'bad-interval.yaml', '--samples', 'healthy.jsonl']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('bad-interval.yaml:11:17: spec.metrics[0].interval: must be a duration such as "30s", "2m" or "1h30m"\nerror: 1 error in the AnalysisTemplate\n');
  });

  it('an unknown field and a CEL condition that does not check are reported where they are', async () => {
    writeFileSync(path.join(work, 'bad-cel.yaml'), templateYaml('      successCondition: canary.errorRate <= baseline.errorRate * 2\n'));
    const cel = await rollgate(['analysis', 'replay', '-f', 'bad-cel.yaml', '--samples', 'healthy.jsonl']);
    expect(cel.code).toBe(1);
    expect(cel.stdout).toBe('');
    expect(cel.stderr).toMatch(/^bad-cel\.yaml:12:25: spec\.metrics\[0\]\.successCondition: .*write 2\.0, not 2/);

    writeFileSync(path.join(work, 'unknown.yaml'), templateYaml(goodMetric + '      treshold: 3\n'));
    const unknown = await rollgate(['analysis', 'replay', '-f', 'unknown.yaml', '--samples', 'healthy.jsonl']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown.yaml:14:7: spec.metrics[0].treshold: unknown field "treshold"');
  });

  it('requires the AnalysisTemplate resource form: a bare spec, another kind or several documents are refused clearly', async () => {
    writeFileSync(path.join(work, 'bare.yaml'), 'metrics:\n  - name: e\n    provider: {builtin: {metric: errorRate}}\n    successCondition: canary.errorRate < 0.1\n');
    const bare = await rollgate(['analysis', 'replay', '-f', 'bare.yaml', '--samples', 'healthy.jsonl']);
    expect(bare).toMatchObject({ code: 1, stdout: '' });
    expect(bare.stderr).toMatch(/^bare\.yaml:1:1: kind: replay needs an AnalysisTemplate resource \(apiVersion: rollgate\.dev\/v1alpha1, kind: AnalysisTemplate, metadata\.name, spec\); this looks like a bare spec: put it under `spec:`\n/);

    writeFileSync(path.join(work, 'service.yaml'), 'apiVersion: rollgate.dev/v1alpha1\nkind: Service\nmetadata:\n  name: checkout\nspec: {}\n');
    const service = await rollgate(['analysis', 'replay', '-f', 'service.yaml', '--samples', 'healthy.jsonl']);
    expect(service.code).toBe(1);
    expect(service.stderr).toMatch(/^service\.yaml:2:7: kind: expected AnalysisTemplate, got "Service"/);

    writeFileSync(path.join(work, 'two.yaml'), `${templateYaml(goodMetric)}---\n${templateYaml(goodMetric)}`);
    const two = await rollgate(['analysis', 'replay', '-f', 'two.yaml', '--samples', 'healthy.jsonl']);
    expect(two.code).toBe(1);
    expect(two.stderr).toMatch(/^two\.yaml:15:1: expected a single AnalysisTemplate document, found 2 documents\n/);

    const none = await rollgate(['analysis', 'replay', '-f', 'nothing.yaml', '--samples', 'healthy.jsonl']);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toContain('nothing.yaml: cannot read: no such file or directory');
  });

  it('-f - and --samples - cannot both read stdin (usage error)', async () => {
    const run = await rollgate(['analysis', 'replay', '-f', '-', '--samples', '-']);
    expect(run.code).toBe(EXIT_CODES.usage);
  });
});

// ---------------------------------------------------------------------------------------------
// examples/analysis/README.md: every row of its table runs as it says.

const readme = readFileSync(path.join(repoRoot, 'examples/analysis/README.md'), 'utf8');
const rows = [...readme.matchAll(/^\| `([\w-]+\.yaml)` \| `([\w-]+\.jsonl)` \| ([^|]+?) \|$/gm)].map((match) => ({ template: match[1]!, samples: match[2]!, decision: match[3]! }));

describe('examples/analysis (as its README says)', () => {
  it('the README lists every example pair, and every listed file exists', () => {
    expect(rows.length).toBeGreaterThanOrEqual(7);
    for (const template of ['threshold.yaml', 'sequential.yaml', 'mann-whitney.yaml']) expect(rows.some((row) => row.template === template), template).toBe(true);
    for (const row of rows) {
      expect(() => readFileSync(path.join(repoRoot, 'examples/analysis', row.template))).not.toThrow();
      expect(() => readFileSync(path.join(repoRoot, 'examples/analysis', row.samples))).not.toThrow();
    }
  });

  it.each(rows)('$template over $samples: $decision', async ({ template, samples: file, decision }) => {
    const args = ['analysis', 'replay', '-f', `examples/analysis/${template}`, '--samples', `examples/analysis/${file}`];
    const run = await rollgate(args, { cwd: repoRoot });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const last = run.stdout.trimEnd().split('\n').at(-1)!;
    expect(last === `decision: ${decision}` || last.startsWith(`decision: ${decision}:`) || last.startsWith(`decision: ${decision} `), last).toBe(true);
  });

  it('a mannWhitney template adds the template scores to the JSON (and a scores table to the text)', async () => {
    const args = ['analysis', 'replay', '-f', 'examples/analysis/mann-whitney.yaml', '--samples', 'examples/analysis/bad-canary.jsonl'];
    const json = await rollgate([...args, '-o', 'json'], { cwd: repoRoot });
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { scores: Array<Record<string, unknown>> };
    expect(Object.keys(result)).toEqual(['decision', 'decidedAt', 'metrics', 'timeline', 'scores']);
    expect(result.scores.length).toBeGreaterThan(0);
    expect(Object.keys(result.scores[0]!)).toEqual(['template', 'interval', 't', 'score', 'outcome', 'groups', 'message']);
    expect(result.scores[0]).toMatchObject({ template: 'replay-mann-whitney', interval: 1, t: 10 });
    const text = await rollgate(args, { cwd: repoRoot });
    expect(text.stdout).toMatch(/^scores:\n {2}T\s+INTERVAL\s+SCORE\s+OUTCOME\s+MESSAGE$/m);
  });

  it('the example in the README is the real output', async () => {
    const block = /```\n\$ rollgate (analysis replay [^\n]+)\n([\s\S]*?)```/.exec(readme);
    expect(block).not.toBeNull();
    const run = await rollgate(block![1]!.split(' '), { cwd: repoRoot });
    expect(run.stdout).toBe(block![2]);
  });
});
