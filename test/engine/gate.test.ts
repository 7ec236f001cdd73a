/**
 * The runtime governance gate end to end on the engine (SQLite, in-memory runtimes): a production
 * rollout waits for its change's approvals, a blackout window and the change's schedule, with a
 * visible reason; an emergency change with two approvals passes a blackout and gets a mandatory
 * post-release review; the engine moves the change Scheduled → Implement → Review with audit events.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { changeRecordStatusSchema, type ApprovalRecord, type ChangeRecordStatus } from '../../src/core/governance/records.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type RolloutStatus } from '../../src/core/rollout/index.js';
import { createEngine, type Engine } from '../../src/engine/index.js';
import { evaluatePolicyGate } from '../../src/engine/governance/policy-gate.js';
import type { NewObject, Store } from '../../src/ports/store.js';
import { auditChainOk, silentLogger } from './helpers.js';
import { memoryRuntime, type MemoryRuntime } from './memory-runtime.js';

let dir: string;
let store: Store;
let engine: Engine;
const runtimes = new Map<string, MemoryRuntime>();

const create = async (object: NewObject) => {
  await store.transaction((stores) => stores.objects.create(object));
};
const rollout = async (name: string): Promise<RolloutStatus | null> => readDeploymentStatus((await store.read.objects.get('Deployment', name))?.status ?? null).rollout;
const changeStatus = async (name: string): Promise<ChangeRecordStatus> => changeRecordStatusSchema.parse((await store.read.objects.get('Change', name))!.status ?? {});

async function waitFor(name: string, done: (status: RolloutStatus) => boolean, what: string, timeoutMs = 20_000): Promise<RolloutStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RolloutStatus | null = null;
  while (Date.now() < deadline) {
    last = await rollout(name);
    if (last && done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${name}: not ${what} within ${timeoutMs} ms; last: ${last?.phase} ${last?.message}`);
}
const heldAtGate = (name: string) => waitFor(name, (status) => status.pause?.reason === 'gate', 'held at the gate');
const finished = (name: string) => waitFor(name, (status) => ['Healthy', 'Aborted', 'Degraded'].includes(status.phase), 'finished');

const approval = (user: string, groups = ['cab']): ApprovalRecord => ({ id: `apr-${user}`, user, groups, decision: 'approve', comment: 'ok', at: new Date().toISOString(), valid: true });

async function createChange(name: string, service: string, options: { state: ChangeRecordStatus['state']; type?: 'normal' | 'emergency'; approvals?: ApprovalRecord[]; deployments: string[] }) {
  const hour = 3_600_000;
  await create({
    kind: 'Change',
    name,
    spec: {
      type: options.type ?? 'normal',
      title: `deploy ${service}`,
      services: [service],
      businessServices: [],
      evidence: [],
      plannedStart: new Date(Date.now() - hour).toISOString(),
      plannedEnd: new Date(Date.now() + 4 * hour).toISOString(),
      implementationPlan: 'rollgate deploy',
      backoutPlan: 'rollgate rollout abort',
      testPlan: 'smoke',
      justification: 'test',
    },
    status: changeRecordStatusSchema.parse({
      state: options.state,
      stateEnteredAt: new Date().toISOString(),
      requestedBy: 'alice',
      origin: 'automatic',
      environment: 'prod',
      deployments: options.deployments,
      requiredApprovals: [{ group: 'cab', count: 2, reason: 'environment prod: normal change needs 2 from cab' }],
      approvals: options.approvals ?? [],
    }) as unknown as Record<string, unknown>,
  });
}

async function createService(name: string) {
  await create({ kind: 'Service', name, spec: { owner: 'team', tier: 'standard', target: { type: 'process', command: 'true' } } });
}

async function deploy(name: string, service: string, version: string, change?: string) {
  await create({
    kind: 'Deployment',
    name,
    labels: { [DEPLOYMENT_LABELS.service]: service, [DEPLOYMENT_LABELS.environment]: 'prod' },
    spec: { service, environment: 'prod', version, ...(change ? { change } : {}) },
    status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
  });
  engine.wake(name);
}

async function window(name: string, services: string[], fromMs: number, toMs: number) {
  await create({
    kind: 'Window',
    name,
    spec: { type: 'blackout', timeZone: 'UTC', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString(), scope: { environments: ['prod'], services } },
  });
}

const auditActions = async (kind: string, name: string) => (await store.read.audit.list({ kind, name, limit: 1000 })).map((event) => event.action);

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-gate-'));
  store = await openSqliteStore({ file: path.join(dir, 'rollgate.db') });
  engine = createEngine({
    store,
    logger: silentLogger,
    dataDir: dir,
    rescanMs: 200,
    runtimeFactory: async (service) => {
      const runtime = memoryRuntime();
      runtimes.set(service, runtime);
      return runtime;
    },
  });
  await engine.start();
  await create({ kind: 'Environment', name: 'prod', spec: { production: true, dataSensitivity: 'internal' } });
}, 30_000);

afterAll(async () => {
  await engine?.stop();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('engine: the runtime governance gate', () => {
  it('holds a production deployment whose change awaits approval, runs it once scheduled, and moves the change to Implement then Review', async () => {
    await createService('checkout');
    await createChange('chg-00001', 'checkout', { state: 'Authorize', deployments: ['checkout-1'] });
    await deploy('checkout-1', 'checkout', '1.0.0', 'chg-00001');

    const held = await heldAtGate('checkout-1');
    expect(held.phase).toBe('Paused');
    expect(held.pause!.message).toBe('held by the governance gate: waiting for approval of change chg-00001: cab 0 of 2');
    expect(held.message).toBe(held.pause!.message);
    expect(held.newVersion.ensuredAt).toBeNull();
    expect(runtimes.get('checkout')?.ensures ?? []).toEqual([]);
    const paused = (await store.read.audit.list({ kind: 'Deployment', name: 'checkout-1', limit: 100 })).find((event) => event.action === 'rollout.Paused');
    expect(paused?.details).toMatchObject({ message: expect.stringContaining('governance gate') });

    // The gate's results are kept on the change; it stays Authorize.
    let change = await changeStatus('chg-00001');
    expect(change.state).toBe('Authorize');
    expect(change.gates.find((result) => result.gate === 'approval')).toMatchObject({ outcome: 'pending', service: 'checkout' });

    // A second pass later: still held, no new event (no spam).
    await new Promise((resolve) => setTimeout(resolve, 300));
    engine.wake('checkout-1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await rollout('checkout-1'))!.history.filter((event) => event.type === 'Paused')).toHaveLength(1);

    // Approved and scheduled (what the changes feature does through its API).
    await store.transaction(async (stores) => {
      const current = (await stores.objects.get('Change', 'chg-00001'))!;
      const status = changeRecordStatusSchema.parse(current.status);
      const at = new Date().toISOString();
      await stores.objects.update('Change', 'chg-00001', current.version, {
        status: { ...status, state: 'Scheduled', stateEnteredAt: at, approvals: [approval('carol'), approval('dave')], history: [...status.history, { at, actor: 'user:carol', from: 'Authorize', to: 'Scheduled' }] },
      });
    });
    // What `rollgate serve` does on a Change event: every Paused rollout gets a pass now, not at
    // its next gate poll (GATE_POLL_MS, 5 s), so an approval takes effect at once.
    const passesBefore = engine.controller.stats.passes;
    engine.wakePaused();
    const woken = Date.now() + 1_500;
    while (engine.controller.stats.passes === passesBefore && Date.now() < woken) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(engine.controller.stats.passes, 'a pass ran right after wakePaused()').toBeGreaterThan(passesBefore);

    const done = await finished('checkout-1');
    expect(done.phase, done.message).toBe('Healthy');
    expect(runtimes.get('checkout')!.ensures).toContain('1.0.0');
    const resumed = done.history.find((event) => event.type === 'Resumed');
    expect(resumed?.message).toMatch(/^governance gate opened: change chg-00001 is authorized \(Scheduled\), approved by carol, dave/);

    change = await changeStatus('chg-00001');
    expect(change.state).toBe('Review');
    expect(change.history.slice(-2)).toEqual([
      expect.objectContaining({ actor: 'system:engine', from: 'Scheduled', to: 'Implement' }),
      expect.objectContaining({ actor: 'system:engine', from: 'Implement', to: 'Review', reason: 'rollout checkout-1 Healthy' }),
    ]);
    const actions = await auditActions('Change', 'chg-00001');
    expect(actions).toContain('change.Implement');
    expect(actions).toContain('change.Review');
    expect(actions).toContain('change.gates');
    expect(await auditChainOk(store)).toBe(true);
  }, 40_000);

  it('holds a deployment with no change record where the environment requires one', async () => {
    await createService('ledger');
    await deploy('ledger-1', 'ledger', '1.0.0');
    const held = await heldAtGate('ledger-1');
    expect(held.pause!.message).toBe('held by the governance gate: no change record authorizes this deployment (environment prod requires one)');

    // resume is refused while the gate is closed; abort works.
    await store.transaction(async (stores) => {
      const current = (await stores.objects.get('Deployment', 'ledger-1'))!;
      const status = readDeploymentStatus(current.status);
      const requestedAt = Date.now();
      status.pendingOperations.push(
        { id: 'op-resume', type: 'resume', actor: 'user:alice', requestedAt },
        { id: 'op-abort', type: 'abort', actor: 'user:alice', reason: 'no change yet', requestedAt },
      );
      await stores.objects.update('Deployment', 'ledger-1', current.version, { status: status as unknown as Record<string, unknown> });
    });
    engine.wake('ledger-1');
    const aborted = await finished('ledger-1');
    expect(aborted.phase).toBe('Aborted');
    const results = readDeploymentStatus((await store.read.objects.get('Deployment', 'ledger-1'))!.status).operationResults;
    expect(results.map((result) => [result.id, result.accepted])).toEqual([
      ['op-resume', false],
      ['op-abort', true],
    ]);
    expect(results[0]!.message).toMatch(/^the governance gate is closed: no change record authorizes/);
    expect(runtimes.get('ledger')?.ensures ?? []).toEqual([]);
  }, 30_000);

  it('holds a rollout inside a blackout window until the window ends', async () => {
    await createService('payments');
    await createChange('chg-00002', 'payments', { state: 'Scheduled', approvals: [approval('carol'), approval('dave')], deployments: ['payments-1'] });
    const ends = Date.now() + 1_500;
    await window('payments-blackout', ['payments'], Date.now() - 3_600_000, ends);
    await deploy('payments-1', 'payments', '1.0.0', 'chg-00002');

    const held = await heldAtGate('payments-1');
    expect(held.pause!.message).toMatch(/^held by the governance gate: blocked by blackout window "payments-blackout" until /);
    expect(held.pause!.until).toBe(ends);
    expect(runtimes.get('payments')?.ensures ?? []).toEqual([]);
    expect((await changeStatus('chg-00002')).state).toBe('Scheduled');

    // The rollout wakes at the window's end by itself (requeue at `until`), no wake() needed.
    const done = await finished('payments-1');
    expect(done.phase).toBe('Healthy');
    expect(done.history.find((event) => event.type === 'Resumed')!.at).toBeGreaterThanOrEqual(ends);
    expect((await changeStatus('chg-00002')).state).toBe('Review');
    expect((await changeStatus('chg-00002')).postReleaseReview).toBeUndefined();
  }, 30_000);

  it('lets an emergency change with two approvals through a blackout, with a mandatory post-release review', async () => {
    await createService('inventory');
    await window('inventory-freeze', ['inventory', 'search'], Date.now() - 3_600_000, Date.now() + 3_600_000);
    await createChange('chg-00003', 'inventory', { state: 'Scheduled', type: 'emergency', approvals: [approval('carol'), approval('dave')], deployments: ['inventory-1'] });
    await deploy('inventory-1', 'inventory', '1.0.0', 'chg-00003');

    const done = await finished('inventory-1');
    expect(done.phase, done.message).toBe('Healthy');
    expect(done.history.some((event) => event.type === 'Paused')).toBe(false);
    const change = await changeStatus('chg-00003');
    expect(change.state).toBe('Review');
    expect(change.override).toMatchObject({ window: 'inventory-freeze', approvers: ['carol', 'dave'], reason: 'emergency change ran inside blackout inventory-freeze' });
    expect(change.postReleaseReview).toMatchObject({ required: true, reason: 'emergency change ran inside blackout inventory-freeze' });
    expect(change.gates.find((result) => result.gate === 'window')).toMatchObject({ outcome: 'warn', message: 'emergency override of blackout inventory-freeze approved by carol, dave' });
    const events = await store.read.audit.list({ kind: 'Change', name: 'chg-00003', limit: 100 });
    expect(events.filter((event) => event.action === 'change.override')).toEqual([
      expect.objectContaining({ actor: 'system:engine', details: expect.objectContaining({ window: 'inventory-freeze', approvers: ['carol', 'dave'] }) }),
    ]);

    // With one approval, the same blackout holds an emergency change.
    await createService('search');
    await createChange('chg-00004', 'search', { state: 'Scheduled', type: 'emergency', approvals: [approval('carol')], deployments: ['search-1'] });
    await deploy('search-1', 'search', '1.0.0', 'chg-00004');
    const held = await heldAtGate('search-1');
    expect(held.pause!.message).toMatch(/blocked by blackout window "inventory-freeze" .*; an emergency change overrides a blackout with 2 approvals \(change chg-00004 has 1\)$/);
    expect((await changeStatus('chg-00004')).override).toBeUndefined();
  }, 30_000);

  it('holds a rollout when a start policy denies', async () => {
    await createService('audit-log');
    await createChange('chg-00005', 'audit-log', { state: 'Scheduled', approvals: [approval('carol'), approval('dave')], deployments: ['audit-log-1'] });
    await create({
      kind: 'Policy',
      name: 'no-audit-log-deploys',
      spec: { severity: 'deny', expression: 'false', message: 'audit-log is frozen for the audit', gates: ['start'], scope: { services: ['audit-log'] } },
    });
    const probe = await evaluatePolicyGate(
      store.read,
      { environment: 'prod', release: null, components: [{ service: 'audit-log', version: '1.0.0', digest: null }], change: await store.read.objects.get('Change', 'chg-00005') },
      'start',
      new Date(),
    );
    // The subject the engine passes makes the policy deny (policy-gate.ts is the policies feature's).
    expect(probe).toEqual([expect.objectContaining({ name: 'no-audit-log-deploys', outcome: 'deny' })]);

    await deploy('audit-log-1', 'audit-log', '1.0.0', 'chg-00005');
    const held = await heldAtGate('audit-log-1');
    expect(held.pause!.message).toBe('held by the governance gate: policy no-audit-log-deploys: audit-log is frozen for the audit');
    expect(runtimes.get('audit-log')?.ensures ?? []).toEqual([]);
    expect((await changeStatus('chg-00005')).gates.find((result) => result.gate === 'policy')).toMatchObject({ outcome: 'deny' });
  }, 30_000);
});
