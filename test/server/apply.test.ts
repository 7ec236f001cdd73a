import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doc, startTestServer, type TestServer } from './helpers.js';

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

const auditCount = async () => (await server.json('GET', '/api/v1/audit?limit=1000')).body.items.length as number;
const batch = () => [
  // The pipeline comes before the environments it names: references resolve against the whole batch.
  doc('Pipeline', 'main', { stages: [{ environment: 'staging' }, { environment: 'prod' }] }),
  doc('Environment', 'staging', {}),
  doc('Environment', 'prod', { production: true }, { labels: { tier: 'critical' } }),
];
const apply = (documents: unknown[], dryRun = false, token?: string) =>
  server.json('POST', '/api/v1/apply', { body: { documents, dryRun }, ...(token ? { token } : {}) });

describe('POST /api/v1/apply', () => {
  it('creates, then reports unchanged without writing, then configures what changed', async () => {
    const first = await apply(batch());
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      dryRun: false,
      results: [
        { kind: 'Pipeline', name: 'main', action: 'created', version: 1 },
        { kind: 'Environment', name: 'staging', action: 'created', version: 1 },
        { kind: 'Environment', name: 'prod', action: 'created', version: 1 },
      ],
    });
    const eventsAfterFirst = await auditCount();

    const again = await apply(batch());
    expect(again.body.results.map((r: any) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(await auditCount()).toBe(eventsAfterFirst);

    const changed = batch();
    changed[2] = doc('Environment', 'prod', { production: true }, { labels: { tier: 'standard' } });
    const third = await apply(changed);
    expect(third.body.results).toEqual([
      { kind: 'Pipeline', name: 'main', action: 'unchanged', version: 1 },
      { kind: 'Environment', name: 'staging', action: 'unchanged', version: 1 },
      { kind: 'Environment', name: 'prod', action: 'configured', version: 2 },
    ]);
    expect(await auditCount()).toBe(eventsAfterFirst + 1);
  });

  it('dry run computes the same results and writes nothing', async () => {
    const before = await auditCount();
    const dry = await apply(batch(), true);
    expect(dry.status).toBe(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.results.map((r: any) => [r.name, r.action, r.version])).toEqual([
      ['main', 'created', 1],
      ['staging', 'created', 1],
      ['prod', 'created', 1],
    ]);
    expect((await server.json('GET', '/api/v1/environments')).body.items).toEqual([]);
    expect(await auditCount()).toBe(before);

    await apply(batch());
    const changed = batch();
    changed[1] = doc('Environment', 'staging', { description: 'pre-prod' });
    const dryChange = await apply(changed, true);
    expect(dryChange.body.results[1]).toEqual({ kind: 'Environment', name: 'staging', action: 'configured', version: 2 });
    expect((await server.json('GET', '/api/v1/environments/staging')).body.metadata.version).toBe(1);
  });

  it('writes nothing when one document is invalid, and lists every problem with its document index', async () => {
    const before = await auditCount();
    const documents = [
      doc('Environment', 'staging', {}),
      doc('RolloutStrategy', 'canary', { canary: { steps: [{ setWeight: 500 }] } }),
      doc('Environment', 'Bad_Name', {}),
    ];
    const result = await apply(documents);
    expect(result.status).toBe(422);
    expect(result.headers.get('content-type')).toBe('application/problem+json');
    expect(result.body.errors).toEqual([
      { document: 1, path: ['spec', 'canary', 'steps', 0, 'setWeight'], message: expect.any(String) },
      { document: 2, path: ['metadata', 'name'], message: expect.any(String) },
    ]);
    expect((await server.json('GET', '/api/v1/environments/staging')).status).toBe(404);
    expect(await auditCount()).toBe(before);
  });

  it('names spec.stages[i].environment when a Pipeline names a missing Environment', async () => {
    const result = await apply([doc('Environment', 'staging', {}), doc('Pipeline', 'main', { stages: [{ environment: 'staging' }, { environment: 'prod' }] })]);
    expect(result.status).toBe(422);
    expect(result.body.errors).toEqual([{ document: 1, path: ['spec', 'stages', 1, 'environment'], message: 'Environment "prod" does not exist' }]);
    expect((await server.json('GET', '/api/v1/environments/staging')).status).toBe(404);
  });

  it('rejects duplicates and nameless records in a batch', async () => {
    const result = await apply([doc('Environment', 'a', {}), doc('Environment', 'a', {}), doc('Release', undefined, { version: '1.0.0' })]);
    expect(result.status).toBe(422);
    expect(result.body.errors.map((e: any) => [e.document, e.path])).toEqual([
      [1, ['metadata', 'name']],
      [2, ['metadata', 'name']],
    ]);
  });

  it("needs each document's kind write role, naming the document", async () => {
    const deployer = await server.token('ci', 'deployer');
    const refused = await apply([doc('Release', 'r1', { version: '1.0.0' }), doc('Environment', 'prod', {})], false, deployer);
    expect(refused.status).toBe(403);
    expect(refused.body.detail).toMatch(/^document 1 \(Environment "prod"\)/);
    expect(refused.body.errors).toEqual([{ document: 1, path: ['kind'], message: expect.stringMatching(/admin/) }]);
    expect((await server.json('GET', '/api/v1/releases/r1')).status).toBe(404);
    expect((await apply([doc('Release', 'r1', { version: '1.0.0' })], false, deployer)).status).toBe(200);
  });

  it('refuses a stale metadata.version with 409 naming the document', async () => {
    await apply(batch());
    const stale = batch();
    stale[1] = doc('Environment', 'staging', { description: 'x' }, { version: 5 });
    const result = await apply(stale);
    expect(result.status).toBe(409);
    expect(result.body).toMatchObject({ currentVersion: 1, errors: [{ document: 1, path: ['metadata', 'version'] }] });
  });

  it('validates the request envelope', async () => {
    const empty = await server.json('POST', '/api/v1/apply', { body: { documents: [] } });
    expect(empty.status).toBe(422);
    expect(empty.body.errors[0].path).toEqual(['documents']);
  });
});
