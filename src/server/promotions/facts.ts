/**
 * Reads what the promotion gates decide on (src/core/governance/promotion.ts): Pipelines,
 * Environments, Releases and Deployments, turned into the core's fact shapes. Shared by the
 * promotion service and the rules for Deployments created directly; reads only, through the
 * stores it is given (inside the caller's transaction when there is one).
 */
import type { DeploymentFact, DeploymentsByEnv, NamedPipeline } from '../../core/governance/promotion.js';
import { readReleaseStatus, type ReleaseRecordStatus } from '../../core/governance/records.js';
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import { environmentSpecSchema, type EnvironmentSpec } from '../../core/resources/environment.js';
import type { KindName } from '../../core/resources/kinds.js';
import { pipelineSpecSchema, type PipelineSpec } from '../../core/resources/pipeline.js';
import { releaseSpecSchema, type ReleaseSpec } from '../../core/resources/release.js';
import { readDeploymentStatus } from '../../core/rollout/deployment-status.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import { deploymentSelector, listDeployments } from '../rollouts/deployments.js';

type Read = Pick<Stores, 'objects'>;

const PAGE = 500;

/** Every object of a kind, following cursors to the last page. */
export async function listAllObjects(read: Read, kind: KindName): Promise<StoredObject[]> {
  const items: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await read.objects.list(kind, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * A stored Pipeline. One written before a schema change that no longer parses keeps its path
 * (stages and services) and loses its gates: the digest rule still holds for it (failing open on
 * the whole path would let anything into production), the gates it named cannot be trusted.
 */
export function readPipeline(object: StoredObject): NamedPipeline | null {
  const parsed = pipelineSpecSchema.safeParse(object.spec);
  if (parsed.success) return { name: object.name, spec: parsed.data };
  const raw = object.spec as { stages?: unknown; services?: unknown };
  if (!Array.isArray(raw.stages)) return null;
  const stages = raw.stages.flatMap((stage: unknown) => {
    const environment = (stage as { environment?: unknown } | null)?.environment;
    return typeof environment === 'string' ? [{ environment, autoPromote: false }] : [];
  });
  if (stages.length === 0) return null;
  const services = Array.isArray(raw.services) ? raw.services.filter((service): service is string => typeof service === 'string') : undefined;
  const spec: PipelineSpec = { stages, ...(services ? { services } : {}) };
  return { name: object.name, spec };
}

export async function loadPipelines(read: Read): Promise<NamedPipeline[]> {
  return (await listAllObjects(read, 'Pipeline')).flatMap((object) => readPipeline(object) ?? []);
}

/**
 * A stored Environment's spec. One that no longer parses keeps its `production` flag and is
 * treated as requiring a change when it is production (the strict reading).
 */
export function readEnvironment(object: StoredObject): EnvironmentSpec {
  const parsed = environmentSpecSchema.safeParse(object.spec);
  if (parsed.success) return parsed.data;
  return { production: object.spec.production === true, dataSensitivity: 'restricted' };
}

export interface LoadedRelease {
  object: StoredObject;
  name: string;
  spec: ReleaseSpec;
  status: ReleaseRecordStatus;
}

/** A stored Release with its spec and status parsed; null when its spec no longer parses. */
export function readRelease(object: StoredObject): LoadedRelease | null {
  const parsed = releaseSpecSchema.safeParse(object.spec);
  if (!parsed.success) return null;
  return { object, name: object.name, spec: parsed.data, status: readReleaseStatus(object.status) };
}

/** Templates with a Successful analysis run in the rollout's current attempt (earlier attempts do not count). */
function passedTemplates(object: StoredObject): string[] {
  const rollout = readDeploymentStatus(object.status).rollout;
  if (!rollout) return [];
  const runs = Array.isArray(rollout.analysisRuns) ? rollout.analysisRuns : [];
  return [...new Set(runs.filter((run) => run.attempt === rollout.attempt && run.phase === 'Successful').flatMap((run) => run.templates))];
}

export function deploymentFact(object: StoredObject): DeploymentFact {
  const spec = object.spec as unknown as DeploymentSpec;
  return {
    name: object.name,
    service: spec.service,
    version: spec.version,
    digest: spec.artifact?.digest ?? null,
    phase: readDeploymentStatus(object.status).rollout?.phase ?? 'Pending',
    createdAt: object.createdAt,
    passedTemplates: passedTemplates(object),
  };
}

/** The Deployments of each service in each environment asked for. */
export async function loadDeploymentsByEnv(read: Read, wanted: ReadonlyArray<{ environment: string; services: readonly string[] }>): Promise<DeploymentsByEnv> {
  const byEnv: Record<string, Record<string, DeploymentFact[]>> = {};
  for (const { environment, services } of wanted) {
    const perService = (byEnv[environment] ??= {});
    for (const service of new Set(services)) {
      if (perService[service]) continue;
      perService[service] = (await listDeployments(read.objects, deploymentSelector(service, environment))).map(deploymentFact);
    }
  }
  return byEnv;
}

/** Authors of the Artifact records of these digests (never allowed to approve the change that deploys them). */
export async function artifactAuthors(read: Read, digests: readonly (string | null)[]): Promise<string[]> {
  const wanted = new Set(digests.filter((digest): digest is string => digest !== null));
  if (wanted.size === 0) return [];
  const authors = new Set<string>();
  for (const artifact of await listAllObjects(read, 'Artifact')) {
    const { digest, author } = artifact.spec as { digest?: unknown; author?: unknown };
    if (typeof digest === 'string' && wanted.has(digest) && typeof author === 'string' && author) authors.add(author);
  }
  return [...authors].sort();
}
