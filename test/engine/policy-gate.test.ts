/** The policy gate against a real (in-memory SQLite) store: what it loads, and what it decides. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { evaluatePolicyGate, loadPolicyFacts, type PolicySubject } from '../../src/engine/governance/policy-gate.js';
import { NotFoundError, type ListQuery, type NewObject, type Store, type Stores } from '../../src/ports/store.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples/policies');
const SIGNED = `sha256:${'1'.repeat(64)}`;
const UNSIGNED = `sha256:${'2'.repeat(64)}`;
const NOW = new Date('2026-11-27T14:30:00Z');

let store: Store;

const create = (object: NewObject) => store.transaction((stores) => stores.objects.create(object));

function example(file: string): NewObject {
  const document = parseYaml(readFileSync(path.join(EXAMPLES, file), 'utf8')) as { metadata: { name: string }; spec: Record<string, unknown> };
  return { kind: 'Policy', name: document.metadata.name, spec: document.spec };
}

const approval = (user: string, groups: string[], valid = true) => ({
  id: user,
  user,
  groups,
  decision: 'approve',
  comment: '',
  at: '2026-11-26T10:00:00Z',
  valid,
});

async function changeWith(approvals: ReturnType<typeof approval>[]) {
  return create({
    kind: 'Change',
    name: `chg-${approvals.length}-${approvals.filter((a) => a.valid).length}`,
    spec: { type: 'normal', title: 'release', services: ['checkout'], businessServices: [], evidence: [], risk: 'high' },
    status: { state: 'Scheduled', requestedBy: 'bob', approvals },
  });
}

beforeEach(async () => {
  store = await openSqliteStore({ file: ':memory:' });
  await create({ kind: 'Environment', name: 'prod', spec: { production: true, dataSensitivity: 'restricted' } });
  await create({ kind: 'Environment', name: 'staging', spec: { production: false, dataSensitivity: 'internal' } });
  for (const name of ['checkout', 'cart']) {
    await create({ kind: 'Service', name, spec: { owner: 'team-a', tier: name === 'checkout' ? 'critical' : 'standard', target: { type: 'command', deploy: 'true' } } });
  }
  // Several artifacts so the digest lookup has to page and pick the right one.
  for (let index = 0; index < 5; index += 1) {
    await create({ kind: 'Artifact', name: `cart-old-${index}`, spec: { service: 'cart', version: `0.${index}.0`, digest: `sha256:${String(index + 3).repeat(64)}`, signatures: [{ keyId: 'k', signature: 's' }], attestations: [] } });
  }
  await create({
    kind: 'Artifact',
    name: 'zz-checkout-2-1-0',
    spec: { service: 'checkout', version: '2.1.0', digest: SIGNED, author: 'alice', signatures: [{ keyId: 'release-2026', signature: 'MEUC' }], attestations: [{ type: 'sbom' }] },
  });
  await create({ kind: 'User', name: 'carol', spec: { groups: ['cab'] } });
  await create({ kind: 'User', name: 'dave', spec: { groups: ['cab', 'auditors'] } });
  for (const file of ['signed-artifact-prod.yaml', 'coverage-80.yaml', 'no-critical-findings.yaml', 'high-risk-needs-cab.yaml']) await create(example(file));
  await create({ kind: 'Policy', name: 'warn-sbom', spec: { severity: 'warn', expression: 'artifact.attestations.sbom', message: 'no SBOM attested', gates: ['promote'] } });
});

afterEach(() => store.close());

async function releaseSubject(environment: string, results: unknown[] = []): Promise<PolicySubject> {
  const release = await create({
    kind: 'Release',
    name: `r-${results.length}`,
    spec: {
      version: '2026.11.0',
      components: [
        { service: 'checkout', version: '2.1.0', digest: SIGNED, businessServices: ['payments'] },
        { service: 'cart', version: '1.4.0', digest: UNSIGNED },
      ],
      scope: [],
    },
    status: { results },
  });
  const spec = release.spec as { components: Array<{ service: string; version: string; digest: string }> };
  return { environment, release, components: spec.components.map(({ service, version, digest }) => ({ service, version, digest })), change: null };
}

const passingResults = [
  { id: '1', name: 'coverage', type: 'coverage', passed: true, value: 86.5, postedBy: 'ci', at: '2026-11-20T10:00:00Z' },
  { id: '2', name: 'semgrep', type: 'static-analysis', passed: true, findings: { critical: 0, high: 3 }, postedBy: 'ci', at: '2026-11-20T10:00:00Z' },
  { id: '3', name: 'trivy-cart', type: 'security-scan', passed: false, service: 'cart', findings: { critical: 2 }, postedBy: 'ci', at: '2026-11-20T10:00:00Z' },
];

const outcomes = (results: Array<{ name: string; service?: string; outcome: string }>) =>
  Object.fromEntries(results.map((result) => [`${result.name}/${result.service}`, result.outcome]));

describe('evaluatePolicyGate', () => {
  it('promote into prod: one result per applicable policy and component, decided on the stored facts', async () => {
    const results = await evaluatePolicyGate(store.read, await releaseSubject('prod', passingResults), 'promote', NOW);
    expect(outcomes(results)).toEqual({
      'coverage-80/checkout': 'pass',
      'coverage-80/cart': 'pass',
      'no-critical-findings/checkout': 'pass',
      // The cart-only scan found criticals: only cart is refused.
      'no-critical-findings/cart': 'deny',
      'signed-artifact-prod/checkout': 'pass',
      // No Artifact record has cart's digest.
      'signed-artifact-prod/cart': 'deny',
      'warn-sbom/checkout': 'pass',
      'warn-sbom/cart': 'warn',
    });
    const cartUnsigned = results.find((result) => result.name === 'signed-artifact-prod' && result.service === 'cart')!;
    expect(cartUnsigned).toMatchObject({ gate: 'policy', expression: 'artifact.known && artifact.signed', message: expect.stringMatching(/signed artifact/) });
    expect(cartUnsigned.inputs).toEqual({ artifact: expect.objectContaining({ known: false, signed: false, digest: UNSIGNED, service: 'cart' }) });
    const checkoutSigned = results.find((result) => result.name === 'signed-artifact-prod' && result.service === 'checkout')!;
    expect(checkoutSigned.inputs).toEqual({ artifact: expect.objectContaining({ known: true, signed: true, signatures: ['release-2026'], author: 'alice' }) });
    expect(results.find((result) => result.name === 'coverage-80')!.inputs).toEqual({ coverage: 86.5 });
  });

  it('promote into staging: production-only policies do not apply; no coverage posted is a deny', async () => {
    const results = await evaluatePolicyGate(store.read, await releaseSubject('staging'), 'promote', NOW);
    expect(results.some((result) => result.name === 'signed-artifact-prod')).toBe(false);
    expect(results.filter((result) => result.name === 'coverage-80').map((result) => result.outcome)).toEqual(['deny', 'deny']);
  });

  it('start: only start-gate policies; a high-risk change is held until two valid cab approvals', async () => {
    const subject = { ...(await releaseSubject('prod', passingResults)), components: [{ service: 'checkout', version: '2.1.0', digest: SIGNED }] };
    const one = await evaluatePolicyGate(store.read, { ...subject, change: await changeWith([approval('carol', ['cab']), approval('dave', ['cab'], false)]) }, 'start', NOW);
    expect(one.map((result) => [result.name, result.outcome])).toEqual([['high-risk-needs-cab', 'deny']]);
    expect(one[0]!.inputs).toEqual({ change: { name: 'chg-2-1', state: 'Scheduled', type: 'normal' }, risk: { level: 'high', score: 0 }, approvals: { auditors: 0, cab: 1 } });
    const two = await evaluatePolicyGate(store.read, { ...subject, change: await changeWith([approval('carol', ['cab']), approval('dave', ['cab', 'auditors'])]) }, 'start', NOW);
    expect(two.map((result) => [result.name, result.outcome])).toEqual([['high-risk-needs-cab', 'pass']]);
  });

  it('reads nothing but the policies when none is for the gate', async () => {
    await store.transaction(async (stores) => {
      for (const name of ['high-risk-needs-cab']) await stores.objects.delete('Policy', name);
    });
    const listed: string[] = [];
    const counting: Pick<Stores, 'objects'> = {
      objects: { ...store.read.objects, get: store.read.objects.get.bind(store.read.objects), list: (kind, query) => (listed.push(kind), store.read.objects.list(kind, query)) },
    };
    expect(await evaluatePolicyGate(counting, await releaseSubject('prod'), 'start', NOW)).toEqual([]);
    expect(listed).toEqual(['Policy']);
  });

  it('follows list pages to the last one (policies, artifacts, users)', async () => {
    const tiny: Pick<Stores, 'objects'> = {
      objects: { ...store.read.objects, get: store.read.objects.get.bind(store.read.objects), list: (kind, query?: ListQuery) => store.read.objects.list(kind, { ...query, limit: 2 }) },
    };
    const subject = await releaseSubject('prod', passingResults);
    expect(await evaluatePolicyGate(tiny, subject, 'promote', NOW)).toEqual(await evaluatePolicyGate(store.read, subject, 'promote', NOW));
    const [checkout] = await loadPolicyFacts(tiny, subject, NOW);
    expect(checkout!.facts.artifact.known).toBe(true);
    expect(checkout!.facts.approvals).toEqual({ auditors: 0, cab: 0 });
  });

  it('a stored policy that no longer parses fails closed instead of disappearing', async () => {
    await create({ kind: 'Policy', name: 'broken', spec: { severity: 'deny', expression: 'true' } });
    const results = await evaluatePolicyGate(store.read, await releaseSubject('staging', passingResults), 'start', NOW);
    expect(results.find((result) => result.name === 'broken')).toMatchObject({ outcome: 'deny', message: expect.stringMatching(/could not evaluate: invalid policy: message/) });
  });

  it('an unknown environment is a NotFoundError', async () => {
    await expect(evaluatePolicyGate(store.read, await releaseSubject('nowhere'), 'promote', NOW)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('loadPolicyFacts', () => {
  it('builds facts per component from the stored objects', async () => {
    const facts = await loadPolicyFacts(store.read, await releaseSubject('prod', passingResults), NOW);
    expect(facts.map((entry) => [entry.service, entry.version])).toEqual([['checkout', '2.1.0'], ['cart', '1.4.0']]);
    const checkout = facts[0]!.facts;
    expect(checkout.environment).toEqual({ name: 'prod', production: true, dataSensitivity: 'restricted' });
    expect(checkout.service).toEqual({ name: 'checkout', tier: 'critical', businessServices: ['payments'] });
    expect(checkout.release).toMatchObject({ name: 'r-3', version: '2026.11.0' });
    expect(Object.keys(checkout.results).sort()).toEqual(['coverage', 'semgrep']);
    expect(checkout.findings).toEqual({ critical: 0, high: 3, medium: 0, low: 0 });
    expect(facts[1]!.facts.findings).toEqual({ critical: 2, high: 3, medium: 0, low: 0 });
    expect(checkout.now).toEqual({ hour: 14, weekday: 'FR', iso: '2026-11-27T14:30:00.000Z' });
  });
});
