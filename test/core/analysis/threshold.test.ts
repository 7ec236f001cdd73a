import { describe, expect, it } from 'vitest';
import { checkCelExpression, compileCondition, measurementBindings, sampleToCel } from '../../../src/core/analysis/cel.js';
import { checkAnalysisTemplate, judgeFor, thresholdJudge } from '../../../src/core/analysis/judge.js';
import type { MetricSpec, Sample } from '../../../src/core/analysis/types.js';

const sample = (requests: number, errors: number, p99 = 0.2, value?: number): Sample => ({
  requests,
  errors,
  errorRate: requests > 0 ? errors / requests : null,
  latency: requests > 0 ? { mean: 0.05, p50: 0.04, p90: 0.1, p95: 0.15, p99, max: 1 } : null,
  ...(value !== undefined ? { value } : {}),
});

const metric = (conditions: { successCondition?: string; failureCondition?: string }): MetricSpec => ({
  name: 'm',
  provider: { builtin: { metric: 'errorRate' } },
  noDataPolicy: 'pause',
  ...conditions,
});

describe('checkCelExpression (apply-time validation)', () => {
  it.each([
    ['canary.errorRate <= 0.05', null],
    ['canary.errorRate <= baseline.errorRate * 1.5 + 0.01', null],
    ['canary.p99 < 0.5 && canary.requests > 100', null],
    ['has(canary.p99) ? canary.p99 < baseline.p99 * 2.0 : true', null],
    ['result < 10.0', null],
    ['canary.errorRate <=', /invalid CEL/],
    ['canary.p999 < 1.0', /unknown field canary\.p999; known fields: requests, errors/],
    ['canary.latency <= baseline.latency * 1.2', null],
    ['canary.errorRate <= baseline.errorRate * 2', /no matching overload.*write 2\.0, not 2/],
    ['canary.errorRate', /must evaluate to a bool, got double/],
    ['cannary.errorRate < 1.0', /variables are baseline, canary and result/],
    ['', /non-empty/],
  ])('%s', (source, expected) => {
    const result = checkCelExpression(source);
    if (expected === null) expect(result).toBeNull();
    else expect(result).toMatch(expected);
  });

  it('compiles once per source text', () => {
    const first = compileCondition('canary.errors < 3.0');
    expect(compileCondition('canary.errors < 3.0')).toBe(first);
  });
});

describe('CEL bindings', () => {
  it('leaves fields without a value out of the map', () => {
    expect([...sampleToCel(sample(0, 0)).keys()]).toEqual(['requests', 'errors']);
    expect(sampleToCel(sample(10, 1, 0.3, 7)).get('p99')).toBe(0.3);
    expect(measurementBindings(null, sample(10, 1, 0.3, 7))).toMatchObject({ result: 7 });
    expect(measurementBindings(null, sample(10, 1))).not.toHaveProperty('baseline');
  });

  it('latency is the quantile the builtin provider asks for (default p99)', () => {
    expect(sampleToCel(sample(10, 1, 0.3)).get('latency')).toBe(0.3);
    expect(sampleToCel(sample(10, 1, 0.3), 'p90').get('latency')).toBe(0.1);
    const judged = (quantile: number | undefined, canary: Sample) =>
      thresholdJudge.judge({
        metric: { ...metric({ successCondition: 'canary.latency <= baseline.latency * 1.2' }), provider: { builtin: { metric: 'latency', ...(quantile ? { quantile } : {}) } } },
        baseline: sample(100, 0, 0.2),
        canary,
        state: null, config: { kind: "threshold" },
      }).phase;
    expect(judged(0.99, sample(100, 0, 0.5))).toBe('Failed'); // p99 0.5 vs 0.2
    expect(judged(0.5, sample(100, 0, 0.5))).toBe('Successful'); // p50 is the same in both
    expect(judged(undefined, sample(100, 0, 0.22))).toBe('Successful');
    expect(judged(undefined, { ...sample(100, 0), latency: null })).toBe('NoData');
  });
});

describe('threshold judge (Argo Rollouts semantics)', () => {
  const base = sample(1000, 10); // 1%
  const good = sample(100, 1); // 1%
  const bad = sample(100, 20); // 20%
  const middling = sample(100, 5); // 5%
  const success = 'canary.errorRate <= 0.02';
  const failure = 'canary.errorRate > 0.1';

  it.each([
    ['only success, holds', { successCondition: success }, good, 'Successful'],
    ['only success, does not hold → Failed', { successCondition: success }, bad, 'Failed'],
    ['only failure, holds', { failureCondition: failure }, bad, 'Failed'],
    ['only failure, does not hold → Successful', { failureCondition: failure }, good, 'Successful'],
    ['both: success holds', { successCondition: success, failureCondition: failure }, good, 'Successful'],
    ['both: failure holds', { successCondition: success, failureCondition: failure }, bad, 'Failed'],
    ['both: neither holds → Inconclusive', { successCondition: success, failureCondition: failure }, middling, 'Inconclusive'],
    ['both hold → failure wins', { successCondition: 'canary.requests > 1.0', failureCondition: 'canary.errors > 1.0' }, bad, 'Failed'],
    ['no condition → Inconclusive (never a silent pass)', {}, good, 'Inconclusive'],
  ] as const)('%s', (_name, conditions, canary, phase) => {
    const verdict = thresholdJudge.judge({ metric: metric(conditions), baseline: base, canary, state: null, config: { kind: 'threshold' } });
    expect(verdict.phase).toBe(phase);
  });

  it('stores what each condition returned', () => {
    const verdict = thresholdJudge.judge({ metric: metric({ successCondition: success, failureCondition: failure }), baseline: base, canary: middling, state: null, config: { kind: 'threshold' } });
    expect(verdict.details).toEqual({ success: false, failure: false });
    expect(verdict.message).toMatch(/neither/);
  });

  it.each([
    ['no canary sample', { successCondition: success }, base, null, /no data for the canary/],
    ['no baseline sample when the condition reads it', { successCondition: 'canary.errorRate <= baseline.errorRate * 2.0' }, null, good, /no data for the baseline/],
    ['a field without a value (0 requests)', { successCondition: success }, base, sample(0, 0), /canary\.errorRate had no value/],
    ['latency without finished requests', { successCondition: 'canary.p99 < baseline.p99 * 1.2' }, base, { ...good, latency: null }, /canary\.p99 had no value/],
    ['result without a value', { successCondition: 'result < 5.0' }, base, good, /result had no value/],
  ] as const)('NoData: %s', (_name, conditions, baseline, canary, message) => {
    const verdict = thresholdJudge.judge({ metric: metric(conditions), baseline, canary, state: null, config: { kind: 'threshold' } });
    expect(verdict.phase).toBe('NoData');
    expect(verdict.message).toMatch(message);
  });

  it('a missing baseline is fine when the condition does not read it', () => {
    expect(thresholdJudge.judge({ metric: metric({ successCondition: success }), baseline: null, canary: good, state: null, config: { kind: 'threshold' } }).phase).toBe('Successful');
  });

  it('single-value providers: result = canary.value', () => {
    const verdict = thresholdJudge.judge({ metric: metric({ successCondition: 'result < 5.0' }), baseline: null, canary: sample(10, 0, 0.1, 3), state: null, config: { kind: 'threshold' } });
    expect(verdict.phase).toBe('Successful');
  });

  it.each([
    ['an evaluation error', 'int(canary.requests) / int(canary.errors) > 10', /successCondition: .*divi/i],
    ['a non-bool result', 'canary.errorRate', /must evaluate to a bool/],
    ['a syntax error', 'canary.errorRate <', /successCondition: /],
    ['a type error', "canary.p99 < 'fast'", /no matching overload/],
  ])('Error: %s, with the text', (_name, successCondition, message) => {
    const verdict = thresholdJudge.judge({ metric: metric({ successCondition }), baseline: base, canary: sample(10, 0), state: null, config: { kind: 'threshold' } });
    expect(verdict.phase).toBe('Error');
    expect(verdict.message).toMatch(message);
  });
});

describe('judge selection and template checks', () => {
  it('threshold is the default judge; an unknown judge is an apply-time error', () => {
    expect(judgeFor(undefined)?.name).toBe('threshold');
    expect(judgeFor({ kind: 'sequential' } as never)?.name).toBe('sequential');
    expect(judgeFor({ kind: 'magic' } as never)).toBeNull();
  });

  it('names the offending field of a template', () => {
    expect(
      checkAnalysisTemplate({
        metrics: [
          metric({ successCondition: 'canary.errorRate < 0.01' }),
          { ...metric({ failureCondition: 'canary.errorRate > baseline.errorRate * 3' }), name: 'x' },
          { ...metric({}), name: 'x' },
        ],
      }),
    ).toEqual([
      { path: ['metrics', 1, 'failureCondition'], message: expect.stringMatching(/write 2\.0, not 2/) },
      { path: ['metrics', 2, 'name'], message: 'duplicate metric name "x"' },
      { path: ['metrics', 2, 'successCondition'], message: 'give a successCondition, a failureCondition or both' },
    ]);
  });
});
