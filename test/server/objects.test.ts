import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doc, seed, startTestServer, type TestServer } from './helpers.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

const env = (name: string, labels?: Record<string, string>) => doc('Environment', name, {}, labels ? { labels } : {});

describe('objects API', () => {
  it('creates, reads, updates and deletes with the API representation', async () => {
    const created = await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'prod', { production: true }, { labels: { tier: 'critical' }, annotations: { note: 'x' } }) });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      apiVersion: 'rollgate.dev/v1alpha1',
      kind: 'Environment',
      metadata: { name: 'prod', labels: { tier: 'critical' }, annotations: { note: 'x' }, version: 1 },
      spec: { production: true, dataSensitivity: 'internal' },
      status: null,
    });
    expect(Object.keys(created.body.metadata).sort()).toEqual(['annotations', 'createdAt', 'labels', 'name', 'updatedAt', 'version']);

    const fetched = await server.json('GET', '/api/v1/environments/prod');
    expect(fetched.body).toEqual(created.body);

    const updated = await server.json('PUT', '/api/v1/environments/prod', { body: doc('Environment', 'prod', { production: false }, { version: 1 }) });
    expect(updated.status).toBe(200);
    expect(updated.body.metadata).toMatchObject({ version: 2, labels: {} });
    expect(updated.body.spec.production).toBe(false);

    const deleted = await server.json('DELETE', '/api/v1/environments/prod?version=2');
    expect(deleted.status).toBe(200);
    expect(deleted.body.metadata.version).toBe(2);
    const gone = await server.json('GET', '/api/v1/environments/prod');
    expect(gone.status).toBe(404);
    expect(gone.headers.get('content-type')).toBe('application/problem+json');
    expect((await server.json('DELETE', '/api/v1/environments/prod')).status).toBe(404);
  });

  it('answers conflicts with 409 and the current version', async () => {
    await server.json('POST', '/api/v1/environments', { body: env('prod') });
    const duplicate = await server.json('POST', '/api/v1/environments', { body: env('prod') });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.currentVersion).toBe(1);

    const stale = await server.json('PUT', '/api/v1/environments/prod', { body: doc('Environment', 'prod', {}, { version: 7 }) });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ status: 409, currentVersion: 1 });

    const staleDelete = await server.json('DELETE', '/api/v1/environments/prod?version=3');
    expect(staleDelete.status).toBe(409);
    expect(staleDelete.body.currentVersion).toBe(1);
  });

  it('does not upsert, and insists the body name matches the URL', async () => {
    expect((await server.json('PUT', '/api/v1/environments/prod', { body: env('prod') })).status).toBe(404);
    await server.json('POST', '/api/v1/environments', { body: env('prod') });
    const mismatch = await server.json('PUT', '/api/v1/environments/prod', { body: env('staging') });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.errors[0].path).toEqual(['metadata', 'name']);
  });

  it('filters by label selector and pages with a cursor', async () => {
    const names = ['a1', 'a2', 'a3', 'b1', 'b2'];
    for (const name of names) {
      const labels = { team: name.startsWith('a') ? 'payments' : 'search', tier: name.endsWith('1') ? 'critical' : 'standard' };
      expect((await server.json('POST', '/api/v1/environments', { body: env(name, labels) })).status).toBe(201);
    }
    const selected = await server.json('GET', '/api/v1/environments?labelSelector=team=payments,tier=critical');
    expect(selected.body.items.map((item: any) => item.metadata.name)).toEqual(['a1']);
    expect((await server.json('GET', '/api/v1/environments?labelSelector=team=payments')).body.items).toHaveLength(3);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await server.json('GET', `/api/v1/environments?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: any) => item.metadata.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(names);
  });

  it('rejects bad query parameters with 400 naming the parameter', async () => {
    const badLimit = await server.json('GET', '/api/v1/environments?limit=0');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.errors[0].path).toEqual(['limit']);
    const badSelector = await server.json('GET', '/api/v1/environments?labelSelector=team');
    expect(badSelector.status).toBe(400);
    expect(badSelector.body.errors[0].path).toEqual(['labelSelector']);
  });

  it('names the field of an invalid document', async () => {
    const invalid = await server.json('POST', '/api/v1/rolloutstrategies', { body: doc('RolloutStrategy', 'x', { canary: { steps: [{ setWeight: 5 }, { setWeight: 500 }] } }) });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors).toEqual([{ path: ['spec', 'canary', 'steps', 1, 'setWeight'], message: expect.stringMatching(/100/) }]);
    const union = await server.json('POST', '/api/v1/rolloutstrategies', { body: doc('RolloutStrategy', 'x', { canary: { steps: [{ pause: { duration: 'soon' } }] } }) });
    expect(union.body.errors[0].path).toEqual(['spec', 'canary', 'steps', 0, 'pause', 'duration']);
    const unknown = await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'x', { prod: true }) });
    expect(unknown.body.errors).toEqual([{ path: ['spec', 'prod'], message: 'unknown field "prod"' }]);
    const wrongKind = await server.json('POST', '/api/v1/environments', { body: doc('Service', 'x') });
    expect(wrongKind.status).toBe(422);
    expect(wrongKind.body.errors.map((error: any) => error.path)).toContainEqual(['kind']);
  });

  it('requires references to exist and names the field path', async () => {
    const pipeline = await server.json('POST', '/api/v1/pipelines', { body: doc('Pipeline', 'main', { stages: [{ environment: 'staging' }, { environment: 'prod' }] }) });
    expect(pipeline.status).toBe(422);
    expect(pipeline.body.errors.map((error: any) => error.path)).toEqual([
      ['spec', 'stages', 0, 'environment'],
      ['spec', 'stages', 1, 'environment'],
    ]);
    expect(pipeline.body.errors[0].message).toMatch(/Environment "staging" does not exist/);
    expect((await server.json('GET', '/api/v1/pipelines/main')).status).toBe(404);
  });

  it('refuses to delete an object others refer to, listing them', async () => {
    await server.json('POST', '/api/v1/environments', { body: env('prod') });
    expect((await server.json('POST', '/api/v1/pipelines', { body: doc('Pipeline', 'main', { stages: [{ environment: 'prod' }] }) })).status).toBe(201);
    const refused = await server.json('DELETE', '/api/v1/environments/prod');
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/Pipeline "main"/);
    expect(refused.body.errors).toEqual([{ path: ['spec', 'stages', 0, 'environment'], message: 'Pipeline "main" refers to it' }]);
    expect((await server.json('DELETE', '/api/v1/pipelines/main')).status).toBe(200);
    expect((await server.json('DELETE', '/api/v1/environments/prod')).status).toBe(200);
  });

  it('generates readable, unique, time-sortable names for records created without one', async () => {
    await seed(server);
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      // One service each: a service has at most one active rollout per environment.
      expect((await server.json('POST', '/api/v1/services', { body: doc('Service', `names-${i}`) })).status).toBe(201);
      const created = await server.json('POST', '/api/v1/deployments', { body: doc('Deployment', undefined, { service: `names-${i}`, version: '1.0.0' }) });
      expect(created.status).toBe(201);
      names.push(created.body.metadata.name);
    }
    for (const name of names) expect(name).toMatch(/^deployment-[0-9a-z]{18}$/);
    expect(new Set(names).size).toBe(3);
    expect(names.map((name) => name.slice(0, 21))).toEqual([...names.map((name) => name.slice(0, 21))].sort());
    // Resources must be named.
    const unnamed = await server.json('POST', '/api/v1/environments', { body: doc('Environment', undefined) });
    expect(unnamed.status).toBe(422);
    expect(unnamed.body.errors[0].path).toEqual(['metadata', 'name']);
  });

  it('checks the kind write role: a deployer may create records but not resources', async () => {
    await seed(server);
    const deployer = await server.token('ci', 'deployer');
    const resource = await server.json('POST', '/api/v1/environments', { token: deployer, body: env('qa') });
    expect(resource.status).toBe(403);
    expect(resource.body.detail).toMatch(/requires role "admin"/);
    expect((await server.json('POST', '/api/v1/releases', { token: deployer, body: doc('Release', 'r1') })).status).toBe(201);
  });
});
