/**
 * Create, read, update and delete objects of any kind. Writes check references, write an audit
 * event in the caller's transaction, and never touch `status` (owned by the control plane) except
 * to give a new Deployment its initial status. Deployments also get the rules of
 * src/server/rollouts/deployments.ts (server-set labels, one active rollout per service).
 */
import { canonicalJson } from '../../core/audit/chain.js';
import { KINDS, type KindName } from '../../core/resources/kinds.js';
import type { ValidDocument } from '../../core/resources/validate.js';
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import { emptyDeploymentStatus } from '../../core/rollout/deployment-status.js';
import { ConflictError, NotFoundError, type ListQuery, type Page, type StoredObject, type Stores } from '../../ports/store.js';
import { recordObjectChange } from '../audit/record.js';
import { InUseError, InvalidContentError, ManagedKindError } from '../errors.js';
import { assertNoOtherActiveRollout, checkDeploymentLabels, deploymentLabels } from '../rollouts/deployments.js';
import { prepareDeploymentCreate, prepareDeploymentUpdate } from '../promotions/deployment-rules.js';
import { checkReleaseDelete, checkReleaseUpdate } from '../releases/rules.js';
import { generateName } from './names.js';
import { findReferrers, missingReferences } from './references.js';

type Reader = Pick<Stores, 'objects'>;
type Writer = Pick<Stores, 'objects' | 'audit'>;

export interface ObjectServiceDeps {
  now: () => Date;
  /** Name for a record created without one; injected for tests. */
  newName?: (kind: KindName, now: Date) => string;
}

export interface WriteOptions {
  /** Recorded in the audit event, e.g. "apply". */
  via?: string;
  /** The caller already checked references (apply checks a whole batch at once). */
  referencesChecked?: boolean;
  /** On create: the initial status. Deployments only; they default to `emptyDeploymentStatus()`. */
  status?: Record<string, unknown>;
  /** The requesting user, for governance rules (default: the actor without its `token:` / `user:` prefix). */
  user?: string;
  /** Skip the governance rules of src/server/releases/rules.ts (the promotion service ran them already). */
  governanceChecked?: boolean;
}

const userOf = (actor: string, options: WriteOptions): string => options.user ?? actor.replace(/^(token|user):/, '');

/** Labels the server adds from the spec (Deployments); the user's own values are kept so a contradiction is caught. */
const serverLabels = (document: Pick<ValidDocument, 'metadata' | 'spec'> & { kind?: KindName }): Record<string, string> =>
  document.kind === 'Deployment' ? deploymentLabels(document.spec as DeploymentSpec) : {};

/** The user-controlled parts of an object (plus the labels the server derives); apply uses it to decide "unchanged". */
export const desiredState = (document: Pick<ValidDocument, 'metadata' | 'spec'> & { kind?: KindName }) => ({
  labels: { ...serverLabels(document), ...(document.metadata.labels ?? {}) },
  annotations: document.metadata.annotations ?? {},
  spec: document.spec,
});

export const sameDesiredState = (stored: StoredObject, document: Pick<ValidDocument, 'metadata' | 'spec'> & { kind?: KindName }): boolean =>
  canonicalJson({ labels: stored.labels, annotations: stored.annotations, spec: stored.spec }) === canonicalJson(desiredState(document));

/** Refuses a generic write to a kind that has its own workflow API (KindDefinition.managedBy). */
export function assertGenericWrite(kind: KindName, verb: string): void {
  const managedBy = KINDS[kind].managedBy;
  if (managedBy) throw new ManagedKindError(`a ${kind} cannot be ${verb} through the generic objects API or apply: use /api/v1/${managedBy} (rollgate ${kind.toLowerCase()} ...)`);
}

export function createObjectService(deps: ObjectServiceDeps) {
  const newName = deps.newName ?? generateName;

  async function assertReferences(stores: Reader, document: ValidDocument): Promise<void> {
    const missing = await missingReferences(stores.objects, document.kind, document.spec);
    if (missing.length > 0) throw new InvalidContentError(`${document.kind} refers to objects that do not exist`, missing);
  }

  async function get(stores: Reader, kind: KindName, name: string): Promise<StoredObject> {
    const object = await stores.objects.get(kind, name);
    if (!object) throw new NotFoundError(`${kind} "${name}" not found`);
    return object;
  }

  return {
    get,

    list(stores: Reader, kind: KindName, query: ListQuery): Promise<Page<StoredObject>> {
      return stores.objects.list(kind, query);
    },

    /** Records may come without a name; resources always have one (the schema enforces it). */
    async create(stores: Writer, actor: string, input: ValidDocument, options: WriteOptions = {}): Promise<StoredObject> {
      assertGenericWrite(input.kind, 'created');
      const now = deps.now();
      const document =
        input.kind === 'Deployment' && !options.governanceChecked ? await prepareDeploymentCreate(stores, input, { actor, user: userOf(actor, options), now }) : input;
      const name = document.metadata.name ?? newName(document.kind, now);
      const deployment = document.kind === 'Deployment';
      if (options.status !== undefined && !deployment) throw new TypeError(`only a Deployment is created with a status, not a ${document.kind}`);
      if (deployment) checkDeploymentLabels(document);
      if (!options.referencesChecked) await assertReferences(stores, document);
      const status = deployment ? (options.status ?? { ...emptyDeploymentStatus() }) : undefined;
      const created = await stores.objects.create({ kind: document.kind, name, ...desiredState(document), ...(status ? { status } : {}) });
      await recordObjectChange(stores.audit, { time: now, actor, action: 'create', before: null, after: created, via: options.via });
      // After the audit append, which serialises concurrent writers on PostgreSQL (see the function).
      if (deployment) await assertNoOtherActiveRollout(stores.objects, created);
      return created;
    },

    /**
     * Replaces labels, annotations and spec of an existing object (no upsert). With
     * `metadata.version` the write succeeds only against that version.
     */
    async update(stores: Writer, actor: string, name: string, input: ValidDocument, options: WriteOptions = {}): Promise<StoredObject> {
      let document = input;
      if (document.metadata.name !== undefined && document.metadata.name !== name) {
        throw new InvalidContentError('the name in the body differs from the name in the URL', [
          { path: ['metadata', 'name'], message: `must be "${name}" (the name in the URL), or omitted` },
        ]);
      }
      assertGenericWrite(document.kind, 'updated');
      if (document.kind === 'Deployment') checkDeploymentLabels(document);
      const current = await get(stores, document.kind, name);
      // What the promotion gates checked at creation (digest, release, change) cannot change afterwards.
      if (document.kind === 'Deployment' && !options.governanceChecked) document = prepareDeploymentUpdate(current, document);
      const expected = document.metadata.version ?? current.version;
      if (expected !== current.version) throw new ConflictError(`${document.kind} "${name}" is at version ${current.version}, not ${expected}`, current.version);
      if (!options.referencesChecked) await assertReferences(stores, document);
      if (document.kind === 'Release' && !options.governanceChecked) await checkReleaseUpdate(stores, current, document, { actor, user: userOf(actor, options), now: deps.now() });
      const updated = await stores.objects.update(document.kind, name, expected, desiredState(document));
      await recordObjectChange(stores.audit, { time: deps.now(), actor, action: 'update', before: current, after: updated, via: options.via });
      return updated;
    },

    /** Refuses while other objects refer to this one, listing them, so nothing is left dangling. */
    async remove(stores: Writer, actor: string, kind: KindName, name: string, expectedVersion?: number): Promise<StoredObject> {
      assertGenericWrite(kind, 'deleted');
      const current = await get(stores, kind, name);
      if (expectedVersion !== undefined && expectedVersion !== current.version) {
        throw new ConflictError(`${kind} "${name}" is at version ${current.version}, not ${expectedVersion}`, current.version);
      }
      if (kind === 'Release') checkReleaseDelete(current, { actor, user: actor.replace(/^(token|user):/, ''), now: deps.now() });
      const referrers = await findReferrers(stores.objects, kind, name);
      if (referrers.length > 0) {
        const names = referrers.map((r) => `${r.kind} "${r.name}"`);
        throw new InUseError(`${kind} "${name}" is still referred to by ${[...new Set(names)].join(', ')}`, referrers);
      }
      const deleted = await stores.objects.delete(kind, name, current.version);
      if (!deleted) throw new NotFoundError(`${kind} "${name}" not found`);
      await recordObjectChange(stores.audit, { time: deps.now(), actor, action: 'delete', before: deleted, after: null });
      return deleted;
    },

    isRecordKind: (kind: KindName) => KINDS[kind].category === 'record',
  };
}

export type ObjectService = ReturnType<typeof createObjectService>;
