/**
 * `rollgate promote` and `rollgate drift` against the in-process app (the CLI's fetch goes straight
 * to `app.fetch`). Rollouts are "run" by writing their phase into the store, as the engine would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { doc, startTestServer, type TestServer } from '../server/helpers.js';

const SERVER = 'http://rollgate.test';
const A = `sha256:${'a'.repeat(64)}`;
const D = `sha256:${'d'.repeat(64)}`;

const work = mkdtempSync(path.join(tmpdir(), 'rollgate-promote-cli-'));
let server: TestServer;
let token: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function start(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  return main(['node', 'rollgate', ...args, '--server', SERVER, '--token', token], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    env: {},
    cwd: work,
    fetch: inProcessFetch,
  }).then((code) => ({ code, stdout, stderr }));
}
const rollgate = (...args: string[]) => start(...args);

/**
 * The app in-process, without the event stream: an in-process SSE response does not end when the
 * watch aborts its request, so `--watch` follows by polling here (as it does when a stream breaks).
 */
const inProcessFetch = ((input: string | URL | Request, init?: RequestInit) => {
  const request = new Request(input, init);
  if (new URL(request.url).pathname === '/api/v1/events') return Promise.resolve(new Response('', { status: 503 }));
  return server.app.fetch(request);
}) as typeof fetch;

async function create(kind: string, plural: string, name: string, spec: Record<string, unknown>) {
  const response = await server.json('POST', `/api/v1/${plural}`, { body: doc(kind, name, spec) });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
}

async function setPhase(name: string, phase: string) {
  await server.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Deployment', name))!;
    await stores.objects.update('Deployment', name, current.version, { status: { ...(current.status ?? {}), rollout: { phase, attempt: 1, analysisRuns: [] } } });
  });
}

async function setStable(service: string, environment: string, deployment: string, version: string) {
  await server.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Service', service))!;
    await stores.objects.update('Service', service, current.version, { status: { environments: { [environment]: { stableVersion: version, deployment, since: new Date().toISOString() } } } });
  });
}

const deploymentsIn = async (environment: string) => (await server.store.read.objects.list('Deployment', { labels: { 'rollgate.dev/environment': environment } })).items;

beforeAll(async () => {
  server = await startTestServer();
  token = await server.token('release-bot', 'deployer');
  for (const name of ['dev', 'staging']) await create('Environment', 'environments', name, {});
  await create('Service', 'services', 'checkout', { owner: 'team-a', target: { type: 'process', command: 'node app.js' } });
  await create('Pipeline', 'pipelines', 'storefront', { services: ['checkout'], stages: [{ environment: 'dev' }, { environment: 'staging' }] });
  await create('Release', 'releases', 'r1', { version: '2026.12.0', components: [{ service: 'checkout', version: '1.4.0', digest: A }] });
});

afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

describe('rollgate promote', () => {
  it('checks its arguments before sending anything (exit 2)', async () => {
    const bad = await rollgate('promote', 'r1', '--to', 'dev', '--planned-start', 'tomorrow');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--planned-start "tomorrow": must be an ISO 8601 date-time with an offset');
    expect((await rollgate('promote', 'r1', '--to', 'dev', '--type', 'yolo')).code).toBe(2);
    expect((await rollgate('promote', 'r1')).code).toBe(2);
    expect((await rollgate('promote', 'r1', '--to', 'Dev!')).stderr).toContain('--to "Dev!"');
    expect(await deploymentsIn('dev')).toEqual([]);
  });

  it('prints every gate, then the Deployments it created', async () => {
    const run = await rollgate('promote', 'r1', '--to', 'dev');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^GATE\s+NAME\s+SERVICE\s+OUTCOME\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^path\s+storefront\s+-\s+pass\s+dev is stage 1 of 2 of pipeline "storefront"/);
    expect(lines[2]).toMatch(/^digest\s+dev\s+checkout\s+pass\s+dev is the first stage/);
    const [created] = await deploymentsIn('dev');
    expect(run.stdout).toContain(`deployment/${created!.name} created: checkout 1.4.0 sha256:aaaaaaaaaaaa… → dev`);
    expect(run.stdout).not.toContain('change/');
    expect(run.stderr).toContain('release r1 promoted to dev');
  });

  it('on refusal prints the gates and the refusing ones, and exits 3', async () => {
    const run = await rollgate('promote', 'r1', '--to', 'staging');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^GATE\s+NAME\s+SERVICE\s+OUTCOME\s+MESSAGE\n/);
    expect(run.stdout).toMatch(/digest\s+dev\s+checkout\s+deny\s+sha256:aaaaaaaaaaaa… has not succeeded in dev \(latest there: 1\.4\.0 sha256:aaaaaaaaaaaa…, Pending\)/);
    expect(run.stderr).toMatch(/^error: Conflict: promotion of release "r1" to staging refused: digest checkout: /);
    expect(run.stderr).toContain('  gates.digest.dev: sha256:aaaaaaaaaaaa… has not succeeded in dev');
    expect(await deploymentsIn('staging')).toEqual([]);

    const json = await rollgate('promote', 'r1', '--to', 'staging', '-o', 'json');
    expect(json.code).toBe(3);
    expect(json.stdout).toBe('');
    const problem = JSON.parse(json.stderr);
    expect(problem).toMatchObject({ type: 'https://rollgate.dev/problems/gate-refused', status: 409, exitCode: 3 });
    expect(problem.gates.map((gate: { gate: string }) => gate.gate)).toEqual(['path', 'digest', 'goNoGo', 'active']);
  });

  it('with --watch follows the created Deployments until they finish (exit 0 when Healthy)', async () => {
    const [dev] = await deploymentsIn('dev');
    await setPhase(dev!.name, 'Healthy');
    const running = start('promote', 'r1', '--to', 'staging', '--watch', '-o', 'json');
    let staging: Awaited<ReturnType<typeof deploymentsIn>> = [];
    for (let tries = 0; staging.length === 0 && tries < 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      staging = await deploymentsIn('staging');
    }
    expect(staging).toHaveLength(1);
    await setPhase(staging[0]!.name, 'Healthy');
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const first = JSON.parse(run.stdout.slice(0, run.stdout.indexOf('\n}\n') + 2));
    expect(first.promotion).toMatchObject({ environment: 'staging', deployments: [{ service: 'checkout', digest: A, deployment: staging[0]!.name }] });
  });
});

describe('rollgate drift', () => {
  it('prints SERVICE / PROMOTED / RUNNING / STATE; exit 0 in sync, 3 with drift', async () => {
    const [dev] = await deploymentsIn('dev');
    await setStable('checkout', 'dev', dev!.name, '1.4.0');
    let run = await rollgate('drift', '--env', 'dev');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^SERVICE\s+PROMOTED\s+RUNNING\s+STATE$/),
      expect.stringMatching(/^checkout\s+1\.4\.0 sha256:aaaaaaaaaaaa… \(r1\)\s+1\.4\.0 sha256:aaaaaaaaaaaa…\s+in-sync$/),
    ]);

    // Another build replaces the promoted one in dev.
    const direct = await server.json('POST', '/api/v1/deployments', { body: doc('Deployment', undefined, { service: 'checkout', environment: 'dev', version: '1.4.1', artifact: { digest: D } }) });
    expect(direct.status, JSON.stringify(direct.body)).toBe(201);
    await setPhase(direct.body.metadata.name, 'Healthy');
    await setStable('checkout', 'dev', direct.body.metadata.name, '1.4.1');
    run = await rollgate('drift', '--env', 'dev');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/checkout\s+1\.4\.0 sha256:aaaaaaaaaaaa… \(r1\)\s+1\.4\.1 sha256:dddddddddddd…\s+drift/);
    expect(run.stdout).toContain(`dev/checkout: 1.4.1 sha256:dddddddddddd… runs (Deployment ${direct.body.metadata.name}), but 1.4.0 sha256:aaaaaaaaaaaa… promoted by release "r1"`);
    expect(run.stderr).toContain('1 service drifts from what was promoted');

    const all = await rollgate('drift');
    expect(all.code).toBe(3);
    expect(all.stdout.split('\n')[0]).toMatch(/^ENVIRONMENT\s+SERVICE\s+PROMOTED\s+RUNNING\s+STATE$/);
    expect(all.stdout).toMatch(/\nstaging\s+checkout\s+1\.4\.0 sha256:aaaaaaaaaaaa… \(r1\)\s+-\s+not-running\n/);

    const json = await rollgate('drift', '--env', 'dev', '-o', 'json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ environment: 'dev', drift: 1, services: [{ service: 'checkout', state: 'drift' }] });

    const missing = await rollgate('drift', '--env', 'nowhere');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Environment "nowhere" not found');
  });
});
