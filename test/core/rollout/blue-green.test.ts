import { describe, expect, it } from 'vitest';
import type { RolloutStrategySpec } from '../../../src/core/resources/rollout-strategy.js';
import type { Action, DecideResult } from '../../../src/core/rollout/types.js';
import { canarySpec, errorRateTemplate, failing, healthy, op, World } from './harness.js';

const ofType = <T extends Action['type']>(result: DecideResult, type: T) => result.actions.filter((action): action is Extract<Action, { type: T }> => action.type === type);

const templates = { smoke: errorRateTemplate({ count: 2 }) };

describe('blue-green', () => {
  it('preview at 0% with a header route, pre-promotion analysis, manual promotion, switch, post-promotion analysis, retire', () => {
    const strategy: RolloutStrategySpec = {
      blueGreen: { autoPromotionEnabled: false, prePromotionAnalysis: { templates: ['smoke'] }, postPromotionAnalysis: { templates: ['smoke'] }, previewReplicaCount: 1, scaleDownDelaySeconds: 60 },
    };
    const world = new World(canarySpec(strategy, templates, { replicas: 3 }));

    let result = world.pass();
    expect(ofType(result, 'ensureVersion')).toEqual([expect.objectContaining({ version: '1.1.0', replicas: 1, role: 'preview' })]);

    // Preview: backends declared at weight 0, header route to the new version.
    result = world.after(1000);
    expect(result.actions.map((action) => action.type)).toEqual(['setWeight', 'setBackends', 'setHeaderRoute']);
    expect(ofType(result, 'setWeight')[0]!.canaryWeight).toBe(0);
    expect(ofType(result, 'setHeaderRoute')[0]!.route).toEqual({ name: 'rollgate-preview', match: [{ headerName: 'x-rollgate-preview', exact: 'true' }] });
    expect(result.status.canaryWeight).toBe(0);

    // Route verified → pre-promotion analysis runs (2 measurements) → awaiting promotion.
    result = world.after(1000);
    expect(result.status.analysisRuns).toEqual([expect.objectContaining({ id: 'a1/prePromotion', kind: 'prePromotion' })]);
    result = world.runUntil((r) => r.status.phase === 'Paused');
    expect(result.status.analysisRuns[0]!.phase).toBe('Successful');
    expect(result.status.pause).toMatchObject({ reason: 'pauseStep', until: null, message: expect.stringMatching(/awaiting promotion/) });
    expect(result.status.canaryWeight).toBe(0);
    expect(world.router.canaryWeight).toBe(0);
    expect(result.requeueAfterMs).toBeNull();

    // Promote → scale the preview to full size first.
    result = world.after(5000, [op('promote', 'user:alice')]);
    expect(ofType(result, 'ensureVersion')).toEqual([expect.objectContaining({ replicas: 3 })]);
    expect(ofType(result, 'setWeight')).toEqual([]);
    // Then switch 100%.
    result = world.after(1000);
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([100]);
    expect(result.status.canaryWeight).toBe(100);
    // Then the preview route goes, and post-promotion analysis runs.
    result = world.after(1000);
    expect(ofType(result, 'setHeaderRoute')[0]!.route).toBeNull();
    result = world.after(1000);
    expect(result.status.analysisRuns.map((run) => run.id)).toEqual(['a1/prePromotion', 'a1/postPromotion']);
    expect(result.status.phase).toBe('Progressing');

    result = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(result.status).toMatchObject({ phase: 'Healthy', stableVersion: '1.1.0', canaryWeight: 100 });
    expect(ofType(result, 'markStable')).toHaveLength(1);
    expect(result.status.retirements).toEqual([expect.objectContaining({ version: '1.0.0', notBefore: world.now + 60_000 })]);
    result = world.runUntil((r) => r.requeueAfterMs === null);
    expect(world.target.has('1.0.0')).toBe(false);
    expect(world.router).toMatchObject({ stableVersion: '1.1.0', canaryWeight: 0, headerRoute: null });
  });

  it('auto-promotes right after pre-promotion analysis by default (Argo default autoPromotionEnabled: true)', () => {
    const world = new World(canarySpec({ blueGreen: { prePromotionAnalysis: { templates: ['smoke'] } } }, templates));
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Healthy');
    expect(result.status.history.filter((event) => event.type === 'Paused')).toEqual([]);
  });

  it('auto-promotes after autoPromotionSeconds', () => {
    const world = new World(canarySpec({ blueGreen: { autoPromotionSeconds: 30 } }));
    world.pass();
    world.after(1000);
    let result = world.after(1000);
    expect(result.status.phase).toBe('Paused');
    expect(result.status.pause).toMatchObject({ reason: 'pauseStep', until: world.now + 30_000 });
    expect(result.requeueAfterMs).toBe(30_000);
    result = world.after(29_000);
    expect(result.status.phase).toBe('Paused');
    result = world.after(1000);
    expect(result.status.phase).toBe('Progressing');
    expect(ofType(result, 'setWeight').map((action) => action.canaryWeight)).toEqual([100]);
    result = world.runUntil((r) => r.status.phase === 'Healthy');
    expect(result.status.phase).toBe('Healthy');
  });

  it('a failing pre-promotion analysis aborts: the preview never gets traffic', () => {
    const world = new World(canarySpec({ blueGreen: { prePromotionAnalysis: { templates: ['smoke'] } } }, templates), { provider: () => failing });
    const result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort!.message).toMatch(/pre-promotion analysis \(smoke\) failed/);
    expect(world.applied.filter((action) => action.type === 'setWeight').map((action) => (action as { canaryWeight: number }).canaryWeight)).toEqual([0, 0]);
    expect(world.router.headerRoute).toBeNull();
  });

  it('a failing post-promotion analysis switches traffic back in the same pass and aborts', () => {
    let bad = false;
    const world = new World(canarySpec({ blueGreen: { postPromotionAnalysis: { templates: ['smoke'] } } }, templates), { provider: () => (bad ? failing : healthy) });
    let result = world.runUntil((r) => r.status.analysisRuns.some((run) => run.kind === 'postPromotion'));
    expect(world.router.canaryWeight).toBe(100);
    bad = true;
    result = world.runUntil((r) => r.status.phase !== 'Progressing');
    expect(result.status.phase).toBe('Aborted');
    expect(result.status.abort!.message).toMatch(/post-promotion analysis \(smoke\) failed/);
    expect(ofType(result, 'setWeight')).toEqual([expect.objectContaining({ canaryWeight: 0 })]);
    expect(result.status.canaryWeight).toBe(0);
    expect(world.router.canaryWeight).toBe(0);
    expect(result.status.stableVersion).toBe('1.0.0');
    expect(result.status.retirements).toEqual([expect.objectContaining({ version: '1.1.0' })]);
    expect(ofType(result, 'markStable')).toEqual([]);
  });

  it('promoteFull skips the analyses and the gate', () => {
    const world = new World(
      canarySpec({ blueGreen: { autoPromotionEnabled: false, prePromotionAnalysis: { templates: ['smoke'] }, postPromotionAnalysis: { templates: ['smoke'] } } }, templates),
    );
    world.pass();
    world.after(1000);
    world.after(1000);
    const result = world.after(1000, [op('promoteFull')]);
    expect(result.status.phase).toBe('Healthy');
    expect(result.status.analysisRuns.map((run) => run.phase)).toEqual(['Terminated']);
  });
});

describe('blue-green promoteFull with a small preview', () => {
  it('scales the new version to full size before marking it stable', () => {
    const world = new World(canarySpec({ blueGreen: { autoPromotionEnabled: false, previewReplicaCount: 1 } }, {}, { replicas: 4 }));
    world.pass();
    world.after(1000);
    let result = world.after(1000, [op('promoteFull')]);
    expect(result.status.phase).toBe('Progressing');
    expect(result.actions.filter((action) => action.type === 'ensureVersion')).toEqual([expect.objectContaining({ replicas: 4, canaryWeight: 100 })]);
    result = world.after(1000);
    expect(result.status.phase).toBe('Healthy');
  });
});
