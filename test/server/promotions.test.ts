/**
 * Promotion by digest, in-process: a dev → staging → prod pipeline; rollouts are "run" by writing
 * the Deployment's rollout phase (and the Service's stable version) straight into the store, the
 * way the engine records them. Covers the promotion gates, refusals recorded on the release and in
 * the audit log, direct Deployments checked like promotions, change records for production, and drift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createObjectService } from '../../src/server/objects/service.js';
import { createEventBus } from '../../src/server/events/bus.js';
import { createCommit } from '../../src/server/transaction.js';
import { prepareDeploymentUpdate, recordingRefusals } from '../../src/server/promotions/deployment-rules.js';
import { InvalidContentError } from '../../src/server/errors.js';
import { GateRefusedError } from '../../src/server/errors.js';
import { readReleaseStatus } from '../../src/core/governance/records.js';
import type { ValidDocument } from '../../src/core/resources/validate.js';
import { API_VERSION, doc, startTestServer, type TestServer } from './helpers.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const D = `sha256:${'d'.repeat(64)}`;

let server: TestServer;
let deployer: string;

async function create(kind: string, plural: string, name: string | undefined, spec: Record<string, unknown>) {
  const response = await server.json('POST', `/api/v1/${plural}`, { body: doc(kind, name, spec) });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['dev', 'staging', 'qa']) await create('Environment', 'environments', name, {});
  await create('Environment', 'environments', 'prod', { production: true });
  for (const name of ['checkout', 'inventory', 'search', 'billing', 'ledger']) {
    await create('Service', 'services', name, { owner: 'team-a', target: { type: 'process', command: 'node app.js' } });
  }
  await create('AnalysisTemplate', 'analysistemplates', 'golden', { metrics: [{ name: 'errors', provider: { builtin: { metric: 'errorRate' } } }] });
  await create('Pipeline', 'pipelines', 'storefront', {
    services: ['checkout', 'inventory'],
    stages: [{ environment: 'dev' }, { environment: 'staging', gates: [{ analysis: { templates: ['golden'] } }] }, { environment: 'prod', gates: [{ goNoGo: true }, { approval: { group: 'cab', count: 2 } }] }],
  });
  await create('Pipeline', 'pipelines', 'money', { services: ['billing', 'ledger'], stages: [{ environment: 'dev' }, { environment: 'staging' }] });
  await create('Release', 'releases', 'r1', {
    version: '2026.12.0',
    components: [
      { service: 'checkout', version: '1.4.0', digest: A },
      { service: 'inventory', version: '2.0.0', digest: B },
    ],
    scope: [{ title: 'faster checkout', classification: 'enhancement' }],
  });
  await create('Artifact', 'artifacts', undefined, { service: 'checkout', version: '1.4.0', digest: A, author: 'dana' });
  deployer = await server.token('deployer-bot', 'deployer');
});

afterAll(() => server.close());

const promote = (release: string, body: Record<string, unknown>, token = deployer) => server.json('POST', `/api/v1/releases/${release}/promotions`, { token, body });

/** Writes a rollout phase (and the analysis templates that passed) into the Deployment's status, as the engine would. */
async function setPhase(name: string, phase: string, passed: string[] = []) {
  await server.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Deployment', name))!;
    const analysisRuns = passed.length > 0 ? [{ id: 'a1/s1', kind: 'step', attempt: 1, stepIndex: 0, templates: passed, args: {}, startedAt: 0, finishedAt: 1, phase: 'Successful', message: null, metrics: [] }] : [];
    await stores.objects.update('Deployment', name, current.version, { status: { ...(current.status ?? {}), rollout: { phase, attempt: 1, analysisRuns } } });
  });
}

/** Records `deployment` as the stable version of its service in its environment (Service status.environments). */
async function setStable(service: string, environment: string, deployment: string, version: string) {
  await server.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Service', service))!;
    const environments = { ...((current.status?.environments as Record<string, unknown>) ?? {}), [environment]: { stableVersion: version, deployment, since: new Date().toISOString() } };
    await stores.objects.update('Service', service, current.version, { status: { ...(current.status ?? {}), environments } });
  });
}

async function setReleaseStatus(name: string, patch: Record<string, unknown>) {
  await server.store.transaction(async (stores) => {
    const current = (await stores.objects.get('Release', name))!;
    await stores.objects.update('Release', name, current.version, { status: { ...(current.status ?? {}), ...patch } });
  });
}

const releaseStatus = async (name: string) => readReleaseStatus((await server.store.read.objects.get('Release', name))!.status);
const auditActions = async (kind: string, name: string) => (await server.store.read.audit.list({ kind, name, limit: 1000 })).map((event) => event.action);
const deploymentsIn = async (environment: string, service: string) =>
  (await server.store.read.objects.list('Deployment', { labels: { 'rollgate.dev/environment': environment, 'rollgate.dev/service': service } })).items;
const gateSummary = (gates: Array<{ gate: string; service?: string; outcome: string }>) => gates.map((gate) => `${gate.gate}${gate.service ? `/${gate.service}` : ''}:${gate.outcome}`);

describe('promote a release along its pipeline', () => {
  let devDeployments: Array<{ name: string; service: string }> = [];

  it('into the first stage: one Deployment per component, by digest, recorded on the release and in the audit log', async () => {
    const promoted = await promote('r1', { environment: 'dev' });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    expect(promoted.body.change).toBeNull();
    expect(promoted.body.deployments.map((d: any) => d.spec)).toEqual([
      { service: 'checkout', environment: 'dev', version: '1.4.0', artifact: { digest: A }, release: 'r1' },
      { service: 'inventory', environment: 'dev', version: '2.0.0', artifact: { digest: B }, release: 'r1' },
    ]);
    expect(gateSummary(promoted.body.promotion.gates)).toEqual(['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass']);
    devDeployments = promoted.body.deployments.map((d: any) => ({ name: d.metadata.name, service: d.spec.service }));

    const status = await releaseStatus('r1');
    expect(status.promotions).toHaveLength(1);
    expect(status.promotions[0]).toMatchObject({ environment: 'dev', actor: 'token:deployer-bot', deployments: [{ service: 'checkout', digest: A, deployment: devDeployments[0]!.name }, { service: 'inventory', digest: B }] });
    expect(await auditActions('Release', 'r1')).toContain('release.promote');
    for (const { name } of devDeployments) expect(await auditActions('Deployment', name)).toEqual(['create']);
  });

  it('refuses a second promotion while the first rollout is active (gate active)', async () => {
    const refused = await promote('r1', { environment: 'dev' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://rollgate.dev/problems/gate-refused');
    expect(gateSummary(refused.body.gates)).toContain('active/checkout:deny');
    expect(refused.body.errors.map((e: any) => e.path)).toEqual([
      ['gates', 'active', 'dev'],
      ['gates', 'active', 'dev'],
    ]);
  });

  it('refuses staging while dev is not Healthy, names the digest, and records the refusal; allows it once dev succeeded', async () => {
    await setPhase(devDeployments[0]!.name, 'Progressing');
    const before = (await releaseStatus('r1')).refusals.length;
    const refused = await promote('r1', { environment: 'staging' });
    expect(refused.status).toBe(409);
    expect(refused.body.type).toBe('https://rollgate.dev/problems/gate-refused');
    const digest = refused.body.gates.find((gate: any) => gate.gate === 'digest' && gate.service === 'checkout');
    expect(digest).toMatchObject({ outcome: 'deny', name: 'dev', message: 'sha256:aaaaaaaaaaaa… has not succeeded in dev (latest there: 1.4.0 sha256:aaaaaaaaaaaa…, Progressing)' });
    expect(refused.body.detail).toContain('digest checkout: sha256:aaaaaaaaaaaa… has not succeeded in dev');
    expect(await deploymentsIn('staging', 'checkout')).toEqual([]);

    const status = await releaseStatus('r1');
    expect(status.refusals).toHaveLength(before + 1);
    expect(status.refusals.at(-1)).toMatchObject({ environment: 'staging', actor: 'token:deployer-bot' });
    expect(gateSummary(status.refusals.at(-1)!.gates)).toContain('digest/checkout:deny');
    const events = await server.store.read.audit.list({ kind: 'Release', name: 'r1', limit: 1000 });
    const refusal = events.filter((event) => event.action === 'release.promotion-refused').at(-1)!;
    expect(refusal.details).toMatchObject({ environment: 'staging' });
    expect(gateSummary(refusal.details!['gates'] as any)).toContain('digest/checkout:deny');

    for (const { name } of devDeployments) await setPhase(name, 'Healthy');
    const promoted = await promote('r1', { environment: 'staging' });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    expect(promoted.body.deployments.map((d: any) => [d.spec.environment, d.spec.artifact.digest])).toEqual([
      ['staging', A],
      ['staging', B],
    ]);
  });

  it('keeps the last 20 refusals', async () => {
    await setReleaseStatus('r1', { refusals: [] });
    for (let i = 0; i < 22; i += 1) expect((await promote('r1', { environment: 'qa' })).status).toBe(409);
    const status = await releaseStatus('r1');
    expect(status.refusals).toHaveLength(20);
    expect(status.refusals.every((refusal) => refusal.environment === 'qa')).toBe(true);
    expect(status.promotions.map((promotion) => promotion.environment)).toEqual(['dev', 'staging']);
  });

  it('names the pipeline\'s stages when the environment is not one of them; 422 naming `environment` when it does not exist; 404 for an unknown release', async () => {
    const refused = await promote('r1', { environment: 'qa' });
    expect(refused.body.gates[0]).toMatchObject({ gate: 'path', outcome: 'deny', message: 'environment "qa" is not a stage of pipeline "storefront" (dev → staging → prod)' });
    const missing = await promote('r1', { environment: 'nowhere' });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual([{ path: ['environment'], message: 'Environment "nowhere" does not exist' }]);
    expect((await promote('nope', { environment: 'dev' })).status).toBe(404);
    const invalid = await promote('r1', { environment: 'dev', changeType: 'yolo' });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors[0].path).toEqual(['changeType']);
    expect((await promote('r1', { environment: 'dev' }, await server.token('watcher', 'viewer'))).status).toBe(403);
  });

  it('into production: analysis of staging, a go decision, then a change record authorizing the Deployments', async () => {
    const staging = [...(await deploymentsIn('staging', 'checkout')), ...(await deploymentsIn('staging', 'inventory'))];
    await setPhase(staging[0]!.name, 'Healthy', ['golden']);
    await setPhase(staging[1]!.name, 'Healthy');
    let refused = await promote('r1', { environment: 'prod' });
    expect(refused.status).toBe(409);
    expect(gateSummary(refused.body.gates)).toEqual(['path:pass', 'digest/checkout:pass', 'analysis/checkout:pass', 'digest/inventory:pass', 'analysis/inventory:deny', 'goNoGo:pending', 'active/checkout:pass', 'active/inventory:pass']);

    await setPhase(staging[1]!.name, 'Healthy', ['golden']);
    await setReleaseStatus('r1', { goNoGo: [{ decision: 'go', environment: 'prod', decidedBy: 'maria', at: new Date().toISOString(), comment: 'ship it', criteria: [] }] });
    const promoted = await promote('r1', { environment: 'prod', justification: 'quarterly release' });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    const change = promoted.body.change;
    expect(change.metadata.name).toMatch(/^chg-\d{5}$/);
    expect(change.spec.title).toBe('Release r1 2026.12.0 to prod');
    expect(change.spec.justification).toBe('quarterly release');
    expect(change.spec.evidence.map((e: any) => e.kind)).toEqual(['deployment', 'analysis', 'deployment', 'analysis']);
    expect(change.status).toMatchObject({ origin: 'automatic', environment: 'prod', release: 'r1', requestedBy: 'deployer-bot', authors: ['dana'] });
    expect(change.status.deployments).toEqual(promoted.body.deployments.map((d: any) => d.metadata.name));
    // The stage's approval gate is on top of the environment's own rules.
    expect(change.status.requiredApprovals).toContainEqual(expect.objectContaining({ group: 'cab', count: 2 }));
    for (const deployment of promoted.body.deployments) expect(deployment.spec.change).toBe(change.metadata.name);
    expect(promoted.body.promotion.change).toBe(change.metadata.name);
    refused = await promote('r1', { environment: 'prod' });
    expect(gateSummary(refused.body.gates)).toContain('active/checkout:deny');
  });

  it('applies promote policies: a deny policy refuses; a stage naming other policies leaves it out', async () => {
    await create('Policy', 'policies', 'never', { severity: 'deny', expression: 'false', message: 'nothing ships', gates: ['promote'], scope: { environments: ['qa'] } });
    await create('Pipeline', 'pipelines', 'search-path', { services: ['search'], stages: [{ environment: 'qa' }] });
    await create('Release', 'releases', 'r-search', { version: '1.0.0', components: [{ service: 'search', version: '1.0.0', digest: D }] });
    const refused = await promote('r-search', { environment: 'qa' });
    expect(refused.status).toBe(409);
    expect(refused.body.gates.at(-1)).toMatchObject({ gate: 'policy', name: 'never', outcome: 'deny', service: 'search' });

    await create('Policy', 'policies', 'always', { severity: 'warn', expression: 'true', message: 'fine', gates: ['promote'] });
    const current = await server.json('GET', '/api/v1/pipelines/search-path');
    const restricted = { services: ['search'], stages: [{ environment: 'qa', gates: [{ policies: ['always'] }] }] };
    expect((await server.json('PUT', '/api/v1/pipelines/search-path', { body: doc('Pipeline', 'search-path', restricted, { version: current.body.metadata.version }) })).status).toBe(200);
    const promoted = await promote('r-search', { environment: 'qa' });
    expect(promoted.status, JSON.stringify(promoted.body)).toBe(201);
    expect(promoted.body.promotion.gates.filter((gate: any) => gate.gate === 'policy').map((gate: any) => gate.name)).toEqual(['always']);
    // A policy a pipeline names cannot be deleted (it is a reference), so the pipeline lets go first.
    expect((await server.json('DELETE', '/api/v1/policies/always')).status).toBe(409);
    expect((await server.json('DELETE', '/api/v1/pipelines/search-path')).status).toBe(200);
    // Later suites run without policies.
    for (const policy of ['never', 'always']) expect((await server.json('DELETE', `/api/v1/policies/${policy}`)).status).toBe(200);
  });
});

describe('a Deployment created directly', () => {
  const deployment = (spec: Record<string, unknown>) => server.json('POST', '/api/v1/deployments', { token: deployer, body: doc('Deployment', undefined, spec) });

  it('into a later stage is refused (409 gate-refused) unless its digest succeeded in the previous stage', async () => {
    const dev = await deployment({ service: 'billing', environment: 'dev', version: '3.0.0', artifact: { digest: A } });
    expect(dev.status, JSON.stringify(dev.body)).toBe(201);
    await setPhase(dev.body.metadata.name, 'Healthy');

    const rebuilt = await deployment({ service: 'billing', environment: 'staging', version: '3.0.0', artifact: { digest: D } });
    expect(rebuilt.status).toBe(409);
    expect(rebuilt.body.type).toBe('https://rollgate.dev/problems/gate-refused');
    expect(rebuilt.body.detail).toContain('sha256:dddddddddddd… has not succeeded in dev');
    expect(rebuilt.body.gates).toEqual([
      expect.objectContaining({ gate: 'digest', name: 'dev', service: 'billing', outcome: 'deny', message: `sha256:dddddddddddd… has not succeeded in dev (latest there: 3.0.0 sha256:aaaaaaaaaaaa…, Healthy) (stage 2 of pipeline "money")` }),
    ]);
    const unnamed = await deployment({ service: 'billing', environment: 'staging', version: '3.0.0' });
    expect(unnamed.status).toBe(409);
    expect(unnamed.body.gates[0].message).toContain('no artifact digest');
    expect(await deploymentsIn('staging', 'billing')).toEqual([]);

    const same = await deployment({ service: 'billing', environment: 'staging', version: '3.0.0', artifact: { digest: A } });
    expect(same.status, JSON.stringify(same.body)).toBe(201);
    expect(same.body.spec.change).toBeUndefined();
  });

  it('naming a release must carry the digest the release promotes', async () => {
    const other = await deployment({ service: 'checkout', environment: 'qa', version: '1.4.0', artifact: { digest: D }, release: 'r1' });
    expect(other.status).toBe(409);
    expect(other.body.gates[0]).toMatchObject({ gate: 'digest', name: 'r1', outcome: 'deny', message: 'sha256:dddddddddddd… is not what release "r1" promotes for checkout (1.4.0 sha256:aaaaaaaaaaaa…)' });
  });

  it('outside every pipeline, not production, without policies: created exactly as before', async () => {
    const plain = await deployment({ service: 'ledger', environment: 'qa', version: '0.1.0' });
    expect(plain.status, JSON.stringify(plain.body)).toBe(201);
    expect(plain.body.spec).toEqual({ service: 'ledger', environment: 'qa', version: '0.1.0' });
    expect(plain.body.metadata.name).toMatch(/^deployment-/);
    const noEnvironment = await deployment({ service: 'search', version: '0.1.0' });
    expect(noEnvironment.status, JSON.stringify(noEnvironment.body)).toBe(201);
    expect(noEnvironment.body.spec).toEqual({ service: 'search', version: '0.1.0' });
  });

  it('into production gets a change record automatically; a named change must be open and for that environment (422 naming spec.change)', async () => {
    const created = await deployment({ service: 'ledger', environment: 'prod', version: '0.1.0' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const changeName = created.body.spec.change;
    expect(changeName).toMatch(/^chg-\d{5}$/);
    const change = (await server.json('GET', `/api/v1/changes/${changeName}`)).body;
    expect(change.status).toMatchObject({ origin: 'automatic', environment: 'prod', deployments: [created.body.metadata.name], requestedBy: 'deployer-bot' });
    expect(change.spec.title).toBe('Deploy ledger 0.1.0 to prod');
    await setPhase(created.body.metadata.name, 'Healthy');

    const wrongEnvironment = await deployment({ service: 'ledger', environment: 'qa', version: '0.2.0', change: changeName });
    expect(wrongEnvironment.status).toBe(422);
    expect(wrongEnvironment.body.errors).toEqual([{ path: ['spec', 'change'], message: `Change "${changeName}" is for environment "prod", not "qa"` }]);
    const missing = await deployment({ service: 'ledger', environment: 'prod', version: '0.2.0', change: 'chg-99999' });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toEqual([{ path: ['spec', 'change'], message: 'Change "chg-99999" does not exist' }]);

    await server.store.transaction(async (stores) => {
      const current = (await stores.objects.get('Change', changeName))!;
      await stores.objects.update('Change', changeName, current.version, { status: { ...current.status, state: 'Canceled' } });
    });
    const canceled = await deployment({ service: 'ledger', environment: 'prod', version: '0.2.0', change: changeName });
    expect(canceled.status).toBe(422);
    expect(canceled.body.errors[0].message).toBe(`Change "${changeName}" is Canceled: it cannot authorize a deployment`);
  });

  it('a refusal is recorded in its own transaction when the route commits through recordingRefusals', async () => {
    const commit = recordingRefusals(createCommit(server.store, createEventBus()));
    const objects = createObjectService({ now: () => new Date() });
    const document: ValidDocument = {
      apiVersion: API_VERSION,
      kind: 'Deployment',
      metadata: { name: 'refused-one' },
      spec: { service: 'checkout', environment: 'staging', version: '1.4.0', artifact: { digest: D }, release: 'r1' },
    };
    const before = (await releaseStatus('r1')).refusals.length;
    const error = await commit((stores) => objects.create(stores, 'token:deployer-bot', document)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GateRefusedError);
    expect(await server.store.read.objects.get('Deployment', 'refused-one')).toBeNull();
    const [event] = await server.store.read.audit.list({ kind: 'Deployment', name: 'refused-one' });
    expect(event).toMatchObject({ action: 'deployment.refused', actor: 'token:deployer-bot' });
    expect(event!.details).toMatchObject({ service: 'checkout', environment: 'staging', digest: D, release: 'r1' });
    expect(gateSummary(event!.details!['gates'] as any)).toEqual(['digest/checkout:deny', 'digest/checkout:deny', 'goNoGo:pass']);
    const status = await releaseStatus('r1');
    expect(status.refusals).toHaveLength(Math.min(before + 1, 20));
    expect(status.refusals.at(-1)).toMatchObject({ environment: 'staging' });
    expect((await auditActions('Release', 'r1')).at(-1)).toBe('release.promotion-refused');
  });
});

describe('a Deployment updated', () => {
  const stored = { kind: 'Deployment' as const, name: 'd1', labels: {}, annotations: {}, spec: { service: 'checkout', environment: 'prod', version: '1.4.0', artifact: { digest: A }, release: 'r1', change: 'chg-00001' }, status: null, version: 1, createdAt: '', updatedAt: '' };
  const update = (spec: Record<string, unknown>): ValidDocument => ({ apiVersion: API_VERSION, kind: 'Deployment', metadata: { name: 'd1' }, spec });

  it('keeps the change record the server set when the document omits it', () => {
    const { change, ...withoutChange } = stored.spec;
    expect(change).toBe('chg-00001');
    expect(prepareDeploymentUpdate(stored, update(withoutChange)).spec).toEqual(stored.spec);
    expect(prepareDeploymentUpdate(stored, update(stored.spec)).spec).toEqual(stored.spec);
  });

  it('refuses (422 naming each field) a change of what the promotion gates checked', () => {
    const error = (() => {
      try {
        prepareDeploymentUpdate(stored, update({ ...stored.spec, artifact: { digest: D }, release: 'r2', change: 'chg-00002' }));
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(InvalidContentError);
    expect((error as InvalidContentError).issues.map((issue) => issue.path)).toEqual([
      ['spec', 'artifact', 'digest'],
      ['spec', 'release'],
      ['spec', 'change'],
    ]);
  });
});

describe('drift', () => {
  it('reports what runs against what was promoted, and writes environment.drift only when the drift set changes', async () => {
    const status = await releaseStatus('r1');
    const dev = status.promotions.find((promotion) => promotion.environment === 'dev')!;
    const [checkout, inventory] = dev.deployments;
    await setStable('checkout', 'dev', checkout!.deployment, '1.4.0');
    await setStable('inventory', 'dev', inventory!.deployment, '2.0.0');

    let report = await server.json('GET', '/api/v1/environments/dev/drift', { token: await server.token('drift-viewer', 'viewer') });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({ environment: 'dev', drift: 0, reported: false });
    expect(report.body.services.filter((s: any) => ['checkout', 'inventory'].includes(s.service)).map((s: any) => s.state)).toEqual(['in-sync', 'in-sync']);

    // A direct deployment of another build of checkout becomes stable in dev.
    const direct = await server.json('POST', '/api/v1/deployments', { token: deployer, body: doc('Deployment', undefined, { service: 'checkout', environment: 'dev', version: '1.4.1', artifact: { digest: D } }) });
    expect(direct.status, JSON.stringify(direct.body)).toBe(201);
    await setPhase(direct.body.metadata.name, 'Healthy');
    await setStable('checkout', 'dev', direct.body.metadata.name, '1.4.1');

    report = await server.json('GET', '/api/v1/environments/dev/drift');
    expect(report.body).toMatchObject({ drift: 1, reported: true });
    const entry = report.body.services.find((s: any) => s.service === 'checkout');
    expect(entry).toMatchObject({
      state: 'drift',
      promoted: { release: 'r1', version: '1.4.0', digest: A, deployment: checkout!.deployment },
      running: { version: '1.4.1', digest: D, deployment: direct.body.metadata.name },
    });
    expect(entry.message).toContain('but 1.4.0 sha256:aaaaaaaaaaaa… promoted by release "r1"');

    const driftEvents = async () => (await server.store.read.audit.list({ kind: 'Environment', name: 'dev', limit: 1000 })).filter((event) => event.action === 'environment.drift');
    expect(await driftEvents()).toHaveLength(1);
    expect((await driftEvents())[0]!.details!['drift']).toEqual([{ service: 'checkout', promoted: A, running: D, runningVersion: '1.4.1' }]);

    // Same drift again: nothing new is reported.
    report = await server.json('GET', '/api/v1/environments/dev/drift');
    expect(report.body).toMatchObject({ drift: 1, reported: false });
    const overview = await server.json('GET', '/api/v1/drift');
    expect(overview.status).toBe(200);
    expect(overview.body.drift).toBe(1);
    expect(overview.body.environments.map((e: any) => e.environment)).toEqual(['dev', 'prod', 'qa', 'staging']);
    expect(await driftEvents()).toHaveLength(1);

    // Back in sync: the change (drift gone) is reported once.
    await setStable('checkout', 'dev', checkout!.deployment, '1.4.0');
    report = await server.json('GET', '/api/v1/environments/dev/drift');
    expect(report.body).toMatchObject({ drift: 0, reported: true });
    expect((await driftEvents()).map((event) => event.details!['drift'])).toEqual([[{ service: 'checkout', promoted: A, running: D, runningVersion: '1.4.1' }], []]);
    expect((await server.json('GET', '/api/v1/environments/dev/drift')).body.reported).toBe(false);
    expect((await server.json('GET', '/api/v1/environments/nowhere/drift')).status).toBe(404);
  });
});
