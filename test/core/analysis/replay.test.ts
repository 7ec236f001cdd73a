import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/core/analysis/kayenta/random.js';
import { parseSampleLines, parseSampleRecord, replayAnalysis, type SampleRecord } from '../../../src/core/analysis/replay.js';
import type { MetricSpec } from '../../../src/core/analysis/types.js';
import type { AnalysisTemplateSpec } from '../../../src/core/resources/analysis-template.js';

const errorRate = (overrides: Partial<MetricSpec> = {}): MetricSpec => ({
  name: 'error-rate',
  provider: { builtin: { metric: 'errorRate' } },
  interval: '10s',
  successCondition: 'canary.errorRate <= 0.02',
  noDataPolicy: 'pause',
  ...overrides,
});

const template = (...metrics: MetricSpec[]): AnalysisTemplateSpec => ({ metrics });

/** One record per version every `step` seconds from `step` to `until`; `canaryErrors(t)` per canary record. */
function records(options: { until: number; step?: number; canaryErrors?: (t: number) => number; canary?: boolean; latencyMs?: (version: 'baseline' | 'canary', t: number) => number[] }): SampleRecord[] {
  const step = options.step ?? 10;
  const out: SampleRecord[] = [];
  for (let t = step; t <= options.until; t += step) {
    out.push({ t, version: 'baseline', requests: 400, errors: 4, ...(options.latencyMs ? { latencyMs: options.latencyMs('baseline', t) } : {}) });
    if (options.canary !== false) {
      out.push({ t, version: 'canary', requests: 100, errors: options.canaryErrors?.(t) ?? 1, ...(options.latencyMs ? { latencyMs: options.latencyMs('canary', t) } : {}) });
    }
  }
  return out;
}

describe('parseSampleLines', () => {
  it('reads one record per line, skipping blank lines', () => {
    const text = '{"t": 10, "version": "baseline", "requests": 400, "errors": 2}\n\n{"t": 10.5, "version": "canary", "requests": 100, "errors": 0, "latencyMs": [12, 0, 40.5]}\r\n';
    expect(parseSampleLines(text)).toEqual({
      records: [
        { t: 10, version: 'baseline', requests: 400, errors: 2 },
        { t: 10.5, version: 'canary', requests: 100, errors: 0, latencyMs: [12, 0, 40.5] },
      ],
      issues: [],
    });
  });

  it('reports every bad line with its line number and field', () => {
    const lines = [
      '{"t": 10, "version": "baseline", "requests": 400, "errors": 2}',
      '{"t": 10, "version": "cnary", "requests": 100, "errors": 0}',
      '{"t": -1, "version": "canary", "requests": 1.5, "errors": 0}',
      '{"t": 10, "version": "canary", "requests": 10, "errors": 11}',
      '{"t": 10, "version": "canary", "requests": -3, "errors": 0}',
      '{"t": "10", "version": "canary", "requests": 10, "errors": 0, "latencyMs": [1, -2]}',
      '{"t": 10, "version": "canary", "requests": 10, "errors": 0, "latencyMs": 5, "latency": []}',
      '{"t": 10, "version": "canary", "requests": 10,',
      '[1, 2]',
      '{"version": "canary"}',
    ];
    const { records: good, issues } = parseSampleLines(lines.join('\n'));
    expect(good).toHaveLength(1);
    expect(issues.map((issue) => `${issue.line}: ${issue.field ?? '-'}: ${issue.message}`)).toEqual([
      '2: version: must be "baseline" or "canary", got "cnary"',
      '3: t: must be a finite number >= 0, got -1',
      '3: requests: must be an integer >= 0, got 1.5',
      '4: errors: must not exceed requests (10), got 11',
      '5: requests: must be an integer >= 0, got -3',
      '6: t: must be a finite number >= 0, got "10"',
      '6: latencyMs[1]: must be a finite number >= 0 (milliseconds), got -2',
      '7: latency: unknown field; known fields: t, version, requests, errors, latencyMs',
      '7: latencyMs: must be an array of numbers >= 0 (milliseconds), got 5',
      expect.stringMatching(/^8: -: invalid JSON: /),
      expect.stringMatching(/^9: -: expected a JSON object such as/),
      "10: t: required (seconds since the start, the end of the record's window)",
      '10: requests: required (an integer >= 0)',
      '10: errors: required (an integer >= 0)',
    ]);
  });

  it('parseSampleRecord copies latencies (the caller may reuse its array)', () => {
    const parsed = parseSampleRecord('{"t": 1, "version": "canary", "requests": 1, "errors": 0, "latencyMs": [3]}');
    expect(parsed).toEqual({ record: { t: 1, version: 'canary', requests: 1, errors: 0, latencyMs: [3] } });
  });
});

describe('replayAnalysis: threshold templates', () => {
  it('fails at the window where the canary errors exceed the bound', () => {
    const result = replayAnalysis(template(errorRate()), records({ until: 120, canaryErrors: (t) => (t >= 40 ? 10 : 1) }));
    expect(result.decision).toBe('fail');
    expect(result.decidedAt).toBe(40);
    expect(result.metrics).toEqual([{ name: 'error-rate', verdict: 'fail', decidedAt: 40, evidence: { details: { success: false, failure: null }, message: null } }]);
    expect(result.timeline.map((event) => [event.t, event.from, event.phase])).toEqual([
      [10, 0, 'Successful'],
      [20, 10, 'Successful'],
      [30, 20, 'Successful'],
      [40, 30, 'Failed'],
    ]);
    expect(result.timeline[3]!.canary).toEqual({ requests: 100, errors: 10, value: 0.1 });
    expect(result.timeline[3]!.baseline).toEqual({ requests: 400, errors: 4, value: 0.01 });
    expect(result.summary).toMatchObject({ runPhase: 'Failed', records: 24, dataEnd: 120, unusedRecords: 16 });
    expect(result.scores).toBeUndefined();
  });

  it('failureLimit: fails on the measurement after the limit', () => {
    const result = replayAnalysis(template(errorRate({ failureLimit: 2 })), records({ until: 120, canaryErrors: (t) => (t === 20 || t >= 60 ? 10 : 1) }));
    expect(result.decision).toBe('fail');
    expect(result.decidedAt).toBe(70);
    expect(result.timeline.filter((event) => event.phase === 'Failed').map((event) => event.t)).toEqual([20, 60, 70]);
  });

  it('a healthy canary passes after `count` measurements, ignoring the rest of the data', () => {
    const result = replayAnalysis(template(errorRate({ count: 3 })), records({ until: 120 }));
    expect(result.decision).toBe('pass');
    expect(result.decidedAt).toBe(30);
    expect(result.metrics[0]).toMatchObject({ verdict: 'pass', decidedAt: 30 });
    expect(result.timeline).toHaveLength(3);
    expect(result.summary.unusedRecords).toBe(18);
  });

  it('without count (and no defaultCount) a healthy canary measures until the data ends: inconclusive', () => {
    const result = replayAnalysis(template(errorRate()), records({ until: 50 }));
    expect(result.decision).toBe('inconclusive');
    expect(result.decidedAt).toBeNull();
    expect(result.metrics[0]).toMatchObject({ verdict: 'running', decidedAt: null });
    expect(result.timeline).toHaveLength(5);
    expect(result.summary.runPhase).toBe('Running');
    // defaultCount fills in a missing count, as a rollout step does (1).
    expect(replayAnalysis(template(errorRate()), records({ until: 50 }), { defaultCount: 2 })).toMatchObject({ decision: 'pass', decidedAt: 20 });
  });

  it('no canary records: NoData pauses the run (inconclusive) under noDataPolicy pause', () => {
    const result = replayAnalysis(template(errorRate({ count: 3 })), records({ until: 60, canary: false }));
    expect(result.decision).toBe('inconclusive');
    expect(result.decidedAt).toBe(10);
    expect(result.metrics[0]).toMatchObject({ verdict: 'nodata', decidedAt: 10, evidence: { details: null, message: 'no data for the canary in the window' } });
    expect(result.timeline).toEqual([expect.objectContaining({ t: 10, phase: 'NoData', countedAs: 'noData', canary: null, baseline: { requests: 400, errors: 4, value: 0.01 } })]);
    expect(result.summary.runPhase).toBe('Inconclusive');
  });

  it('noDataPolicy fail / pass count NoData as a failed / successful measurement', () => {
    const failing = replayAnalysis(template(errorRate({ count: 3, noDataPolicy: 'fail' })), records({ until: 60, canary: false }));
    expect(failing).toMatchObject({ decision: 'fail', decidedAt: 10 });
    expect(failing.timeline[0]).toMatchObject({ phase: 'NoData', countedAs: 'failed' });
    expect(replayAnalysis(template(errorRate({ count: 3, noDataPolicy: 'pass' })), records({ until: 60, canary: false }))).toMatchObject({ decision: 'pass', decidedAt: 30 });
  });

  it('a window without any canary record has no data, even between windows with data', () => {
    const data = records({ until: 60 }).filter((record) => !(record.version === 'canary' && record.t === 30));
    const result = replayAnalysis(template(errorRate({ count: 6, noDataPolicy: 'pass' })), data);
    expect(result.timeline.map((event) => event.phase)).toEqual(['Successful', 'Successful', 'NoData', 'Successful', 'Successful', 'Successful']);
    expect(result.decision).toBe('pass');
  });

  it('mixed intervals: each metric sums the records of its own windows; measurements in time order', () => {
    const spec = template(
      errorRate({ count: 6 }),
      errorRate({ name: 'slow-errors', interval: '30s', count: 2, successCondition: 'canary.requests >= 600.0 && baseline.requests >= 2400.0' }),
    );
    const result = replayAnalysis(spec, records({ until: 90, step: 5 }));
    expect(result.timeline.map((event) => `${event.t} ${event.metric}`)).toEqual([
      '10 error-rate',
      '20 error-rate',
      '30 error-rate',
      '30 slow-errors',
      '40 error-rate',
      '50 error-rate',
      '60 error-rate',
      '60 slow-errors',
    ]);
    // Two 5-second records per version in a 10s window, six in a 30s window.
    expect(result.timeline[0]!.canary).toEqual({ requests: 200, errors: 2, value: 0.01 });
    expect(result.timeline[3]!.canary).toEqual({ requests: 600, errors: 6, value: 0.01 });
    expect(result.timeline[3]!.baseline).toMatchObject({ requests: 2400 });
    expect(result.timeline.every((event) => event.phase === 'Successful')).toBe(true);
    expect(result).toMatchObject({ decision: 'pass', decidedAt: 60 });
    expect(result.metrics.map((metric) => [metric.name, metric.verdict, metric.decidedAt])).toEqual([
      ['error-rate', 'pass', 60],
      ['slow-errors', 'pass', 60],
    ]);
  });

  it('a record belongs to the window that contains its t (window end included); equal t and version are summed', () => {
    const data: SampleRecord[] = [
      { t: 10, version: 'canary', requests: 50, errors: 0 },
      { t: 10, version: 'canary', requests: 50, errors: 3 },
      { t: 10, version: 'baseline', requests: 100, errors: 0 },
      { t: 10.5, version: 'canary', requests: 7, errors: 0 },
      { t: 20, version: 'baseline', requests: 100, errors: 0 },
      { t: 0, version: 'canary', requests: 1000, errors: 1000 },
    ];
    const result = replayAnalysis(template(errorRate({ count: 2, successCondition: 'canary.errorRate <= 0.5' })), data);
    expect(result.timeline.map((event) => [event.t, event.canary?.requests, event.canary?.errors])).toEqual([
      [10, 100, 3],
      [20, 7, 0],
    ]);
    // t = 0 ends a window before the analysis started: never measured.
    expect(result.summary.unusedRecords).toBe(1);
  });

  it('initialDelay shifts the windows; records before it are not used', () => {
    const result = replayAnalysis(template(errorRate({ count: 2, initialDelay: '15s' })), records({ until: 60, step: 5 }));
    expect(result.timeline.map((event) => [event.from, event.t, event.canary?.requests])).toEqual([
      [15, 25, 200],
      [25, 35, 200],
    ]);
    expect(result.decidedAt).toBe(35);
  });

  it('a window is measured only once the data covers it', () => {
    const result = replayAnalysis(template(errorRate({ interval: '30s', count: 3 })), records({ until: 75, step: 5 }));
    expect(result.timeline.map((event) => event.t)).toEqual([30, 60]);
    expect(result.decision).toBe('inconclusive');
    expect(result.summary.unusedRecords).toBe(6);
  });

  it('values: latency quantile (seconds) for builtin latency, requests per second for requestRate, errorRate for Prometheus', () => {
    const latencyMs = (version: 'baseline' | 'canary') => (version === 'canary' ? [10, 20, 30, 40, 50, 60, 70, 80, 90, 1000] : [5, 5, 5, 5]);
    const data = records({ until: 10, latencyMs });
    const run = (metric: MetricSpec) => replayAnalysis(template(metric), data, { defaultCount: 1 });

    const p90 = run(errorRate({ name: 'p90', provider: { builtin: { metric: 'latency', quantile: 0.9 } }, successCondition: 'canary.latency <= 0.1 && canary.p99 == 1.0 && canary.mean > 0.1449 && canary.mean < 0.1451 && canary.p50 == 0.05' }));
    expect(p90.timeline[0]).toMatchObject({ phase: 'Successful', canary: { value: 0.09 }, baseline: { value: 0.005 } });
    expect(run(errorRate({ name: 'p99', provider: { builtin: { metric: 'latency' } }, successCondition: 'true' })).timeline[0]!.canary!.value).toBe(1);

    expect(run(errorRate({ name: 'rps', provider: { builtin: { metric: 'requestRate' } }, successCondition: 'canary.value == 10.0' })).timeline[0]).toMatchObject({ phase: 'Successful', canary: { value: 10 }, baseline: { value: 40 } });

    const prometheus = run(errorRate({ name: 'prom', provider: { prometheus: { query: 'sum(rate(x[1m]))' } }, successCondition: 'result == 0.01' }));
    expect(prometheus.timeline[0]).toMatchObject({ phase: 'Successful', canary: { value: 0.01 } });

    // A metric reading latency where no latency was recorded: NoData.
    const noLatency = replayAnalysis(template(errorRate({ successCondition: 'canary.p99 < 1.0', count: 1 })), records({ until: 10 }));
    expect(noLatency.timeline[0]).toMatchObject({ phase: 'NoData', message: 'canary.p99 had no value in the window' });
  });

  it('a version with 0 requests is a sample (errorRate absent), not missing data', () => {
    const data: SampleRecord[] = [
      { t: 10, version: 'baseline', requests: 100, errors: 1 },
      { t: 10, version: 'canary', requests: 0, errors: 0 },
    ];
    const result = replayAnalysis(template(errorRate({ count: 1, successCondition: 'canary.requests == 0.0' })), data);
    expect(result.timeline[0]).toMatchObject({ phase: 'Successful', canary: { requests: 0, errors: 0, value: null } });
  });

  it('the timeline keeps every measurement (the run status keeps only the last 20)', () => {
    const result = replayAnalysis(template(errorRate({ interval: '1s', count: 50 })), records({ until: 50, step: 1 }));
    expect(result.timeline).toHaveLength(50);
    expect(result).toMatchObject({ decision: 'pass', decidedAt: 50 });
  });

  it('is deterministic and does not modify its inputs', () => {
    const data = records({ until: 60, canaryErrors: (t) => (t > 30 ? 5 : 0) });
    const copy = structuredClone(data);
    const spec = template(errorRate({ count: 6 }));
    const first = replayAnalysis(spec, data, { templateName: 'golden' });
    expect(replayAnalysis(spec, [...data].reverse(), { templateName: 'golden' })).toEqual(first);
    expect(data).toEqual(copy);
    expect(first.summary.template).toBe('golden');
    expect(first.summary.metricMessages['error-rate']).toMatch(/^golden\/error-rate: 1 failed measurement/);
  });

  it('no records: nothing measured, inconclusive', () => {
    expect(replayAnalysis(template(errorRate()), [])).toMatchObject({ decision: 'inconclusive', decidedAt: null, timeline: [], summary: { dataEnd: null } });
  });
});

// ---------------------------------------------------------------------------------------------
// Statistical judges: the same samples through `sequential` and `mannWhitney`.

/** Deterministic pseudo-random numbers. */
const rng = mulberry32;

/** Binomial errors and log-normal latencies per 10s window; the canary's error rate is `canaryFactor` times the baseline's. */
function traffic(options: { seed: number; windows: number; baselineRate: number; canaryFactor: number; latencyFactor?: number }): SampleRecord[] {
  const random = rng(options.seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const out: SampleRecord[] = [];
  for (let k = 1; k <= options.windows; k++) {
    for (const [version, requests, rate, slower] of [
      ['baseline', 1000, options.baselineRate, 1],
      ['canary', 250, options.baselineRate * options.canaryFactor, options.latencyFactor ?? 1],
    ] as const) {
      let errors = 0;
      for (let i = 0; i < requests; i++) if (random() < rate) errors++;
      const latencyMs = Array.from({ length: 40 }, () => Math.round(50 * slower * Math.exp(0.3 * normal()) * 10) / 10);
      out.push({ t: k * 10, version, requests, errors, latencyMs });
    }
  }
  return out;
}

describe('replayAnalysis: sequential judge', () => {
  const spec: AnalysisTemplateSpec = {
    judge: { sequential: { alpha: 0.05, tolerance: 0.1, horizon: '5m', quantiles: [0.5, 0.9, 0.99], edgeSamples: 100 } },
    metrics: [
      { name: 'errors', provider: { builtin: { metric: 'errorRate' } }, interval: '10s', noDataPolicy: 'pause' },
      { name: 'latency', provider: { builtin: { metric: 'latency' } }, interval: '10s', noDataPolicy: 'pause' },
    ],
  };

  it('fails a canary with 5x the error rate, before the horizon, with the e-values as evidence', () => {
    const result = replayAnalysis(spec, traffic({ seed: 1, windows: 30, baselineRate: 0.01, canaryFactor: 5 }));
    expect(result.decision).toBe('fail');
    expect(result.decidedAt).not.toBeNull();
    expect(result.decidedAt!).toBeLessThan(300);
    const errors = result.metrics.find((metric) => metric.name === 'errors')!;
    expect(errors).toMatchObject({ verdict: 'fail', decidedAt: result.decidedAt });
    // The judge's evidence: the e-value that crossed its threshold.
    const tests = (errors.evidence?.details as { tests: Array<{ name: string; verdict: string; eValue: number; threshold: number }> }).tests;
    const alarm = tests.find((test) => test.verdict === 'fail')!;
    expect(alarm.eValue).toBeGreaterThanOrEqual(alarm.threshold);
    expect(errors.evidence?.message).toMatch(/e = /);
  });

  it('an A/A file (same traffic in both arms) passes or stays inconclusive, never fails', () => {
    for (const seed of [2, 3, 4]) {
      const result = replayAnalysis(spec, traffic({ seed, windows: 30, baselineRate: 0.01, canaryFactor: 1 }));
      expect(['pass', 'inconclusive'], `seed ${seed}: ${result.summary.runMessage}`).toContain(result.decision);
    }
  });

});

describe('replayAnalysis: mannWhitney judge', () => {
  const spec: AnalysisTemplateSpec = {
    judge: { mannWhitney: { confidence: 0.98, tolerance: 0.25, allowedIncrease: 1, criticalIncrease: 1, direction: 'increase', nanStrategy: 'remove', pass: 95, marginal: 75 } },
    metrics: [{ name: 'errors', provider: { builtin: { metric: 'errorRate' } }, interval: '10s', count: 10, noDataPolicy: 'pause' }],
  };

  it('fails a canary with 5x the error rate, with the template scores in the result', () => {
    const result = replayAnalysis(spec, traffic({ seed: 5, windows: 12, baselineRate: 0.01, canaryFactor: 5 }));
    expect(result.decision).toBe('fail');
    expect(result.decidedAt).not.toBeNull();
    expect(result.scores?.length).toBeGreaterThan(0);
    expect(result.scores!.at(-1)!.outcome).toBe('Fail');
  });

  it('an A/A file passes or stays inconclusive, never fails', () => {
    for (const seed of [6, 7, 8]) {
      const result = replayAnalysis(spec, traffic({ seed, windows: 12, baselineRate: 0.01, canaryFactor: 1 }));
      expect(['pass', 'inconclusive'], `seed ${seed}: ${result.summary.runMessage}`).toContain(result.decision);
    }
  });

});
