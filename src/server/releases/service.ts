/**
 * The release workflow: results posted by CI, scope exceptions after the freeze, sign-offs,
 * go / no-go decisions, and the overview `rollgate release show` prints. Every write reads the
 * Release in the caller's transaction, writes its status with compare-and-swap on the version
 * read (wrap the transaction in `retryOnConflict`) and appends an audit event. Decisions are
 * checked against the deciding user's groups as stored in their User object in that same
 * transaction, so a membership removed a moment ago no longer counts.
 */
import { randomUUID } from 'node:crypto';
import {
  blockingCriteria,
  canGo,
  evaluateCriteria,
  goNoGoCriteria,
  type AnalysisFact,
  type GoNoGoCriterion,
  type GoNoGoView,
  type GoNoGoDecisionRequest,
} from '../../core/governance/go-no-go.js';
import { resolveReleasePipeline } from '../../core/governance/promotion.js';
import {
  applyScopeChange,
  checkScopeChange,
  freezeState,
  integrationPoints,
  scopeSummary,
  type PromotionStage,
  type ReleaseOverview,
  type ReleaseResultRequest,
  type ScopeExceptionDecisionRequest,
  type SignoffRequest,
  type ScopeItem,
} from '../../core/governance/release.js';
import {
  readReleaseStatus,
  type CriterionState,
  type GoNoGoDecision,
  type ReleaseRecordStatus,
  type ReleaseResult,
  type ScopeException,
  type Signoff,
} from '../../core/governance/records.js';
import type { ArtifactSpec } from '../../core/resources/artifact.js';
import { API_VERSION } from '../../core/resources/common.js';
import type { EnvironmentSpec } from '../../core/resources/environment.js';
import type { GoNoGoCriterionSpec } from '../../core/resources/go-no-go.js';
import type { KindName } from '../../core/resources/kinds.js';
import type { PipelineSpec } from '../../core/resources/pipeline.js';
import { releaseSpecSchema, type ReleaseSpec } from '../../core/resources/release.js';
import type { ServiceSpec } from '../../core/resources/service.js';
import type { UserSpec } from '../../core/resources/user.js';
import { readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import { NotFoundError, type StoredObject, type Stores } from '../../ports/store.js';
import { ForbiddenError, InvalidContentError, SeparationOfDutiesError } from '../errors.js';
import { objectDigest, toApiObject } from '../objects/representation.js';
import { createObjectService } from '../objects/service.js';
import { deploymentSelector, listDeployments, newestFirst } from '../rollouts/deployments.js';

type Reader = Pick<Stores, 'objects'>;
type Writer = Pick<Stores, 'objects' | 'audit'>;

/** The group whose members decide scope exceptions and go / no-go. */
export const RELEASE_MANAGERS = 'release-managers';

/** Who is asking: the audit actor and the user whose groups count. */
export interface Requester {
  actor: string;
  user: string;
}

/** A workflow step that cannot apply to the release as it stands (409 with `slug`); never retried. */
export class ReleaseWorkflowError extends Error {
  override readonly name = 'ReleaseWorkflowError';
  constructor(
    message: string,
    readonly slug: string,
  ) {
    super(message);
  }
}

/** `go` asked while required criteria are not met; the route records it, then answers 409 gate-refused. */
export class GoRefusedError extends Error {
  override readonly name = 'GoRefusedError';
  constructor(
    message: string,
    readonly criteria: CriterionState[],
  ) {
    super(message);
  }
}

export interface ReleaseServiceDeps {
  now: () => Date;
  /** Result ids; injected for tests. */
  newId?: () => string;
}

const LIST_PAGE = 1000;

async function listAll(objects: Reader['objects'], kind: KindName): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await objects.list(kind, { limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** A pipeline stage's go / no-go criteria (its `gates[].goNoGo.criteria`; `goNoGo: true` adds none of its own). */
function stageCriteria(stage: PipelineSpec['stages'][number] | undefined): GoNoGoCriterionSpec[] {
  return (stage?.gates ?? []).flatMap((gate) => (typeof gate.goNoGo === 'object' ? gate.goNoGo.criteria : []));
}

export function createReleaseService(deps: ReleaseServiceDeps) {
  const newId = deps.newId ?? randomUUID;
  const objects = createObjectService({ now: deps.now });

  async function getRelease(stores: Reader, name: string): Promise<StoredObject> {
    const release = await stores.objects.get('Release', name);
    if (!release) throw new NotFoundError(`Release "${name}" not found`);
    return release;
  }

  /** The user's groups from their User object (none when there is no such User). */
  async function groupsOf(stores: Reader, user: string): Promise<string[]> {
    const object = await stores.objects.get('User', user);
    return object ? ((object.spec as UserSpec).groups ?? []) : [];
  }

  async function requireGroup(stores: Reader, user: string, group: string, what: string, field?: string): Promise<string[]> {
    const groups = await groupsOf(stores, user);
    if (!groups.includes(group)) {
      const message = `${what} needs membership of group "${group}"; user "${user}" is in ${groups.length > 0 ? groups.map((g) => `"${g}"`).join(', ') : 'no group'}`;
      throw new ForbiddenError(message, field ? [{ path: [field], message: `user "${user}" is not a member of "${group}"` }] : []);
    }
    return groups;
  }

  /** Replaces `patch`'s keys in the status (keeping whatever else is there) with CAS, and appends the audit event. */
  async function writeStatus(
    stores: Writer,
    who: Requester,
    current: StoredObject,
    patch: Partial<ReleaseRecordStatus>,
    action: string,
    details: Record<string, unknown>,
  ): Promise<StoredObject> {
    const updated = await stores.objects.update('Release', current.name, current.version, { status: { ...(current.status ?? {}), ...patch } });
    await stores.audit.append({
      time: deps.now().toISOString(),
      actor: who.actor,
      action,
      kind: 'Release',
      name: current.name,
      beforeDigest: objectDigest(current),
      afterDigest: objectDigest(updated),
      // version: what the SSE change event reports.
      details: { version: updated.version, ...details },
    });
    return updated;
  }

  /** The release's promotion path: the spec's Pipeline, else the one Pipeline listing every component among its services. */
  /** The release's pipeline, chosen as promotion chooses it (resolveReleasePipeline); null when none or ambiguous. */
  async function pipelineOf(stores: Reader, release: StoredObject): Promise<StoredObject | null> {
    const spec = release.spec as ReleaseSpec;
    if (spec.pipeline) return stores.objects.get('Pipeline', spec.pipeline);
    if (spec.components.length === 0) return null;
    const pipelines = await listAll(stores.objects, 'Pipeline');
    const resolution = resolveReleasePipeline({ name: release.name, spec }, pipelines.map((pipeline) => ({ name: pipeline.name, spec: pipeline.spec as PipelineSpec })));
    return resolution.pipeline ? (pipelines.find((pipeline) => pipeline.name === resolution.pipeline.name) ?? null) : null;
  }

  /** The go / no-go environment when none is asked for: the release's goNoGo.environment, else its pipeline's first production stage. */
  async function defaultEnvironment(stores: Reader, spec: ReleaseSpec, pipeline: StoredObject | null): Promise<string | null> {
    if (spec.goNoGo?.environment) return spec.goNoGo.environment;
    if (!pipeline) return null;
    for (const stage of (pipeline.spec as PipelineSpec).stages) {
      const environment = await stores.objects.get('Environment', stage.environment);
      if (environment && (environment.spec as EnvironmentSpec).production) return stage.environment;
    }
    return null;
  }

  /** The latest Deployment of each component with the component's digest, per environment the criteria look at. */
  async function analysisFacts(stores: Reader, spec: ReleaseSpec, criteria: readonly GoNoGoCriterion[]): Promise<Record<string, Record<string, AnalysisFact | null>>> {
    const environments = [...new Set(criteria.flatMap((criterion) => (criterion.analysis ? [criterion.analysis.environment] : [])))];
    const facts: Record<string, Record<string, AnalysisFact | null>> = {};
    for (const environment of environments) {
      const perService: Record<string, AnalysisFact | null> = {};
      for (const component of spec.components) {
        const [latest] = (await listDeployments(stores.objects, deploymentSelector(component.service, environment)))
          .filter((deployment) => (deployment.spec as { artifact?: { digest?: string } }).artifact?.digest === component.digest)
          .sort(newestFirst);
        if (!latest) {
          perService[component.service] = null;
          continue;
        }
        const rollout = readDeploymentStatus(latest.status).rollout;
        const phase = rollout?.phase ?? null;
        const failedRun = (rollout?.analysisRuns ?? []).some((run) => run.phase === 'Failed');
        perService[component.service] = { deployment: latest.name, phase, analysisPassed: phase === 'Healthy' && !failedRun };
      }
      facts[environment] = perService;
    }
    return facts;
  }

  /** Criteria and their states for `release` going into `environment` (which must exist). */
  async function evaluate(stores: Reader, release: StoredObject, environment: string, pipeline: StoredObject | null): Promise<GoNoGoView> {
    if (!(await stores.objects.get('Environment', environment))) throw new NotFoundError(`Environment "${environment}" not found`);
    const spec = release.spec as ReleaseSpec;
    const status = readReleaseStatus(release.status);
    const stage = pipeline ? (pipeline.spec as PipelineSpec).stages.find((candidate) => candidate.environment === environment) : undefined;
    const criteria = goNoGoCriteria(spec, stageCriteria(stage));
    const states = evaluateCriteria(criteria, {
      components: spec.components.map((component) => component.service),
      results: status.results,
      signoffs: status.signoffs,
      analysis: await analysisFacts(stores, spec, criteria),
    });
    return {
      release: release.name,
      environment,
      criteria: states,
      canGo: canGo(states),
      blocking: blockingCriteria(states).map((state) => state.id),
      lastDecision: status.goNoGo.find((decision) => decision.environment === environment) ?? null,
    };
  }

  async function goNoGo(stores: Reader, name: string, environment?: string): Promise<GoNoGoView> {
    const release = await getRelease(stores, name);
    const spec = release.spec as ReleaseSpec;
    const pipeline = await pipelineOf(stores, release);
    const target = environment ?? (await defaultEnvironment(stores, spec, pipeline));
    if (!target) {
      throw new InvalidContentError(`Release "${name}" has no default go/no-go environment`, [
        { path: ['environment'], message: 'give the environment: the release has no goNoGo.environment and no pipeline with a production stage' },
      ]);
    }
    return evaluate(stores, release, target, pipeline);
  }

  return {
    goNoGo,

    /** Records a result (replacing the one with the same name and service); audit `release.result`. */
    async postResult(stores: Writer, who: Requester, name: string, input: ReleaseResultRequest): Promise<{ result: ReleaseResult; release: StoredObject }> {
      const current = await getRelease(stores, name);
      const spec = current.spec as ReleaseSpec;
      const services = spec.components.map((component) => component.service);
      if (input.service !== undefined && !services.includes(input.service)) {
        throw new InvalidContentError(`"${input.service}" is not a component of Release "${name}"`, [
          { path: ['service'], message: `must be a component of the release (${services.length > 0 ? services.join(', ') : 'it has none'})` },
        ]);
      }
      if (input.environment !== undefined && !(await stores.objects.get('Environment', input.environment))) {
        throw new InvalidContentError(`Environment "${input.environment}" does not exist`, [{ path: ['environment'], message: `no Environment "${input.environment}"` }]);
      }
      const result: ReleaseResult = { id: newId(), ...input, postedBy: who.user, at: deps.now().toISOString() };
      const status = readReleaseStatus(current.status);
      const same = (other: ReleaseResult) => other.name === input.name && (other.service ?? null) === (input.service ?? null);
      const replaced = status.results.find(same);
      const results = [...status.results.filter((other) => !same(other)), result];
      const release = await writeStatus(stores, who, current, { results }, 'release.result', {
        result: result.id,
        resultName: result.name,
        type: result.type,
        passed: result.passed,
        service: result.service ?? null,
        replaced: replaced?.id ?? null,
      });
      return { result, release };
    },

    /** A pending request to change a frozen scope; audit `release.exception-requested`. */
    async requestException(
      stores: Writer,
      who: Requester,
      name: string,
      input: { reason: string; add: ScopeItem[]; remove: string[] },
    ): Promise<{ exception: ScopeException; release: StoredObject }> {
      const current = await getRelease(stores, name);
      const spec = current.spec as ReleaseSpec;
      const freeze = freezeState(spec, deps.now());
      if (!freeze.frozen) throw new ReleaseWorkflowError(`Release "${name}" is not frozen (${freeze.message}): edit the release directly`, 'not-frozen');
      const issues = checkScopeChange(spec.scope, input.add, input.remove);
      if (issues.length > 0) throw new InvalidContentError('the scope change does not apply to the release', issues);
      const status = readReleaseStatus(current.status);
      // Short sequential ids: people type them (`rollgate release exception approve REL ex-2`).
      const next = status.scopeExceptions.reduce((max, exception) => Math.max(max, Number(/^ex-(\d+)$/.exec(exception.id)?.[1] ?? 0)), 0) + 1;
      const exception: ScopeException = {
        id: `ex-${next}`,
        requestedBy: who.user,
        requestedAt: deps.now().toISOString(),
        reason: input.reason,
        add: input.add,
        remove: input.remove,
        state: 'pending',
      };
      const release = await writeStatus(stores, who, current, { scopeExceptions: [...status.scopeExceptions, exception] }, 'release.exception-requested', {
        exception: exception.id,
        add: input.add.map((item) => item.title),
        remove: input.remove,
        reason: input.reason,
      });
      return { exception, release };
    },

    /**
     * Approves or rejects a pending exception. The decider must be a release manager and not the
     * requester. Approval applies the scope change to the spec (a normal update with CAS and its
     * own audit event, past the freeze rule since this is the exception) and records the decision.
     */
    async decideException(
      stores: Writer,
      who: Requester,
      name: string,
      id: string,
      input: ScopeExceptionDecisionRequest,
    ): Promise<{ exception: ScopeException; release: StoredObject }> {
      const current = await getRelease(stores, name);
      const status = readReleaseStatus(current.status);
      const exception = status.scopeExceptions.find((candidate) => candidate.id === id);
      if (!exception) throw new NotFoundError(`Release "${name}" has no scope exception "${id}"`);
      await requireGroup(stores, who.user, RELEASE_MANAGERS, 'deciding a scope exception');
      if (exception.requestedBy === who.user) {
        throw new SeparationOfDutiesError(`user "${who.user}" requested scope exception ${id} of Release "${name}" and cannot decide it; another release manager must`);
      }
      if (exception.state !== 'pending') throw new ReleaseWorkflowError(`scope exception ${id} was already ${exception.state} by ${exception.decidedBy ?? 'someone'}`, 'already-decided');

      let release = current;
      if (input.decision === 'approve') {
        const spec = current.spec as ReleaseSpec;
        const add = exception.add as ScopeItem[];
        const issues = checkScopeChange(spec.scope, add, exception.remove);
        if (issues.length > 0) {
          throw new ReleaseWorkflowError(`scope exception ${id} no longer applies to the scope: ${issues.map((issue) => issue.message).join('; ')}`, 'exception-stale');
        }
        const nextSpec = releaseSpecSchema.parse({ ...spec, scope: applyScopeChange(spec.scope, add, exception.remove) });
        release = await objects.update(
          stores,
          who.actor,
          name,
          { apiVersion: API_VERSION, kind: 'Release', metadata: { name, labels: current.labels, annotations: current.annotations, version: current.version }, spec: nextSpec },
          { governanceChecked: true, user: who.user, via: `scope-exception ${id}` },
        );
      }
      const decided: ScopeException = {
        ...exception,
        state: input.decision === 'approve' ? 'approved' : 'rejected',
        decidedBy: who.user,
        decidedAt: deps.now().toISOString(),
        comment: input.comment,
      };
      const scopeExceptions = status.scopeExceptions.map((candidate) => (candidate.id === id ? decided : candidate));
      release = await writeStatus(stores, who, release, { scopeExceptions }, `release.exception-${decided.state}`, {
        exception: id,
        requestedBy: exception.requestedBy,
        add: (exception.add as ScopeItem[]).map((item) => item.title),
        remove: exception.remove,
        comment: input.comment,
      });
      return { exception: decided, release };
    },

    /** The audit event for a decision refused by separation of duties, written in its own transaction by the route. */
    /** A request refused for who asked (not in the group it needs): kept on record although its transaction rolled back. */
    async recordRefusal(stores: Writer, who: Requester, name: string, action: string, details: Record<string, unknown>): Promise<void> {
      await stores.audit.append({ time: deps.now().toISOString(), actor: who.actor, action, kind: 'Release', name, beforeDigest: null, afterDigest: null, details: { user: who.user, ...details } });
    },

    async recordRefusedDecision(stores: Writer, who: Requester, name: string, id: string, reason: string): Promise<void> {
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor: who.actor,
        action: 'release.exception-refused',
        kind: 'Release',
        name,
        beforeDigest: null,
        afterDigest: null,
        details: { exception: id, user: who.user, reason },
      });
    },

    /** A sign-off by a member of `group`, once per user and group; audit `release.signoff`. */
    async signoff(stores: Writer, who: Requester, name: string, input: SignoffRequest): Promise<{ signoff: Signoff; release: StoredObject }> {
      const current = await getRelease(stores, name);
      await requireGroup(stores, who.user, input.group, `signing off for "${input.group}"`, 'group');
      const status = readReleaseStatus(current.status);
      const previous = status.signoffs.find((signoff) => signoff.group === input.group && signoff.user === who.user);
      if (previous) throw new ReleaseWorkflowError(`user "${who.user}" already signed off Release "${name}" for "${input.group}" at ${previous.at}`, 'already-signed');
      const signoff: Signoff = { group: input.group, user: who.user, at: deps.now().toISOString(), comment: input.comment };
      const release = await writeStatus(stores, who, current, { signoffs: [...status.signoffs, signoff] }, 'release.signoff', { group: input.group, comment: input.comment });
      return { signoff, release };
    },

    /**
     * Records a go / no-go decision for one environment, with every criterion's state now.
     * `go` with a required criterion not met throws GoRefusedError (nothing written).
     */
    async decide(stores: Writer, who: Requester, name: string, input: GoNoGoDecisionRequest): Promise<{ decision: GoNoGoDecision; release: StoredObject }> {
      const current = await getRelease(stores, name);
      await requireGroup(stores, who.user, RELEASE_MANAGERS, `a ${input.decision} decision`);
      const view = await evaluate(stores, current, input.environment, await pipelineOf(stores, current));
      if (input.decision === 'go' && !view.canGo) {
        throw new GoRefusedError(`Release "${name}" cannot go to ${input.environment}: ${view.blocking.length} required criteria not met (${view.blocking.join(', ')})`, view.criteria);
      }
      const decision: GoNoGoDecision = {
        decision: input.decision,
        environment: input.environment,
        decidedBy: who.user,
        at: deps.now().toISOString(),
        comment: input.comment,
        criteria: view.criteria,
      };
      const status = readReleaseStatus(current.status);
      const goNoGoList = [...status.goNoGo.filter((other) => other.environment !== input.environment), decision];
      const release = await writeStatus(stores, who, current, { goNoGo: goNoGoList }, `release.${input.decision}`, {
        environment: input.environment,
        comment: input.comment,
        criteria: view.criteria.map((state) => ({ id: state.id, state: state.state, required: state.required })),
      });
      return { decision, release };
    },

    /** The audit event for a refused `go`, written in its own transaction by the route before it answers 409. */
    async recordRefusedGo(stores: Writer, who: Requester, name: string, input: GoNoGoDecisionRequest, criteria: CriterionState[]): Promise<void> {
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor: who.actor,
        action: 'release.go-refused',
        kind: 'Release',
        name,
        beforeDigest: null,
        afterDigest: null,
        details: {
          environment: input.environment,
          comment: input.comment,
          blocking: blockingCriteria(criteria).map((state) => state.id),
          criteria: criteria.map((state) => ({ id: state.id, state: state.state, required: state.required })),
        },
      });
    },

    /** Everything about one release in one answer (see releaseOverviewSchema). */
    async overview(stores: Reader, name: string): Promise<ReleaseOverview> {
      const release = await getRelease(stores, name);
      const spec = release.spec as ReleaseSpec;
      const status = readReleaseStatus(release.status);
      const pipeline = await pipelineOf(stores, release);

      const services = new Map((await listAll(stores.objects, 'Service')).map((service) => [service.name, service.spec as ServiceSpec]));
      const artifacts = (await listAll(stores.objects, 'Artifact')).filter((artifact) =>
        spec.components.some((component) => (artifact.spec as ArtifactSpec).digest === component.digest),
      );
      const components = spec.components.map((component) => {
        const artifact = artifacts.find((candidate) => {
          const artifactSpec = candidate.spec as ArtifactSpec;
          return artifactSpec.digest === component.digest && artifactSpec.service === component.service;
        });
        const artifactSpec = artifact?.spec as ArtifactSpec | undefined;
        return {
          service: component.service,
          version: component.version,
          digest: component.digest,
          businessServices: component.businessServices ?? services.get(component.service)?.businessServices ?? [],
          artifact:
            artifact && artifactSpec
              ? {
                  name: artifact.name,
                  signed: (artifactSpec.signatures ?? []).length > 0,
                  signatures: (artifactSpec.signatures ?? []).length,
                  author: artifactSpec.author ?? null,
                  attestations: (artifactSpec.attestations ?? []).map((attestation) => attestation.type),
                }
              : null,
        };
      });

      const environments: string[] = [];
      const defaultEnv = await defaultEnvironment(stores, spec, pipeline);
      if (defaultEnv) environments.push(defaultEnv);
      for (const decision of status.goNoGo) if (!environments.includes(decision.environment)) environments.push(decision.environment);
      const goNoGoViews: GoNoGoView[] = [];
      for (const environment of environments) {
        // An environment deleted since its decision is still shown through the decision, without criteria.
        if (!(await stores.objects.get('Environment', environment))) {
          const lastDecision = status.goNoGo.find((decision) => decision.environment === environment) ?? null;
          goNoGoViews.push({ release: name, environment, criteria: [], canGo: false, blocking: [], lastDecision });
          continue;
        }
        goNoGoViews.push(await evaluate(stores, release, environment, pipeline));
      }

      const path: PromotionStage[] = [];
      const stageEnvironments = pipeline
        ? (pipeline.spec as PipelineSpec).stages.map((stage) => stage.environment)
        : [...new Set(status.promotions.map((promotion) => promotion.environment))];
      for (const environment of stageEnvironments) {
        const envObject = await stores.objects.get('Environment', environment);
        const promotion = [...status.promotions].reverse().find((candidate) => candidate.environment === environment);
        const deployments: PromotionStage['deployments'] = [];
        for (const deployed of promotion?.deployments ?? []) {
          const object = await stores.objects.get('Deployment', deployed.deployment);
          deployments.push({ ...deployed, phase: object ? (readDeploymentStatus(object.status).rollout?.phase ?? null) : null });
        }
        path.push({
          environment,
          production: envObject ? (envObject.spec as EnvironmentSpec).production === true : false,
          promoted: promotion !== undefined,
          at: promotion?.at ?? null,
          by: promotion?.actor ?? null,
          change: promotion?.change ?? null,
          deployments,
        });
      }

      const changes: ReleaseOverview['changes'] = [];
      for (const promotion of status.promotions) {
        if (!promotion.change || changes.some((change) => change.name === promotion.change)) continue;
        const change = await stores.objects.get('Change', promotion.change);
        const changeStatus = (change?.status ?? {}) as { state?: unknown; risk?: { level?: unknown } | null };
        changes.push({
          name: promotion.change,
          environment: promotion.environment,
          found: change !== null,
          state: typeof changeStatus.state === 'string' ? changeStatus.state : null,
          risk: typeof changeStatus.risk?.level === 'string' ? changeStatus.risk.level : null,
        });
      }

      return {
        release: toApiObject(release) as ReleaseOverview['release'],
        version: spec.version,
        description: spec.description ?? null,
        pipeline: pipeline?.name ?? null,
        scope: scopeSummary(spec.scope),
        components,
        integrationPoints: integrationPoints(
          spec.components,
          [...services].map(([serviceName, serviceSpec]) => ({ name: serviceName, dependsOn: serviceSpec.dependsOn })),
        ),
        freeze: freezeState(spec, deps.now()),
        exceptions: status.scopeExceptions,
        results: status.results,
        signoffs: status.signoffs,
        goNoGo: goNoGoViews,
        promotionPath: path,
        refusals: status.refusals,
        changes,
      };
    },
  };
}

export type ReleaseService = ReturnType<typeof createReleaseService>;
