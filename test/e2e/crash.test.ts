/**
 * Crash test: a real `rollgate serve` process (SQLite in a temp dir) runs canary rollouts of real
 * demo-app instances behind its embedded router, and is SIGKILLed at several points — mid weight
 * change, mid analysis, mid abort — then started again in the same directory. Each scenario checks
 * the resumed outcome, that nothing was done twice (instances adopted, not restarted; every
 * decision audited once; one abort) and that `rollgate audit verify` passes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeploymentStatus, RolloutStatus } from '../../src/core/rollout/index.js';
import {
  Api,
  burst,
  DEMO_APP,
  freePort,
  killProcessesWith,
  peekDeploymentStatus,
  pidFiles,
  processesWith,
  serveChildren,
  sleep,
  spawnServe,
  startLoad,
  waitFor,
  type Serve,
} from './crash-helpers.js';
import { rollgate } from './helpers.js';

/** Put on every demo-app command line of this run, so leftovers can be found (and killed) by it. */
const MARKER = `rollgate-crash-test-${randomUUID()}`;
const SERVICE = 'shop';
const dirs: string[] = [];

// A failing test must not leak: SIGKILL any serve still running (and wait for it, so it starts
// nothing more), then every demo-app instance of this run — a killed serve leaves them running on
// purpose, for the next serve to adopt.
afterAll(async () => {
  await Promise.all(
    [...serveChildren].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
          setTimeout(resolve, 5_000).unref();
        }),
    ),
  );
  await killProcessesWith(MARKER);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function manifests(routerPort: number, marker: string): string {
  return `
apiVersion: rollgate.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: errors}
spec:
  metrics:
    - name: error-rate
      provider: {builtin: {metric: errorRate}}
      interval: 1s
      count: 3
      successCondition: canary.errorRate <= 0.05
      failureLimit: 0
      # This test is about resuming, not about the analysis's power: on a starved CI machine a 1 s
      # window can get no canary request, which must not stall the rollout here. (The window that
      # spans a crash is not "no data" but an Error measurement; scenario B checks it.)
      noDataPolicy: pass
---
apiVersion: rollgate.dev/v1alpha1
kind: RolloutStrategy
metadata: {name: crash-canary}
spec:
  canary:
    steps:
      - setWeight: 20
      - analysis: {templates: [{templateName: errors}]}
      - setWeight: 50
      - pause: {}
      - setWeight: 80
      - analysis: {templates: [{templateName: errors}]}
    scaleDownDelaySeconds: 1
---
apiVersion: rollgate.dev/v1alpha1
kind: Service
metadata: {name: ${SERVICE}}
spec:
  owner: team-crash
  tier: standard
  strategy: crash-canary
  target:
    type: process
    command: node ${DEMO_APP} ${marker}
    env: {SERVICE: ${SERVICE}}
    healthCheck: {path: /healthz, intervalSeconds: 1, timeoutSeconds: 1}
  router: {type: embedded, listen: 127.0.0.1:${routerPort}}
`;
}

interface Scenario {
  cwd: string;
  /** On the command line of this scenario's demo-app instances. */
  marker: string;
  current: string;
  routerPort: number;
  api: Api;
  serve: Serve;
  load: ReturnType<typeof startLoad>;
  /** What happened (kill points, stored state at each kill); printed when the scenario fails, or live with CRASH_TEST_VERBOSE=1. */
  lines: string[];
  log(line: string): void;
}

async function startScenario(label: string): Promise<Scenario> {
  const cwd = mkdtempSync(path.join(tmpdir(), `rollgate-crash-${label}-`));
  dirs.push(cwd);
  const routerPort = await freePort();
  const marker = `${MARKER}-${label}`;
  writeFileSync(path.join(cwd, 'shop.yaml'), manifests(routerPort, marker));
  const serve = await spawnServe(cwd);
  const applied = await rollgate(cwd, 'apply', '-f', 'shop.yaml');
  expect(applied.code, applied.stderr).toBe(0);
  const api = new Api(cwd);
  await api.createDeployment(`${label}-v1`, SERVICE, '1.0.0');
  await waitFor(`${label}-v1 Healthy`, async () => (await rollout(api, `${label}-v1`))?.phase === 'Healthy', { timeoutMs: 15_000 });
  const started = Date.now();
  const lines: string[] = [];
  return {
    current: '',
    lines,
    cwd,
    marker,
    routerPort,
    api,
    serve,
    load: startLoad(routerPort, 4),
    log: (line) => {
      const stamped = `[${label} +${((Date.now() - started) / 1000).toFixed(2)}s] ${line}`;
      lines.push(stamped);
      if (process.env.CRASH_TEST_VERBOSE) console.log(stamped);
    },
  };
}

async function rollout(api: Api, name: string): Promise<RolloutStatus | null> {
  return (await api.deployment(name)).status.rollout;
}

/** Runs a scenario; when it fails, its load, serve and instances are stopped so the next one starts clean. */
async function scenario(label: string, body: (s: Scenario) => Promise<void>): Promise<void> {
  const s = await startScenario(label);
  try {
    await body(s);
  } catch (error) {
    await s.load.stop();
    s.log(`load: ${JSON.stringify(s.load.counts)}`);
    // Each measurement: [window start, length ms, phase, canary requests, baseline requests].
    const last = await rollout(s.api, s.current).catch(() => null);
    s.log(`${s.current} analysis: ${JSON.stringify(last?.analysisRuns.map((run) => run.metrics[0]?.measurements.map((m) => [new Date(m.window.startMs).toISOString(), m.window.endMs - m.window.startMs, m.phase, m.inputs.canary?.requests, m.inputs.baseline?.requests])))}`);
    await s.serve.crash();
    await killProcessesWith(s.marker);
    s.log(`serve output (tail):\n${s.serve.output().slice(-3000)}`);
    if (!process.env.CRASH_TEST_VERBOSE) console.log(s.lines.join('\n'));
    throw error;
  }
}

/** SIGKILLs serve, reads the Deployment's status as the killed process left it, and starts serve again. */
async function crashAndRestart(s: Scenario, deployment: string, label: string): Promise<DeploymentStatus> {
  s.current = deployment;
  await s.serve.crash();
  const stored = peekDeploymentStatus(s.cwd, deployment)!;
  const atCrash = stored.rollout;
  const running = pidFiles(s.cwd, SERVICE).map((entry) => `${entry.version}=${entry.pid}`);
  s.log(`${label}: killed; stored: ${atCrash ? `${atCrash.phase} step ${atCrash.stepIndex} weight ${atCrash.canaryWeight} eventSeq ${atCrash.eventSeq} (${atCrash.message})` : 'no rollout yet'}; instances ${running.join(', ')}`);
  const before = Date.now();
  s.serve = await spawnServe(s.cwd);
  s.log(`${label}: restarted in ${Date.now() - before} ms (pid ${s.serve.pid})`);
  return stored;
}

/**
 * Kill points poll fast. Other waits poll slowly: the status documents are large and serve's event
 * loop also runs the router, whose traffic analysis measures (on a small machine, 10 ms polling
 * starved the canary of requests into "no data").
 */
const KILL_POINT = { pollMs: 15 };

/** Polls the rollout until `reached` holds; fails at once on a phase it can no longer leave. */
async function until(s: Scenario, name: string, what: string, reached: (r: RolloutStatus) => boolean, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<RolloutStatus> {
  s.current = name;
  let last: RolloutStatus | null = null;
  const r = await waitFor(
    `${name}: ${what}`,
    async () => {
      last = await rollout(s.api, name);
      if (last && reached(last)) return last;
      if (last && (last.phase === 'Aborted' || last.phase === 'Degraded' || last.pause?.reason === 'noData' || last.pause?.reason === 'inconclusive')) {
        throw new Error(`${name} stopped: ${last.phase} ${last.message}`);
      }
      return null;
    },
    { timeoutMs: options.timeoutMs ?? 20_000, intervalMs: options.pollMs ?? 100, describe: () => (last ? `${last.phase} step ${last.stepIndex} weight ${last.canaryWeight}: ${last.message}` : 'no status') },
  );
  s.log(`${name} ${what}: ${r.phase} step ${r.stepIndex} weight ${r.canaryWeight} (${r.message})`);
  return r;
}

/** First-seen pid of each version; every later look must find the same pid (adopted, never restarted). */
function pidTracker(s: Scenario) {
  const seen = new Map<string, number>();
  return {
    seen,
    check(where: string): void {
      const byVersion = new Map<string, number[]>();
      for (const entry of pidFiles(s.cwd, SERVICE)) byVersion.set(entry.version, [...(byVersion.get(entry.version) ?? []), entry.pid]);
      for (const [version, pids] of byVersion) {
        expect(pids, `${where}: one instance of ${version}`).toHaveLength(1);
        const first = seen.get(version);
        if (first === undefined) seen.set(version, pids[0]!);
        else expect(pids[0], `${where}: ${version} still runs as pid ${first}`).toBe(first);
      }
    },
  };
}

/** After a restart: every instance left running is taken over by the new serve (its pid files name it as owner). */
async function expectAdopted(s: Scenario, pids: Map<string, number>): Promise<void> {
  await waitFor(
    'instances adopted by the new serve',
    () => {
      const entries = pidFiles(s.cwd, SERVICE);
      return entries.length > 0 && entries.every((entry) => entry.ownerPid === s.serve.pid);
    },
    { timeoutMs: 5_000, describe: () => JSON.stringify(pidFiles(s.cwd, SERVICE)) },
  );
  for (const entry of pidFiles(s.cwd, SERVICE)) {
    const first = pids.get(entry.version);
    if (first !== undefined) expect(entry.pid, `${entry.version} adopted, not restarted`).toBe(first);
  }
  // Every demo-app process of this scenario is one the pid files name: nothing was started twice.
  // (A pid file may outlive its process by a health interval: an instance the killed serve was
  // retiring finishes exiting after the new serve adopted it.)
  const files = () => new Set(pidFiles(s.cwd, SERVICE).map((entry) => entry.pid));
  const running = async () => new Set((await processesWith(s.marker)).map((entry) => entry.pgid));
  expect([...(await running())].filter((pgid) => !files().has(pgid)), 'instances no pid file names').toEqual([]);
  await waitFor('pid files = running instances', async () => [...files()].sort().join() === [...(await running())].sort().join(), {
    timeoutMs: 5_000,
    describe: async () => `pid files ${[...files()]}, running ${[...(await running())]}`,
  });
}

interface AuditEvent {
  seq: number;
  actor: string;
  action: string;
  details: { seq?: number; version?: string } | null;
}

/** The chain verifies, and each decision of the rollout was recorded exactly once (seq 1..eventSeq). */
async function expectAuditOk(s: Scenario, name: string): Promise<AuditEvent[]> {
  const verified = await rollgate(s.cwd, 'audit', 'verify');
  expect(verified.code, verified.stderr).toBe(0);
  const listed = await rollgate(s.cwd, 'audit', 'list', '--kind', 'Deployment', '--name', name, '--limit', '1000', '-o', 'json');
  expect(listed.code, listed.stderr).toBe(0);
  const events = JSON.parse(listed.stdout) as AuditEvent[];
  // The engine's decisions carry the rollout's event seq (an operator's, e.g. Resumed, has the operator as actor).
  const decisions = events.filter((event) => event.action.startsWith('rollout.') && typeof event.details?.seq === 'number');
  const seqs = decisions.map((event) => event.details?.seq);
  const final = (await rollout(s.api, name))!;
  expect(new Set(seqs).size, `no decision recorded twice: ${JSON.stringify(seqs)}`).toBe(seqs.length);
  expect(seqs).toEqual(Array.from({ length: final.eventSeq }, (_, index) => index + 1));
  const actionOf = new Map(decisions.map((event) => [event.details!.seq!, event.action]));
  for (const event of final.history) expect(actionOf.get(event.seq), `history event ${event.seq}`).toBe(`rollout.${event.type}`);
  return events;
}

/** The share of `total` requests each version answered, all of them 2xx. */
async function split(s: Scenario, total = 400): Promise<Record<string, number>> {
  const counts = await burst(s.routerPort, total);
  expect(counts.failed, JSON.stringify(counts)).toBe(0);
  return Object.fromEntries(Object.entries(counts.byVersion).map(([version, count]) => [version, count / counts.total]));
}

/** Graceful stop: serve exits 0 and takes every instance of this run with it. */
async function finish(s: Scenario): Promise<void> {
  await s.load.stop();
  const counts = s.load.counts;
  s.log(`load: ${JSON.stringify(counts)}`);
  // Requests fail only while no router listens (the control plane was dead); the data plane never
  // answered 5xx: no instance was restarted or left without a route.
  expect(Object.keys(counts.byStatus).filter((code) => Number(code) >= 500), JSON.stringify(counts)).toEqual([]);
  expect(counts.byVersion.none ?? 0).toBe(0);
  expect(await s.serve.stop()).toBe(0);
  expect(await processesWith(s.marker), 'no demo-app instance left after a graceful stop').toEqual([]);
  expect(pidFiles(s.cwd, SERVICE)).toEqual([]);
}

describe('crash: SIGKILL the control plane during rollouts', () => {
  it('A: mid weight change — resumes, adopts the instances, the router keeps the stored weight; promote finishes it', async () => {
    await scenario('a', async (s) => {
      const pids = pidTracker(s);
      pids.check('v1 deployed');
      await s.api.createDeployment('a-v2', SERVICE, '2.0.0');

      // Kill 1: a random moment just after the Deployment was created (starting 2.0.0, or shifting to 20%).
      await sleep(50 + Math.floor(Math.random() * 250));
      await crashAndRestart(s, 'a-v2', 'kill 1');
      pids.check('after kill 1');
      await expectAdopted(s, pids.seen);

      // Kill 2: as soon as the status asks for 20%.
      await until(s, 'a-v2', 'asks for 20%', (r) => r.canaryWeight >= 20, KILL_POINT);
      pids.check('before kill 2');
      await crashAndRestart(s, 'a-v2', 'kill 2');
      await expectAdopted(s, pids.seen);

      // Kill 3: as soon as the setWeight 50 step is current (sent, not yet confirmed).
      const at50 = await until(s, 'a-v2', 'at the setWeight 50 step', (r) => r.stepIndex >= 2, KILL_POINT);
      const atCrash = (await crashAndRestart(s, 'a-v2', 'kill 3')).rollout!;
      expect(atCrash.eventSeq).toBeGreaterThanOrEqual(at50.eventSeq);
      await expectAdopted(s, pids.seen);

      const paused = await until(s, 'a-v2', 'paused at the pause step', (r) => r.phase === 'Paused');
      expect(paused.pause?.reason).toBe('pauseStep');
      expect(paused.stepIndex).toBe(3);
      expect(paused.canaryWeight).toBe(50);
      expect(paused.analysisRuns[0]?.phase).toBe('Successful');
      const shares = await split(s, 500);
      s.log(`split at 50%: ${JSON.stringify(shares)}`);
      expect(shares['2.0.0']).toBeGreaterThan(0.4);
      expect(shares['2.0.0']).toBeLessThan(0.6);
      pids.check('paused');

      await s.api.operate('a-v2', 'promote', 'crash test: go on');
      const healthy = await until(s, 'a-v2', 'Healthy', (r) => r.phase === 'Healthy');
      expect(healthy.stableVersion).toBe('2.0.0');
      pids.check('healthy');
      await until(s, 'a-v2', '1.0.0 retired', (r) => r.retirements.length > 0 && r.retirements.every((retirement) => retirement.retiredAt !== null), { timeoutMs: 10_000 });
      expect(pidFiles(s.cwd, SERVICE).map((entry) => entry.version)).toEqual(['2.0.0']);
      expect((await processesWith(s.marker)).some((entry) => entry.pgid === pids.seen.get('1.0.0'))).toBe(false);
      expect(await split(s, 200)).toEqual({ '2.0.0': 1 });
      expect(pidFiles(s.cwd, SERVICE)[0]!.pid).toBe(pids.seen.get('2.0.0'));

      const events = await expectAuditOk(s, 'a-v2');
      expect(events.filter((event) => event.action === 'rollout.Promoted')).toHaveLength(1);
      expect(events.filter((event) => event.action === 'rollout.VersionRetired')).toHaveLength(1);
      // The Service's stable version was recorded once per promotion, crashes or not.
      const service = await rollgate(s.cwd, 'audit', 'list', '--kind', 'Service', '--name', SERVICE, '-o', 'json');
      const stable = (JSON.parse(service.stdout) as Array<{ action: string; details: { version?: string } }>).filter((event) => event.action === 'service.stable');
      expect(stable.map((event) => event.details.version)).toEqual(['1.0.0', '2.0.0']);
      await finish(s);
    });
  }, 60_000);

  it('B: mid analysis — the run continues where it was: no measurement lost or taken twice', async () => {
    await scenario('b', async (s) => {
      const pids = pidTracker(s);
      await s.api.createDeployment('b-v2', SERVICE, '2.0.0');
      await until(s, 'b-v2', 'analysis running with a measurement', (r) => r.analysisRuns[0]?.phase === 'Running' && (r.analysisRuns[0].metrics[0]?.measurements.length ?? 0) >= 1, KILL_POINT);
      pids.check('analysis running');
      const atCrash = (await crashAndRestart(s, 'b-v2', 'kill mid analysis')).rollout!;
      const runAtCrash = atCrash.analysisRuns[0]!;
      expect(runAtCrash.phase).toBe('Running');
      const before = runAtCrash.metrics[0]!.measurements;
      expect(before.length).toBeGreaterThanOrEqual(1);
      await expectAdopted(s, pids.seen);

      const after = await until(s, 'b-v2', 'analysis done', (r) => r.analysisRuns[0]?.phase !== 'Running');
      const run = after.analysisRuns[0]!;
      expect(run.phase, run.message ?? '').toBe('Successful');
      const metric = run.metrics[0]!;
      s.log(`measurements: ${JSON.stringify(metric.measurements.map((m) => ({ seq: m.seq, phase: m.phase, start: m.window.startMs - run.startedAt, end: m.window.endMs - run.startedAt, canary: m.inputs.canary?.requests })))}`);
      const seqs = metric.measurements.map((measurement) => measurement.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, index) => index + 1));
      // The ones taken before the crash are kept exactly as they were ...
      expect(metric.measurements.slice(0, before.length)).toEqual(before);
      // ... later ones continue from where they stopped: back-to-back windows from the run's start.
      expect(metric.measurements[0]!.window.startMs).toBe(run.startedAt);
      for (let index = 1; index < metric.measurements.length; index += 1) {
        expect(metric.measurements[index]!.window.startMs).toBe(metric.measurements[index - 1]!.window.endMs);
      }
      // The window that was due while serve was down — it starts before the crash — is not judged on
      // the new router's statistics, which began at the restart: it is one Error measurement saying
      // so, not counted; the next window starts after it.
      const across = metric.measurements[before.length]!;
      expect(across.window.startMs).toBe(before.at(-1)!.window.endMs);
      expect(across.phase).toBe('Error');
      expect(across.message).toMatch(/before this control plane's router began counting .* \(the control plane was restarted\)/);
      expect(metric.errors).toBe(1);
      expect(metric.counted).toBe(3);
      expect(metric.failed + metric.inconclusive).toBe(0);

      // And the rollout goes on.
      const paused = await until(s, 'b-v2', 'paused at the pause step', (r) => r.phase === 'Paused');
      expect(paused.stepIndex).toBe(3);
      pids.check('paused');
      await expectAuditOk(s, 'b-v2');
      await finish(s);
    });
  }, 60_000);

  it('C: mid abort — aborted exactly once, all traffic back to stable, the canary retired after the delay', async () => {
    await scenario('c', async (s) => {
      const pids = pidTracker(s);

      const abortAndCrash = async (name: string, version: string, crashWhen: 'queued' | 'handled') => {
        await s.api.createDeployment(name, SERVICE, version);
        await until(s, name, 'canary taking traffic', (r) => r.canaryWeight === 20);
        pids.check(`${name} at 20%`);
        const operationId = await s.api.operate(name, 'abort', 'crash test: abort');
        if (crashWhen === 'handled') await until(s, name, 'Aborted', (r) => r.phase === 'Aborted', KILL_POINT);
        const atCrash = await crashAndRestart(s, name, `kill after abort was ${crashWhen}`);
        const queued = atCrash.pendingOperations.some((op) => op.id === operationId);
        s.log(`${name} at crash: ${atCrash.rollout?.phase}, abort ${queued ? 'still queued' : 'handled'}`);
        if (crashWhen === 'handled') expect(atCrash.rollout?.phase).toBe('Aborted');
        else expect(queued || atCrash.rollout?.phase === 'Aborted').toBe(true);
        await expectAdopted(s, pids.seen);

        const aborted = await waitFor(`${name} Aborted`, async () => {
          const r = await rollout(s.api, name);
          return r?.phase === 'Aborted' ? r : null;
        });
        expect(aborted.abort?.reason).toBe('OperatorAbort');
        expect(aborted.canaryWeight).toBe(0);
        expect(aborted.stableVersion).toBe('1.0.0');
        const status = (await s.api.deployment(name)).status;
        expect(status.pendingOperations).toEqual([]);
        expect(status.operationResults.filter((result) => result.id === operationId)).toMatchObject([{ type: 'abort', accepted: true }]);
        expect(await split(s, 300)).toEqual({ '1.0.0': 1 });

        // The canary goes after scaleDownDelaySeconds (1 s), once.
        const retired = await until(s, name, `${version} retired`, (r) => r.retirements.length > 0 && r.retirements.every((retirement) => retirement.retiredAt !== null), { timeoutMs: 10_000 });
        expect(retired.retirements).toHaveLength(1);
        expect(retired.retirements[0]!.retiredAt! - aborted.abort!.at).toBeGreaterThanOrEqual(1000);
        expect(pidFiles(s.cwd, SERVICE).map((entry) => entry.version)).toEqual(['1.0.0']);
        const canaryPid = pids.seen.get(version);
        expect((await processesWith(s.marker)).some((entry) => entry.pgid === canaryPid)).toBe(false);
        pids.check(`${name} retired`);

        const events = await expectAuditOk(s, name);
        expect(events.filter((event) => event.action === 'rollout.Aborted'), 'one Aborted decision').toHaveLength(1);
        expect(events.filter((event) => event.action === 'rollout.abort'), 'one abort request').toHaveLength(1);
        expect(events.filter((event) => event.action === 'rollout.VersionRetired'), 'retired once').toHaveLength(1);
      };

      await abortAndCrash('c-v2', '2.0.0', 'queued');
      await abortAndCrash('c-v3', '3.0.0', 'handled');
      expect(pids.seen.size).toBe(3);
      await finish(s);
    });
  }, 60_000);

  it('leaves no demo-app instance of this run behind', async () => {
    expect(await processesWith(MARKER)).toEqual([]);
  });
});
