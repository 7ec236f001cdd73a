/**
 * The kubernetes deploy target, without a cluster:
 * - the DeployTarget contract against the target pointed (through a kubeconfig in a temporary
 *   directory) at a recording API server on loopback that emulates Deployments, their pods (HTTP
 *   servers on 127.0.0.1) and their status (./kubernetes-apiserver.ts);
 * - the pure parts: track selection, image and digest rendering, status mapping, env and secrets;
 * - the requests: paths, methods, content type, field manager, force, bodies, field ownership;
 * - promotion and retirement of the two tracks as the engine drives them.
 * A full rollout through the engine with the Gateway API router: test/engine/kubernetes-rollout.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubeApiError, kubeClientFromKubeConfig, type KubeClient } from '../../src/adapters/kubernetes/client.js';
import { KubernetesTarget, type KubernetesTargetConfig } from '../../src/adapters/targets/kubernetes.js';
import {
  appliedEnvNames,
  applyConfiguration,
  chooseTrack,
  defaultStableDeployment,
  envEntries,
  renderImage,
  repositoryOf,
  trackHealth,
  type KubeDeployment,
  type Track,
} from '../../src/adapters/targets/kubernetes/deployment.js';
import { describeDeployTargetContract, httpGet, refusesConnections } from '../contract/deploy-target-contract.js';
import { deploymentManifest, startKubeApiServer, writeKubeconfig, type KubeApiServer } from './kubernetes-apiserver.js';

const NS = 'shop';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const OTHER_DIGEST = `sha256:${'cd'.repeat(32)}`;
const PATH = (name: string) => `/apis/apps/v1/namespaces/${NS}/deployments/${name}`;
const APPLY = (name: string) => `${PATH(name)}?fieldManager=rollgate&force=true`;

/** The two track Deployments as `kubectl apply --server-side` leaves them: 0 replicas, no Rollgate version yet. */
async function seedTracks(api: KubeApiServer, options: { stableEnv?: Array<Record<string, unknown>>; replicas?: number } = {}) {
  await api.seed(deploymentManifest({ namespace: NS, name: 'web-canary', image: 'registry.example/web:0.0.0', labels: { app: 'web', track: 'canary' }, replicas: options.replicas ?? 0 }));
  await api.seed(
    deploymentManifest({
      namespace: NS,
      name: 'web-stable',
      image: 'registry.example/web:0.0.0',
      labels: { app: 'web', track: 'stable' },
      replicas: options.replicas ?? 0,
      env: [{ name: 'LOG_LEVEL', value: 'info' }, ...(options.stableEnv ?? [])],
    }),
  );
}

const ready = (api: KubeApiServer, version: string) =>
  ['web-canary', 'web-stable'].flatMap((name) => api.pods(NS, name, { readyOnly: true }).filter((pod) => pod.version === version).map((pod) => pod.address));

function targetFor(client: KubeClient, extra: Partial<KubernetesTargetConfig> = {}): KubernetesTarget {
  return new KubernetesTarget({
    service: 'web',
    namespace: NS,
    deployment: 'web-canary',
    stableDeployment: 'web-stable',
    image: 'registry.example/web:{version}',
    client,
    timeoutMs: 5000,
    pollMs: 10,
    services: { stable: 'web-stable', canary: 'web-canary', port: 8080 },
    ...extra,
  });
}

// ------------------------------------------------------------------------------- contract

describeDeployTargetContract(
  'KubernetesTarget (two track Deployments on a recording API server with emulated pods)',
  async () => {
    const api = await startKubeApiServer({ readyDelayMs: 30, progressDeadlineMs: 400 });
    const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-k8s-'));
    await seedTracks(api);
    const target = targetFor(kubeClientFromKubeConfig({ kubeconfig: writeKubeconfig(dir, api) }));
    return {
      target,
      healthyVersion: '1.0.0',
      otherVersion: '1.1.0',
      failingVersion: '9.9.9-bad',
      failingEnv: { UNHEALTHY: '1' },
      instanceIdentity: async (version) =>
        ['web-canary', 'web-stable'].flatMap((name) => api.pods(NS, name).filter((pod) => pod.version === version).map((pod) => pod.uid)).sort(),
      instances: async (version) => ready(api, version),
      closeLeavesInstances: 'the Deployments are the cluster\'s: a control plane that exits leaves them running',
      teardown: async () => {
        // Every request was a GET or a server-side apply, and the API server refused none.
        expect(api.requests.filter((r) => !(r.method === 'GET' || (r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml')))).toEqual([]);
        expect(api.requests.filter((r) => r.status >= 400 && r.status !== 404)).toEqual([]);
        await api.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { testTimeoutMs: 20_000 },
);

// ------------------------------------------------------------------------------- pure parts

const track = (role: 'stable' | 'canary', version: string | null, replicas = 1, extra: Partial<KubeDeployment> = {}): Track => ({
  role,
  name: `web-${role}`,
  deployment: {
    metadata: { name: `web-${role}`, namespace: NS, generation: 3 },
    spec: {
      replicas,
      template: { metadata: version ? { annotations: { 'rollgate.dev/version': version } } : {}, spec: { containers: [{ name: 'app', image: `registry.example/web:${version ?? '0'}` }] } },
    },
    ...extra,
  },
});

describe('track selection', () => {
  it.each([
    // [what, version, role, stable track, canary track, chosen]
    ['role stable: the stable track, whatever runs where (promotion)', '2', 'stable', track('stable', '1'), track('canary', '2'), 'stable'],
    ['role stable on a fresh pair (first deploy)', '1', 'stable', track('stable', null, 0), track('canary', null, 0), 'stable'],
    ['role canary: the canary track', '2', 'canary', track('stable', '1'), track('canary', null, 0), 'canary'],
    ['role canary replaces an older canary', '3', 'canary', track('stable', '1'), track('canary', '2'), 'canary'],
    ['role preview: the canary track', '2', 'preview', track('stable', '1'), track('canary', '1', 0), 'canary'],
    ['the track that runs the version (a scale-up, a repeat)', '2', 'canary', track('stable', '1'), track('canary', '2', 0), 'canary'],
    ['the track that runs the version, even at 0 replicas (a retry)', '1', undefined, track('stable', '1', 0), track('canary', '2'), 'stable'],
    ['both run it (just promoted): the stable track', '2', undefined, track('stable', '2'), track('canary', '2'), 'stable'],
    ['no role, no track runs it: the canary track', '3', undefined, track('stable', '1'), track('canary', null, 0), 'canary'],
    ['no role, canary busy, stable free: the stable track', '3', undefined, track('stable', null, 0), track('canary', '2'), 'stable'],
    ['no role, both busy: the canary track', '3', undefined, track('stable', '1'), track('canary', '2'), 'canary'],
  ] as const)('%s', (_, version, role, stable, canary, chosen) => {
    expect(chooseTrack(version, role, stable, canary)).toBe(chosen);
  });

  it('names the stable track after the canary track when the config does not', () => {
    expect(defaultStableDeployment('podinfo-canary')).toBe('podinfo-stable');
    expect(defaultStableDeployment('podinfo')).toBe('podinfo-stable');
  });
});

describe('image and digest rendering', () => {
  it('replaces {version} in the template', () => {
    expect(renderImage({ template: 'ghcr.io/stefanprodan/podinfo:{version}', version: '6.7.1' })).toEqual({ ok: true, image: 'ghcr.io/stefanprodan/podinfo:6.7.1' });
    expect(renderImage({ template: 'reg.example:5000/team/{version}/app:v{version}', version: '2' })).toEqual({ ok: true, image: 'reg.example:5000/team/2/app:v2' });
  });

  it('without a template: the current image\'s repository, tagged with the version', () => {
    expect(renderImage({ current: 'ghcr.io/stefanprodan/podinfo:6.4.0', version: '6.7.1' })).toEqual({ ok: true, image: 'ghcr.io/stefanprodan/podinfo:6.7.1' });
    expect(renderImage({ current: `reg.example:5000/app:1.0@${OTHER_DIGEST}`, version: '2.0' })).toEqual({ ok: true, image: 'reg.example:5000/app:2.0' });
    expect(renderImage({ current: 'reg.example:5000/app', version: '2.0' })).toEqual({ ok: true, image: 'reg.example:5000/app:2.0' });
    expect(repositoryOf('nginx')).toBe('nginx');
    expect(renderImage({ version: '2.0' })).toMatchObject({ ok: false, message: expect.stringMatching(/set the target's `image`/) });
  });

  it('pins the artifact digest (image:tag@sha256:…) unless the reference names a digest already', () => {
    expect(renderImage({ template: 'ghcr.io/stefanprodan/podinfo:{version}', version: '6.7.1', digest: DIGEST })).toEqual({ ok: true, image: `ghcr.io/stefanprodan/podinfo:6.7.1@${DIGEST}` });
    expect(renderImage({ template: `ghcr.io/x/app:{version}@${OTHER_DIGEST}`, version: '1', digest: DIGEST })).toEqual({ ok: true, image: `ghcr.io/x/app:1@${OTHER_DIGEST}` });
    expect(renderImage({ template: 'ghcr.io/x/app:{version}', version: '1', digest: 'md5:abc' })).toMatchObject({ ok: false, message: expect.stringMatching(/not "sha256:" and 64/) });
  });

  it('refuses what is not an image reference, naming the version that does not fit a tag', () => {
    expect(renderImage({ template: 'ghcr.io/x/app:{version}', version: '1.0.0+build.7' })).toMatchObject({ ok: false, message: expect.stringMatching(/not a valid image reference.*"1\.0\.0\+build\.7"/) });
    expect(renderImage({ template: 'GHCR.io/X/App:{version}', version: '1' })).toMatchObject({ ok: false });
  });
});

describe('status mapping', () => {
  const status = (status: NonNullable<KubeDeployment['status']>, replicas = 3) => trackHealth(track('canary', '2', replicas, { status }));

  it('fully rolled out and available: running and healthy', () => {
    expect(status({ observedGeneration: 3, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 })).toEqual({ phase: 'running', healthy: true });
  });

  it('the controller has not seen the latest spec yet: starting', () => {
    expect(status({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 })).toMatchObject({
      phase: 'starting',
      healthy: false,
      message: expect.stringMatching(/observe generation 3/),
    });
  });

  it('partially rolled out: starting, with how far it got and the old replicas left', () => {
    expect(status({ observedGeneration: 3, replicas: 4, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 })).toEqual({
      phase: 'starting',
      healthy: false,
      message: 'Deployment shop/web-canary: rolling out, 1 of 3 replicas updated, 3 available, 3 old replicas still running',
    });
    // Every replica updated, not all available yet: still rolling out …
    expect(status({ observedGeneration: 3, replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 })).toMatchObject({ phase: 'starting', message: expect.stringMatching(/3 of 3 replicas updated, 2 available$/) });
    // … unless the controller said the rollout had finished: then a replica went away.
    const finished = [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-canary-7d4b9" has successfully progressed.' }];
    expect(status({ observedGeneration: 3, replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2, conditions: finished })).toMatchObject({ phase: 'unhealthy', message: expect.stringMatching(/2 of 3 replicas available/) });
  });

  it('ProgressDeadlineExceeded: failed, with the condition\'s message', () => {
    const conditions = [
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' },
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-canary-7d4b9" has timed out progressing.' },
    ];
    expect(status({ observedGeneration: 3, replicas: 4, updatedReplicas: 1, availableReplicas: 3, conditions })).toEqual({
      phase: 'failed',
      healthy: false,
      message: 'Deployment shop/web-canary: ReplicaSet "web-canary-7d4b9" has timed out progressing. (ProgressDeadlineExceeded)',
    });
  });

  it('a ReplicaFailure (quota) is in the message; 0 replicas is stopped; no Deployment is failed', () => {
    const conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'pods "web-canary-x" is forbidden: exceeded quota' }];
    expect(status({ observedGeneration: 3, replicas: 0, updatedReplicas: 0, availableReplicas: 0, conditions })).toMatchObject({
      phase: 'starting',
      message: expect.stringMatching(/FailedCreate: pods "web-canary-x" is forbidden: exceeded quota$/),
    });
    expect(trackHealth(track('canary', '2', 0))).toMatchObject({ phase: 'stopped', healthy: false });
    expect(trackHealth({ role: 'canary', name: 'web-canary', deployment: null })).toMatchObject({ phase: 'failed', message: expect.stringMatching(/does not exist/) });
  });
});

describe('env and secrets', () => {
  it('keeps the order of the env, refuses names Kubernetes would', () => {
    expect(envEntries({ env: { B: '2', A: '1' } })).toEqual({ ok: true, env: [{ name: 'B', value: '2' }, { name: 'A', value: '1' }] });
    expect(envEntries({ env: { 'not ok': '1' } })).toMatchObject({ ok: false, message: expect.stringMatching(/"not ok": not a valid environment variable name/) });
  });

  it('refuses a value that came from a Rollgate secret, naming the variable and never the value', () => {
    const result = envEntries({ env: { LOG_LEVEL: 'info', DB_PASSWORD: 'hunter2-very-secret' }, secrets: ['hunter2-very-secret'] });
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/^env DB_PASSWORD comes from a Rollgate secret.*use Kubernetes Secrets \(valueFrom\.secretKeyRef\) in the Deployment/) });
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('reads the env entries a manager applied from FieldsV1', () => {
    const deployment: KubeDeployment = {
      metadata: {
        managedFields: [
          { manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"app"}': { 'f:env': { 'k:{"name":"LOG_LEVEL"}': { '.': {} } } } } } } } } },
          {
            manager: 'rollgate',
            operation: 'Apply',
            fieldsV1: {
              'f:spec': {
                'f:replicas': {},
                'f:template': {
                  'f:spec': {
                    'f:containers': {
                      'k:{"name":"app"}': { '.': {}, 'f:env': { 'k:{"name":"A"}': { '.': {}, 'f:name': {}, 'f:value': {} }, 'k:{"name":"B"}': { '.': {} } }, 'f:image': {} },
                      'k:{"name":"sidecar"}': { 'f:env': { 'k:{"name":"C"}': {} } },
                    },
                  },
                },
              },
            },
          },
          { manager: 'rollgate', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } },
        ],
      },
    };
    expect(appliedEnvNames(deployment, 'app', 'rollgate')).toEqual(['A', 'B']);
    expect(appliedEnvNames(deployment, 'app', 'kubectl')).toEqual(['LOG_LEVEL']);
    expect(appliedEnvNames({}, 'app', 'rollgate')).toEqual([]);
  });
});

// ------------------------------------------------------------------------------- requests

describe('KubernetesTarget against the recording API server', () => {
  let api: KubeApiServer;
  let dir: string;
  let kubeconfig: string;
  const open: KubernetesTarget[] = [];
  const make = (extra: Partial<KubernetesTargetConfig> = {}) => {
    const target = targetFor(kubeClientFromKubeConfig({ kubeconfig }), extra);
    open.push(target);
    return target;
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-k8s-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    api = await startKubeApiServer({ readyDelayMs: 20, progressDeadlineMs: 300 });
    kubeconfig = writeKubeconfig(mkdtempSync(path.join(dir, 'kc-')), api);
    await seedTracks(api);
    api.clearRequests();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    await api.close();
  });

  it('ensure: GETs both tracks, then one server-side apply (PATCH, apply-patch+yaml, fieldManager=rollgate, force=true, bearer token) of exactly its fields', async () => {
    const target = make();
    const state = await target.ensure({ version: '1.0.0', replicas: 2, role: 'canary', canaryWeight: 0, env: { GREETING: 'hello' } });
    expect(state).toEqual({ version: '1.0.0', phase: 'running', endpoints: ['web-canary.shop.svc:8080'], healthy: true, restarts: 0 });
    expect(api.requests.slice(0, 3).map((r) => [r.method, r.url]).sort()).toEqual([
      ['GET', PATH('web-canary')],
      ['GET', PATH('web-stable')],
      ['PATCH', APPLY('web-canary')],
    ]);
    const patches = api.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(1);
    const [patch] = patches;
    expect(patch!.contentType).toBe('application/apply-patch+yaml');
    expect(patch!.query).toEqual({ fieldManager: 'rollgate', force: 'true' });
    expect(patch!.authorization).toBe(`Bearer ${api.token}`);
    expect(JSON.parse(patch!.body)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web-canary', namespace: NS },
      spec: {
        replicas: 2,
        template: {
          metadata: { annotations: { 'rollgate.dev/version': '1.0.0' } },
          spec: { containers: [{ name: 'app', image: 'registry.example/web:1.0.0', env: [{ name: 'GREETING', value: 'hello' }] }] },
        },
      },
    });
    // Waiting for the rollout is reading the Deployment, nothing else.
    expect(api.requests.slice(3).every((r) => r.method === 'GET' && r.url === PATH('web-canary'))).toBe(true);
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}` && r.status < 400)).toBe(true);
    expect(ready(api, '1.0.0')).toHaveLength(2);
  });

  it('owns only its fields: the selector, labels, ports, probe and kubectl\'s env entry stay, and their owner keeps them', async () => {
    const target = make();
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'stable', env: { GREETING: 'hello' } });
    const d = api.get(NS, 'web-stable')!;
    const container = d.spec.template.spec.containers[0];
    expect(container.image).toBe('registry.example/web:1.0.0');
    expect(container.env).toEqual([{ name: 'LOG_LEVEL', value: 'info' }, { name: 'GREETING', value: 'hello' }]);
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
    expect(container.readinessProbe).toEqual({ httpGet: { path: '/healthz', port: 8080 } });
    expect(d.spec.selector).toEqual({ matchLabels: { app: 'web', track: 'stable' } });
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web', track: 'stable' });
    const owners = api.owners(NS, 'web-stable');
    expect(owners).toMatchObject({
      'spec.replicas': 'rollgate',
      'spec.template.spec.containers[app].image': 'rollgate',
      'spec.template.spec.containers[app].env[GREETING]': 'rollgate',
      'spec.template.metadata.annotations.rollgate.dev/version': 'rollgate',
      'spec.template.spec.containers[app].env[LOG_LEVEL]': 'kubectl',
      'spec.template.spec.containers[app].ports': 'kubectl',
      'spec.selector.matchLabels.app': 'kubectl',
    });

    // A new version with less env: Rollgate's entry it no longer applies goes, kubectl's stays.
    await target.ensure({ version: '1.1.0', replicas: 1, role: 'stable' });
    expect(api.get(NS, 'web-stable')!.spec.template.spec.containers[0].env).toEqual([{ name: 'LOG_LEVEL', value: 'info' }]);
    expect(api.get(NS, 'web-stable')!.metadata.annotations).toEqual({ 'rollgate.dev/previous-version': '1.0.0' });
  });

  it('ensure again changes nothing (same generation, same pods); a scale-up changes only the replicas', async () => {
    const target = make();
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'canary', env: { A: '1' }, artifactDigest: DIGEST });
    const before = api.get(NS, 'web-canary')!;
    const pods = api.pods(NS, 'web-canary').map((p) => p.uid);
    // A restore passes neither role nor digest: the pinned image stays, nothing rolls.
    const again = await target.ensure({ version: '1.0.0', replicas: 1, env: { A: '1' } });
    expect(again.healthy).toBe(true);
    const after = api.get(NS, 'web-canary')!;
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec.template.spec.containers[0].image).toBe(`registry.example/web:1.0.0@${DIGEST}`);
    expect(api.pods(NS, 'web-canary').map((p) => p.uid)).toEqual(pods);
    await target.ensure({ version: '1.0.0', replicas: 3, role: 'canary', env: { A: '1' } });
    expect(api.get(NS, 'web-canary')!.spec.template).toEqual(before.spec.template);
    expect(api.pods(NS, 'web-canary', { readyOnly: true }).map((p) => p.uid).slice(0, 1)).toEqual(pods);
    expect(api.pods(NS, 'web-canary', { readyOnly: true })).toHaveLength(3);
  });

  it('the target\'s replicas setting overrides the engine\'s count', async () => {
    const target = make({ replicas: 2 });
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'canary' });
    expect(api.get(NS, 'web-canary')!.spec.replicas).toBe(2);
  });

  it('without an image template: the container\'s repository, tagged with the version', async () => {
    const target = make({ image: undefined });
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'canary' });
    expect(api.get(NS, 'web-canary')!.spec.template.spec.containers[0].image).toBe('registry.example/web:1.0.0');
  });

  it('promotion: the stable track gets the verified image (digest included), the old stable\'s retirement scales the canary track to 0', async () => {
    const target = make();
    await target.ensure({ version: '1.0.0', replicas: 2, role: 'stable', canaryWeight: 100 });
    const canary = await target.ensure({ version: '1.1.0', replicas: 2, role: 'canary', canaryWeight: 0, artifactDigest: DIGEST, env: { A: '1' } });
    expect(canary).toMatchObject({ phase: 'running', endpoints: ['web-canary.shop.svc:8080'] });
    expect((await target.observe()).map((s) => [s.version, s.endpoints])).toEqual([
      ['1.0.0', ['web-stable.shop.svc:8080']],
      ['1.1.0', ['web-canary.shop.svc:8080']],
    ]);

    // decide()'s promotion: ensureVersion(role stable) — then markStable moves the route.
    const promoted = await target.ensure({ version: '1.1.0', replicas: 2, role: 'stable', canaryWeight: 100, env: { A: '1' } });
    expect(promoted).toMatchObject({ version: '1.1.0', phase: 'running', healthy: true, endpoints: ['web-stable.shop.svc:8080'] });
    const stable = api.get(NS, 'web-stable')!;
    expect(stable.spec.template.spec.containers[0].image).toBe(`registry.example/web:1.1.0@${DIGEST}`);
    expect(stable.spec.template.metadata.annotations['rollgate.dev/version']).toBe('1.1.0');
    expect(stable.metadata.annotations['rollgate.dev/previous-version']).toBe('1.0.0');
    expect(api.pods(NS, 'web-stable').map((p) => p.version)).toEqual(['1.1.0', '1.1.0']);
    // Both tracks run 1.1.0 until the old stable retires: one state, the stable track's.
    expect(await target.observe()).toEqual([{ version: '1.1.0', phase: 'running', endpoints: ['web-stable.shop.svc:8080'], healthy: true, restarts: 0 }]);
    expect(ready(api, '1.1.0')).toHaveLength(4);

    const canaryPods = api.pods(NS, 'web-canary').map((p) => p.address);
    api.clearRequests();
    await target.retire('1.0.0');
    expect(api.requests.filter((r) => r.method === 'PATCH').map((r) => r.url)).toEqual([APPLY('web-canary')]);
    const retired = api.get(NS, 'web-canary')!;
    expect(retired.spec.replicas).toBe(0);
    // Scaling to 0 re-applies everything else Rollgate owns, so nothing it set is dropped.
    expect(retired.spec.template.spec.containers[0]).toMatchObject({ image: `registry.example/web:1.1.0@${DIGEST}`, env: [{ name: 'A', value: '1' }] });
    expect(retired.spec.template.metadata.annotations['rollgate.dev/version']).toBe('1.1.0');
    for (const address of canaryPods) expect(await refusesConnections(address)).toBe(true);
    expect(await target.observe()).toEqual([{ version: '1.1.0', phase: 'running', endpoints: ['web-stable.shop.svc:8080'], healthy: true, restarts: 0 }]);
    for (const pod of api.pods(NS, 'web-stable')) expect(JSON.parse((await httpGet(pod.address)).body).version).toBe('1.1.0');

    // Safe to repeat: nothing runs 1.0.0 and the canary track is down already.
    api.clearRequests();
    await target.retire('1.0.0');
    await target.retire('never-deployed');
    expect(api.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('a promotion whose stable track fails rejects (the route must not move), and the retry of the canary leaves the stable track alone', async () => {
    const target = make();
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'stable' });
    await target.ensure({ version: '1.1.0', replicas: 1, role: 'canary' });
    const oldStable = api.pods(NS, 'web-stable', { readyOnly: true });
    expect(oldStable.map((p) => p.version)).toEqual(['1.0.0']);
    // No room for the stable track's new pods (a quota, a full node pool): they never get ready.
    api.unschedulable(NS, 'web-stable');

    await expect(target.ensure({ version: '1.1.0', replicas: 1, role: 'stable', canaryWeight: 100 })).rejects.toThrow(
      /promotion of web 1\.1\.0: the stable track \(Deployment shop\/web-stable\) failed to roll out \(.*has timed out progressing.*\); the route keeps sending/,
    );
    // The decide() of the next pass sees the version as the stable track does: failed.
    expect(await target.observe()).toEqual([expect.objectContaining({ version: '1.1.0', phase: 'failed', healthy: false, endpoints: ['web-stable.shop.svc:8080'] })]);
    // The aborted rollout retires 1.1.0: the canary track goes to 0; the stable track keeps its old pods serving.
    await target.retire('1.1.0');
    expect(api.get(NS, 'web-canary')!.spec.replicas).toBe(0);
    expect(api.get(NS, 'web-stable')!.spec.replicas).toBe(1);
    expect((await httpGet(oldStable[0]!.address)).status).toBe(200);
  });

  it('a promotion that does not finish within the timeout rejects, saying so', async () => {
    const slow = await startKubeApiServer({ readyDelayMs: 2000, progressDeadlineMs: 60_000 });
    try {
      await seedTracks(slow);
      const client = kubeClientFromKubeConfig({ kubeconfig: writeKubeconfig(mkdtempSync(path.join(dir, 'kc-')), slow) });
      const t = targetFor(client, { timeoutMs: 100 });
      open.push(t);
      const started = await t.ensure({ version: '1.1.0', replicas: 1, role: 'canary' });
      expect(started).toMatchObject({ phase: 'starting', healthy: false, message: expect.stringMatching(/rolling out, 1 of 1 replicas updated, 0 available/) });
      await expect(t.ensure({ version: '1.1.0', replicas: 1, role: 'stable' })).rejects.toThrow(/the stable track \(Deployment shop\/web-stable\) has not rolled out within 100 ms \(.*rolling out/);
    } finally {
      await slow.close();
    }
  });

  it('refuses secrets before sending anything: the version fails with a message naming the variable, never the value', async () => {
    const target = make();
    const state = await target.ensure({ version: '1.0.0', replicas: 1, role: 'canary', env: { DB_PASSWORD: 'hunter2-very-secret', LOG: 'x' }, secrets: ['hunter2-very-secret'] });
    expect(state).toMatchObject({ version: '1.0.0', phase: 'failed', healthy: false, endpoints: [] });
    expect(state.message).toMatch(/^web 1\.0\.0: env DB_PASSWORD comes from a Rollgate secret.*valueFrom\.secretKeyRef/);
    expect(api.requests).toEqual([]);
    const observed = await target.observe();
    expect(observed).toEqual([state]);
    expect(JSON.stringify([state, observed, api.get(NS, 'web-canary')])).not.toContain('hunter2');
    await target.retire('1.0.0');
    expect(await target.observe()).toEqual([]);
  });

  it('a missing Deployment or container fails the version with the reason; an API error rejects', async () => {
    const missing = make({ deployment: 'web-nope', stableDeployment: 'web-stable' });
    expect(await missing.ensure({ version: '1.0.0', replicas: 1, role: 'canary' })).toMatchObject({
      phase: 'failed',
      message: 'web 1.0.0: Deployment shop/web-nope (the canary track) does not exist: Rollgate changes existing Deployments only',
    });
    const wrongContainer = make({ container: 'sidecar' });
    expect(await wrongContainer.ensure({ version: '1.0.0', replicas: 1, role: 'canary' })).toMatchObject({ phase: 'failed', message: expect.stringMatching(/has no container "sidecar" \(it has app\)/) });
    const badTag = make();
    expect(await badTag.ensure({ version: '1.0.0+build', replicas: 1, role: 'canary' })).toMatchObject({ phase: 'failed', message: expect.stringMatching(/not a valid image reference/) });
    expect(api.requests.filter((r) => r.method === 'PATCH')).toEqual([]);

    api.failNext(500, 'etcdserver: request timed out');
    const failed = make().ensure({ version: '1.0.0', replicas: 1, role: 'canary' });
    await expect(failed).rejects.toBeInstanceOf(KubeApiError);
    await expect(failed).rejects.toThrow(/500 etcdserver: request timed out/);
  });

  it('the wrong credentials are the API server\'s refusal', async () => {
    const target = new KubernetesTarget({ service: 'web', namespace: NS, deployment: 'web-canary', stableDeployment: 'web-stable', client: kubeClientFromKubeConfig({ kubeconfig, context: 'stranger' }) });
    open.push(target);
    await expect(target.observe()).rejects.toMatchObject({ status: 401 });
  });

  it('checks and freezes its config, declares its capabilities, keeps no logs, refuses calls once closed and leaves the cluster as it is', async () => {
    const client = kubeClientFromKubeConfig({ kubeconfig });
    const config: KubernetesTargetConfig = { service: 'web', namespace: NS, deployment: 'web-canary', stableDeployment: 'web-stable', client, pollMs: 10 };
    const target = new KubernetesTarget(config);
    config.namespace = 'other';
    expect(target.config.namespace).toBe(NS);
    expect(Object.isFrozen(target.config)).toBe(true);
    expect(target.capabilities).toEqual({ replicas: true, logs: false });
    for (const bad of [
      { namespace: 'Shop' },
      { deployment: 'has space' },
      { stableDeployment: 'web-canary' },
      { container: 'Not_A_Name' },
      { image: 'registry.example/web:latest' },
      { replicas: 0 },
      { timeoutMs: -1 },
      { services: { stable: 'a', canary: 'b', port: 0 } },
      { service: '' },
    ]) {
      expect(() => new KubernetesTarget({ ...config, namespace: NS, ...bad } as KubernetesTargetConfig), JSON.stringify(bad)).toThrow(TypeError);
    }
    await target.ensure({ version: '1.0.0', replicas: 1, role: 'canary' });
    expect(await target.logs('1.0.0', 10)).toBeNull();
    await target.close();
    await target.close();
    await expect(target.ensure({ version: '1.0.0', replicas: 1 })).rejects.toThrow(/closed/);
    expect(api.get(NS, 'web-canary')!.spec.replicas).toBe(1);
    expect(ready(api, '1.0.0')).toHaveLength(1);
  });

  it('refuses a request without a version or with fewer than 1 replica', async () => {
    const target = make();
    await expect(target.ensure({ version: '', replicas: 1 })).rejects.toThrow(TypeError);
    await expect(target.ensure({ version: '1', replicas: 0 })).rejects.toThrow(RangeError);
  });

  it('applyConfiguration carries the previous version only when one is known', () => {
    const base = { namespace: NS, name: 'web-stable', container: 'app', version: '2', image: 'r/w:2', replicas: 1, env: [] };
    expect((applyConfiguration({ ...base, previousVersion: null }) as any).metadata).toEqual({ name: 'web-stable', namespace: NS });
    expect((applyConfiguration({ ...base, previousVersion: '1' }) as any).metadata.annotations).toEqual({ 'rollgate.dev/previous-version': '1' });
    expect((applyConfiguration({ ...base, previousVersion: null }) as any).spec.template.spec.containers).toEqual([{ name: 'app', image: 'r/w:2' }]);
  });
});
