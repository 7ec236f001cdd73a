import { describe, expect, it } from 'vitest';
import { buildPlan, expandCanarySteps, PREVIEW_HEADER_ROUTE } from '../../../src/core/rollout/plan.js';
import { canarySpec, errorRateTemplate } from './harness.js';

describe('expandCanarySteps (Flagger forms)', () => {
  it.each([
    ['stepWeights', { stepWeights: [5, 25, 50] }, [5, 25, 50]],
    ['stepWeight up to maxWeight', { stepWeight: 10, maxWeight: 50 }, [10, 20, 30, 40, 50]],
    ['stepWeight capped at maxWeight', { stepWeight: 20, maxWeight: 50 }, [20, 40, 50]],
    ['stepWeight with the default maxWeight 100', { stepWeight: 30 }, [30, 60, 90, 100]],
    ['stepWeight above maxWeight', { stepWeight: 60, maxWeight: 50 }, [50]],
    ['stepWeight 0 (rejected by validation)', { stepWeight: 0 }, []],
  ])('%s', (_name, canary, weights) => {
    expect(expandCanarySteps(canary)).toEqual(weights.map((setWeight) => ({ setWeight })));
  });

  it('follows each weight with the analysis templates when canary.analysis is given', () => {
    const analysis = { templates: ['error-rate'], args: [{ name: 'service', value: 'checkout' }] };
    expect(expandCanarySteps({ stepWeights: [10, 50], analysis })).toEqual([
      { setWeight: 10 },
      { analysis: { templates: ['error-rate'], args: [{ name: 'service', value: 'checkout' }] } },
      { setWeight: 50 },
      { analysis: { templates: ['error-rate'], args: [{ name: 'service', value: 'checkout' }] } },
    ]);
  });

  it('returns explicit steps unchanged', () => {
    const steps = [{ setWeight: 5 }, { pause: {} }];
    expect(expandCanarySteps({ steps })).toBe(steps);
  });
});

describe('buildPlan', () => {
  it('Flagger form: analysis after each weight, threshold → failureLimit, no background run', () => {
    const result = buildPlan(canarySpec({ canary: { stepWeight: 25, maxWeight: 50, threshold: 3, analysis: { templates: ['error-rate'] } } }, { 'error-rate': errorRateTemplate() }));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.plan.background).toBeNull();
    expect(result.plan.steps).toEqual([
      { kind: 'setWeight', weight: 25, label: 'setWeight 25' },
      { kind: 'analysis', runKind: 'step', templates: ['error-rate'], args: {}, failureLimit: 2, label: 'analysis error-rate' },
      { kind: 'setWeight', weight: 50, label: 'setWeight 50' },
      { kind: 'analysis', runKind: 'step', templates: ['error-rate'], args: {}, failureLimit: 2, label: 'analysis error-rate' },
    ]);
  });

  it('explicit steps with background analysis and defaults', () => {
    const result = buildPlan(canarySpec({ canary: { steps: [{ setWeight: 5 }, { pause: { duration: '1m30s' } }], analysis: { templates: ['error-rate'], startingStep: 1 } } }, { 'error-rate': errorRateTemplate() }));
    expect(result).toMatchObject({
      ok: true,
      plan: {
        kind: 'canary',
        steps: [{ kind: 'setWeight', weight: 5 }, { kind: 'pause', durationMs: 90_000, gate: false }],
        background: { templates: ['error-rate'], startingStep: 1 },
        progressDeadlineMs: 600_000,
        progressDeadlineAbort: true,
        scaleDownDelayMs: 30_000,
      },
    });
  });

  it('blue-green as steps', () => {
    const result = buildPlan(canarySpec({ blueGreen: { autoPromotionSeconds: 20, prePromotionAnalysis: { templates: ['e'] }, postPromotionAnalysis: { templates: ['e'] } } }, { e: errorRateTemplate() }));
    expect(result.ok && result.plan.steps.map((step) => step.kind)).toEqual(['setHeaderRoute', 'analysis', 'pause', 'setWeight', 'setHeaderRoute', 'analysis']);
    expect(result.ok && result.plan.steps[0]).toMatchObject({ route: PREVIEW_HEADER_ROUTE });
    expect(result.ok && result.plan.steps[2]).toMatchObject({ kind: 'pause', durationMs: 20_000, gate: true });
  });

  it('first deploy and same version are direct', () => {
    expect(buildPlan(canarySpec({ canary: { steps: [{ setWeight: 5 }] } }, {}, { stableVersion: null }))).toMatchObject({ ok: true, plan: { kind: 'direct', steps: [] } });
    expect(buildPlan(canarySpec({ canary: { steps: [{ setWeight: 5 }] } }, {}, { stableVersion: '1.1.0' }))).toMatchObject({ ok: true, plan: { kind: 'direct' } });
  });

  it.each([
    ['a missing template', canarySpec({ canary: { steps: [{ analysis: { templates: ['nope'] } }] } }), /strategy\.canary\.steps\[0\]: AnalysisTemplate "nope" was not found/],
    ['an invalid strategy', canarySpec({ canary: { steps: [{ setWeight: 150 }] } } as never), /^strategy\.canary\.steps\[0\]/],
    ['both strategies', canarySpec({ canary: { steps: [] }, blueGreen: {} } as never), /exactly one of canary or blueGreen/],
    ['stepWeight 0', canarySpec({ canary: { stepWeight: 0 } }), /stepWeight: must be greater than 0/],
    ['a bad CEL expression', canarySpec({ canary: { steps: [{ analysis: { templates: ['e'] } }] } }, { e: errorRateTemplate({ successCondition: 'canary.errorRate <' }) }), /metrics\[0\]\.successCondition: invalid CEL/],
    ['an unknown field', canarySpec({ canary: { steps: [{ analysis: { templates: ['e'] } }] } }, { e: errorRateTemplate({ successCondition: 'canary.p999 < 1.0' }) }), /unknown field canary\.p999/],
    [
      'a missing template arg',
      canarySpec({ canary: { steps: [{ analysis: { templates: ['e'] } }] } }, { e: { ...errorRateTemplate(), args: [{ name: 'service' }] } }),
      /needs arg "service"/,
    ],
  ])('rejects %s', (_name, spec, message) => {
    const result = buildPlan(spec);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });

  it('resolves template args from the strategy over template defaults', () => {
    const template = { ...errorRateTemplate(), args: [{ name: 'service' }, { name: 'env', value: 'prod' }] };
    const result = buildPlan(canarySpec({ canary: { steps: [{ analysis: { templates: ['e'], args: [{ name: 'service', value: 'checkout' }] } }] } }, { e: template }));
    expect(result.ok && result.plan.steps[0]).toMatchObject({ args: { service: 'checkout', env: 'prod' } });
  });
});
