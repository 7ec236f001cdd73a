/**
 * The `rollout status` / `rollout history` rendering, fed with statuses produced by the real
 * decide() driven through a few passes of the simulated world of the core tests.
 */
import { describe, expect, it } from 'vitest';
import { deploymentPhase, FINISHED_PHASES, fieldsOf, formatDuration, relative, renderRolloutHistory, renderRolloutStatus, type DeploymentView } from '../../src/cli/rollout-view.js';
import { emptyDeploymentStatus, type DeploymentStatus } from '../../src/core/rollout/deployment-status.js';
import type { RolloutStrategySpec } from '../../src/core/resources/rollout-strategy.js';
import { canarySpec, errorRateTemplate, failing, healthy, op, sample, World } from '../core/rollout/harness.js';

const STRATEGY: RolloutStrategySpec = {
  canary: {
    steps: [{ setWeight: 5 }, { analysis: { templates: [{ templateName: 'error-rate' }] } }, { setWeight: 25 }, { pause: { duration: '2m' } }, { setWeight: 100 }],
  },
};
const spec = () => canarySpec(STRATEGY, { 'error-rate': errorRateTemplate({ count: 3 }) });

function view(world: World, extra: Partial<DeploymentStatus> = {}): DeploymentView {
  return {
    metadata: { name: 'deployment-7', createdAt: new Date(world.now - 60_000).toISOString() },
    spec: { service: 'checkout', environment: 'prod', version: '1.1.0', strategy: 'standard-canary' },
    status: { ...emptyDeploymentStatus(), rollout: world.status, resolved: world.spec, ...extra } as unknown as Record<string, unknown>,
  };
}

const render = (world: World, extra: Partial<DeploymentStatus> = {}, at = world.now + 2000) => renderRolloutStatus(view(world, extra), { now: at, color: false, utc: true });

/** The world after the first measurement of the step analysis. */
function analysing(): World {
  const world = new World(spec());
  world.pass();
  world.after(1000); // ready: 5%
  world.after(1000); // step done, analysis started
  world.after(10_000); // first measurement
  return world;
}

describe('renderRolloutStatus', () => {
  it('shows an analysis in progress: phase, versions, traffic, steps, the run with its latest measurement, events', () => {
    const world = analysing();
    expect(world.phase).toBe('Progressing');
    expect(render(world)).toBe(
      [
        'Deployment: deployment-7  (service checkout · environment prod · version 1.1.0)',
        'Phase:      Progressing — step 2/5: analysis error-rate (analysis: error-rate/error-rate 1/3)',
        'Strategy:   canary (standard-canary) · attempt 1 · started 00:16:40Z · running for 14s',
        'Versions:   stable 1.0.0 · canary 1.1.0 (ready)',
        'Traffic:    [█░░░░░░░░░░░░░░░░░░░] canary 5% · stable 95%',
        'Steps:      ■▶□□□  step 2 of 5',
        '  ✓ 1. setWeight 5',
        '  ▶ 2. analysis error-rate  (for 12s)',
        '  · 3. setWeight 25',
        '  · 4. pause 2m',
        '  · 5. setWeight 100',
        '',
        'Analysis',
        '  a1/s1  step 2 analysis (error-rate)  Running  started 12s ago',
        '    error-rate/error-rate  Running  1/3 measured · next in 8s',
        '      verdicts: 1 successful · 0 failed (limit 0) · 0 inconclusive (limit 0) · 0 errors (0 in a row, limit 4)',
        '      latest #1: Successful · 10s window ending 00:16:52Z (2s ago)',
        '        canary vs baseline: errorRate 0.00% vs 0.50% · p99 100ms vs 100ms · requests 100 vs 1000',
        '        success: canary.errorRate <= 0.05',
        '',
        'Events',
        '  00:16:40Z  RolloutStarted   canary rollout of 1.1.0 (stable 1.0.0), 5 step(s)',
        '  00:16:41Z  NewVersionReady  1.1.0 is ready',
        '  00:16:41Z  TrafficShifted   setWeight 5: 5%',
        '  00:16:42Z  StepCompleted    setWeight 5 done; next: analysis error-rate',
        '  00:16:42Z  AnalysisStarted  analysis at step 2 (error-rate) started',
      ].join('\n'),
    );
  });

  it('shows a timed pause step with its end, and an operator pause with how to resume', () => {
    const world = analysing();
    world.runUntil((result) => result.status.phase === 'Paused');
    const timed = render(world);
    expect(timed).toContain('Phase:      Paused — pause 2m (until 1970-01-01T00:19:13.000Z)');
    expect(timed).toContain('Pause:      pauseStep since 00:17:13Z (2s ago) by system; until 00:19:13Z (in 1m58s)');
    expect(timed).toContain('Traffic:    [█████░░░░░░░░░░░░░░░] canary 25% · stable 75%');
    expect(timed).toContain('Steps:      ■■■▶□  step 4 of 5');
    expect(timed).toContain('    error-rate/error-rate  Successful  3/3 measured\n');
    expect(timed).toContain('      verdicts: 3 successful ·');

    const held = analysing();
    held.after(1000, [op('pause', 'token:alice', 'checking dashboards')]);
    const user = render(held);
    expect(user).toContain('Phase:      Paused — paused by token:alice: checking dashboards');
    expect(user).toContain('Pause:      user since 00:16:53Z (2s ago) by token:alice; until resumed: rollgate rollout resume checkout (or promote)');
    // A pause step without a duration waits for promote.
    const gate = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }, { pause: {} }] } }));
    gate.runUntil((result) => result.status.phase === 'Paused');
    expect(render(gate)).toContain('; until promoted: rollgate rollout promote checkout');
  });

  it('shows an abort by failed analysis: reason, actor, message, the failing numbers and where it stopped', () => {
    const world = new World(spec(), { provider: () => failing });
    world.runUntil((result) => result.status.phase === 'Aborted');
    const text = render(world);
    expect(text).toContain('Phase:      Aborted — analysis at step 2 (error-rate) failed: error-rate/error-rate: 1 failed measurement(s), failureLimit 0');
    expect(text).toContain('Aborted:    AnalysisFailed by system at 00:16:52Z (2s ago): analysis at step 2 (error-rate) failed');
    expect(text).toContain('Traffic:    [░░░░░░░░░░░░░░░░░░░░] canary 0% · stable 100%');
    expect(text).toContain('Steps:      ■✗□□□  step 2 of 5 (stopped here)\n  ✓ 1. setWeight 5\n  ✗ 2. analysis error-rate\n');
    expect(text).toContain('Retiring:   1.1.0 in 28s (rollout aborted (AnalysisFailed))');
    expect(text).toContain('  a1/s1  step 2 analysis (error-rate)  Failed  ended 2s ago — error-rate/error-rate: 1 failed measurement(s), failureLimit 0');
    expect(text).toContain('      verdicts: 0 successful · 1 failed (limit 0) ·');
    expect(text).toContain('      latest #1: Failed · 10s window');
    expect(text).toContain('        canary vs baseline: errorRate 40.00% vs 0.50% · p99 100ms vs 100ms · requests 100 vs 1000');
    expect(text).toMatch(/Events \(last 6 of 7\)\n[\s\S]*00:16:52Z {2}Aborted {12}analysis at step 2/);
  });

  it('shows the sequential judge\'s evidence: e-value against its threshold, the ratio and its interval', () => {
    const sequential = { ...errorRateTemplate({ count: 3 }), judge: { sequential: { alpha: 0.05, tolerance: 0.1, quantiles: [0.5, 0.9, 0.99], edgeSamples: 500 } } };
    delete (sequential.metrics[0] as { successCondition?: string }).successCondition;
    const world = new World(canarySpec(STRATEGY, { 'error-rate': sequential }), { provider: () => failing });
    world.runUntil((result) => result.status.phase === 'Aborted');
    const text = render(world);
    expect(text).toMatch(/evidence: fail — errors: e=\S+ ≥ 20, ratio \S+ \[\S+, \S+\]/);
  });

  it('shows an operator abort with its actor and reason, and the last operation result', () => {
    const world = analysing();
    const result = world.after(1000, [op('abort', 'token:bob', 'p99 regression', 'op-1')]);
    const text = render(world, { operationResults: result.operationResults.map((r) => ({ ...r, actor: 'token:bob', handledAt: world.now })) });
    expect(text).toContain('Aborted:    OperatorAbort by token:bob at 00:16:53Z (2s ago): aborted by token:bob: p99 regression');
    expect(text).toContain('Last op:    abort by token:bob accepted 2s ago: aborted: all traffic back to the stable version');
    expect(text).toMatch(/Aborted {10}aborted by token:bob: p99 regression \(token:bob\)$/m);
  });

  it('shows a Healthy rollout: every step done, the new version serving 100%, the old one retiring', () => {
    const world = analysing();
    world.runUntil((result) => result.status.phase === 'Healthy');
    const text = render(world);
    expect(text).toContain('Phase:      Healthy — 1.1.0 is stable at 100%; retiring 1.0.0 after the scale-down delay');
    expect(text).toContain('Versions:   stable 1.1.0 · previous 1.0.0');
    expect(text).toContain('Traffic:    [████████████████████] 1.1.0 serves 100%');
    expect(text).toContain('Steps:      ■■■■■  all 5 done');
    expect(text).toMatch(/finished 2s ago after 2m3\ds/);
    expect(text).toMatch(/Promoted +1\.1\.0 is stable at 100%; 1\.0\.0 retires after 30s$/m);
  });

  it('shows a paused no-data analysis with the metric that got no data', () => {
    const world = new World(spec(), { provider: () => ({ baseline: healthy.baseline, canary: null }) });
    world.runUntil((result) => result.status.phase === 'Paused');
    const text = render(world);
    expect(text).toMatch(/Pause: {6}noData since .* until resumed: rollgate rollout resume checkout/);
    expect(text).toContain('1 no data (pause)');
    expect(text).toContain('canary vs baseline: errorRate no data vs 0.50%');
  });

  it('lists the latency fields a condition reads first', () => {
    const template = errorRateTemplate({ successCondition: 'canary.p95 <= baseline.p95 * 1.2', count: 2 });
    const world = new World(canarySpec(STRATEGY, { 'error-rate': template }), { provider: () => ({ baseline: sample(1000, 5, 0.2), canary: sample(100, 0, 1.5) }) });
    world.runUntil((result) => (result.status.analysisRuns[0]?.metrics[0]?.measurements.length ?? 0) > 0);
    expect(render(world)).toContain('canary vs baseline: p95 1.35s vs 180ms · errorRate 0.00% vs 0.50% · p99 1.50s vs 200ms · requests 100 vs 1000');
    expect(fieldsOf(['result.value > 3', null])).toEqual(['value']);
    expect(fieldsOf([null])).toEqual(['errorRate', 'p99']);
  });

  it('shows a deployment the engine has not started, and queued operations', () => {
    const deployment: DeploymentView = {
      metadata: { name: 'deployment-8', createdAt: new Date(1_000_000).toISOString() },
      spec: { service: 'checkout', version: '1.2.0', artifact: { digest: `sha256:${'ab'.repeat(32)}` } },
      status: { ...emptyDeploymentStatus(), pendingOperations: [{ id: 'x', type: 'pause', actor: 'token:ci', reason: 'hold', requestedAt: 1_003_000 }] },
    };
    expect(renderRolloutStatus(deployment, { now: 1_005_000, color: false })).toBe(
      [
        'Deployment: deployment-8  (service checkout · environment default · version 1.2.0 · artifact sha256:abababababab…)',
        'Phase:      Pending — waiting for the engine to start the rollout (created 5s ago)',
        'Queued:     pause by token:ci 2s ago ("hold")',
      ].join('\n'),
    );
    expect(deploymentPhase(deployment)).toBe('Pending');
    // A status the CLI cannot read is reported, not thrown.
    const corrupt = { ...deployment, status: { rollout: { phase: 'Progressing', stepIndex: 'x' } } };
    expect(renderRolloutStatus(corrupt, { now: 0, color: false })).toMatch(/^Phase: {6}Progressing — the stored rollout status cannot be read/m);
  });

  it('shows a rollout that cannot start (Failed, a finished phase) and one blocked by a secret', () => {
    const base = { metadata: { name: 'deployment-8', createdAt: new Date(1_000_000).toISOString() }, spec: { service: 'checkout', version: '1.2.0' } };
    const failed: DeploymentView = { ...base, status: { ...emptyDeploymentStatus(), failure: { message: 'strategy "fast" does not exist', at: new Date(1_001_000).toISOString() } } };
    expect(renderRolloutStatus(failed, { now: 1_005_000, color: false }).split('\n')[1]).toBe('Phase:      Failed — the rollout cannot start: strategy "fast" does not exist');
    expect(deploymentPhase(failed)).toBe('Failed');
    expect(FINISHED_PHASES.has('Failed')).toBe(true);

    const message = 'environment variable DB_PASSWORD: secret billing-db/password does not exist';
    const blocked: DeploymentView = { ...base, status: { ...emptyDeploymentStatus(), blocked: { message, at: new Date(1_002_000).toISOString() } } };
    expect(renderRolloutStatus(blocked, { now: 1_005_000, color: false, utc: true }).split('\n').slice(1)).toEqual([
      'Phase:      Pending — waiting for the engine to start the rollout (created 5s ago)',
      `Blocked:    ${message} since 00:16:42Z (3s ago); the engine tries again by itself`,
    ]);
    expect(deploymentPhase(blocked)).toBe('Pending');
    // Also under a rollout that already runs, and in the history table.
    const world = analysing();
    expect(render(world, { blocked: { message, at: new Date(world.now).toISOString() } })).toMatch(/^Blocked: {4}environment variable DB_PASSWORD/m);
    expect(renderRolloutHistory([failed, blocked], { now: 1_005_000 }).split('\n').slice(1).map((line) => line.replace(/\s+/g, ' '))).toEqual([
      'deployment-8 default 1.2.0 Failed created 5s ago - cannot start: strategy "fast" does not exist',
      'deployment-8 default 1.2.0 Pending created 5s ago - blocked: environment variable DB_PASSWORD: secret billing-db/password does not …',
    ]);
  });

  it('colours only when asked', () => {
    const world = analysing();
    expect(render(world)).not.toContain('\x1b[');
    const coloured = renderRolloutStatus(view(world), { now: world.now, color: true, utc: true });
    expect(coloured).toContain('\x1b[36;1mProgressing\x1b[0m');
    expect(coloured.replace(/\x1b\[[0-9;]*m/g, '')).toBe(render(world, {}, world.now));
  });

  it('formats durations and relative times', () => {
    expect([500, 12_000, 125_000, 3_840_000, 200_000_000].map(formatDuration)).toEqual(['500ms', '12s', '2m05s', '1h04m', '2d7h']);
    expect([relative(0, 12_000), relative(20_000, 12_000), relative(12_000, 12_400)]).toEqual(['12s ago', 'in 8s', 'now']);
  });
});

describe('renderRolloutHistory', () => {
  it('prints one row per deployment with phase, start, duration and message', () => {
    const healthyWorld = analysing();
    healthyWorld.runUntil((result) => result.status.phase === 'Healthy');
    const aborted = new World(spec(), { provider: () => failing });
    aborted.runUntil((result) => result.status.phase === 'Aborted');
    const now = healthyWorld.now + 60_000;
    const rows = [
      { metadata: { name: 'deployment-9', createdAt: new Date(now - 3000).toISOString() }, spec: { version: '1.3.0', environment: 'prod' }, status: emptyDeploymentStatus() as unknown as Record<string, unknown> },
      view(healthyWorld),
      { ...view(aborted), metadata: { name: 'deployment-6', createdAt: new Date(0).toISOString() } },
    ];
    expect(renderRolloutHistory(rows, { now }).split('\n')).toEqual([
      'NAME           ENVIRONMENT   VERSION   PHASE     STARTED          DURATION   MESSAGE',
      'deployment-9   prod          1.3.0     Pending   created 3s ago   -          waiting for the engine',
      'deployment-7   prod          1.1.0     Healthy   3m34s ago        2m34s      1.1.0 is stable at 100%; retiring 1.0.0 after the scale-down delay',
      'deployment-6   prod          1.1.0     Aborted   3m34s ago        12s        analysis at step 2 (error-rate) failed: error-rate/error-rate: 1 failed measure…',
    ]);
  });
});
