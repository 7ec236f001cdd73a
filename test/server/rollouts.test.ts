/**
 * The rollout API: labels and the initial status of Deployments, one active rollout per service
 * and environment, operations queued with compare-and-swap and audit, current rollout and history.
 * "The engine" here writes statuses produced by the real decide() straight into the store.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, readDeploymentStatus, type DeploymentStatus } from '../../src/core/rollout/deployment-status.js';
import type { RolloutStatus } from '../../src/core/rollout/types.js';
import type { Store, StoredObject } from '../../src/ports/store.js';
import { MAX_PENDING_OPERATIONS } from '../../src/server/rollouts/service.js';
import { canarySpec, op, World } from '../core/rollout/harness.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const SERVICE_LABEL = DEPLOYMENT_LABELS.service;
const ENV_LABEL = DEPLOYMENT_LABELS.environment;

/** Environments prod and staging, a strategy, and the service `checkout` without a strategy of its own. */
async function world(options: { notified?: string[] } = {}): Promise<TestServer> {
  const notified = options.notified;
  server = await startTestServer(notified ? { app: { onDeploymentChange: (name) => notified.push(name) } } : {});
  for (const env of ['prod', 'staging']) expect((await server.json('POST', '/api/v1/environments', { body: doc('Environment', env, {}) })).status).toBe(201);
  expect((await server.json('POST', '/api/v1/rolloutstrategies', { body: doc('RolloutStrategy', 'standard') })).status).toBe(201);
  expect((await server.json('POST', '/api/v1/services', { body: doc('Service', 'checkout') })).status).toBe(201);
  return server;
}

const deployment = (spec: Record<string, unknown>, name?: string, metadata: Record<string, unknown> = {}) =>
  doc('Deployment', name, { service: 'checkout', version: '1.1.0', ...spec }, metadata);

async function create(s: TestServer, spec: Record<string, unknown>, name?: string, metadata: Record<string, unknown> = {}) {
  return s.json('POST', '/api/v1/deployments', { body: deployment(spec, name, metadata) });
}

/** A rollout status from decide(): Healthy (a first deploy), Aborted (an operator abort) or Progressing/Paused (a canary at a pause step). */
function rolloutStatus(id: string, phase: 'Healthy' | 'Aborted' | 'Paused'): RolloutStatus {
  if (phase === 'Paused') {
    const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }, { pause: {} }] } }, {}, { id }));
    world.runUntil((result) => result.status.phase === 'Paused');
    expect(world.phase).toBe('Paused');
    return world.status!;
  }
  const world = new World(canarySpec({ canary: { steps: [{ setWeight: 10 }] } }, {}, { id, stableVersion: null }));
  if (phase === 'Aborted') world.pass([op('abort', 'token:admin', 'bad build')]);
  else world.runUntil((result) => result.status.phase === 'Healthy');
  expect(world.phase).toBe(phase);
  return world.status!;
}

/** Writes like the engine: CAS on the version, status.rollout replaced, handled operations moved to the results. */
async function engineWrite(store: Store, name: string, change: (status: DeploymentStatus) => DeploymentStatus): Promise<StoredObject> {
  return store.transaction(async (stores) => {
    const current = (await stores.objects.get('Deployment', name))!;
    return stores.objects.update('Deployment', name, current.version, { status: { ...change(readDeploymentStatus(current.status)) } });
  });
}
const finish = (store: Store, name: string, phase: 'Healthy' | 'Aborted' | 'Paused') => engineWrite(store, name, (status) => ({ ...status, rollout: rolloutStatus(name, phase) }));

describe('Deployment labels and initial status', () => {
  it('sets the service and environment labels ("default" without an environment) and starts with the empty status', async () => {
    const s = await world();
    const prod = await create(s, { environment: 'prod' }, 'd-prod', { labels: { team: 'payments' } });
    expect(prod.status, JSON.stringify(prod.body)).toBe(201);
    expect(prod.body.metadata.labels).toEqual({ team: 'payments', [SERVICE_LABEL]: 'checkout', [ENV_LABEL]: 'prod' });
    expect(prod.body.status).toEqual(emptyDeploymentStatus());

    const anywhere = await create(s, {}, 'd-default');
    expect(anywhere.body.metadata.labels).toEqual({ [SERVICE_LABEL]: 'checkout', [ENV_LABEL]: 'default' });

    // "The rollouts of checkout" is a label query.
    const listed = await s.json('GET', `/api/v1/deployments?labelSelector=${SERVICE_LABEL}=checkout,${ENV_LABEL}=prod`);
    expect(listed.body.items.map((item: any) => item.metadata.name)).toEqual(['d-prod']);
  });

  it('accepts the same values from the user but refuses contradicting ones with 422 naming the label', async () => {
    const s = await world();
    expect((await create(s, { environment: 'prod' }, 'same', { labels: { [SERVICE_LABEL]: 'checkout', [ENV_LABEL]: 'prod' } })).status).toBe(201);
    const refused = await create(s, { environment: 'staging' }, 'other', { labels: { [SERVICE_LABEL]: 'payments', [ENV_LABEL]: 'prod' } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { path: ['metadata', 'labels', SERVICE_LABEL], message: expect.stringContaining('"checkout"') },
      { path: ['metadata', 'labels', ENV_LABEL], message: expect.stringContaining('"staging"') },
    ]);
    // On update too; and an update that omits them keeps them.
    const put = await s.json('PUT', '/api/v1/deployments/same', { body: deployment({ environment: 'prod' }, 'same', { labels: { [ENV_LABEL]: 'staging' } }) });
    expect(put.status).toBe(422);
    expect(put.body.errors[0].path).toEqual(['metadata', 'labels', ENV_LABEL]);
    const kept = await s.json('PUT', '/api/v1/deployments/same', { body: deployment({ environment: 'prod' }, 'same', { labels: { note: 'x' } }) });
    expect(kept.status).toBe(200);
    expect(kept.body.metadata.labels).toEqual({ note: 'x', [SERVICE_LABEL]: 'checkout', [ENV_LABEL]: 'prod' });
    expect(kept.body.status).toEqual(emptyDeploymentStatus());
  });

  it('apply sets the labels too, and applying the same Deployment again changes nothing', async () => {
    const s = await world();
    const documents = [deployment({ environment: 'prod' }, 'applied')];
    expect((await s.json('POST', '/api/v1/apply', { body: { documents } })).body.results[0]).toMatchObject({ action: 'created', version: 1 });
    expect((await s.json('GET', '/api/v1/deployments/applied')).body.metadata.labels).toEqual({ [SERVICE_LABEL]: 'checkout', [ENV_LABEL]: 'prod' });
    expect((await s.json('POST', '/api/v1/apply', { body: { documents } })).body.results[0]).toMatchObject({ action: 'unchanged', version: 1 });
  });

  it('accepts a Deployment whose service has no strategy and that names none (the engine deploys directly)', async () => {
    const s = await world();
    const created = await create(s, { environment: 'prod' });
    expect(created.status).toBe(201);
    expect(created.body.spec).toEqual({ service: 'checkout', environment: 'prod', version: '1.1.0' });
  });
});

describe('one active rollout per service and environment', () => {
  it('refuses a second Deployment while the first has not started or not finished, naming it', async () => {
    const s = await world();
    expect((await create(s, { environment: 'prod' }, 'first')).status).toBe(201);

    const notStarted = await create(s, { environment: 'prod', version: '1.2.0' }, 'second');
    expect(notStarted.status).toBe(409);
    expect(notStarted.body.detail).toBe(
      'service "checkout" in environment "prod" already has an active rollout: Deployment "first" (1.1.0, not started yet); abort it or wait for it to finish',
    );
    // Nothing was written: no object, no audit event.
    expect((await s.json('GET', '/api/v1/deployments/second')).status).toBe(404);
    expect((await s.json('GET', '/api/v1/audit?name=second')).body.items).toEqual([]);

    // Other environments and other services are independent.
    expect((await create(s, { environment: 'staging' }, 'in-staging')).status).toBe(201);

    await finish(s.store, 'first', 'Paused');
    const paused = await create(s, { environment: 'prod', version: '1.2.0' }, 'second');
    expect(paused.status).toBe(409);
    expect(paused.body.detail).toMatch(/Deployment "first" \(1\.1\.0, phase Paused\); abort it or wait/);

    await finish(s.store, 'first', 'Aborted');
    expect((await create(s, { environment: 'prod', version: '1.2.0' }, 'second')).status).toBe(201);
    // Through apply as well.
    const applied = await s.json('POST', '/api/v1/apply', { body: { documents: [deployment({ environment: 'prod', version: '1.3.0' }, 'third')] } });
    expect(applied.status).toBe(409);
    expect(applied.body.detail).toMatch(/Deployment "second" \(1\.2\.0, not started yet\)/);
  });

  it('counts an apply batch of two Deployments of the same service as two rollouts', async () => {
    const s = await world();
    const documents = [deployment({ environment: 'prod' }, 'one'), deployment({ environment: 'prod', version: '1.2.0' }, 'two')];
    const applied = await s.json('POST', '/api/v1/apply', { body: { documents } });
    expect(applied.status).toBe(409);
    expect((await s.json('GET', '/api/v1/deployments/one')).status).toBe(404);
  });
});

describe('POST /api/v1/deployments/{name}/operations', () => {
  it('queues the operation in status.pendingOperations, audits it and returns 202', async () => {
    const notified: string[] = [];
    const s = await world({ notified });
    const created = await create(s, { environment: 'prod' }, 'rollout-1');
    expect(notified).toEqual(['rollout-1']);
    const deployer = await s.token('ci', 'deployer');

    const before = Date.now();
    const queued = await s.json('POST', '/api/v1/deployments/rollout-1/operations', { token: deployer, body: { type: 'pause', reason: 'looking at dashboards' } });
    expect(queued.status).toBe(202);
    expect(queued.body.operationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(queued.body.deployment.metadata.version).toBe(created.body.metadata.version + 1);
    const pending = queued.body.deployment.status.pendingOperations;
    expect(pending).toEqual([{ id: queued.body.operationId, type: 'pause', actor: 'token:ci', reason: 'looking at dashboards', requestedAt: expect.any(Number) }]);
    expect(pending[0].requestedAt).toBeGreaterThanOrEqual(before);
    expect(notified).toEqual(['rollout-1', 'rollout-1']);

    // A second one is appended after it; without a reason, none is stored.
    const second = await s.json('POST', '/api/v1/deployments/rollout-1/operations', { token: deployer, body: { type: 'promote' } });
    expect(second.body.deployment.status.pendingOperations.map((o: any) => [o.type, o.reason])).toEqual([
      ['pause', 'looking at dashboards'],
      ['promote', undefined],
    ]);

    const audit = (await s.json('GET', '/api/v1/audit?name=rollout-1')).body.items;
    expect(audit.map((event: any) => event.action)).toEqual(['create', 'rollout.pause', 'rollout.promote']);
    expect(audit[1]).toMatchObject({ actor: 'token:ci', kind: 'Deployment', details: { operationId: queued.body.operationId, reason: 'looking at dashboards', version: 2 } });
    expect(audit[2].details).toMatchObject({ reason: null, version: 3 });
    expect(audit[1].afterDigest).not.toBe(audit[1].beforeDigest);
    expect((await s.json('GET', '/api/v1/audit/verify')).body.ok).toBe(true);
  });

  it('answers 404 for an unknown deployment and 422 for an unknown operation', async () => {
    const s = await world();
    const missing = await s.json('POST', '/api/v1/deployments/nope/operations', { body: { type: 'abort' } });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe('Deployment "nope" not found');
    await create(s, {}, 'x');
    const bad = await s.json('POST', '/api/v1/deployments/x/operations', { body: { type: 'rollback' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toEqual(['type']);
  });

  it('refuses with 409 what cannot apply to a finished rollout: nothing after Healthy, only retry after Aborted', async () => {
    const notified: string[] = [];
    const s = await world({ notified });
    await create(s, { environment: 'prod' }, 'done');
    await finish(s.store, 'done', 'Healthy');
    const healthy = await s.json('POST', '/api/v1/deployments/done/operations', { body: { type: 'abort' } });
    expect(healthy.status).toBe(409);
    expect(healthy.body.type).toBe('https://rollgate.dev/problems/operation-refused');
    expect(healthy.body.detail).toBe('cannot abort Deployment "done": the rollout finished: 1.1.0 is stable');

    await create(s, { environment: 'staging' }, 'stopped');
    await finish(s.store, 'stopped', 'Aborted');
    for (const type of ['promote', 'promoteFull', 'abort', 'pause', 'resume']) {
      const refused = await s.json('POST', '/api/v1/deployments/stopped/operations', { body: { type } });
      expect(refused.status, type).toBe(409);
      expect(refused.body.detail).toMatch(/the rollout was aborted \(aborted by token:admin: bad build\); only retry applies/);
    }
    expect((await s.json('POST', '/api/v1/deployments/stopped/operations', { body: { type: 'retry' } })).status).toBe(202);
    // Refusals write nothing and wake nothing.
    expect((await s.json('GET', '/api/v1/audit?name=stopped')).body.items.map((e: any) => e.action)).toEqual(['create', 'rollout.retry']);
    expect(notified).toEqual(['done', 'stopped', 'stopped']);
  });

  it('loses neither the operation nor the engine\'s write when the engine writes between its read and its write', async () => {
    const inner = await openSqliteStore({ file: ':memory:' });
    let race: (() => Promise<void>) | null = null;
    let attempts = 0;
    // A store whose next transaction reads the Deployment as it was before a concurrent engine write.
    const racing: Store = {
      ...inner,
      read: inner.read,
      async transaction(work) {
        const pending = race;
        race = null;
        attempts += 1;
        if (!pending) return inner.transaction(work);
        const stale = await inner.read.objects.get('Deployment', 'raced');
        await pending();
        return inner.transaction((stores) => {
          return work({ ...stores, objects: { ...stores.objects, get: async (kind, name) => (kind === 'Deployment' && name === 'raced' ? stale : stores.objects.get(kind, name)) } });
        });
      },
    };
    server = await startTestServer({ app: { store: racing } });
    // startTestServer made its own store; this test's app uses `racing`, so seed through it.
    const s = server;
    const { createTokenService } = await import('../../src/server/tokens/service.js');
    const token = (await inner.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
    const call = (method: string, path: string, body?: unknown) => s.json(method, path, { token, body });
    expect((await call('POST', '/api/v1/services', doc('Service', 'checkout'))).status).toBe(201);
    expect((await call('POST', '/api/v1/deployments', deployment({}, 'raced'))).status).toBe(201);

    const engineStatus = rolloutStatus('raced', 'Paused');
    race = async () => {
      await engineWrite(inner, 'raced', (status) => ({ ...status, rollout: engineStatus }));
    };
    attempts = 0;
    const queued = await call('POST', '/api/v1/deployments/raced/operations', { type: 'resume', reason: 'checked' });
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    // The first attempt lost the compare-and-swap; the second re-read and appended.
    expect(attempts).toBe(2);
    const stored = readDeploymentStatus((await inner.read.objects.get('Deployment', 'raced'))!.status);
    expect(stored.rollout).toEqual(engineStatus);
    expect(stored.pendingOperations.map((o) => o.type)).toEqual(['resume']);
    expect(queued.body.deployment.metadata.version).toBe(3);
    // Only the committed attempt is audited.
    expect((await call('GET', '/api/v1/audit?name=raced')).body.items.map((e: any) => e.action)).toEqual(['create', 'rollout.resume']);
    await inner.close();
  });

  it('keeps every operation when several arrive at once', async () => {
    const s = await world();
    await create(s, {}, 'busy');
    const types = ['pause', 'resume', 'promote', 'pause', 'abort'];
    const answers = await Promise.all(types.map((type) => s.json('POST', '/api/v1/deployments/busy/operations', { body: { type } })));
    expect(answers.map((answer) => answer.status)).toEqual(types.map(() => 202));
    const stored = readDeploymentStatus((await s.store.read.objects.get('Deployment', 'busy'))!.status);
    expect(stored.pendingOperations.map((o) => o.id).sort()).toEqual(answers.map((answer) => answer.body.operationId).sort());
  });

  it('refuses more operations once MAX_PENDING_OPERATIONS wait for an engine that does not consume them', async () => {
    const s = await world();
    await create(s, {}, 'stuck');
    for (let i = 0; i < MAX_PENDING_OPERATIONS; i++) expect((await s.json('POST', '/api/v1/deployments/stuck/operations', { body: { type: 'pause' } })).status).toBe(202);
    const full = await s.json('POST', '/api/v1/deployments/stuck/operations', { body: { type: 'abort' } });
    expect(full.status).toBe(409);
    expect(full.body.detail).toBe(`Deployment "stuck" already has ${MAX_PENDING_OPERATIONS} operations waiting for the engine; is the engine running?`);
  });
});

describe('GET /api/v1/services/{name}/rollout and /rollouts', () => {
  async function deployments(s: TestServer) {
    // Names that sort against creation order, so the order below comes from createdAt.
    const plan: Array<[string, string, string]> = [
      ['zz-prod-1', 'prod', '1.0.0'],
      ['yy-staging-1', 'staging', '1.1.0'],
      ['xx-prod-2', 'prod', '1.1.0'],
    ];
    for (const [name, environment, version] of plan) {
      expect((await create(s, { environment, version }, name)).status).toBe(201);
      await finish(s.store, name, 'Healthy');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect((await create(s, { version: '1.2.0' }, 'ww-default')).status).toBe(201);
  }

  it('returns the latest Deployment of the service, in one environment or any', async () => {
    const s = await world();
    await deployments(s);
    const any = await s.json('GET', '/api/v1/services/checkout/rollout');
    expect(any.status).toBe(200);
    expect(any.body).toMatchObject({ kind: 'Deployment', metadata: { name: 'ww-default' }, status: emptyDeploymentStatus() });
    const prod = await s.json('GET', '/api/v1/services/checkout/rollout?environment=prod');
    expect(prod.body.metadata.name).toBe('xx-prod-2');
    expect(prod.body.status.rollout).toMatchObject({ phase: 'Healthy', canaryVersion: '1.1.0' });
    expect((await s.json('GET', '/api/v1/services/checkout/rollout?environment=default')).body.metadata.name).toBe('ww-default');
  });

  it('404s for an unknown service, a service without deployments, and a bad environment name is 400', async () => {
    const s = await world();
    expect((await s.json('GET', '/api/v1/services/nope/rollout')).body.detail).toBe('Service "nope" not found');
    const none = await s.json('GET', '/api/v1/services/checkout/rollout?environment=prod');
    expect(none.status).toBe(404);
    expect(none.body.detail).toBe('service "checkout" has no deployments in environment "prod"');
    expect((await s.json('GET', '/api/v1/services/checkout/rollouts')).body).toEqual({ items: [] });
    expect((await s.json('GET', '/api/v1/services/nope/rollouts')).status).toBe(404);
    expect((await s.json('GET', '/api/v1/services/checkout/rollout?environment=Not_A_Name')).status).toBe(400);
  });

  it('lists the history newest first, filtered by environment and limited', async () => {
    const s = await world();
    await deployments(s);
    const names = async (query: string) => (await s.json('GET', `/api/v1/services/checkout/rollouts${query}`)).body.items.map((item: any) => item.metadata.name);
    expect(await names('')).toEqual(['ww-default', 'xx-prod-2', 'yy-staging-1', 'zz-prod-1']);
    expect(await names('?environment=prod')).toEqual(['xx-prod-2', 'zz-prod-1']);
    expect(await names('?limit=2')).toEqual(['ww-default', 'xx-prod-2']);
    expect((await s.json('GET', '/api/v1/services/checkout/rollouts?limit=0')).status).toBe(400);
  });
});

describe('onDeploymentChange', () => {
  it('is called after the commit for created Deployments (API and apply) and queued operations, never for refused writes', async () => {
    const notified: string[] = [];
    const s = await world({ notified });
    await create(s, { environment: 'prod' }, 'api');
    await create(s, { environment: 'prod' }, 'refused');
    await s.json('POST', '/api/v1/apply', { body: { documents: [deployment({ environment: 'staging' }, 'applied')] } });
    await s.json('PUT', '/api/v1/deployments/api', { body: deployment({ environment: 'prod' }, 'api', { labels: { x: 'y' } }) });
    await s.json('POST', '/api/v1/deployments/api/operations', { body: { type: 'abort' } });
    expect(notified).toEqual(['api', 'applied', 'api']);
  });

  it('a throwing hook does not fail the request', async () => {
    server = await startTestServer({
      app: {
        onDeploymentChange: () => {
          throw new Error('engine asleep');
        },
      },
    });
    expect((await server.json('POST', '/api/v1/services', { body: doc('Service', 'checkout') })).status).toBe(201);
    expect((await create(server, {}, 'd')).status).toBe(201);
    expect((await server.json('POST', '/api/v1/deployments/d/operations', { body: { type: 'pause' } })).status).toBe(202);
  });
});
