/**
 * A canary rollout of a Service with `target: kubernetes` and `router: gateway-api`, end to end on
 * the engine with its default runtime factory (the one `rollgate serve` uses): both adapters read
 * a kubeconfig that points at one recording API server on loopback, which emulates the
 * Deployments and their pods (test/targets/kubernetes-apiserver.ts) and forwards HTTPRoute
 * requests to the HTTPRoute API server of the router's tests (test/routers/gateway-api-apiserver.ts).
 * The cluster is examples/kubernetes/cluster.k8s, the Rollgate side examples/kubernetes/podinfo.yaml
 * (with a fast strategy). A Gateway emulator (test/routers/gateway-api-gateway.ts) routes real
 * requests by the stored route to the pods each Service selects, under load for the whole test.
 *
 * Checked: the first deploy takes over the stable track; the canary runs on the canary track
 * behind the route's weights; after promotion the stable track runs the new version (the image
 * pinned to the artifact digest), the canary track is at 0 replicas, the route sends 100% to the
 * stable Service — and not one request failed on the way.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRouterState } from '../../src/adapters/routers/gateway-api.js';
import { DEPLOYMENT_LABELS, emptyDeploymentStatus, type RolloutStatus } from '../../src/core/rollout/index.js';
import { request } from '../proxy/helpers.js';
import { startFakeApiServer, type FakeApiServer } from '../routers/gateway-api-apiserver.js';
import { startGatewayEmulator, type GatewayEmulator } from '../routers/gateway-api-gateway.js';
import { startKubeApiServer, writeKubeconfig, type KubeApiServer } from '../targets/kubernetes-apiserver.js';
import { ROOT, startHarness, type EngineHarness } from './helpers.js';

const NS = 'podinfo';
const DIGEST = `sha256:${'e3'.repeat(32)}`;
const docs = (file: string) =>
  parseAllDocuments(readFileSync(path.join(ROOT, 'examples/kubernetes', file), 'utf8'))
    .map((d) => d.toJS() as Record<string, any>)
    .filter((d) => d !== null);

/** Requests through the Gateway, back to back, until stopped: which version answered, and every failure. */
function startLoad(port: number) {
  const answers: Array<{ phase: string; version: string }> = [];
  const failures: string[] = [];
  let phase = 'start';
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const reply = await request(port, { headers: { host: 'podinfo.example.com' }, timeoutMs: 5000 });
        if (reply.status !== 200) failures.push(`${phase}: ${reply.status} ${reply.body.slice(0, 100)}`);
        else answers.push({ phase, version: String(reply.headers['x-demo-version']) });
      } catch (error) {
        failures.push(`${phase}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const workers = [worker(), worker()];
  return {
    answers,
    failures,
    setPhase: (p: string) => {
      phase = p;
    },
    versions: (p: string) => new Set(answers.filter((a) => a.phase === p).map((a) => a.version)),
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

describe('kubernetes target + Gateway API router, through the engine', () => {
  let routes: FakeApiServer;
  let kube: KubeApiServer;
  let gateway: GatewayEmulator;
  let harness: EngineHarness;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-k8s-engine-'));
    const cluster = docs('cluster.k8s');
    routes = await startFakeApiServer();
    routes.seed(structuredClone(cluster.find((d) => d.kind === 'HTTPRoute')!), 'kubectl');
    kube = await startKubeApiServer({ readyDelayMs: 50, progressDeadlineMs: 20_000, forward: routes.url });
    for (const deployment of cluster.filter((d) => d.kind === 'Deployment')) await kube.seed(structuredClone(deployment), 'kubectl');
    // The cluster as it stands before Rollgate: podinfo-stable's pods serve before the load starts
    // (the emulator makes pods ready after readyDelayMs; a loaded machine can take longer).
    const wanted = Number(cluster.find((d) => d.kind === 'Deployment' && d.metadata.name === 'podinfo-stable')!.spec.replicas ?? 1);
    for (const deadline = Date.now() + 15_000; kube.pods(NS, 'podinfo-stable', { readyOnly: true }).length < wanted; ) {
      if (Date.now() > deadline) throw new Error('the seeded podinfo-stable pods never became ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The Services of cluster.k8s select each track's pods (label `track`); the Gateway reaches the ready ones.
    gateway = await startGatewayEmulator({
      route: () => routes.get(NS, 'podinfo'),
      endpoints: (service) => kube.pods(NS, service, { readyOnly: true }).map((pod) => pod.address),
    });

    const kubeconfig = writeKubeconfig(dir, kube);
    const rollgate = docs('podinfo.yaml');
    const service = rollgate.find((d) => d.kind === 'Service')!;
    harness = await startHarness();
    await harness.create({
      kind: 'RolloutStrategy',
      name: 'podinfo-fast',
      spec: { canary: { steps: [{ setWeight: 50 }, { pause: { duration: '1s' } }, { setWeight: 100 }, { pause: { duration: '1s' } }], scaleDownDelaySeconds: 1 } },
    });
    await harness.create({
      kind: 'Service',
      name: 'podinfo',
      spec: {
        ...service.spec,
        strategy: 'podinfo-fast',
        target: { ...service.spec.target, kubeconfig, timeout: '20s' },
        router: { ...service.spec.router, kubeconfig },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await harness?.close();
    await gateway?.close();
    await kube?.close();
    await routes?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const waitUntil = async (name: string, done: (status: RolloutStatus) => boolean, what: string, timeoutMs = 45_000): Promise<RolloutStatus> => {
    const deadline = Date.now() + timeoutMs;
    let last: RolloutStatus | null = null;
    while (Date.now() < deadline) {
      last = await harness.rollout(name);
      if (last && done(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${name}: not ${what} in ${timeoutMs} ms; last: ${last?.phase} ${last?.message}`);
  };
  const retired = (status: RolloutStatus) => status.phase === 'Healthy' && status.retirements.every((r) => r.retiredAt !== null);

  it('first deploy, then a canary of 6.7.1: after promotion the stable track runs it, the canary track is at 0, the route sends 100% to the stable Service, no request failed', async () => {
    const load = startLoad(gateway.port);
    let stable: Record<string, any>;
    try {
      // Before Rollgate: the route of cluster.k8s sends everything to podinfo-stable (6.4.0, not yet Rollgate's).
      await new Promise((resolve) => setTimeout(resolve, 200));

      load.setPhase('first deploy');
      await harness.deploy('podinfo-1', 'podinfo', '6.4.0');
      let status = await waitUntil('podinfo-1', (s) => s.phase !== 'Progressing', 'finished');
      expect(status.phase, status.message).toBe('Healthy');
      stable = kube.get(NS, 'podinfo-stable')!;
      expect(stable.spec.template.metadata.annotations['rollgate.dev/version']).toBe('6.4.0');
      expect(stable.spec.replicas).toBe(2);
      expect(kube.pods(NS, 'podinfo-stable', { readyOnly: true }).map((p) => p.version)).toEqual(['6.4.0', '6.4.0']);
      expect(readRouterState({ service: 'podinfo', namespace: NS, httpRoute: 'podinfo', stableBackend: 'podinfo-stable', canaryBackend: 'podinfo-canary', port: 80 }, routes.get(NS, 'podinfo'))).toMatchObject({
        stableVersion: '6.4.0',
        canaryWeight: 0,
      });

      load.setPhase('canary');
      await harness.create({
        kind: 'Deployment',
        name: 'podinfo-2',
        labels: { [DEPLOYMENT_LABELS.service]: 'podinfo', [DEPLOYMENT_LABELS.environment]: 'default' },
        spec: { service: 'podinfo', version: '6.7.1', artifact: { digest: DIGEST } },
        status: emptyDeploymentStatus() as unknown as Record<string, unknown>,
      });
      harness.engine.wake('podinfo-2');
      // At 50%: both tracks serve, each its own version.
      status = await waitUntil('podinfo-2', (s) => s.canaryWeight === 50 && s.stepIndex >= 1, 'at 50%');
      const canary = kube.get(NS, 'podinfo-canary')!;
      expect(canary.spec.template.metadata.annotations['rollgate.dev/version']).toBe('6.7.1');
      expect(canary.spec.template.spec.containers[0].image).toBe(`ghcr.io/stefanprodan/podinfo:6.7.1@${DIGEST}`);
      expect(kube.get(NS, 'podinfo-stable')!.spec.template.metadata.annotations['rollgate.dev/version']).toBe('6.4.0');
      load.setPhase('at 50%');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(load.versions('at 50%')).toEqual(new Set(['6.4.0', '6.7.1']));

      load.setPhase('promotion');
      status = await waitUntil('podinfo-2', retired, 'promoted and the old version retired');
      expect(status.stableVersion).toBe('6.7.1');
      load.setPhase('after');
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await load.stop();
    }

    // The stable track runs the new version, with exactly the canary's image (digest included).
    stable = kube.get(NS, 'podinfo-stable')!;
    expect(stable.spec.template.metadata.annotations['rollgate.dev/version']).toBe('6.7.1');
    expect(stable.spec.template.spec.containers[0].image).toBe(`ghcr.io/stefanprodan/podinfo:6.7.1@${DIGEST}`);
    expect(stable.metadata.annotations['rollgate.dev/previous-version']).toBe('6.4.0');
    expect(stable.spec.replicas).toBe(2);
    expect(kube.pods(NS, 'podinfo-stable', { readyOnly: true }).map((p) => p.version)).toEqual(['6.7.1', '6.7.1']);
    // The canary track is at 0 replicas, its pods gone; the Deployment is still there.
    const canary = kube.get(NS, 'podinfo-canary')!;
    expect(canary.spec.replicas).toBe(0);
    expect(kube.pods(NS, 'podinfo-canary')).toEqual([]);
    // The route sends 100% to the stable Service, and only to it.
    const route = routes.get(NS, 'podinfo')!;
    expect(route.spec.rules).toEqual([
      { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'podinfo-stable', port: 80, weight: 100_000 }] },
    ]);
    expect(route.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', sectionName: 'http' }]);
    expect(route.metadata.annotations).toMatchObject({ 'rollgate.dev/stable-version': '6.7.1' });
    // What the Gateway served: 6.4.0 before, both at 50%, only 6.7.1 once it was promoted — and no failure.
    expect(load.failures).toEqual([]);
    expect(load.versions('first deploy')).toEqual(new Set(['6.4.0']));
    expect(load.versions('after')).toEqual(new Set(['6.7.1']));
    expect(load.answers.filter((a) => a.phase === 'after').length).toBeGreaterThan(20);

    // Every Deployment change was a server-side apply by `rollgate` with force; nothing was created or deleted.
    const writes = kube.requests.filter((r) => r.method !== 'GET' && r.path.includes('/deployments/'));
    expect(writes.length).toBeGreaterThanOrEqual(4);
    for (const w of writes) {
      expect([w.method, w.contentType, w.query]).toEqual(['PATCH', 'application/apply-patch+yaml', { fieldManager: 'rollgate', force: 'true' }]);
      expect(w.status).toBe(200);
    }
    // The route's applies went through the same API server (and kubeconfig) to the HTTPRoute API.
    expect(routes.requests.filter((r) => r.method === 'PATCH').every((r) => r.query.fieldManager === 'rollgate' && r.status === 200)).toBe(true);
    expect(kube.requests.filter((r) => r.status >= 400 && r.status !== 404)).toEqual([]);
    expect(kube.owners(NS, 'podinfo-stable')['spec.template.spec.containers[podinfo].ports']).toBe('kubectl');
  }, 90_000);
});
