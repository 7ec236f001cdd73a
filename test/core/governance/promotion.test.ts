import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  driftReport,
  driftSet,
  goNoGoRequired,
  isRefusing,
  planDirectDeployment,
  planPromotion,
  resolveReleasePipeline,
  restrictPolicies,
  shortDigest,
  stageRequirements,
  type DeploymentFact,
  type DeploymentsByEnv,
  type DriftInput,
  type NamedPipeline,
  type PromotionInput,
} from '../../../src/core/governance/promotion.js';
import { readReleaseStatus, type GateResult, type ReleaseRecordStatus } from '../../../src/core/governance/records.js';
import type { EnvironmentSpec } from '../../../src/core/resources/environment.js';
import { pipelineSpecSchema, type PipelineSpec } from '../../../src/core/resources/pipeline.js';
import { formatPath, validateDocument } from '../../../src/core/resources/validate.js';
import type { ReleaseSpec } from '../../../src/core/resources/release.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const D = `sha256:${'d'.repeat(64)}`;
const NOW = new Date('2026-11-26T12:00:00Z');

const pipeline = (name: string, spec: z.input<typeof pipelineSpecSchema>): NamedPipeline => ({ name, spec: pipelineSpecSchema.parse(spec) });

const storefront = pipeline('storefront', {
  services: ['checkout', 'inventory'],
  stages: [
    { environment: 'dev' },
    { environment: 'staging', gates: [{ analysis: { templates: ['golden'] } }] },
    { environment: 'prod', gates: [{ approval: { group: 'cab', count: 2 } }, { goNoGo: true }, { policies: ['signed'] }] },
  ],
});

const releaseSpec = (overrides: Partial<ReleaseSpec> = {}): ReleaseSpec => ({
  version: '2026.12.0',
  components: [
    { service: 'checkout', version: '1.4.0', digest: A },
    { service: 'inventory', version: '2.0.0', digest: B },
  ],
  scope: [],
  ...overrides,
});

const env = (spec: Partial<EnvironmentSpec> = {}): EnvironmentSpec => ({ production: false, dataSensitivity: 'internal', ...spec });
const ENVIRONMENTS: Record<string, EnvironmentSpec> = { dev: env(), staging: env(), prod: env({ production: true }), qa: env() };

let clock = 0;
const deployment = (service: string, version: string, digest: string | null, phase: DeploymentFact['phase'], extra: Partial<DeploymentFact> = {}): DeploymentFact => ({
  name: `${service}-${version}-${++clock}`,
  service,
  version,
  digest,
  phase,
  createdAt: new Date(Date.UTC(2026, 10, 1) + clock * 60_000).toISOString(),
  ...extra,
});

/** Healthy runs of both components in `environment` (with `golden` passed). */
const healthyIn = (environment: string, templates: string[] = ['golden']): DeploymentsByEnv => ({
  [environment]: {
    checkout: [deployment('checkout', '1.4.0', A, 'Healthy', { passedTemplates: templates })],
    inventory: [deployment('inventory', '2.0.0', B, 'Healthy', { passedTemplates: templates })],
  },
});

const input = (overrides: Partial<PromotionInput> = {}): PromotionInput => ({
  release: { name: 'r1', spec: releaseSpec() },
  releaseStatus: readReleaseStatus(null),
  pipelines: [storefront],
  targetEnvironment: 'dev',
  environments: ENVIRONMENTS,
  deploymentsByEnv: {},
  now: NOW,
  ...overrides,
});

/** `gate[/service]:outcome` for each gate, the compact form the tables compare. */
const summary = (gates: readonly GateResult[]) => gates.map((gate) => `${gate.gate}${gate.service ? `/${gate.service}` : ''}:${gate.outcome}`);
const messageOf = (gates: readonly GateResult[], gate: string, service?: string) => gates.find((g) => g.gate === gate && (service === undefined || g.service === service))?.message;

const goDecision = (decision: 'go' | 'no-go', at: string, environment = 'prod'): ReleaseRecordStatus['goNoGo'][number] => ({
  decision,
  environment,
  decidedBy: 'maria',
  at,
  comment: decision === 'go' ? 'all criteria met' : 'load test failed',
  criteria: [],
});

describe('planPromotion: the gates in order', () => {
  const cases: Array<{ name: string; input: PromotionInput; gates: string[]; messages?: Array<[string, string | undefined, string | RegExp]> }> = [
    {
      name: 'first stage: nothing had to succeed before',
      input: input(),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [
        ['path', undefined, 'dev is stage 1 of 3 of pipeline "storefront" (dev → staging → prod; the only pipeline listing every component (checkout, inventory))'],
        ['digest', 'checkout', 'dev is the first stage of pipeline "storefront": nothing had to succeed before'],
      ],
    },
    {
      name: 'second stage after both digests succeeded in the first',
      input: input({ targetEnvironment: 'staging', deploymentsByEnv: healthyIn('dev', []) }),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['digest', 'checkout', /^sha256:aaaaaaaaaaaa… succeeded in dev \(Deployment checkout-1\.4\.0-\d+, 1\.4\.0\)$/]],
    },
    {
      name: 'a digest that did not succeed in the previous stage (latest there named)',
      input: input({
        targetEnvironment: 'staging',
        deploymentsByEnv: {
          dev: {
            checkout: [deployment('checkout', '1.4.0', A, 'Progressing'), deployment('checkout', '1.3.9', D, 'Aborted')],
            inventory: healthyIn('dev')['dev']!['inventory'],
          },
        },
      }),
      gates: ['path:pass', 'digest/checkout:deny', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['digest', 'checkout', 'sha256:aaaaaaaaaaaa… has not succeeded in dev (latest there: 1.3.9 sha256:dddddddddddd…, Aborted)']],
    },
    {
      name: 'the same version rebuilt (another digest) does not count',
      input: input({ targetEnvironment: 'staging', deploymentsByEnv: { dev: { checkout: [deployment('checkout', '1.4.0', D, 'Healthy')], inventory: healthyIn('dev')['dev']!['inventory'] } } }),
      gates: ['path:pass', 'digest/checkout:deny', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['digest', 'checkout', 'sha256:aaaaaaaaaaaa… has not succeeded in dev (latest there: 1.4.0 sha256:dddddddddddd…, Healthy)']],
    },
    {
      name: 'nothing deployed in the previous stage',
      input: input({ targetEnvironment: 'staging' }),
      gates: ['path:pass', 'digest/checkout:deny', 'digest/inventory:deny', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['digest', 'inventory', 'sha256:bbbbbbbbbbbb… has not succeeded in dev (nothing deployed there)']],
    },
    {
      name: 'the previous stage has analysis gates: templates must have passed there',
      input: input({
        targetEnvironment: 'prod',
        deploymentsByEnv: { staging: { checkout: healthyIn('staging')['staging']!['checkout'], inventory: [deployment('inventory', '2.0.0', B, 'Healthy', { passedTemplates: [] })] } },
        releaseStatus: { ...readReleaseStatus(null), goNoGo: [goDecision('go', '2026-11-26T10:00:00Z')] },
      }),
      gates: ['path:pass', 'digest/checkout:pass', 'analysis/checkout:pass', 'digest/inventory:pass', 'analysis/inventory:deny', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['analysis', 'inventory', /^analysis golden has not passed in staging for inventory \(Deployment inventory-2\.0\.0-\d+ has no successful run of it\)$/]],
    },
    {
      name: 'goNoGo stage gate without a decision: pending',
      input: input({ targetEnvironment: 'prod', deploymentsByEnv: healthyIn('staging') }),
      gates: ['path:pass', 'digest/checkout:pass', 'analysis/checkout:pass', 'digest/inventory:pass', 'analysis/inventory:pass', 'goNoGo:pending', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['goNoGo', undefined, 'a go/no-go decision for prod is needed (the pipeline stage has a goNoGo gate); none recorded yet']],
    },
    {
      name: 'the latest decision counts: a no-go after a go denies',
      input: input({
        targetEnvironment: 'prod',
        deploymentsByEnv: healthyIn('staging'),
        releaseStatus: { ...readReleaseStatus(null), goNoGo: [goDecision('no-go', '2026-11-26T11:00:00Z'), goDecision('go', '2026-11-26T10:00:00Z'), goDecision('go', '2026-11-26T11:30:00Z', 'staging')] },
      }),
      gates: ['path:pass', 'digest/checkout:pass', 'analysis/checkout:pass', 'digest/inventory:pass', 'analysis/inventory:pass', 'goNoGo:deny', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['goNoGo', undefined, 'no-go for prod by maria at 2026-11-26T11:00:00Z: load test failed']],
    },
    {
      name: 'a go decision lets it through',
      input: input({ targetEnvironment: 'prod', deploymentsByEnv: healthyIn('staging'), releaseStatus: { ...readReleaseStatus(null), goNoGo: [goDecision('go', '2026-11-26T10:00:00Z')] } }),
      gates: ['path:pass', 'digest/checkout:pass', 'analysis/checkout:pass', 'digest/inventory:pass', 'analysis/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['goNoGo', undefined, 'go for prod by maria at 2026-11-26T10:00:00Z: all criteria met']],
    },
    {
      name: 'an environment that is not a stage of the pipeline',
      input: input({ targetEnvironment: 'qa' }),
      gates: ['path:deny', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['path', undefined, 'environment "qa" is not a stage of pipeline "storefront" (dev → staging → prod)']],
    },
    {
      name: 'an active rollout of a component in the target environment',
      input: input({ deploymentsByEnv: { dev: { inventory: [deployment('inventory', '1.9.0', D, 'Healthy'), deployment('inventory', '1.9.1', D, 'Paused')] } } }),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:deny'],
      messages: [['active', 'inventory', /^inventory already has an active rollout in dev: Deployment inventory-1\.9\.1-\d+ \(1\.9\.1, Paused\); abort it or wait for it to finish$/]],
    },
    {
      name: 'a Deployment not started yet is active too',
      input: input({ deploymentsByEnv: { dev: { checkout: [deployment('checkout', '1.3.0', D, 'Pending')] } } }),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'goNoGo:pass', 'active/checkout:deny', 'active/inventory:pass'],
      messages: [['active', 'checkout', /\(1\.3\.0, not started yet\)/]],
    },
    {
      name: 'after the freeze an undecided scope exception holds the promotion',
      input: input({
        release: { name: 'r1', spec: releaseSpec({ freezeDate: '2026-11-20T00:00:00Z' }) },
        releaseStatus: {
          ...readReleaseStatus(null),
          scopeExceptions: [
            { id: 'x1', requestedBy: 'bob', requestedAt: '2026-11-21T00:00:00Z', reason: 'add the EU banner', add: [], remove: [], state: 'pending' },
            { id: 'x0', requestedBy: 'bob', requestedAt: '2026-11-21T00:00:00Z', reason: 'old', add: [], remove: [], state: 'approved' },
          ],
        },
      }),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'freeze:pending', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
      messages: [['freeze', undefined, 'scope frozen since 2026-11-20T00:00:00Z and a scope exception is waiting for a decision: x1 (add the EU banner)']],
    },
    {
      name: 'before the freeze date the scope may still move',
      input: input({ release: { name: 'r1', spec: releaseSpec({ freezeDate: '2026-12-01T00:00:00Z' }) } }),
      gates: ['path:pass', 'digest/checkout:pass', 'digest/inventory:pass', 'freeze:pass', 'goNoGo:pass', 'active/checkout:pass', 'active/inventory:pass'],
    },
    {
      name: 'a release without components has nothing to promote',
      input: input({ release: { name: 'empty', spec: releaseSpec({ components: [] }) } }),
      gates: ['path:deny', 'goNoGo:pass'],
      messages: [['path', undefined, 'release "empty" has no components: nothing to promote']],
    },
  ];

  it.each(cases)('$name', ({ input: given, gates, messages }) => {
    const plan = planPromotion(given);
    expect(summary(plan.gates)).toEqual(gates);
    for (const [gate, service, message] of messages ?? []) {
      if (typeof message === 'string') expect(messageOf(plan.gates, gate, service)).toBe(message);
      else expect(messageOf(plan.gates, gate, service)).toMatch(message);
    }
  });

  it('reports the stage, the previous environment, what the change record needs and the evidence', () => {
    const plan = planPromotion(input({ targetEnvironment: 'prod', deploymentsByEnv: healthyIn('staging') }));
    expect(plan).toMatchObject({ pipeline: 'storefront', stageIndex: 2, previousEnvironment: 'staging', changeRequired: true });
    expect(plan.requirements.approvals).toEqual([{ group: 'cab', count: 2, reason: 'pipeline "storefront" stage "prod": approval gate' }]);
    expect(plan.requirements.policies).toEqual(['signed']);
    expect(plan.components).toEqual([
      { service: 'checkout', version: '1.4.0', digest: A },
      { service: 'inventory', version: '2.0.0', digest: B },
    ]);
    expect(plan.evidence.map((item) => [item.service, item.environment, item.version, item.passedTemplates])).toEqual([
      ['checkout', 'staging', '1.4.0', ['golden']],
      ['inventory', 'staging', '2.0.0', ['golden']],
    ]);

    const dev = planPromotion(input());
    expect(dev).toMatchObject({ stageIndex: 0, previousEnvironment: null, changeRequired: false, evidence: [] });
    expect(dev.requirements.policies).toBeNull();
  });

  it('needs a change record where the environment requires one or the stage has an approval gate', () => {
    const approvalInStaging = pipeline('p', { services: ['checkout', 'inventory'], stages: [{ environment: 'dev' }, { environment: 'staging', gates: [{ approval: { group: 'qa' } }] }] });
    const cases: Array<[string, Partial<PromotionInput>, boolean]> = [
      ['production', { targetEnvironment: 'prod', deploymentsByEnv: healthyIn('staging') }, true],
      ['changeRequired on a test environment', { environments: { ...ENVIRONMENTS, dev: env({ changeRequired: true }) } }, true],
      ['production with changeRequired: false', { targetEnvironment: 'prod', environments: { ...ENVIRONMENTS, prod: env({ production: true, changeRequired: false }) }, pipelines: [pipeline('p', { services: ['checkout', 'inventory'], stages: [{ environment: 'prod' }] })] }, false],
      ['an approval gate on a test environment', { targetEnvironment: 'staging', pipelines: [approvalInStaging] }, true],
      ['a plain test environment', {}, false],
    ];
    for (const [name, overrides, expected] of cases) expect(planPromotion(input(overrides)).changeRequired, name).toBe(expected);
  });

  it('isRefusing: deny and pending hold, pass and warn do not', () => {
    const gate = (outcome: GateResult['outcome']): GateResult => ({ gate: 'policy', name: 'p', outcome, message: '' });
    expect(['pass', 'warn', 'deny', 'pending'].map((outcome) => isRefusing(gate(outcome as GateResult['outcome'])))).toEqual([false, false, true, true]);
  });
});

describe('resolveReleasePipeline', () => {
  const other = pipeline('other', { services: ['checkout', 'inventory', 'search'], stages: [{ environment: 'dev' }] });
  const partial = pipeline('payments', { services: ['checkout'], stages: [{ environment: 'dev' }] });
  const unlisted = pipeline('legacy', { stages: [{ environment: 'dev' }] });
  const release = (spec: Partial<ReleaseSpec> = {}) => ({ name: 'r1', spec: releaseSpec(spec) });

  it.each([
    { name: 'spec.pipeline wins', release: release({ pipeline: 'payments' }), pipelines: [storefront, partial], expected: 'payments', reason: 'spec.pipeline of release "r1"' },
    { name: 'the only pipeline listing every component', release: release(), pipelines: [storefront, partial, unlisted], expected: 'storefront', reason: 'the only pipeline listing every component (checkout, inventory)' },
    {
      name: 'several candidates: named, none chosen',
      release: release(),
      pipelines: [storefront, other],
      expected: null,
      reason: 'several pipelines list every component (checkout, inventory): "other", "storefront"; set spec.pipeline of release "r1"',
    },
    {
      name: 'none lists every component: the partial ones are named',
      release: release(),
      pipelines: [partial, unlisted],
      expected: null,
      reason: 'no pipeline lists every component (checkout, inventory) in spec.services (candidates listing some of them: "payments"); set spec.pipeline of release "r1"',
    },
    { name: 'a pipeline without services applies to nothing implicitly', release: release(), pipelines: [unlisted], expected: null, reason: /pipelines: "legacy"/ },
    { name: 'spec.pipeline naming nothing', release: release({ pipeline: 'gone' }), pipelines: [storefront], expected: null, reason: 'release "r1" names pipeline "gone", which does not exist' },
  ])('$name', ({ release: given, pipelines, expected, reason }) => {
    const resolved = resolveReleasePipeline(given, pipelines);
    expect(resolved.pipeline?.name ?? null).toBe(expected);
    if (typeof reason === 'string') expect(resolved.reason).toBe(reason);
    else expect(resolved.reason).toMatch(reason);
  });

  it('a failed resolution denies the path gate with the reason', () => {
    const plan = planPromotion(input({ pipelines: [storefront, other] }));
    expect(plan.gates[0]).toMatchObject({ gate: 'path', outcome: 'deny', name: 'r1' });
    expect(plan.gates[0]!.message).toContain('several pipelines list every component');
    expect(plan.pipeline).toBeNull();
    expect(summary(plan.gates)).not.toContain('digest/checkout:pass');
  });
});

describe('goNoGoRequired', () => {
  const stageWith = (gates: NonNullable<PipelineSpec['stages'][number]['gates']>) => stageRequirements('p', { environment: 'x', autoPromote: false, gates });
  const none = stageRequirements('p', null);
  const criterion = { id: 'load', required: true, result: { name: 'load-test' } };
  it.each([
    { name: 'stage goNoGo: true', spec: releaseSpec(), environment: env(), stage: stageWith([{ goNoGo: true }]), required: true },
    { name: 'stage goNoGo: false asks nothing', spec: releaseSpec(), environment: env({ production: true }), stage: stageWith([{ goNoGo: false }]), required: false },
    { name: 'stage criteria', spec: releaseSpec(), environment: env(), stage: stageWith([{ goNoGo: { criteria: [criterion] } }]), required: true },
    { name: 'production with release criteria', spec: releaseSpec({ goNoGo: { criteria: [criterion] } }), environment: env({ production: true }), stage: none, required: true },
    { name: 'production without criteria', spec: releaseSpec(), environment: env({ production: true }), stage: none, required: false },
    { name: 'not production with release criteria', spec: releaseSpec({ goNoGo: { criteria: [criterion] } }), environment: env(), stage: none, required: false },
    { name: 'release names this environment', spec: releaseSpec({ goNoGo: { environment: 'target', criteria: [] } }), environment: env(), stage: none, required: true },
    { name: 'release names another environment', spec: releaseSpec({ goNoGo: { environment: 'staging', criteria: [criterion] } }), environment: env({ production: true }), stage: none, required: false },
    {
      name: 'production with jurisdiction-tagged scope (implicit compliance sign-off)',
      spec: releaseSpec({ scope: [{ title: 'EU banner', classification: 'net-new', jurisdictions: ['eu'] }] }),
      environment: env({ production: true }),
      stage: none,
      required: true,
    },
  ])('$name', ({ spec, environment, stage, required }) => {
    expect(goNoGoRequired({ name: 'r1', spec }, 'target', environment, stage).required).toBe(required);
  });
});

describe('planDirectDeployment', () => {
  const direct = (overrides: Partial<Parameters<typeof planDirectDeployment>[0]> & { digest?: string | null; environment?: string; service?: string } = {}) => {
    const { digest = A, environment = 'staging', service = 'checkout', ...rest } = overrides;
    return planDirectDeployment({
      deployment: { service, environment, version: '1.4.0', digest },
      release: null,
      pipelines: [storefront],
      environmentSpec: ENVIRONMENTS[environment],
      deploymentsByEnv: {},
      now: NOW,
      ...rest,
    });
  };
  const withRelease = (spec: Partial<ReleaseSpec> = {}) => ({ name: 'r1', spec: releaseSpec(spec), status: readReleaseStatus(null) });

  it.each([
    { name: 'an environment outside every pipeline: no gate', plan: () => direct({ environment: 'qa' }), gates: [] },
    { name: 'a service the pipeline does not list: no gate', plan: () => direct({ service: 'search' }), gates: [] },
    { name: 'the first stage: no gate', plan: () => direct({ environment: 'dev' }), gates: [] },
    { name: 'a later stage, digest succeeded before', plan: () => direct({ deploymentsByEnv: healthyIn('dev') }), gates: ['digest/checkout:pass'] },
    { name: 'a later stage, digest not succeeded before', plan: () => direct({ digest: D, deploymentsByEnv: healthyIn('dev') }), gates: ['digest/checkout:deny'] },
    { name: 'a later stage without a digest', plan: () => direct({ digest: null, deploymentsByEnv: healthyIn('dev') }), gates: ['digest/checkout:deny'] },
    { name: 'prod checks the analysis staging asked for', plan: () => direct({ environment: 'prod', deploymentsByEnv: healthyIn('staging', []) }), gates: ['digest/checkout:pass', 'analysis/checkout:deny'] },
    { name: 'the digest its release promotes', plan: () => direct({ environment: 'qa', release: withRelease() }), gates: ['digest/checkout:pass', 'goNoGo:pass'] },
    { name: 'another digest than its release promotes', plan: () => direct({ environment: 'qa', digest: D, release: withRelease() }), gates: ['digest/checkout:deny', 'goNoGo:pass'] },
    { name: 'a release without that service', plan: () => direct({ environment: 'qa', service: 'search', release: withRelease() }), gates: ['release/search:deny', 'goNoGo:pass'] },
    { name: 'with a release into prod: its go/no-go', plan: () => direct({ environment: 'prod', release: withRelease(), deploymentsByEnv: healthyIn('staging') }), gates: ['digest/checkout:pass', 'analysis/checkout:pass', 'digest/checkout:pass', 'goNoGo:pending'] },
  ])('$name', ({ plan, gates }) => {
    expect(summary(plan().gates)).toEqual(gates);
  });

  it('names the digest, the previous stage and the pipeline when refusing', () => {
    const plan = direct({ digest: D, deploymentsByEnv: healthyIn('dev') });
    expect(plan.gates[0]!.message).toMatch(/^sha256:dddddddddddd… has not succeeded in dev \(latest there: 1\.4\.0 sha256:aaaaaaaaaaaa…, Healthy\) \(stage 2 of pipeline "storefront"\)$/);
    expect(direct({ digest: null }).gates[0]!.message).toContain('no artifact digest');
    expect(direct({ environment: 'qa', digest: D, release: withRelease() }).gates[0]!.message).toBe(
      'sha256:dddddddddddd… is not what release "r1" promotes for checkout (1.4.0 sha256:aaaaaaaaaaaa…)',
    );
  });

  it('uses the release\'s pipeline when it has the environment, the service\'s pipelines otherwise', () => {
    const shortcut = pipeline('shortcut', { services: ['checkout', 'inventory'], stages: [{ environment: 'qa' }, { environment: 'staging' }] });
    const viaRelease = direct({ pipelines: [storefront, shortcut], release: withRelease({ pipeline: 'shortcut' }), deploymentsByEnv: { qa: healthyIn('qa')['qa']! } });
    expect(viaRelease.stages).toEqual([{ pipeline: 'shortcut', stageIndex: 1, previousEnvironment: 'qa' }]);
    expect(summary(viaRelease.gates)).toEqual(['digest/checkout:pass', 'digest/checkout:pass', 'goNoGo:pass']);
    const both = direct({ pipelines: [storefront, shortcut], deploymentsByEnv: healthyIn('dev') });
    expect(both.stages.map((stage) => stage.pipeline)).toEqual(['storefront', 'shortcut']);
    expect(summary(both.gates)).toEqual(['digest/checkout:pass', 'digest/checkout:deny']);
  });

  it('a production environment or an approval stage needs a change record', () => {
    expect(direct({ environment: 'prod', deploymentsByEnv: healthyIn('staging') })).toMatchObject({ changeRequired: true });
    expect(direct({ environment: 'qa' })).toMatchObject({ changeRequired: false });
  });
});

describe('restrictPolicies', () => {
  const results: GateResult[] = [
    { gate: 'policy', name: 'signed', outcome: 'deny', message: 'unsigned' },
    { gate: 'policy', name: 'sbom', outcome: 'warn', message: 'no sbom' },
  ];
  it('keeps only the policies a stage names; all of them without a restriction', () => {
    expect(restrictPolicies(results, ['sbom']).map((r) => r.name)).toEqual(['sbom']);
    expect(restrictPolicies(results, null).map((r) => r.name)).toEqual(['signed', 'sbom']);
  });
});

describe('driftReport', () => {
  const promotion = (release: string, at: string, deployments: Array<[string, string, string, string]>) => ({
    release,
    environment: 'prod',
    at,
    deployments: deployments.map(([service, version, digest, name]) => ({ service, version, digest, deployment: name })),
  });
  const base: DriftInput = {
    environment: 'prod',
    services: ['checkout', 'inventory', 'search', 'idle'],
    promotions: [],
    stableByService: {},
    deployments: {},
  };
  const state = (entries: ReturnType<typeof driftReport>) => entries.map((entry) => `${entry.service}:${entry.state}`);

  it.each([
    {
      name: 'the promoted digest is stable: in sync',
      input: { ...base, promotions: [promotion('r1', '2026-11-01T00:00:00Z', [['checkout', '1.4.0', A, 'd1']])], stableByService: { checkout: { stableVersion: '1.4.0', deployment: 'd1' } }, deployments: { d1: { version: '1.4.0', digest: A, phase: 'Healthy' as const } } },
      states: ['checkout:in-sync'],
      message: 'checkout: 1.4.0 sha256:aaaaaaaaaaaa… runs (Deployment d1): 1.4.0 sha256:aaaaaaaaaaaa… promoted by release "r1" at 2026-11-01T00:00:00Z',
    },
    {
      name: 'another Deployment of the same digest is in sync too',
      input: { ...base, promotions: [promotion('r1', '2026-11-01T00:00:00Z', [['checkout', '1.4.0', A, 'd1']])], stableByService: { checkout: { stableVersion: '1.4.0', deployment: 'd2' } }, deployments: { d1: { version: '1.4.0', digest: A, phase: 'Healthy' as const }, d2: { version: '1.4.0', digest: A, phase: 'Healthy' as const } } },
      states: ['checkout:in-sync'],
    },
    {
      name: 'a direct deployment of another digest after the promotion: drift',
      input: { ...base, promotions: [promotion('r1', '2026-11-01T00:00:00Z', [['checkout', '1.4.0', A, 'd1']])], stableByService: { checkout: { stableVersion: '1.4.1', deployment: 'd2' } }, deployments: { d1: { version: '1.4.0', digest: A, phase: 'Healthy' as const }, d2: { version: '1.4.1', digest: D, phase: 'Healthy' as const } } },
      states: ['checkout:drift'],
      message: 'checkout: 1.4.1 sha256:dddddddddddd… runs (Deployment d2), but 1.4.0 sha256:aaaaaaaaaaaa… promoted by release "r1" at 2026-11-01T00:00:00Z',
    },
    {
      name: 'the promoted rollout aborted and the old version still runs: drift',
      input: { ...base, promotions: [promotion('r2', '2026-11-02T00:00:00Z', [['checkout', '1.5.0', B, 'd3']])], stableByService: { checkout: { stableVersion: '1.4.0', deployment: 'd1' } }, deployments: { d1: { version: '1.4.0', digest: A, phase: 'Healthy' as const }, d3: { version: '1.5.0', digest: B, phase: 'Aborted' as const } } },
      states: ['checkout:drift'],
      message: /\(its rollout ended Aborted\)$/,
    },
    {
      name: 'the promoted rollout is under way: not running (yet), not drift',
      input: { ...base, promotions: [promotion('r2', '2026-11-02T00:00:00Z', [['checkout', '1.5.0', B, 'd3']])], stableByService: { checkout: { stableVersion: '1.4.0', deployment: 'd1' } }, deployments: { d1: { version: '1.4.0', digest: A, phase: 'Healthy' as const }, d3: { version: '1.5.0', digest: B, phase: 'Progressing' as const } } },
      states: ['checkout:not-running'],
      message: 'checkout: 1.5.0 sha256:bbbbbbbbbbbb… promoted by release "r2" at 2026-11-02T00:00:00Z is rolling out (Deployment d3, Progressing); 1.4.0 still stable',
    },
    {
      name: 'promoted, nothing stable, rollout over: not running',
      input: { ...base, promotions: [promotion('r1', '2026-11-01T00:00:00Z', [['inventory', '2.0.0', B, 'd5']])], deployments: { d5: { version: '2.0.0', digest: B, phase: 'Aborted' as const } } },
      states: ['inventory:not-running'],
      message: /is not running: its rollout ended Aborted$/,
    },
    {
      name: 'running, never promoted',
      input: { ...base, stableByService: { search: { stableVersion: '0.9.0', deployment: 'd9' } }, deployments: { d9: { version: '0.9.0', digest: null, phase: 'Healthy' as const } } },
      states: ['search:not-promoted'],
      message: 'search: 0.9.0 no digest runs (Deployment d9); nothing was promoted to prod',
    },
    {
      name: 'the latest promotion into the environment counts; other environments are ignored',
      input: {
        ...base,
        promotions: [
          promotion('r2', '2026-11-02T00:00:00Z', [['checkout', '1.5.0', B, 'd3']]),
          promotion('r1', '2026-11-01T00:00:00Z', [['checkout', '1.4.0', A, 'd1']]),
          { ...promotion('r3', '2026-11-03T00:00:00Z', [['checkout', '1.6.0', D, 'd7']]), environment: 'staging' },
        ],
        stableByService: { checkout: { stableVersion: '1.5.0', deployment: 'd3' } },
        deployments: { d3: { version: '1.5.0', digest: B, phase: 'Healthy' as const } },
      },
      states: ['checkout:in-sync'],
    },
  ])('$name', ({ input: given, states, message }) => {
    const entries = driftReport(given);
    expect(state(entries)).toEqual(states);
    if (message === undefined) return;
    const text = `${entries[0]!.service}: ${entries[0]!.message}`;
    if (typeof message === 'string') expect(text).toBe(message);
    else expect(text).toMatch(message);
  });

  it('sorts by service, leaves out services with nothing promoted or running, and driftSet keeps only drift', () => {
    const entries = driftReport({
      ...base,
      promotions: [promotion('r1', '2026-11-01T00:00:00Z', [['inventory', '2.0.0', B, 'd5'], ['checkout', '1.4.0', A, 'd1']])],
      stableByService: { checkout: { stableVersion: '1.3.0', deployment: 'd0' }, inventory: { stableVersion: '2.0.0', deployment: 'd5' } },
      deployments: { d0: { version: '1.3.0', digest: D, phase: 'Healthy' }, d1: { version: '1.4.0', digest: A, phase: 'Aborted' }, d5: { version: '2.0.0', digest: B, phase: 'Healthy' } },
    });
    expect(state(entries)).toEqual(['checkout:drift', 'inventory:in-sync']);
    expect(entries[0]).toMatchObject({
      promoted: { release: 'r1', version: '1.4.0', digest: A, deployment: 'd1' },
      running: { version: '1.3.0', digest: D, deployment: 'd0' },
    });
    expect(driftSet(entries)).toEqual([{ service: 'checkout', promoted: A, running: D, runningVersion: '1.3.0' }]);
  });
});

describe('Pipeline stage gates (schema)', () => {
  const issuesOf = (gates: unknown) => {
    const result = validateDocument({ apiVersion: 'rollgate.dev/v1alpha1', kind: 'Pipeline', metadata: { name: 'p' }, spec: { stages: [{ environment: 'prod', gates }] } });
    return result.ok ? [] : result.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  };
  it('accepts analysis, approval by group, goNoGo (boolean or criteria) and policies', () => {
    expect(issuesOf([{ analysis: { templates: ['golden'] } }, { approval: { group: 'cab', count: 2 } }, { goNoGo: true }, { goNoGo: { criteria: [{ id: 'load', result: { name: 'load-test' } }] } }, { policies: ['signed'] }])).toEqual([]);
  });
  it('names the field of each mistake', () => {
    expect(issuesOf([{ approval: { role: 'approver', count: 2 } }]).sort()).toEqual([
      'spec.stages[0].gates[0].approval.group: Invalid input: expected string, received undefined',
      'spec.stages[0].gates[0].approval.role: unknown field "role"',
    ]);
    expect(issuesOf([{}])).toEqual(['spec.stages[0].gates[0]: a gate names at least one of analysis, approval, goNoGo, policies']);
    expect(issuesOf([{ goNoGo: { criteria: [{ id: 'x' }] } }])).toEqual(['spec.stages[0].gates[0].goNoGo.criteria[0].analysis: give exactly one of analysis, result, signoff (got none)']);
  });
  it('shortDigest keeps the algorithm and twelve hex digits', () => {
    expect(shortDigest(A)).toBe('sha256:aaaaaaaaaaaa…');
    expect(shortDigest(null)).toBe('no digest');
  });
});
