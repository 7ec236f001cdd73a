/** `POST /api/v1/policies/evaluate` (the dry run) and the Policy kind's apply-time CEL check. */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

const SIGNED = `sha256:${'1'.repeat(64)}`;
const UNSIGNED = `sha256:${'2'.repeat(64)}`;

let server: TestServer;

async function post(kindPlural: string, body: unknown) {
  const response = await server.json('POST', `/api/v1/${kindPlural}`, { body });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

const evaluate = (body: unknown, token?: string | null) => server.json('POST', '/api/v1/policies/evaluate', { body, ...(token === undefined ? {} : { token }) });

beforeEach(async () => {
  server = await startTestServer({ app: { now: () => new Date('2026-11-27T14:30:00Z') } });
  await post('environments', doc('Environment', 'prod', { production: true }));
  await post('environments', doc('Environment', 'staging', {}));
  for (const name of ['checkout', 'cart']) await post('services', doc('Service', name, { owner: 'team-a', target: { type: 'process', command: 'node app.js' } }));
  await post('artifacts', doc('Artifact', 'checkout-2-1-0', { service: 'checkout', version: '2.1.0', digest: SIGNED, signatures: [{ keyId: 'k1', signature: 's' }] }));
  await post('policies', doc('Policy', 'signed-prod', { severity: 'deny', expression: 'artifact.signed', message: 'unsigned artifact', scope: { productionOnly: true } }));
  await post('policies', doc('Policy', 'coverage-80', { severity: 'warn', expression: 'coverage >= 80', message: 'coverage below 80' }));
  await post('policies', doc('Policy', 'cab', { severity: 'deny', expression: 'risk.level != "high" || approvals.cab >= 2', message: 'needs cab', gates: ['start'] }));
  await post(
    'releases',
    doc('Release', 'r1', {
      version: '1.0.0',
      components: [
        { service: 'checkout', version: '2.1.0', digest: SIGNED },
        { service: 'cart', version: '1.4.0', digest: UNSIGNED },
      ],
    }),
  );
  await server.store.transaction(async (stores) => {
    const release = (await stores.objects.get('Release', 'r1'))!;
    await stores.objects.update('Release', 'r1', release.version, {
      status: { results: [{ id: 'c', name: 'coverage', type: 'coverage', passed: true, value: 91, postedBy: 'ci', at: '2026-11-20T10:00:00Z' }] },
    });
  });
});

afterEach(() => server.close());

describe('POST /api/v1/policies/evaluate', () => {
  it('evaluates the promote gate per component, says whether it would refuse, and returns the facts', async () => {
    const response = await evaluate({ environment: 'prod', release: 'r1' });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const { results, denied, facts } = response.body;
    expect(denied).toBe(true);
    expect(results.map((r: any) => [r.name, r.service, r.severity, r.outcome])).toEqual([
      ['coverage-80', 'checkout', 'warn', 'pass'],
      ['signed-prod', 'checkout', 'deny', 'pass'],
      ['coverage-80', 'cart', 'warn', 'pass'],
      ['signed-prod', 'cart', 'deny', 'deny'],
    ]);
    expect(results[3]).toMatchObject({ gate: 'policy', message: 'unsigned artifact', expression: 'artifact.signed', inputs: { artifact: expect.objectContaining({ known: false, signed: false }) } });
    expect(facts.map((f: any) => f.service)).toEqual(['checkout', 'cart']);
    expect(facts[0].facts).toMatchObject({ environment: { name: 'prod', production: true }, coverage: 91, now: { weekday: 'FR', hour: 14 } });
  });

  it('records nothing: the release status is unchanged after a denied dry run', async () => {
    const before = (await server.store.read.objects.get('Release', 'r1'))!;
    expect((await evaluate({ environment: 'prod', release: 'r1' })).body.denied).toBe(true);
    const after = (await server.store.read.objects.get('Release', 'r1'))!;
    expect(after.version).toBe(before.version);
    expect(after.status).toEqual(before.status);
  });

  it('the start gate, with a deployment\'s component and change; viewers may ask', async () => {
    await server.store.transaction((stores) =>
      stores.objects.create({
        kind: 'Change',
        name: 'chg-1',
        spec: { type: 'normal', title: 'go', services: ['checkout'], businessServices: [], evidence: [], risk: 'high' },
        status: { state: 'Scheduled', requestedBy: 'bob', approvals: [{ id: 'a', user: 'carol', groups: ['cab'], decision: 'approve', comment: '', at: '2026-11-26T10:00:00Z', valid: true }] },
      }),
    );
    await server.store.transaction((stores) =>
      stores.objects.create({ kind: 'Deployment', name: 'checkout-prod-1', spec: { service: 'checkout', environment: 'prod', version: '2.1.0', artifact: { digest: SIGNED }, release: 'r1', change: 'chg-1' } }),
    );
    const viewer = await server.token('policy-viewer', 'viewer');
    const response = await evaluate({ environment: 'prod', deployment: 'checkout-prod-1', gate: 'start' }, viewer);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.body.results.map((r: any) => [r.name, r.service, r.outcome])).toEqual([['cab', 'checkout', 'deny']]);
    expect(response.body.results[0].inputs).toEqual({ risk: { level: 'high', score: 0 }, approvals: { cab: 1 } });
    expect(response.body.facts[0].facts.change).toEqual({ name: 'chg-1', type: 'normal', state: 'Scheduled' });
  });

  it('explicit components override the release\'s', async () => {
    const response = await evaluate({ environment: 'staging', release: 'r1', components: [{ service: 'cart', version: '9.0.0' }] });
    expect(response.status).toBe(200);
    expect(response.body.denied).toBe(false);
    expect(response.body.facts.map((f: any) => [f.service, f.version, f.facts.artifact.digest])).toEqual([['cart', '9.0.0', '']]);
  });

  it.each([
    { label: 'unknown environment', body: { environment: 'nowhere', release: 'r1' }, path: ['environment'] },
    { label: 'unknown release', body: { environment: 'prod', release: 'nope' }, path: ['release'] },
    { label: 'unknown deployment', body: { environment: 'prod', deployment: 'nope' }, path: ['deployment'] },
    { label: 'unknown change', body: { environment: 'prod', release: 'r1', change: 'nope' }, path: ['change'] },
    { label: 'release and deployment', body: { environment: 'prod', release: 'r1', deployment: 'x' }, path: ['deployment'] },
    { label: 'nothing to evaluate', body: { environment: 'prod' }, path: [] },
    { label: 'bad gate', body: { environment: 'prod', release: 'r1', gate: 'deploy' }, path: ['gate'] },
  ])('422 naming the field: $label', async ({ body, path }) => {
    const response = await evaluate(body);
    expect(response.status, JSON.stringify(response.body)).toBe(422);
    expect(response.body.errors.map((e: any) => e.path)).toContainEqual(path);
  });

  it('needs a token', async () => {
    expect((await evaluate({ environment: 'prod', release: 'r1' }, null)).status).toBe(401);
  });
});

describe('Policy objects', () => {
  it('refuse an expression that does not compile or names an unknown fact, at spec.expression', async () => {
    for (const expression of ['coverage >=', 'artefact.signed']) {
      const response = await server.json('POST', '/api/v1/policies', { body: doc('Policy', 'bad', { severity: 'deny', expression, message: 'm' }) });
      expect(response.status, expression).toBe(422);
      expect(response.body.errors.map((e: any) => e.path)).toContainEqual(['spec', 'expression']);
    }
  });
});

describe('rollgate policy test (CLI against the app in-process)', () => {
  async function rollgate(...args: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await main(['node', 'rollgate', ...args, '--server', 'http://rollgate.test', '--token', server.adminToken], {
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      stdin: Readable.from([]),
      env: {},
      cwd: process.cwd(),
      fetch: (async (input: string | URL | Request, init?: RequestInit) => server.app.fetch(new Request(input, init))) as typeof fetch,
    });
    return { code, stdout, stderr };
  }

  it('prints POLICY / SERVICE / SEVERITY / OUTCOME / MESSAGE, denies first, and exits 3 on a deny', async () => {
    const run = await rollgate('policy', 'test', '--env', 'prod', '--release', 'r1');
    expect(run.code).toBe(3);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^POLICY\s+SERVICE\s+SEVERITY\s+OUTCOME\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^signed-prod\s+cart\s+deny\s+deny\s+unsigned artifact$/);
    expect(lines).toHaveLength(5);
    expect(run.stderr).toMatch(/would refuse: 1 denied/);
  });

  it('exits 0 when nothing denies; -o json prints results, denied and facts', async () => {
    const run = await rollgate('policy', 'test', '--env', 'staging', '--release', 'r1', '-o', 'json');
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout);
    expect(body.denied).toBe(false);
    expect(body.results.map((r: any) => r.name)).toEqual(['coverage-80', 'coverage-80']);
    expect(body.facts[1].facts.artifact).toMatchObject({ service: 'cart', known: false });
  });

  it('usage errors (exit 2) without --release/--deployment or with both; 422 (exit 3) for an unknown release', async () => {
    expect((await rollgate('policy', 'test', '--env', 'prod')).code).toBe(2);
    expect((await rollgate('policy', 'test', '--env', 'prod', '--release', 'r1', '--deployment', 'd')).code).toBe(2);
    const unknown = await rollgate('policy', 'test', '--env', 'prod', '--release', 'nope');
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/Release "nope" does not exist/);
  });
});
