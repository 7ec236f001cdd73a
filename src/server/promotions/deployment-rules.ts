/**
 * Rules the objects service applies when a Deployment is created directly (objects API or
 * apply; a promotion runs the same gates itself and passes `governanceChecked`): promotion by
 * digest along the pipeline, the digest its release promotes, go/no-go and `promote` policies, an
 * automatic change record where the environment requires one, and a named change that can
 * authorize it. Deployments in an environment outside every pipeline, not production and without
 * policies behave exactly as before: none of these gates has anything to say about them.
 *
 * A refusal must be recorded although the caller's transaction rolls back when this throws: the
 * error carries the refusal (DeploymentRefusedError) and `recordingRefusals` around the route's
 * commit writes it in a transaction of its own.
 */
import { isFinalState } from '../../core/governance/change.js';
import { changeRecordStatusSchema } from '../../core/governance/records.js';
import { isRefusing, planDirectDeployment, refusalSummary, restrictPolicies, shortDigest } from '../../core/governance/promotion.js';
import type { GateResult } from '../../core/governance/records.js';
import type { ChangeState } from '../../core/resources/change.js';
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import type { ValidDocument } from '../../core/resources/validate.js';
import { evaluatePolicyGate } from '../../engine/governance/policy-gate.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import { createChangeService } from '../changes/service.js';
import { GateRefusedError, InvalidContentError } from '../errors.js';
import { recordReleaseUpdateRefusal, ReleaseUpdateRefusedError } from '../releases/rules.js';
import { generateName } from '../objects/names.js';
import { objectDigest } from '../objects/representation.js';
import type { RuleContext } from '../releases/rules.js';
import { DEFAULT_ENVIRONMENT } from '../rollouts/deployments.js';
import type { Commit } from '../transaction.js';
import { artifactAuthors, loadDeploymentsByEnv, loadPipelines, readEnvironment, readRelease } from './facts.js';

type Writer = Pick<Stores, 'objects' | 'audit'>;

/** Refusals kept in a Release's `status.refusals` (newest last). */
export const REFUSALS_KEPT = 20;

/** What is recorded about a refused direct Deployment. */
export interface DeploymentRefusal {
  at: string;
  actor: string;
  /** The name the Deployment would have had (given, or generated for the record). */
  deployment: string;
  service: string;
  environment: string;
  version: string;
  digest: string | null;
  release: string | null;
  gates: GateResult[];
}

/** A gate refused a Deployment created directly; `refusal` is what `recordingRefusals` records. */
export class DeploymentRefusedError extends GateRefusedError {
  constructor(
    message: string,
    gates: GateResult[],
    readonly refusal: DeploymentRefusal,
  ) {
    super(message, gates);
  }
}

/**
 * Records a refused direct Deployment: audit `deployment.refused` and, when it names a release,
 * the refusal in the release's `status.refusals` (with audit `release.promotion-refused`).
 * Run it in a transaction of its own.
 */
export async function recordDeploymentRefusal(stores: Writer, refusal: DeploymentRefusal): Promise<void> {
  const { at, actor, deployment, service, environment, version, digest, release, gates } = refusal;
  await stores.audit.append({
    time: at,
    actor,
    action: 'deployment.refused',
    kind: 'Deployment',
    name: deployment,
    beforeDigest: null,
    afterDigest: null,
    details: { service, environment, version, digest, release, gates },
  });
  if (release) await appendReleaseRefusal(stores, release, { environment, at, actor, gates }, { deployment });
}

/** Appends a refusal to the release's `status.refusals` (keeping the last REFUSALS_KEPT) with its audit event. */
export async function appendReleaseRefusal(
  stores: Writer,
  releaseName: string,
  refusal: { environment: string; at: string; actor: string; gates: GateResult[] },
  extraDetails: Record<string, unknown> = {},
): Promise<void> {
  const current = await stores.objects.get('Release', releaseName);
  if (!current) return;
  const status = { ...(current.status ?? {}) };
  const previous = Array.isArray(status['refusals']) ? (status['refusals'] as unknown[]) : [];
  status['refusals'] = [...previous, refusal].slice(-REFUSALS_KEPT);
  const updated = await stores.objects.update('Release', releaseName, current.version, { status });
  await stores.audit.append({
    time: refusal.at,
    actor: refusal.actor,
    action: 'release.promotion-refused',
    kind: 'Release',
    name: releaseName,
    beforeDigest: objectDigest(current),
    afterDigest: objectDigest(updated),
    details: { version: updated.version, environment: refusal.environment, gates: refusal.gates, ...extraDetails },
  });
}

/**
 * Wraps a route's commit so that a Deployment refused inside it is recorded after the rollback,
 * in a transaction of its own, before the refusal reaches the client.
 */
export function recordingRefusals(commit: Commit): Commit {
  return async (work) => {
    try {
      return await commit(work);
    } catch (error) {
      if (error instanceof DeploymentRefusedError) await commit((stores) => recordDeploymentRefusal(stores, error.refusal));
      if (error instanceof ReleaseUpdateRefusedError) await commit((stores) => recordReleaseUpdateRefusal(stores, error));
      throw error;
    }
  };
}

/** The change a Deployment names must be able to authorize it: it exists, is not over, and is for this environment (422 naming spec.change). */
async function checkNamedChange(stores: Writer, changeName: string, environment: string): Promise<StoredObject> {
  const change = await stores.objects.get('Change', changeName);
  const issue = (message: string) => new InvalidContentError(`spec.change: ${message}`, [{ path: ['spec', 'change'], message }]);
  if (!change) throw issue(`Change "${changeName}" does not exist`);
  const parsed = changeRecordStatusSchema.safeParse(change.status ?? {});
  const state = parsed.success ? parsed.data.state : ((change.status?.['state'] as ChangeState | undefined) ?? 'New');
  if (isFinalState(state)) throw issue(`Change "${changeName}" is ${state}: it cannot authorize a deployment`);
  const changeEnvironment = parsed.success ? parsed.data.environment : undefined;
  if (changeEnvironment !== environment) {
    throw issue(`Change "${changeName}" is for environment ${changeEnvironment ? `"${changeEnvironment}"` : '(none)'}, not "${environment}"`);
  }
  return change;
}

/**
 * Called before a Deployment is updated (objects API or apply): what the promotion gates checked
 * at creation cannot be changed afterwards, or a PUT would bypass them. `spec.artifact.digest`,
 * `spec.release` and `spec.change` must stay as stored (422 naming each changed field); a document
 * that omits `spec.change` keeps the stored one (the server set it, like the labels it sets), so
 * re-applying the manifest a production Deployment was created from does not drop its change record.
 */
export function prepareDeploymentUpdate(current: StoredObject, document: ValidDocument): ValidDocument {
  const stored = current.spec as unknown as DeploymentSpec;
  const given = document.spec as unknown as DeploymentSpec;
  const issues: Array<{ path: (string | number)[]; message: string }> = [];
  if ((given.artifact?.digest ?? null) !== (stored.artifact?.digest ?? null)) {
    issues.push({ path: ['spec', 'artifact', 'digest'], message: `cannot change after creation (stored: ${stored.artifact?.digest ?? 'none'}); create a new Deployment` });
  }
  if ((given.release ?? null) !== (stored.release ?? null)) {
    issues.push({ path: ['spec', 'release'], message: `cannot change after creation (stored: ${stored.release ?? 'none'}); create a new Deployment` });
  }
  if (given.change !== undefined && given.change !== (stored.change ?? null)) {
    issues.push({ path: ['spec', 'change'], message: `cannot change after creation (stored: ${stored.change ?? 'none'}); create a new Deployment` });
  }
  if (issues.length > 0) throw new InvalidContentError(`Deployment "${current.name}": fields checked by the promotion gates cannot change`, issues);
  if (given.change === undefined && stored.change !== undefined) return { ...document, spec: { ...document.spec, change: stored.change } };
  return document;
}

/**
 * Called before a Deployment is created directly. May return a document with `spec.change` (and
 * `metadata.name`) filled in (an automatic change record created in the same transaction); throws
 * DeploymentRefusedError (409 gate-refused) when a gate refuses, InvalidContentError (422) when
 * `spec.change` cannot authorize it.
 */
export async function prepareDeploymentCreate(stores: Writer, document: ValidDocument, ctx: RuleContext): Promise<ValidDocument> {
  const spec = document.spec as unknown as DeploymentSpec;
  const environmentName = spec.environment ?? DEFAULT_ENVIRONMENT;
  const environmentObject = spec.environment ? await stores.objects.get('Environment', spec.environment) : null;
  const releaseObject = spec.release ? await stores.objects.get('Release', spec.release) : null;
  // A missing reference is the reference check's to report (422 naming the field), right after this.
  if ((spec.environment && !environmentObject) || (spec.release && !releaseObject)) return document;

  const change = spec.change ? await checkNamedChange(stores, spec.change, environmentName) : null;
  // No Environment object (the implicit `default` environment) and no release: nothing governs it.
  if (!environmentObject && !releaseObject) return document;

  const environment = environmentObject ? readEnvironment(environmentObject) : undefined;
  const release = releaseObject ? readRelease(releaseObject) : null;
  const digest = spec.artifact?.digest ?? null;
  const pipelines = environmentObject ? await loadPipelines(stores) : [];
  const previousEnvironments = pipelines.flatMap((pipeline) => {
    const index = pipeline.spec.stages.findIndex((stage) => stage.environment === environmentName);
    return index > 0 ? [pipeline.spec.stages[index - 1]!.environment] : [];
  });
  const deploymentsByEnv = await loadDeploymentsByEnv(
    stores,
    previousEnvironments.map((environment) => ({ environment, services: [spec.service] })),
  );
  const plan = planDirectDeployment({
    deployment: { service: spec.service, environment: environmentName, version: spec.version, digest },
    release: release ? { name: release.name, spec: release.spec, status: release.status } : null,
    pipelines,
    environmentSpec: environment,
    deploymentsByEnv,
    now: ctx.now,
  });

  const policies = environmentObject
    ? restrictPolicies(
        await evaluatePolicyGate(stores, { environment: environmentName, release: releaseObject, components: [{ service: spec.service, version: spec.version, digest }], change }, 'promote', ctx.now),
        plan.requirements.policies,
      )
    : [];
  const gates = [...plan.gates, ...policies];
  const name = document.metadata.name ?? generateName('Deployment', ctx.now);
  if (gates.some(isRefusing)) {
    throw new DeploymentRefusedError(`Deployment of ${spec.service} ${spec.version} (${shortDigest(digest)}) to ${environmentName} refused: ${refusalSummary(gates)}`, gates, {
      at: ctx.now.toISOString(),
      actor: ctx.actor,
      deployment: name,
      service: spec.service,
      environment: environmentName,
      version: spec.version,
      digest,
      release: spec.release ?? null,
      gates,
    });
  }

  if (change || !environmentObject || !plan.changeRequired) return document;

  // The environment requires a change record and none was named: create one in this transaction,
  // naming the Deployment it authorizes (so the name is fixed now).
  const created = await createChangeService({ now: () => ctx.now }).createAutomatic(stores, {
    requestedBy: ctx.user,
    actor: ctx.actor,
    environment: environmentName,
    services: [spec.service],
    ...(spec.release ? { release: spec.release } : {}),
    deployments: [name],
    authors: await artifactAuthors(stores, [digest]),
    title: `Deploy ${spec.service} ${spec.version} to ${environmentName}`,
    ...(plan.requirements.approvals.length > 0 ? { extraApprovals: plan.requirements.approvals } : {}),
    ...(release ? { scopeItems: release.spec.scope.length } : {}),
  });
  return { ...document, metadata: { ...document.metadata, name }, spec: { ...document.spec, change: created.name } };
}
