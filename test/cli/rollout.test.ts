/**
 * `rollgate deploy` and `rollgate rollout ...` against the real HTTP API on a socket, with a SQLite
 * store in a temp dir. A small fake engine stands in for src/engine: woken by the app's
 * `onDeploymentChange`, it runs the real decide() pass after pass on a fast fake clock (target
 * always ready, router unable to verify, healthy or failing metrics), writes the status with CAS
 * plus an audit event, and publishes the change like the server's commit does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { serve } from '@hono/node-server';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import type { SamplePair } from '../../src/core/analysis/types.js';
import { decide, dueMeasurements, isFinishedPhase, OPERATION_RESULTS_KEPT, readDeploymentStatus, type RolloutSpec } from '../../src/core/rollout/index.js';
import type { AnalysisTemplateSpec } from '../../src/core/resources/analysis-template.js';
import type { DeploymentSpec } from '../../src/core/resources/deployment.js';
import type { RolloutStrategySpec } from '../../src/core/resources/rollout-strategy.js';
import type { Store } from '../../src/ports/store.js';
import { createClient } from '../../src/client/index.js';
import { followDeployment } from '../../src/cli/commands/rollout.js';
import { main, commandName } from '../../src/cli/main.js';
import { createApp } from '../../src/server/app.js';
import { changeEventOf, createEventBus, type EventBus } from '../../src/server/events/bus.js';
import { createLogger } from '../../src/server/logger.js';
import { createTokenService } from '../../src/server/tokens/service.js';
import { failing, healthy } from '../core/rollout/harness.js';

const API_VERSION = 'rollgate.dev/v1alpha1';

/** Stands in for the engine: one decide() pass per wake-up or requeue, on a fake clock. */
class FakeEngine {
  enabled = true;
  provider: () => SamplePair = () => healthy;
  private clock = new Map<string, number>();
  private timers = new Map<string, NodeJS.Timeout>();
  private chains = new Map<string, Promise<void>>();
  passes = 0;

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  wake = (name: string): void => {
    if (!this.enabled) return;
    clearTimeout(this.timers.get(name));
    const previous = this.chains.get(name) ?? Promise.resolve();
    this.chains.set(name, previous.then(() => this.pass(name)).catch(() => undefined));
  };

  async idle(): Promise<void> {
    await Promise.all(this.chains.values());
  }

  stop(): void {
    this.enabled = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
  }

  /** The spec the engine resolves at the first pass: strategy and templates from the store, stable = the last Healthy deployment. */
  private async resolve(name: string, spec: DeploymentSpec): Promise<RolloutSpec> {
    const read = this.store.read.objects;
    const service = (await read.get('Service', spec.service))!;
    const strategyName = spec.strategy ?? (service.spec.strategy as string | undefined);
    const strategy = strategyName ? ((await read.get('RolloutStrategy', strategyName))!.spec as RolloutStrategySpec) : ({} as RolloutStrategySpec);
    const templates: Record<string, AnalysisTemplateSpec> = {};
    for (const template of (await read.list('AnalysisTemplate')).items) templates[template.name] = template.spec as AnalysisTemplateSpec;
    const labels = { 'rollgate.dev/service': spec.service, 'rollgate.dev/environment': spec.environment ?? 'default' };
    const stable = (await read.list('Deployment', { labels })).items
      .filter((other) => other.name !== name && readDeploymentStatus(other.status).rollout?.phase === 'Healthy')
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
    return { id: name, service: spec.service, ...(spec.environment ? { environment: spec.environment } : {}), stableVersion: stable ? (stable.spec.version as string) : null, canaryVersion: spec.version, strategy, templates };
  }

  private async pass(name: string): Promise<void> {
    if (!this.enabled) return;
    const current = await this.store.read.objects.get('Deployment', name);
    if (!current) return;
    const status = readDeploymentStatus(current.status);
    const spec = status.resolved ?? (await this.resolve(name, current.spec as DeploymentSpec));
    const now = this.clock.get(name) ?? Date.now();
    const measurements = dueMeasurements(spec, status.rollout, now).map((due) => ({ runId: due.runId, metric: due.metric, window: due.window, result: this.provider() }));
    const operations = status.pendingOperations;
    const result = decide({
      spec,
      status: status.rollout,
      observations: { canary: { version: spec.canaryVersion, state: 'ready' }, stable: null, router: null, measurements, operations },
      now,
    });
    const handled = new Set(operations.map((operation) => operation.id));
    const event = await this.store.transaction(async (stores) => {
      const latest = (await stores.objects.get('Deployment', name))!;
      const fresh = readDeploymentStatus(latest.status);
      const results = result.operationResults.map((r) => ({ ...r, actor: operations.find((o) => o.id === r.id)?.actor ?? 'unknown', handledAt: now }));
      const updated = await stores.objects.update('Deployment', name, latest.version, {
        status: {
          rollout: result.status,
          resolved: spec,
          // Operations queued during this pass stay queued for the next one.
          pendingOperations: fresh.pendingOperations.filter((operation) => !handled.has(operation.id)),
          operationResults: [...fresh.operationResults, ...results].slice(-OPERATION_RESULTS_KEPT),
        },
      });
      return stores.audit.append({ time: new Date().toISOString(), actor: 'engine', action: 'rollout.pass', kind: 'Deployment', name, beforeDigest: null, afterDigest: null, details: { version: updated.version } });
    });
    this.passes += 1;
    this.bus.publish(changeEventOf(event));
    const pending = (await this.store.read.objects.get('Deployment', name))!;
    if (readDeploymentStatus(pending.status).pendingOperations.length > 0) return this.pass(name);
    if (result.requeueAfterMs === null || isFinishedPhase(result.status.phase)) return;
    this.clock.set(name, now + Math.max(1, result.requeueAfterMs));
    this.timers.set(name, setTimeout(() => this.wake(name), 15));
  }
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-rollout-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let store: Store;
let bus: EventBus;
let engine: FakeEngine;
let http: Server;
let url: string;
let token: string;
let counter = 0;

beforeEach(async () => {
  store = await openSqliteStore({ file: path.join(work, `store-${++counter}.db`) });
  bus = createEventBus();
  engine = new FakeEngine(store, bus);
  token = (await store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
  const app = createApp({ store, logger: createLogger({ level: 'silent' }), bus, onDeploymentChange: engine.wake });
  http = await new Promise<Server>((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(server as Server)) as Server;
  });
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  await seed();
});

afterEach(async () => {
  engine.stop();
  await engine.idle();
  bus.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  await store.close();
});

/** Starts `rollgate ...args` in-process; `stdout()` shows what it printed so far. */
function start(...args: string[]): { done: Promise<Run>; stdout: () => string } {
  return startWith({}, ...args);
}

function startWith(options: { tty?: boolean }, ...args: string[]): { done: Promise<Run>; stdout: () => string } {
  let stdout = '';
  let stderr = '';
  const done = main(['node', 'rollgate', ...args, '--server', url, '--token', token], {
    stdout: { write: (text: string) => (stdout += text), ...(options.tty ? { isTTY: true } : {}) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: {},
    cwd: work,
  }).then((code) => ({ code, stdout, stderr }));
  return { done, stdout: () => stdout };
}

const rollgate = (...args: string[]): Promise<Run> => start(...args).done;

const resource = (kind: string, name: string, spec: Record<string, unknown>) => ({ apiVersion: API_VERSION, kind, metadata: { name }, spec });

async function seed(): Promise<void> {
  const documents = [
    resource('Environment', 'prod', {}),
    resource('AnalysisTemplate', 'error-rate', {
      metrics: [{ name: 'error-rate', provider: { builtin: { metric: 'errorRate' } }, interval: '10s', count: 2, successCondition: 'canary.errorRate <= 0.05' }],
    }),
    resource('RolloutStrategy', 'standard', { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: ['error-rate'] } }, { setWeight: 50 }] } }),
    resource('RolloutStrategy', 'gated', { canary: { steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 50 }] } }),
    resource('Service', 'checkout', { owner: 'team-payments', strategy: 'standard', target: { type: 'process', command: 'node app.js' } }),
  ];
  const response = await fetch(`${url}/api/v1/apply`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ documents }) });
  expect(response.status).toBe(200);
}

/** Deploys 1.0.0 (a first deploy: direct, Healthy at once) so the next version is a canary against it. */
async function firstDeploy(): Promise<string> {
  const run = await rollgate('deploy', 'checkout', '--version', '1.0.0', '--env', 'prod', '--watch');
  expect(run.code, run.stderr).toBe(0);
  return run.stdout.split('\n')[0]!;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const phaseOf = async (name: string) => readDeploymentStatus((await store.read.objects.get('Deployment', name))!.status).rollout?.phase;

/** Splits non-TTY watch output into its blocks (each starts with "Deployment:"). */
const blocks = (stdout: string) => stdout.split(/\n(?=Deployment: )/).filter((block) => block.startsWith('Deployment: '));

describe('rollgate deploy', () => {
  it('creates the Deployment, prints its generated name, and with --watch follows it to Healthy (exit 0)', async () => {
    const first = await firstDeploy();
    expect(first).toMatch(/^deployment-[0-9a-z]{18}$/);

    const run = await rollgate('deploy', 'checkout', '--version', '1.1.0', '--env', 'prod', '--artifact', `sha256:${'c'.repeat(64)}`, '--watch');
    expect(run.code, run.stderr).toBe(0);
    const name = run.stdout.split('\n')[0]!;
    expect(run.stderr).toContain(`deployment/${name} created: checkout 1.1.0 → prod`);
    const shown = blocks(run.stdout);
    expect(shown.length).toBeGreaterThan(0);
    // Only changes are printed: no two blocks in a row are the same.
    shown.slice(1).forEach((block, index) => expect(block).not.toBe(shown[index]));
    const last = shown[shown.length - 1]!;
    expect(last).toContain('Phase:      Healthy — 1.1.0 is stable at 100%');
    expect(last).toContain('Steps:      ■■■  all 3 done');
    expect(last).toContain('canary vs baseline: errorRate 0.00% vs 0.50%');
    expect(last).not.toContain('\x1b[');

    const stored = (await store.read.objects.get('Deployment', name))!;
    expect(stored.spec).toEqual({ service: 'checkout', environment: 'prod', version: '1.1.0', artifact: { digest: `sha256:${'c'.repeat(64)}` } });
    expect(stored.labels).toEqual({ 'rollgate.dev/service': 'checkout', 'rollgate.dev/environment': 'prod' });
  });

  it('exits 1 when the watched rollout aborts, and is refused (exit 3) while another rollout is active', async () => {
    await firstDeploy();
    engine.provider = () => failing;
    const run = await rollgate('deploy', 'checkout', '--version', '1.1.0', '--env', 'prod', '--watch');
    expect(run.code).toBe(1);
    expect(blocks(run.stdout).pop()).toMatch(/Aborted: {4}AnalysisFailed by system at .*error-rate\/error-rate: 1 failed measurement/);

    engine.enabled = false;
    const pending = await rollgate('deploy', 'checkout', '--version', '1.2.0', '--env', 'prod');
    expect(pending.code).toBe(0);
    const refused = await rollgate('deploy', 'checkout', '--version', '1.3.0', '--env', 'prod');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/^error: Conflict: service "checkout" in environment "prod" already has an active rollout: Deployment "deployment-.*" \(1\.2\.0, not started yet\); abort it or wait for it to finish/);
  });

  it('checks its arguments before sending anything, and --version is the app version, not the CLI one', async () => {
    const bad = await rollgate('deploy', 'checkout', '--version', '1.0.0', '--artifact', 'md5:abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--artifact "md5:abc": must be "sha256:" followed by 64 lowercase hex digits');
    expect((await rollgate('deploy', 'checkout')).code).toBe(2);
    expect((await rollgate('deploy', 'Checkout!', '--version', '1')).stderr).toMatch(/SERVICE "Checkout!"/);
    const missing = await rollgate('deploy', 'nope', '--version', '1.0.0');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('spec.service: Service "nope" does not exist');

    const cliVersion = await rollgate('--version');
    expect(cliVersion.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(commandName(['--server', 'http://x', '-o', 'json', 'deploy', 'a'])).toBe('deploy');
    expect(commandName(['--version'])).toBeUndefined();
  });
});

describe('rollgate rollout status / history', () => {
  it('shows the current rollout, as text or as the API object', async () => {
    const name = await firstDeploy();
    const text = await rollgate('rollout', 'status', 'checkout', '--env', 'prod');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^Deployment: ${name} {2}\\(service checkout · environment prod · version 1\\.0\\.0\\)\\nPhase: {6}Healthy — 1\\.0\\.0 is stable at 100%`));
    expect(text.stdout).toContain('Steps:      none: deployed directly, marked stable once ready');

    const json = await rollgate('rollout', 'status', 'checkout', '-o', 'json');
    expect(JSON.parse(json.stdout)).toMatchObject({ kind: 'Deployment', metadata: { name }, status: { rollout: { phase: 'Healthy', strategy: 'direct' } } });
    expect((await rollgate('rollout', 'status', 'checkout', '-o', 'yaml')).stdout).toContain(`name: ${name}`);

    // In a terminal: coloured, and --watch clears the screen before each drawing.
    const tty = await startWith({ tty: true }, 'rollout', 'status', 'checkout', '--watch').done;
    expect(tty.code).toBe(0);
    expect(tty.stdout.startsWith('\x1b[H\x1b[2J')).toBe(true);
    expect(tty.stdout).toContain('\x1b[32;1mHealthy\x1b[0m');

    const none = await rollgate('rollout', 'status', 'checkout', '--env', 'staging');
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('error: Not Found: service "checkout" has no deployments in environment "staging"\n');
  });

  it('--watch redraws on each change and ends when an operator aborts the rollout (exit 1)', async () => {
    await firstDeploy();
    const deployed = await rollgate('deploy', 'checkout', '--version', '1.1.0', '--env', 'prod', '--strategy', 'gated');
    const name = deployed.stdout.trim();
    await until(async () => (await phaseOf(name)) === 'Paused');

    const watching = start('rollout', 'status', 'checkout', '--env', 'prod', '--watch');
    await until(async () => watching.stdout().includes('Pause:'));
    const abort = await rollgate('rollout', 'abort', 'checkout', '--env', 'prod', '--reason', 'wrong build');
    expect(abort.code, abort.stderr).toBe(0);
    const run = await watching.done;
    expect(run.code).toBe(1);
    const shown = blocks(run.stdout);
    expect(shown[0]).toContain('Pause:      pauseStep since');
    expect(shown[0]).toContain('until promoted: rollgate rollout promote checkout');
    expect(shown[shown.length - 1]).toMatch(/Aborted: {4}OperatorAbort by token:admin at .*: aborted by token:admin: wrong build/);
  });

  it('lists the history newest first', async () => {
    await firstDeploy();
    engine.provider = () => failing;
    await rollgate('deploy', 'checkout', '--version', '1.1.0', '--env', 'prod', '--watch');
    const run = await rollgate('rollout', 'history', 'checkout');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME +ENVIRONMENT +VERSION +PHASE +STARTED +DURATION +MESSAGE$/);
    expect(lines[1]).toMatch(/^deployment-\S+ +prod +1\.1\.0 +Aborted +(now|\S+ ago) +\S+ +analysis at step 2 \(error-rate\) failed/);
    expect(lines[2]).toMatch(/^deployment-\S+ +prod +1\.0\.0 +Healthy +(now|\S+ ago) +\S+ +1\.0\.0 is stable at 100%$/);
    expect(JSON.parse((await rollgate('rollout', 'history', 'checkout', '--limit', '1', '-o', 'json')).stdout)).toHaveLength(1);
    const empty = await rollgate('rollout', 'history', 'checkout', '--env', 'staging');
    expect(empty).toMatchObject({ code: 0, stdout: '', stderr: 'No deployments of checkout in staging.\n' });
  });
});

describe('followDeployment', () => {
  it('yields the Deployment now and on each change, and stops when aborted (how Ctrl-C ends a watch)', async () => {
    const name = await firstDeploy();
    const client = createClient({ server: url, token });
    const controller = new AbortController();
    const ticks: Array<{ version: number; changed: boolean }> = [];
    const following = (async () => {
      for await (const { deployment, changed } of followDeployment(client, name, { signal: controller.signal, pollMs: 50 })) {
        ticks.push({ version: deployment.metadata.version, changed });
      }
    })();
    await until(async () => ticks.length >= 2);
    const version = ticks[0]!.version;
    expect(ticks.slice(0, 2)).toEqual([
      { version, changed: true },
      { version, changed: false },
    ]);
    await fetch(`${url}/api/v1/deployments/${name}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: API_VERSION, kind: 'Deployment', metadata: { name, labels: { note: 'x' } }, spec: { service: 'checkout', environment: 'prod', version: '1.0.0' } }),
    });
    await until(async () => ticks.some((tick) => tick.version === version + 1));
    expect(ticks.find((tick) => tick.version === version + 1)!.changed).toBe(true);
    controller.abort();
    await following;
    const count = ticks.length;
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(ticks.length).toBe(count);
  });
});

describe('rollgate rollout promote|abort|retry|pause|resume', () => {
  async function gated(): Promise<string> {
    await firstDeploy();
    const name = (await rollgate('deploy', 'checkout', '--version', '1.1.0', '--env', 'prod', '--strategy', 'gated')).stdout.trim();
    await until(async () => (await phaseOf(name)) === 'Paused');
    return name;
  }

  it('queues the operation, waits for the engine and prints whether it was accepted', async () => {
    const name = await gated();
    const pause = await rollgate('rollout', 'pause', 'checkout', '--env', 'prod', '--reason', 'lunch');
    expect(pause).toEqual({ code: 0, stdout: `pause accepted on deployment/${name}: paused (phase Paused)\n`, stderr: '' });

    // Already paused by someone: the engine rejects it (exit 3) with its reason.
    const again = await rollgate('rollout', 'pause', 'checkout', '--env', 'prod');
    expect(again.code).toBe(3);
    expect(again.stderr).toBe(`error: pause rejected on deployment/${name}: already paused by token:admin\n`);

    const resume = await rollgate('rollout', 'resume', 'checkout');
    expect(resume.code, resume.stderr).toBe(0);
    const promote = await rollgate('rollout', 'promote', 'checkout', '--reason', 'looks good');
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(new RegExp(`^promote accepted on deployment/${name}: skipped step`));
    await until(async () => (await phaseOf(name)) === 'Healthy');

    // Nothing applies after Healthy: the server refuses at once (409, exit 3).
    const late = await rollgate('rollout', 'abort', 'checkout');
    expect(late.code).toBe(3);
    expect(late.stderr).toBe(`error: Conflict: cannot abort Deployment "${name}": the rollout finished: 1.1.0 is stable; deploy 1.0.0 to roll back\n`);

    const audit = (await store.read.audit.list({ name })).map((event) => event.action).filter((action) => action !== 'rollout.pass');
    expect(audit).toEqual(['create', 'rollout.pause', 'rollout.pause', 'rollout.resume', 'rollout.promote']);
  });

  it('promote --full skips every step; abort then retry starts a new attempt; --no-wait returns at once', async () => {
    const name = await gated();
    expect((await rollgate('rollout', 'abort', 'checkout', '--reason', 'oops')).code).toBe(0);
    expect(await phaseOf(name)).toBe('Aborted');
    const queued = await rollgate('rollout', 'retry', 'checkout', '--no-wait');
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(new RegExp(`^retry queued on deployment/${name} \\(operation [0-9a-f-]{36}\\); the engine applies it on its next pass\\n$`));
    await until(async () => (await phaseOf(name)) === 'Paused');

    const full = await rollgate('rollout', 'promote', 'checkout', '--full', '-o', 'json');
    expect(full.code, full.stderr).toBe(0);
    const answer = JSON.parse(full.stdout);
    expect(answer.result).toMatchObject({ type: 'promoteFull', accepted: true, actor: 'token:admin' });
    await until(async () => (await phaseOf(name)) === 'Healthy');
    const rollout = readDeploymentStatus((await store.read.objects.get('Deployment', name))!.status).rollout!;
    expect(rollout.attempt).toBe(2);
  });

  it('gives up waiting after --timeout, saying the operation stays queued (exit 1)', async () => {
    const name = await gated();
    engine.enabled = false;
    const started = Date.now();
    const run = await rollgate('rollout', 'resume', 'checkout', '--timeout', '0.4');
    expect(run.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(run.stderr).toMatch(new RegExp(`^error: resume is queued on deployment/${name} \\(operation [0-9a-f-]{36}\\) but the engine did not handle it within 0\\.4s; it stays queued`));
    expect(readDeploymentStatus((await store.read.objects.get('Deployment', name))!.status).pendingOperations.map((o) => o.type)).toEqual(['resume']);
    expect((await rollgate('rollout', 'resume', 'checkout', '--timeout', 'soon')).code).toBe(2);
  });
});
