/**
 * Promotions and drift. `promote` checks the promotion gates (src/core/governance/promotion.ts)
 * and the `promote` policies, then creates the change record (where the environment requires
 * one) and one Deployment per component in one transaction; a refusal is recorded in a
 * transaction of its own (release `status.refusals`, audit `release.promotion-refused`) before it
 * is reported. `drift` compares what runs in an environment with what was promoted into it and
 * writes an `environment.drift` audit event whenever the set of drifting services changed.
 */
import { canonicalJson, type ChainedAuditEvent } from '../../core/audit/chain.js';
import {
  driftReport,
  driftSet,
  isRefusing,
  planPromotion,
  refusalSummary,
  resolveReleasePipeline,
  restrictPolicies,
  type DriftEntry,
  type DriftOverview,
  type EnvironmentDrift,
  type PromotionEvidence,
  type PromotionRecord,
  type PromotionRequest,
} from '../../core/governance/promotion.js';
import { readReleaseStatus, type GateResult, type Promotion } from '../../core/governance/records.js';
import type { ChangeEvidence } from '../../core/resources/change.js';
import { API_VERSION } from '../../core/resources/common.js';
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import type { ValidDocument } from '../../core/resources/validate.js';
import { stableVersionOf } from '../../engine/resolve.js';
import { evaluatePolicyGate } from '../../engine/governance/policy-gate.js';
import { NotFoundError, type AuditRepository, type StoredObject, type Stores } from '../../ports/store.js';
import { createChangeService } from '../changes/service.js';
import { GateRefusedError, InvalidContentError } from '../errors.js';
import { generateName } from '../objects/names.js';
import { objectDigest } from '../objects/representation.js';
import { createObjectService, type ObjectService } from '../objects/service.js';
import { retryOnConflict } from '../rollouts/service.js';
import type { Commit } from '../transaction.js';
import { appendReleaseRefusal } from './deployment-rules.js';
import { artifactAuthors, deploymentFact, listAllObjects, loadDeploymentsByEnv, loadPipelines, readEnvironment, readRelease } from './facts.js';

type Read = Pick<Stores, 'objects'>;

export interface PromotionServiceDeps {
  now: () => Date;
  /** Creates the Deployments (the objects service's checks, labels and audit events); default: a fresh one. */
  objects?: ObjectService;
}

/** Who asks: `user` is the change's requester (never allowed to approve it), `actor` what audit events record. */
export interface Requester {
  actor: string;
  user: string;
}

export interface PromotionOutcome {
  promotion: Promotion;
  deployments: StoredObject[];
  change: StoredObject | null;
}

const AUDIT_PAGE = 1000;

/** Links to the previous stage's Deployments (and their analysis) that let each component through. */
function evidenceOf(items: readonly PromotionEvidence[]): ChangeEvidence[] {
  return items.flatMap((item) => {
    const link = `/api/v1/deployments/${item.deployment}`;
    const deployment = { title: `${item.service} ${item.version} Healthy in ${item.environment} (Deployment ${item.deployment})`, link, kind: 'deployment' };
    if (item.passedTemplates.length === 0) return [deployment];
    return [deployment, { title: `analysis ${item.passedTemplates.join(', ')} passed in ${item.environment} for ${item.service}`, link, kind: 'analysis' }];
  });
}

/** The newest `environment.drift` event of an environment (the log is read forward, page by page). */
async function latestDriftEvent(audit: Pick<AuditRepository, 'list'>, environment: string): Promise<ChainedAuditEvent | null> {
  let latest: ChainedAuditEvent | null = null;
  let afterSeq: number | undefined;
  for (;;) {
    const page = await audit.list({ kind: 'Environment', name: environment, limit: AUDIT_PAGE, ...(afterSeq !== undefined ? { afterSeq } : {}) });
    for (const event of page) if (event.action === 'environment.drift') latest = event;
    if (page.length < AUDIT_PAGE) return latest;
    afterSeq = page[page.length - 1]!.seq;
  }
}

const sameDrift = (event: ChainedAuditEvent | null, current: unknown[]): boolean => canonicalJson(event?.details?.['drift'] ?? []) === canonicalJson(current);

export function createPromotionService(deps: PromotionServiceDeps) {
  const objects = deps.objects ?? createObjectService({ now: deps.now });

  /** Checks every gate and, when none refuses, writes the promotion. Runs inside one transaction. */
  async function attempt(stores: Pick<Stores, 'objects' | 'audit'>, requester: Requester, releaseName: string, request: PromotionRequest, now: Date) {
    const releaseObject = await stores.objects.get('Release', releaseName);
    if (!releaseObject) throw new NotFoundError(`Release "${releaseName}" not found`);
    const release = readRelease(releaseObject);
    if (!release) throw new InvalidContentError(`the stored spec of Release "${releaseName}" no longer validates; fix it before promoting`, [{ path: ['spec'], message: 'does not validate' }]);
    const environmentObject = await stores.objects.get('Environment', request.environment);
    if (!environmentObject) throw new InvalidContentError(`Environment "${request.environment}" does not exist`, [{ path: ['environment'], message: `Environment "${request.environment}" does not exist` }]);
    const environment = readEnvironment(environmentObject);

    const pipelines = await loadPipelines(stores);
    const stages = resolveReleasePipeline(release, pipelines).pipeline?.spec.stages ?? [];
    const index = stages.findIndex((stage) => stage.environment === request.environment);
    const previous = index > 0 ? stages[index - 1]!.environment : null;
    const services = release.spec.components.map((component) => component.service);
    const deploymentsByEnv = await loadDeploymentsByEnv(stores, [{ environment: request.environment, services }, ...(previous ? [{ environment: previous, services }] : [])]);
    const plan = planPromotion({
      release,
      releaseStatus: release.status,
      pipelines,
      targetEnvironment: request.environment,
      environments: { [request.environment]: environment },
      deploymentsByEnv,
      now,
    });
    const policies = await evaluatePolicyGate(stores, { environment: request.environment, release: releaseObject, components: plan.components, change: null }, 'promote', now);
    const gates: GateResult[] = [...plan.gates, ...restrictPolicies(policies, plan.requirements.policies)];
    if (gates.some(isRefusing)) return { kind: 'refused', gates } as const;

    // Names first: the change record lists the Deployments it authorizes.
    const names = plan.components.map(() => generateName('Deployment', now));
    let change: StoredObject | null = null;
    if (plan.changeRequired) {
      change = await createChangeService({ now: () => now }).createAutomatic(stores, {
        requestedBy: requester.user,
        actor: requester.actor,
        environment: request.environment,
        services: [...new Set(services)],
        release: release.name,
        deployments: names,
        authors: await artifactAuthors(stores, plan.components.map((component) => component.digest)),
        title: `Release ${release.name} ${release.spec.version} to ${request.environment}`,
        ...(request.changeType ? { type: request.changeType } : {}),
        ...(request.plannedStart ? { plannedStart: request.plannedStart } : {}),
        ...(request.plannedEnd ? { plannedEnd: request.plannedEnd } : {}),
        ...(request.justification ? { justification: request.justification } : {}),
        ...(plan.requirements.approvals.length > 0 ? { extraApprovals: plan.requirements.approvals } : {}),
        evidence: evidenceOf(plan.evidence),
        scopeItems: release.spec.scope.length,
      });
    }

    const deployments: StoredObject[] = [];
    for (const [i, component] of plan.components.entries()) {
      const spec: DeploymentSpec = {
        service: component.service,
        environment: request.environment,
        version: component.version,
        artifact: { digest: component.digest },
        release: release.name,
        ...(change ? { change: change.name } : {}),
        // The stage's strategy overrides the service's, as the Pipeline says.
        ...(plan.stage?.strategy ? { strategy: plan.stage.strategy } : {}),
      };
      const document: ValidDocument = { apiVersion: API_VERSION, kind: 'Deployment', metadata: { name: names[i]! }, spec: spec as unknown as Record<string, unknown> };
      deployments.push(await objects.create(stores, requester.actor, document, { governanceChecked: true, via: 'promotion', user: requester.user }));
    }

    const promotion: Promotion = {
      environment: request.environment,
      at: now.toISOString(),
      actor: requester.actor,
      ...(change ? { change: change.name } : {}),
      deployments: plan.components.map((component, i) => ({ service: component.service, version: component.version, digest: component.digest, deployment: names[i]! })),
      gates,
    };
    // Re-read: creating the change may have touched the release; keep every other status field as stored.
    const current = (await stores.objects.get('Release', release.name))!;
    const status = { ...(current.status ?? {}) };
    const promotions = Array.isArray(status['promotions']) ? (status['promotions'] as unknown[]) : [];
    status['promotions'] = [...promotions, promotion];
    const updated = await stores.objects.update('Release', release.name, current.version, { status });
    await stores.audit.append({
      time: promotion.at,
      actor: requester.actor,
      action: 'release.promote',
      kind: 'Release',
      name: release.name,
      beforeDigest: objectDigest(current),
      afterDigest: objectDigest(updated),
      details: { version: updated.version, environment: request.environment, change: change?.name ?? null, deployments: names, gates },
    });
    return { kind: 'promoted', outcome: { promotion, deployments, change } } as const;
  }

  async function environmentReport(read: Read, environment: string): Promise<DriftEntry[]> {
    if (!(await read.objects.get('Environment', environment))) throw new NotFoundError(`Environment "${environment}" not found`);
    const services = await listAllObjects(read, 'Service');
    const promotions: PromotionRecord[] = (await listAllObjects(read, 'Release')).flatMap((release) =>
      readReleaseStatus(release.status)
        .promotions.filter((promotion) => promotion.environment === environment)
        .map((promotion) => ({ release: release.name, environment, at: promotion.at, deployments: promotion.deployments })),
    );
    const stableByService = Object.fromEntries(services.map((service) => [service.name, stableVersionOf(service, environment)]));
    const names = new Set([...Object.values(stableByService).flatMap((stable) => (stable ? [stable.deployment] : [])), ...promotions.flatMap((p) => p.deployments.map((d) => d.deployment))]);
    const deployments: Record<string, { version: string; digest: string | null; phase: ReturnType<typeof deploymentFact>['phase'] }> = {};
    for (const name of names) {
      const object = await read.objects.get('Deployment', name);
      if (object) deployments[name] = deploymentFact(object);
    }
    return driftReport({ environment, services: services.map((service) => service.name), promotions, stableByService, deployments });
  }

  /**
   * Writes `environment.drift` when the drifting set differs from the last event's (including
   * when drift went away); checked again inside the transaction so two readers do not both write.
   */
  async function report(read: Pick<Stores, 'audit'>, commit: Commit, actor: string, environment: string, entries: DriftEntry[], now: Date): Promise<boolean> {
    const current = driftSet(entries);
    if (sameDrift(await latestDriftEvent(read.audit, environment), current)) return false;
    return commit(async (stores) => {
      if (sameDrift(await latestDriftEvent(stores.audit, environment), current)) return false;
      await stores.audit.append({
        time: now.toISOString(),
        actor,
        action: 'environment.drift',
        kind: 'Environment',
        name: environment,
        beforeDigest: null,
        afterDigest: null,
        details: { drift: current, messages: entries.filter((entry) => entry.state === 'drift').map((entry) => `${entry.service}: ${entry.message}`) },
      });
      return true;
    });
  }

  async function drift(read: Pick<Stores, 'objects' | 'audit'>, commit: Commit, actor: string, environment: string): Promise<EnvironmentDrift> {
    const entries = await environmentReport(read, environment);
    const reported = await report(read, commit, actor, environment, entries, deps.now());
    return { environment, services: entries, drift: entries.filter((entry) => entry.state === 'drift').length, reported };
  }

  return {
    /**
     * Promotes a release into an environment. Refused (GateRefusedError, after recording the
     * refusal in its own transaction) when any gate denies or is pending.
     */
    async promote(commit: Commit, requester: Requester, releaseName: string, request: PromotionRequest): Promise<PromotionOutcome> {
      const now = deps.now();
      // A lost compare-and-swap (the engine or another request wrote the release) re-runs the whole check.
      const result = await retryOnConflict(() => commit((stores) => attempt(stores, requester, releaseName, request, now)));
      if (result.kind === 'promoted') return result.outcome;
      const gates = result.gates;
      await retryOnConflict(() => commit((stores) => appendReleaseRefusal(stores, releaseName, { environment: request.environment, at: now.toISOString(), actor: requester.actor, gates })));
      throw new GateRefusedError(`promotion of release "${releaseName}" to ${request.environment} refused: ${refusalSummary(gates)}`, gates);
    },

    drift,

    /** Drift of every Environment, each reported like `drift`. */
    async driftAll(read: Pick<Stores, 'objects' | 'audit'>, commit: Commit, actor: string): Promise<DriftOverview> {
      const environments: EnvironmentDrift[] = [];
      for (const environment of await listAllObjects(read, 'Environment')) environments.push(await drift(read, commit, actor, environment.name));
      return { environments, drift: environments.reduce((sum, environment) => sum + environment.drift, 0) };
    },
  };
}

export type PromotionService = ReturnType<typeof createPromotionService>;
