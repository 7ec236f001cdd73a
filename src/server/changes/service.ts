/**
 * Change records: creation (manual and automatic), the state machine, edits that expire approvals,
 * approvals with separation of duties, post-release reviews, the CAB view. The signature of
 * `createAutomatic` is fixed (the releases / promotions feature calls it).
 *
 * Every write goes through `save`, which updates the object with compare-and-swap on the version
 * read in the same transaction and appends the audit event in that transaction; routes wrap each
 * request in `retryOnConflict(() => commit(...))`, so a lost race with the engine re-reads and
 * re-decides instead of overwriting.
 */
import { randomUUID } from 'node:crypto';
import { approvalProgress, invalidateApprovals, requiredApprovalsFor, requiredGroups, type CabEntry } from '../../core/governance/approvals.js';
import { conflictRange, conflictsFor } from '../../core/governance/calendar.js';
import { APPROVAL_MATERIAL_FIELDS, editChange, transition as machineTransition, type ChangeError } from '../../core/governance/change.js';
import {
  changeRecordStatusSchema,
  type ApprovalRecord,
  type ApprovalRequirement,
  type ChangeRecordStatus,
  type RiskRecord,
} from '../../core/governance/records.js';
import { assessRisk, resolveRiskConfig, RISK_LEVELS, SERVICE_TIERS, type RiskConfigInput, type RiskFacts, type ServiceTier } from '../../core/governance/risk.js';
import { occurrences, windowApplies, type Window } from '../../core/governance/windows.js';
import type { ChainedAuditEvent } from '../../core/audit/chain.js';
import { changeSpecSchema, type ChangeEvidence, type ChangeSpec, type ChangeState, type CloseCode } from '../../core/resources/change.js';
import type { EnvironmentSpec } from '../../core/resources/environment.js';
import type { KindName } from '../../core/resources/kinds.js';
import type { ReleaseSpec } from '../../core/resources/release.js';
import type { ServiceSpec } from '../../core/resources/service.js';
import type { UserSpec } from '../../core/resources/user.js';
import { windowSpecSchema } from '../../core/resources/window.js';
import { isFinishedPhase, readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import { NotFoundError, type ObjectRepository, type StoredObject, type Stores } from '../../ports/store.js';
import { loadCalendar } from '../calendar/service.js';
import { ForbiddenError, InvalidContentError, SeparationOfDutiesError, type DocumentIssue } from '../errors.js';
import { missingReferences } from '../objects/references.js';
import { objectDigest } from '../objects/representation.js';
import { deploymentSelector, listDeployments } from '../rollouts/deployments.js';

type Reader = Pick<Stores, 'objects'>;
type Writer = Pick<Stores, 'objects' | 'audit'>;

export interface AutomaticChangeInput {
  /** The user who asked for the promotion / deployment (never allowed to approve it). */
  requestedBy: string;
  /** Audit actor of the request. */
  actor: string;
  environment: string;
  services: string[];
  release?: string;
  /** Names the Deployments this change authorizes will have (generated before they are created). */
  deployments: string[];
  /** Artifact authors (never allowed to approve). */
  authors: string[];
  title: string;
  type?: 'normal' | 'standard' | 'emergency';
  plannedStart?: string;
  plannedEnd?: string;
  justification?: string;
  /** Approvals a pipeline stage adds to the environment's rules. */
  extraApprovals?: Array<{ group: string; count: number; reason: string }>;
  evidence?: ChangeEvidence[];
  /** Risk facts the caller knows better than the change service. */
  scopeItems?: number;
  irreversibleMigration?: boolean;
}

/** A manual change: the spec plus where it goes and the risk facts the spec has no field for. */
export interface ManualChangeInput extends Record<string, unknown> {
  environment?: string;
  release?: string;
  irreversibleMigration?: boolean;
}

export interface TransitionOptions {
  reason?: string | undefined;
  closeCode?: CloseCode | undefined;
  closeNotes?: string | undefined;
}

export interface Decision {
  decision: 'approve' | 'reject';
  comment: string;
}

/** Who is calling (the route's Principal). */
export interface Caller {
  /** The user the token acts for. */
  user: string;
  /** Audit actor. */
  actor: string;
}

/**
 * The change cannot do that in its current state (409). `code` becomes the problem type
 * (`read-only-fields`, `approvals-missing`, `review-required`, ...); `issues` name the fields.
 */
export class ChangeRefusedError extends Error {
  override readonly name = 'ChangeRefusedError';
  constructor(
    message: string,
    readonly code: string,
    readonly issues: DocumentIssue[] = [],
  ) {
    super(message);
  }
}

/** Hours between now and a change's planned end when the caller gives none. */
export const DEFAULT_AUTOMATIC_DURATION_HOURS = 4;
/** How far back the recent change failure rate looks. */
export const FAILURE_RATE_WINDOW_DAYS = 30;
/** Risk model used when present (see RiskModel). */
export const DEFAULT_RISK_MODEL = 'default';

const NAME_PREFIX = 'chg-';
const NAME_PATTERN = /^chg-(\d+)$/;
const LIST_PAGE = 1000;
const DAY_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

/** States in which risk and required approvals are still being decided (recomputed on edits). */
const OPEN_STATES: readonly ChangeState[] = ['New', 'Assess', 'Authorize'];
/** States from which a post-release review can be recorded (something was deployed). */
const REVIEWABLE_STATES: readonly ChangeState[] = ['Implement', 'Review'];

/** `chg-00042` for 42; wider numbers keep all their digits. */
export const changeName = (sequence: number): string => `${NAME_PREFIX}${String(sequence).padStart(5, '0')}`;

async function listAll(objects: Pick<ObjectRepository, 'list'>, kind: KindName): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await objects.list(kind, { limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** The next free sequential name. Two concurrent creates pick the same one; the second fails on the primary key (ConflictError) and is retried. */
async function nextChangeName(objects: Pick<ObjectRepository, 'list'>): Promise<string> {
  let highest = 0;
  for (const change of await listAll(objects, 'Change')) {
    const match = NAME_PATTERN.exec(change.name);
    if (match) highest = Math.max(highest, Number(match[1]));
  }
  return changeName(highest + 1);
}

/** A field path from the core machine's dotted field names (`services.0` → ['services', 0]). */
const fieldPath = (field: string): (string | number)[] => field.split('.').map((part) => (/^\d+$/.test(part) ? Number(part) : part));

/** The core machine's refusal as the error the API reports: 422 for content, 409 for state. */
function machineError(error: ChangeError, prefix: (string | number)[] = []): Error {
  const issues = (message: string): DocumentIssue[] =>
    error.fields.length > 0 ? error.fields.map((field) => ({ path: [...prefix, ...fieldPath(field)], message })) : [];
  switch (error.code) {
    case 'missing-fields':
      return new InvalidContentError(error.message, error.fields.map((field) => ({ path: [...prefix, ...fieldPath(field)], message: 'required' })));
    case 'invalid-fields':
      return new InvalidContentError(error.message, issues(error.message));
    case 'read-only-fields':
      return new ChangeRefusedError(error.message, 'read-only-fields', issues('read-only once the change is authorized'));
    case 'final-state':
    case 'transition-not-allowed':
      return new ChangeRefusedError(error.message, error.code);
    default:
      // invalid-context: a bug in this service (actor or clock), not the caller's mistake.
      return new Error(`change state machine: ${error.message}`);
  }
}

interface LoadedChange {
  object: StoredObject;
  spec: ChangeSpec;
  status: ChangeRecordStatus;
}

/** The spec and status of a stored Change, with the status' defaults filled in. */
function readChange(object: StoredObject): LoadedChange {
  const spec = changeSpecSchema.safeParse(object.spec);
  if (!spec.success) throw new Error(`Change "${object.name}" has an invalid spec: ${spec.error.message}`);
  const status = changeRecordStatusSchema.safeParse(object.status ?? {});
  if (!status.success) throw new Error(`Change "${object.name}" has an unreadable status: ${status.error.message}`);
  return { object, spec: spec.data, status: status.data };
}

async function getChange(objects: Pick<ObjectRepository, 'get'>, name: string): Promise<LoadedChange> {
  const object = await objects.get('Change', name);
  if (!object) throw new NotFoundError(`Change "${name}" not found`);
  return readChange(object);
}

/** Extra approvals kept in the status (not in the shared schema yet), so recomputing requirements keeps them. */
function extraApprovalsOf(object: StoredObject): ApprovalRequirement[] {
  const raw = (object.status ?? {})['extraApprovals'];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item) => {
    const entry = item as Partial<ApprovalRequirement>;
    return typeof entry.group === 'string' && typeof entry.count === 'number' && entry.count >= 1
      ? [{ group: entry.group, count: Math.floor(entry.count), reason: typeof entry.reason === 'string' ? entry.reason : `extra: ${entry.count} from ${entry.group}` }]
      : [];
  });
}

/** Risk inputs that have no spec field: kept as the values of their factors in status.risk. */
function riskInputsOf(risk: RiskRecord | null): { irreversibleMigration: boolean; scopeItems: number } {
  const factor = (name: string) => risk?.factors.find((candidate) => candidate.name === name)?.value;
  const size = factor('changeSize') as { scopeItems?: unknown } | undefined;
  return {
    irreversibleMigration: factor('irreversibleMigration') === true,
    scopeItems: typeof size?.scopeItems === 'number' ? size.scopeItems : 0,
  };
}

const tierRank = (tier: ServiceTier): number => SERVICE_TIERS.indexOf(tier);

export interface ChangeServiceDeps {
  now: () => Date;
  /** Approval ids; injected for tests. */
  newId?: () => string;
}

export function createChangeService(deps: ChangeServiceDeps) {
  const newId = deps.newId ?? randomUUID;

  /** Writes spec and/or status with CAS on `current.version` and appends `action` to the audit log, in the caller's transaction. */
  async function save(
    stores: Writer,
    current: StoredObject,
    changes: { spec?: ChangeSpec; status?: ChangeRecordStatus; extra?: Record<string, unknown> },
    audit: { actor: string; action: string; details?: Record<string, unknown> },
  ): Promise<StoredObject> {
    // Keys of the status this service does not know (written by other features) are kept as they are.
    const status = changes.status ? { ...(current.status ?? {}), ...changes.status, ...(changes.extra ?? {}) } : undefined;
    const updated = await stores.objects.update('Change', current.name, current.version, {
      ...(changes.spec ? { spec: changes.spec as unknown as Record<string, unknown> } : {}),
      ...(status ? { status } : {}),
    });
    await appendEvent(stores, current, updated, audit);
    return updated;
  }

  function appendEvent(
    stores: Pick<Stores, 'audit'>,
    before: StoredObject | null,
    after: StoredObject,
    audit: { actor: string; action: string; details?: Record<string, unknown> },
  ): Promise<ChainedAuditEvent> {
    return stores.audit.append({
      time: deps.now().toISOString(),
      actor: audit.actor,
      action: audit.action,
      kind: 'Change',
      name: after.name,
      beforeDigest: objectDigest(before),
      afterDigest: objectDigest(after),
      // version: what the SSE change event reports.
      details: { version: after.version, ...(audit.details ?? {}) },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Risk and required approvals

  /** Recent change failure rate of `services` in `environment`: failed / finished Deployments in the last 30 days; null without any. */
  async function failureRate(objects: Pick<ObjectRepository, 'list'>, services: string[], environment: string | undefined, exclude: readonly string[]): Promise<number | null> {
    const since = deps.now().getTime() - FAILURE_RATE_WINDOW_DAYS * DAY_MS;
    let finished = 0;
    let failed = 0;
    for (const service of services) {
      for (const deployment of await listDeployments(objects, deploymentSelector(service, environment))) {
        if (exclude.includes(deployment.name)) continue;
        const rollout = readDeploymentStatus(deployment.status).rollout;
        if (!rollout || !isFinishedPhase(rollout.phase)) continue;
        const finishedAt = rollout.finishedAt ?? Date.parse(deployment.updatedAt);
        if (!(finishedAt >= since)) continue;
        finished += 1;
        if (rollout.phase === 'Aborted' || rollout.phase === 'Degraded') failed += 1;
      }
    }
    return finished === 0 ? null : failed / finished;
  }

  /** Whether the planned start falls inside an applicable maintenance window; null when none applies (or no planned start). */
  async function insideMaintenance(objects: Pick<ObjectRepository, 'list'>, spec: ChangeSpec, environment: string | undefined, businessServices: string[]): Promise<boolean | null> {
    if (spec.plannedStart === undefined) return null;
    const start = Date.parse(spec.plannedStart);
    const scope = { ...(environment !== undefined ? { environment } : {}), services: spec.services, businessServices };
    const maintenance = (await listAll(objects, 'Window')).flatMap((object): Window[] => {
      const parsed = windowSpecSchema.safeParse(object.spec);
      return parsed.success && parsed.data.type === 'maintenance' ? [{ name: object.name, spec: parsed.data }] : [];
    }).filter((window) => windowApplies(window, scope));
    if (maintenance.length === 0) return null;
    return maintenance.some((window) => occurrences(window, start, start + 1).some((o) => o.startMs <= start && start < o.endMs));
  }

  interface Assessment {
    risk: RiskRecord;
    requiredApprovals: ApprovalRequirement[];
  }

  /**
   * Risk (from the services, the environment, history, windows and the given facts) and the
   * approvals that level needs in the change's environment.
   */
  async function assess(
    objects: Pick<ObjectRepository, 'get' | 'list'>,
    spec: ChangeSpec,
    where: { environment?: string | undefined; deployments: readonly string[] },
    facts: { irreversibleMigration: boolean; scopeItems: number },
    extra: readonly ApprovalRequirement[],
  ): Promise<Assessment> {
    const now = deps.now();
    const services = (await Promise.all(spec.services.map((name) => objects.get('Service', name)))).flatMap((object) => (object ? [object.spec as ServiceSpec] : []));
    const tiers = services.map((service) => service.tier ?? 'standard');
    // The most critical service decides; `standard` (the Service default) when the change names none.
    const serviceTier = tiers.length > 0 ? tiers.reduce((a, b) => (tierRank(a) <= tierRank(b) ? a : b)) : 'standard';
    const businessServices = [...new Set([...spec.businessServices, ...services.flatMap((service) => service.businessServices ?? [])])];
    const environment = where.environment ? await objects.get('Environment', where.environment) : null;
    const environmentSpec = (environment?.spec ?? null) as EnvironmentSpec | null;

    const riskFacts: RiskFacts = {
      serviceTier,
      customerFacing: businessServices.length > 0,
      environmentSensitivity: environmentSpec?.dataSensitivity ?? 'internal',
      irreversibleMigration: facts.irreversibleMigration,
      changeSize: { components: spec.services.length, scopeItems: facts.scopeItems },
      recentChangeFailureRate: await failureRate(objects, spec.services, where.environment, where.deployments),
      leadTimeHours: spec.plannedStart === undefined ? null : (Date.parse(spec.plannedStart) - now.getTime()) / HOUR_MS,
      insideMaintenanceWindow: await insideMaintenance(objects, spec, where.environment, businessServices),
      emergency: spec.type === 'emergency',
    };
    const model = await objects.get('RiskModel', DEFAULT_RISK_MODEL);
    const { description: _description, ...config } = (model?.spec ?? {}) as RiskConfigInput & { description?: string };
    const assessment = assessRisk(riskFacts, resolveRiskConfig(config));
    const risk: RiskRecord = { ...assessment, factors: assessment.factors.map((factor) => ({ ...factor })), assessedAt: now.toISOString() };
    // A requester may declare a higher risk than the assessment (never a lower one): approvals follow the higher.
    const declared = spec.risk !== undefined && RISK_LEVELS.indexOf(spec.risk) > RISK_LEVELS.indexOf(risk.level) ? spec.risk : risk.level;
    const requiredApprovals = requiredApprovalsFor({
      type: spec.type,
      level: declared,
      environment: environment ? { name: environment.name, approvals: environmentSpec?.approvals } : null,
      extra,
    });
    return { risk, requiredApprovals };
  }

  /** Reassesses an open change (edit, submit); status fields other than risk and requirements are untouched. */
  async function reassess(objects: Pick<ObjectRepository, 'get' | 'list'>, loaded: LoadedChange, spec: ChangeSpec): Promise<Assessment> {
    return assess(
      objects,
      spec,
      { environment: loaded.status.environment, deployments: loaded.status.deployments },
      riskInputsOf(loaded.status.risk),
      extraApprovalsOf(loaded.object),
    );
  }

  // -------------------------------------------------------------------------------------------
  // Transitions

  /**
   * Moves the change to `to` through the core state machine, appends the history entry and the
   * audit event `change.<to>`. Entering Authorize starts a new approval round: decisions of an
   * earlier round (before a rejection or a withdrawal) no longer count.
   */
  async function moveTo(stores: Writer, loaded: LoadedChange, to: ChangeState, actor: string, reason: string | undefined, spec: ChangeSpec = loaded.spec): Promise<LoadedChange> {
    const now = deps.now();
    const from = loaded.status.state;
    const moved = machineTransition(
      { spec, status: { state: from, ...(loaded.status.stateEnteredAt ? { stateEnteredAt: loaded.status.stateEnteredAt } : {}) } },
      to,
      { actor, now: now.getTime(), ...(reason !== undefined ? { reason } : {}) },
    );
    if (!moved.ok) throw machineError(moved.error);
    let approvals = loaded.status.approvals;
    let invalidated = 0;
    if (to === 'Authorize') ({ approvals, invalidated } = invalidateApprovals(approvals, moved.event.at, 'a new authorization round started'));
    const status: ChangeRecordStatus = {
      ...loaded.status,
      state: to,
      stateEnteredAt: moved.event.at,
      approvals,
      history: [...loaded.status.history, { at: moved.event.at, actor, from, to, ...(reason !== undefined ? { reason } : {}) }],
    };
    const object = await save(stores, loaded.object, { ...(spec !== loaded.spec ? { spec } : {}), status }, {
      actor,
      action: `change.${to}`,
      details: { from, to, ...(reason !== undefined ? { reason } : {}), ...(invalidated > 0 ? { approvalsInvalidated: invalidated } : {}) },
    });
    return { object, spec, status };
  }

  /** Tries a transition the service makes by itself; null (nothing written) when the machine refuses it. */
  async function tryMoveTo(stores: Writer, loaded: LoadedChange, to: ChangeState, actor: string, reason: string): Promise<LoadedChange | null> {
    try {
      return await moveTo(stores, loaded, to, actor, reason);
    } catch (error) {
      if (error instanceof InvalidContentError || error instanceof ChangeRefusedError) return null;
      throw error;
    }
  }

  /** Fields approvers must see before they can authorize: the Scheduled requirements, checked on entering Authorize. */
  function assertReadyForAuthorization(spec: ChangeSpec): void {
    const missing: string[] = [
      ...(spec.services.length === 0 ? ['services'] : []),
      ...(['plannedStart', 'plannedEnd'] as const).filter((field) => spec[field] === undefined),
    ];
    if (missing.length > 0) {
      throw new InvalidContentError(`Authorize needs ${missing.join(', ')}: approvers approve a scope and a planned window`, missing.map((field) => ({ path: [field], message: 'required before authorization' })));
    }
  }

  async function assertReferences(objects: Pick<ObjectRepository, 'get'>, spec: ChangeSpec, where: { environment?: string | undefined; release?: string | undefined }): Promise<void> {
    const issues: DocumentIssue[] = (await missingReferences(objects, 'Change', spec)).map((issue) => ({ ...issue, path: issue.path.slice(1) }));
    if (where.environment !== undefined && !(await objects.get('Environment', where.environment))) {
      issues.push({ path: ['environment'], message: `Environment "${where.environment}" does not exist` });
    }
    if (where.release !== undefined && !(await objects.get('Release', where.release))) {
      issues.push({ path: ['release'], message: `Release "${where.release}" does not exist` });
    }
    if (issues.length > 0) throw new InvalidContentError('the change refers to objects that do not exist', issues);
  }

  /** Authors of the Artifacts a release deploys (matched by service and digest); they may not approve. */
  async function releaseAuthors(objects: Pick<ObjectRepository, 'get' | 'list'>, releaseName: string): Promise<string[]> {
    const release = await objects.get('Release', releaseName);
    if (!release) return [];
    const components = ((release.spec as ReleaseSpec).components ?? []).map((component) => `${component.service}@${component.digest}`);
    const artifacts = await listAll(objects, 'Artifact');
    return [
      ...new Set(
        artifacts.flatMap((artifact) => {
          const spec = artifact.spec as { service?: string; digest?: string; author?: string };
          return spec.author && components.includes(`${spec.service}@${spec.digest}`) ? [spec.author] : [];
        }),
      ),
    ];
  }

  /** The business services of these Services, each once. */
  async function businessServicesOf(objects: Pick<ObjectRepository, 'get'>, services: readonly string[]): Promise<string[]> {
    const specs = (await Promise.all(services.map((name) => objects.get('Service', name)))).flatMap((object) => (object ? [object.spec as ServiceSpec] : []));
    return [...new Set(specs.flatMap((service) => service.businessServices ?? []))];
  }

  /** Creates the object in New with its first assessment and writes `change.create`. */
  async function createRecord(stores: Writer, spec: ChangeSpec, status: ChangeRecordStatus, extra: ApprovalRequirement[], actor: string): Promise<LoadedChange> {
    const name = await nextChangeName(stores.objects);
    const object = await stores.objects.create({
      kind: 'Change',
      name,
      spec: spec as unknown as Record<string, unknown>,
      status: { ...status, ...(extra.length > 0 ? { extraApprovals: extra } : {}) },
    });
    await appendEvent(stores, null, object, {
      actor,
      action: 'change.create',
      details: {
        type: spec.type,
        origin: status.origin,
        requestedBy: status.requestedBy,
        ...(status.environment ? { environment: status.environment } : {}),
        ...(status.risk ? { risk: status.risk.level, score: status.risk.score } : {}),
        requiredApprovals: status.requiredApprovals.map((requirement) => `${requirement.count} from ${requirement.group}`),
      },
    });
    return { object, spec, status };
  }

  /** Progress towards the requirements, for messages and decisions. */
  const progressOf = (status: ChangeRecordStatus) => approvalProgress(status.requiredApprovals, status.approvals);

  return {
    /**
     * Creates a change for a production promotion or deployment, computes its risk and required
     * approvals and moves it as far as it can go by itself: to Authorize (waiting for approvals) or
     * Scheduled (nothing to approve). Writes audit events. Not safe to repeat (each call is one
     * change); a concurrent create may take the same name and fail with ConflictError: retry the
     * whole transaction.
     */
    async createAutomatic(stores: Pick<Stores, 'objects' | 'audit'>, input: AutomaticChangeInput): Promise<StoredObject> {
      const now = deps.now();
      const plannedStart = input.plannedStart ?? now.toISOString();
      const plannedEnd = input.plannedEnd ?? new Date(Date.parse(plannedStart) + DEFAULT_AUTOMATIC_DURATION_HOURS * HOUR_MS).toISOString();
      const services = [...new Set(input.services)];
      const deploymentsText = input.deployments.length > 0 ? input.deployments.join(', ') : 'to be created';
      const parsed = changeSpecSchema.safeParse({
        type: input.type ?? 'normal',
        title: input.title,
        services,
        businessServices: await businessServicesOf(stores.objects, services),
        plannedStart,
        plannedEnd,
        implementationPlan: `Progressive rollout by Rollgate (Deployments ${deploymentsText}) following each service's rollout strategy`,
        backoutPlan: 'Rollgate aborts the rollout: traffic returns to the stable version; then deploy the previous version',
        testPlan: 'Canary analysis at every rollout step (the strategy\'s AnalysisTemplates); a failed analysis aborts the rollout by itself',
        justification: input.justification ?? (input.release ? `Release ${input.release} to ${input.environment}` : `Deploy ${services.join(', ')} to ${input.environment}`),
        evidence: input.evidence ?? [],
      });
      if (!parsed.success) throw new InvalidContentError('the automatic change record is invalid', parsed.error.issues.map((issue) => ({ path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'), message: issue.message })));
      const spec = parsed.data;
      await assertReferences(stores.objects, spec, { environment: input.environment, release: input.release });
      const extra = (input.extraApprovals ?? []).map((requirement) => ({ ...requirement }));
      const { risk, requiredApprovals } = await assess(
        stores.objects,
        spec,
        { environment: input.environment, deployments: input.deployments },
        { irreversibleMigration: input.irreversibleMigration === true, scopeItems: input.scopeItems ?? 0 },
        extra,
      );
      const status = changeRecordStatusSchema.parse({
        state: 'New',
        requestedBy: input.requestedBy,
        authors: [...new Set(input.authors)],
        origin: 'automatic',
        environment: input.environment,
        ...(input.release ? { release: input.release } : {}),
        deployments: input.deployments,
        risk,
        requiredApprovals,
      });
      let change = await createRecord(stores, spec, status, extra, input.actor);

      // As far as it goes by itself; a transition the machine refuses stops the walk where it is.
      const walk: ChangeState[] =
        spec.type === 'standard' ? ['Scheduled'] : spec.type === 'emergency' ? ['Authorize'] : requiredApprovals.length === 0 ? ['Assess', 'Authorize', 'Scheduled'] : ['Assess', 'Authorize'];
      for (const to of walk) {
        const reason =
          to === 'Scheduled'
            ? spec.type === 'standard'
              ? 'standard change: pre-approved'
              : 'no approvals required'
            : 'created for a production deployment';
        const next = await tryMoveTo(stores, change, to, input.actor, reason);
        if (!next) break;
        change = next;
      }
      return change.object;
    },

    /** A change created by a person: state New, requested by the caller. */
    async create(stores: Writer, caller: Caller, input: ManualChangeInput): Promise<StoredObject> {
      const { environment, release, irreversibleMigration, ...specInput } = input;
      const parsed = changeSpecSchema.safeParse(specInput);
      if (!parsed.success) {
        throw new InvalidContentError('invalid change', parsed.error.issues.map((issue) => ({ path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'), message: issue.message })));
      }
      await assertReferences(stores.objects, parsed.data, { environment, release });
      // No business services given (empty): those of the services, as for automatic changes (impact, risk, windows).
      const spec =
        parsed.data.businessServices.length > 0
          ? parsed.data
          : { ...parsed.data, businessServices: await businessServicesOf(stores.objects, parsed.data.services) };
      const releaseSpec = release ? ((await stores.objects.get('Release', release))!.spec as ReleaseSpec) : null;
      const { risk, requiredApprovals } = await assess(
        stores.objects,
        spec,
        { environment, deployments: [] },
        { irreversibleMigration: irreversibleMigration === true, scopeItems: releaseSpec?.scope.length ?? 0 },
        [],
      );
      const status = changeRecordStatusSchema.parse({
        state: 'New',
        requestedBy: caller.user,
        authors: release ? await releaseAuthors(stores.objects, release) : [],
        origin: 'manual',
        ...(environment ? { environment } : {}),
        ...(release ? { release } : {}),
        risk,
        requiredApprovals,
      });
      return (await createRecord(stores, spec, status, [], caller.actor)).object;
    },

    /**
     * A person moves the change. Submitting (to Assess / Authorize, or a standard change to
     * Scheduled) reassesses risk and approvals first. Refused: Authorize → Scheduled while approvals
     * are missing, Review → Closed while a required post-release review is not done.
     */
    async transition(stores: Writer, caller: Caller, name: string, to: ChangeState, options: TransitionOptions = {}): Promise<StoredObject> {
      let loaded = await getChange(stores.objects, name);
      const from = loaded.status.state;
      const reason = options.reason?.trim() || undefined;
      let spec = loaded.spec;

      if (to === 'Closed') {
        if (options.closeCode !== undefined) spec = { ...spec, closeCode: options.closeCode };
        if (options.closeNotes !== undefined) spec = { ...spec, closeNotes: options.closeNotes };
        const review = loaded.status.postReleaseReview;
        if (from === 'Review' && review?.required && !review.completedAt) {
          throw new ChangeRefusedError(`change ${name} needs its post-release review before it can close (${review.reason}); record it with POST /api/v1/changes/${name}/review`, 'review-required', [
            { path: ['postReleaseReview'], message: `required: ${review.reason}` },
          ]);
        }
      } else if (options.closeCode !== undefined || options.closeNotes !== undefined) {
        throw new InvalidContentError('closeCode and closeNotes are given only when closing', [
          ...(options.closeCode !== undefined ? [{ path: ['closeCode'], message: `only with to: Closed (not ${to})` }] : []),
          ...(options.closeNotes !== undefined ? [{ path: ['closeNotes'], message: `only with to: Closed (not ${to})` }] : []),
        ]);
      }

      const submitting = OPEN_STATES.includes(from) && (to === 'Assess' || to === 'Authorize' || (to === 'Scheduled' && from !== 'Authorize'));
      if (to === 'Authorize') assertReadyForAuthorization(spec);
      if (submitting) {
        const { risk, requiredApprovals } = await reassess(stores.objects, loaded, spec);
        loaded = { ...loaded, status: { ...loaded.status, risk, requiredApprovals } };
      }
      if (from === 'Authorize' && to === 'Scheduled') {
        const progress = progressOf(loaded.status);
        if (!progress.satisfied) {
          const what = progress.rejected ? [`rejected by ${progress.rejected.user}: ${progress.rejected.comment}`] : progress.missing;
          throw new ChangeRefusedError(`change ${name} cannot be scheduled by hand while approvals are missing: ${what.join('; ')}`, 'approvals-missing', [
            ...progress.requirements.filter((r) => !r.satisfied).map((r) => ({ path: ['approvals', r.group], message: `${r.remaining} more from ${r.group} (${r.reason})` })),
          ]);
        }
      }
      return (await moveTo(stores, loaded, to, caller.actor, reason ?? (to === 'Closed' && spec.closeCode ? `closed: ${spec.closeCode}` : undefined), spec)).object;
    },

    /**
     * A partial spec edit (null clears an optional field). Fields that matter for approval expire
     * every valid decision; risk and required approvals are reassessed while the change is open.
     * A change in Authorize stays there (it now waits for the approvals again).
     */
    async edit(stores: Writer, caller: Caller, name: string, patch: Record<string, unknown>): Promise<StoredObject> {
      const loaded = await getChange(stores.objects, name);
      const corePatch = Object.fromEntries(Object.entries(patch).map(([key, value]) => [key, value === null ? undefined : value])) as Partial<ChangeSpec>;
      const now = deps.now();
      const edited = editChange({ spec: loaded.spec, status: { state: loaded.status.state } }, corePatch, { actor: caller.actor, now: now.getTime() });
      if (!edited.ok) throw machineError(edited.error);
      if (edited.changedFields.length === 0) return loaded.object;
      const spec = edited.change.spec;
      if (edited.changedFields.some((field) => field === 'services')) await assertReferences(stores.objects, spec, {});

      let status = loaded.status;
      let invalidated = 0;
      if (edited.approvalsInvalidated) {
        let approvals: ApprovalRecord[];
        // Name only the fields that expire approvals (an evidence link added in the same edit does not).
        const material = edited.changedFields.filter((field) => (APPROVAL_MATERIAL_FIELDS as readonly string[]).includes(field));
        ({ approvals, invalidated } = invalidateApprovals(status.approvals, now.toISOString(), `change edited: fields ${material.join(', ')}`));
        status = { ...status, approvals };
      }
      if (OPEN_STATES.includes(status.state)) {
        const { risk, requiredApprovals } = await reassess(stores.objects, loaded, spec);
        status = { ...status, risk, requiredApprovals };
      }
      const updated = await save(stores, loaded.object, { spec, status }, {
        actor: caller.actor,
        action: 'change.edit',
        details: { fields: edited.changedFields, approvalsInvalidated: invalidated, state: status.state },
      });
      return updated;
    },

    /**
     * An approver's decision. In Authorize (emergency changes also in Scheduled, approve only: the
     * override approvals for a blackout). Refused: the requester or an artifact author
     * (SeparationOfDutiesError: record the refusal with `recordRefusal` in its own transaction),
     * a user in none of the required groups (ForbiddenError, also to record). One decision per user
     * per approval round: the same approval again changes nothing (`recorded: null`).
     * When every requirement is met the change moves to Scheduled; a rejection sends it back to New.
     */
    async decide(stores: Writer, caller: Caller, name: string, decision: Decision): Promise<{ change: StoredObject; recorded: ApprovalRecord | null; deployments: string[] }> {
      const loaded = await getChange(stores.objects, name);
      const { spec, status } = loaded;
      const comment = decision.comment.trim();
      const emergencyOverride = spec.type === 'emergency' && status.state === 'Scheduled';
      if (status.state !== 'Authorize' && !emergencyOverride) {
        throw new ChangeRefusedError(`change ${name} is ${status.state}; approvals are given while it is in Authorize`, 'not-awaiting-approval', [{ path: ['state'], message: `is ${status.state}` }]);
      }
      if (emergencyOverride && decision.decision === 'reject') {
        throw new ChangeRefusedError(`emergency change ${name} is already Scheduled: it can only get more approvals (for a blackout override); cancel it to stop it`, 'not-awaiting-approval', [
          { path: ['decision'], message: 'only approve while an emergency change is Scheduled' },
        ]);
      }
      if (decision.decision === 'reject' && comment === '') throw new InvalidContentError('a rejection needs a comment saying why', [{ path: ['comment'], message: 'required when rejecting' }]);

      if (caller.user === status.requestedBy) {
        throw new SeparationOfDutiesError(`user "${caller.user}" requested change ${name} and cannot ${decision.decision} it (separation of duties)`);
      }
      if (status.authors.includes(caller.user)) {
        throw new SeparationOfDutiesError(`user "${caller.user}" authored an artifact change ${name} deploys and cannot ${decision.decision} it (separation of duties)`);
      }

      // The User object read in this transaction is authoritative, not groups cached on the principal.
      const user = await stores.objects.get('User', caller.user);
      const groups = ((user?.spec as UserSpec | undefined)?.groups ?? []).slice().sort();
      const required = requiredGroups(status.requiredApprovals);
      if (required.length > 0 && !required.some((group) => groups.includes(group))) {
        throw new ForbiddenError(
          `user "${caller.user}" is in none of the groups change ${name} needs approvals from (${required.join(', ')}); ${groups.length > 0 ? `their groups: ${groups.join(', ')}` : user ? 'they are in no group' : 'there is no User object for them'}`,
          [{ path: ['groups'], message: `needs one of ${required.join(', ')}` }],
        );
      }

      const previous = status.approvals.find((approval) => approval.valid && approval.user === caller.user);
      if (previous) {
        if (previous.decision === decision.decision && decision.decision === 'approve') return { change: loaded.object, recorded: null, deployments: status.deployments };
        throw new ChangeRefusedError(
          `user "${caller.user}" already decided (${previous.decision}) on this version of change ${name}; one decision per user until the change is edited`,
          'already-decided',
          [{ path: ['decision'], message: `already ${previous.decision}d at ${previous.at}` }],
        );
      }

      const at = deps.now().toISOString();
      const record: ApprovalRecord = { id: newId(), user: caller.user, groups, decision: decision.decision, comment, at, valid: true };
      const decided: ChangeRecordStatus = { ...status, approvals: [...status.approvals, record] };
      const object = await save(stores, loaded.object, { status: decided }, {
        actor: caller.actor,
        action: `change.${decision.decision}`,
        details: { approvalId: record.id, user: caller.user, groups, comment, state: status.state },
      });
      let change: LoadedChange = { object, spec, status: decided };

      if (decision.decision === 'reject') {
        change = await moveTo(stores, change, 'New', caller.actor, `rejected by ${caller.user}: ${comment}`);
      } else if (status.state === 'Authorize') {
        const progress = progressOf(decided);
        if (progress.satisfied) {
          const who = progress.requirements.map((r) => `${r.group} ${r.approvers.length}/${r.count}`).join(', ');
          change = (await tryMoveTo(stores, change, 'Scheduled', caller.actor, `approvals complete${who ? ` (${who})` : ''}`)) ?? change;
        }
      }
      return { change: change.object, recorded: record, deployments: status.deployments };
    },

    /** Audits a refused decision (`change.approval-refused`); the route calls it in its own transaction, so the refusal survives the rollback. */
    async recordRefusal(stores: Writer, caller: Caller, name: string, decision: Decision['decision'], reason: 'separation-of-duties' | 'not-in-required-group', message: string): Promise<void> {
      const current = await stores.objects.get('Change', name);
      if (!current) return;
      await stores.audit.append({
        time: deps.now().toISOString(),
        actor: caller.actor,
        action: 'change.approval-refused',
        kind: 'Change',
        name,
        beforeDigest: objectDigest(current),
        afterDigest: objectDigest(current),
        details: { version: current.version, user: caller.user, decision, reason, message },
      });
    },

    /** Records the post-release review (required after an emergency override; otherwise voluntary). */
    async completeReview(stores: Writer, caller: Caller, name: string, notes: string): Promise<StoredObject> {
      const loaded = await getChange(stores.objects, name);
      const { status } = loaded;
      if (!REVIEWABLE_STATES.includes(status.state)) {
        throw new ChangeRefusedError(`change ${name} is ${status.state}; a post-release review is recorded in Implement or Review`, 'not-reviewable', [{ path: ['state'], message: `is ${status.state}` }]);
      }
      const existing = status.postReleaseReview;
      if (existing?.completedAt) {
        throw new ChangeRefusedError(`the post-release review of change ${name} was completed by ${existing.completedBy ?? 'someone'} at ${existing.completedAt}`, 'review-completed', [
          { path: ['postReleaseReview'], message: 'already completed' },
        ]);
      }
      const at = deps.now().toISOString();
      const postReleaseReview = {
        ...(existing ?? { required: false, reason: 'recorded without being required', createdAt: at }),
        completedAt: at,
        completedBy: caller.user,
        notes,
      };
      return save(stores, loaded.object, { status: { ...status, postReleaseReview } }, {
        actor: caller.actor,
        action: 'change.review',
        details: { required: postReleaseReview.required, notes },
      });
    },

    /**
     * The CAB view: changes in Authorize whose approvals are not complete, soonest planned start
     * first, with risk, what each group still has to give, the requester, the services and evidence
     * and the calendar conflicts.
     */
    async cab(stores: Reader): Promise<CabEntry[]> {
      const waiting = (await listAll(stores.objects, 'Change')).flatMap((object) => {
        const parsed = changeRecordStatusSchema.safeParse(object.status ?? {});
        const spec = changeSpecSchema.safeParse(object.spec);
        if (!parsed.success || !spec.success || parsed.data.state !== 'Authorize') return [];
        const progress = approvalProgress(parsed.data.requiredApprovals, parsed.data.approvals);
        return progress.satisfied ? [] : [{ name: object.name, spec: spec.data, status: parsed.data, progress }];
      });
      // One calendar over every waiting change's interval (each widened to whole UTC days, as
      // conflictRange does for one change), so each change's conflicts are complete.
      const ranges = waiting.flatMap(({ spec }) => {
        const start = spec.plannedStart === undefined ? NaN : Date.parse(spec.plannedStart);
        const end = spec.plannedEnd === undefined ? NaN : Date.parse(spec.plannedEnd);
        return Number.isFinite(start) && Number.isFinite(end) ? [conflictRange(start, end)] : [];
      });
      const calendar =
        ranges.length > 0
          ? await loadCalendar(stores, { fromMs: Math.min(...ranges.map((r) => r.fromMs)), toMs: Math.max(...ranges.map((r) => r.toMs)) })
          : { conflicts: [] };
      const entries: CabEntry[] = waiting.map(({ name, spec, status, progress }) => ({
        name,
        title: spec.title,
        type: spec.type,
        state: status.state,
        environment: status.environment ?? null,
        release: status.release ?? null,
        requestedBy: status.requestedBy,
        authors: status.authors,
        services: spec.services,
        businessServices: spec.businessServices,
        evidence: spec.evidence,
        plannedStart: spec.plannedStart ?? null,
        plannedEnd: spec.plannedEnd ?? null,
        risk: status.risk,
        requirements: progress.requirements,
        rejected: progress.rejected,
        conflicts: conflictsFor(name, calendar).map((conflict) => ({ ...conflict })),
      }));
      return entries.sort((a, b) => (a.plannedStart ?? '\uffff').localeCompare(b.plannedStart ?? '\uffff') || a.name.localeCompare(b.name));
    },

    /** The change's audit trail: its own events and the rollout events of the Deployments it authorizes, by seq. */
    async audit(stores: Pick<Stores, 'objects' | 'audit'>, name: string): Promise<ChainedAuditEvent[]> {
      const { status } = await getChange(stores.objects, name);
      const all = async (kind: string, subject: string): Promise<ChainedAuditEvent[]> => {
        const events: ChainedAuditEvent[] = [];
        for (;;) {
          const page = await stores.audit.list({ kind, name: subject, limit: LIST_PAGE, ...(events.length > 0 ? { afterSeq: events.at(-1)!.seq } : {}) });
          events.push(...page);
          if (page.length < LIST_PAGE) return events;
        }
      };
      const lists = await Promise.all([all('Change', name), ...status.deployments.map((deployment) => all('Deployment', deployment))]);
      return lists.flat().sort((a, b) => a.seq - b.seq);
    },
  };
}

export type ChangeService = ReturnType<typeof createChangeService>;
