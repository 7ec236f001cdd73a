/**
 * Rules the server applies to every Deployment write, whichever route it comes through (the
 * objects API or apply); the objects service calls them:
 * - labels `rollgate.dev/service` / `rollgate.dev/environment` derived from the spec, so "the
 *   rollouts of service X" is a label query; a user may repeat them but not contradict them;
 * - a new Deployment starts with the empty DeploymentStatus (the engine fills `rollout`);
 * - one active rollout per service and environment.
 */
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import { DEPLOYMENT_LABELS, isFinishedPhase, readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import { ConflictError, type ObjectRepository, type StoredObject } from '../../ports/store.js';
import { InvalidContentError, type DocumentIssue } from '../errors.js';

/** The environment label of a Deployment that names no environment. */
export const DEFAULT_ENVIRONMENT = 'default';

const LIST_PAGE = 1000;

/** The labels the server sets on a Deployment with this spec. */
export function deploymentLabels(spec: Pick<DeploymentSpec, 'service' | 'environment'>): Record<string, string> {
  return { [DEPLOYMENT_LABELS.service]: spec.service, [DEPLOYMENT_LABELS.environment]: spec.environment ?? DEFAULT_ENVIRONMENT };
}

/** The label query for the Deployments of a service (in one environment when given). */
export function deploymentSelector(service: string, environment?: string): Record<string, string> {
  return { [DEPLOYMENT_LABELS.service]: service, ...(environment !== undefined ? { [DEPLOYMENT_LABELS.environment]: environment } : {}) };
}

/** Refuses (422, naming `metadata.labels.<key>`) labels that contradict the ones the server sets. */
export function checkDeploymentLabels(document: { metadata: { labels?: Record<string, string> | undefined }; spec: unknown }): void {
  const wanted = deploymentLabels(document.spec as DeploymentSpec);
  const given = document.metadata.labels ?? {};
  const issues: DocumentIssue[] = Object.entries(wanted).flatMap(([key, value]) =>
    Object.hasOwn(given, key) && given[key] !== value
      ? [{ path: ['metadata', 'labels', key], message: `set by the server to "${value}" (from the spec); omit it or give that value` }]
      : [],
  );
  if (issues.length > 0) throw new InvalidContentError('labels contradict the ones the server sets on a Deployment', issues);
}

/** Every Deployment carrying these labels (all pages). */
export async function listDeployments(objects: Pick<ObjectRepository, 'list'>, labels: Record<string, string>): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await objects.list('Deployment', { labels, limit: LIST_PAGE, ...(cursor ? { cursor } : {}) });
    all.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** Newest first: by creation time, then by name (generated names sort by creation). */
export const newestFirst = (a: StoredObject, b: StoredObject): number =>
  a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : a.name > b.name ? -1 : 0;

/** Not started yet (no rollout status), or started and not finished. */
export function isActiveDeployment(object: StoredObject): boolean {
  const rollout = readDeploymentStatus(object.status).rollout;
  return rollout === null || !isFinishedPhase(rollout.phase);
}

/**
 * Refuses (409) `created` while another Deployment of the same service and environment is active.
 * Call it after the write and its audit event: on PostgreSQL the audit append takes the audit lock,
 * so a concurrent create of the same service commits first and is seen here (READ COMMITTED).
 */
export async function assertNoOtherActiveRollout(objects: Pick<ObjectRepository, 'list'>, created: StoredObject): Promise<void> {
  const spec = created.spec as DeploymentSpec;
  const others = (await listDeployments(objects, deploymentSelector(spec.service, spec.environment ?? DEFAULT_ENVIRONMENT)))
    .filter((object) => object.name !== created.name && isActiveDeployment(object))
    .sort(newestFirst);
  const active = others[0];
  if (!active) return;
  const rollout = readDeploymentStatus(active.status).rollout;
  const state = rollout === null ? 'not started yet' : `phase ${rollout.phase}`;
  const where = `service "${spec.service}" in environment "${spec.environment ?? DEFAULT_ENVIRONMENT}"`;
  throw new ConflictError(
    `${where} already has an active rollout: Deployment "${active.name}" (${(active.spec as DeploymentSpec).version}, ${state}); abort it or wait for it to finish`,
    null,
  );
}
