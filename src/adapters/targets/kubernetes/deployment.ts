/**
 * The pure half of the kubernetes target: the structural subset of an apps/v1 Deployment it reads,
 * which track a version goes to, the image it runs, the server-side apply body, and how a
 * Deployment's status maps to a VersionState. No I/O here (tested in test/targets/kubernetes.test.ts).
 */
import type { EnsureRequest, InstancePhase } from '../../../ports/deploy-target.js';

/** Pod template annotation naming the version a track runs (the truth Rollgate reads back). */
export const VERSION_ANNOTATION = 'rollgate.dev/version';
/** Deployment annotation naming the version the track ran before its current one. */
export const PREVIOUS_ANNOTATION = 'rollgate.dev/previous-version';

export type TrackRole = 'stable' | 'canary';

export interface KubeEnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}

export interface KubeContainer {
  name: string;
  image?: string;
  env?: KubeEnvVar[];
}

export interface KubeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** `metadata.managedFields[]`: who applied which fields (FieldsV1). */
export interface KubeManagedFields {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/** The part of an apps/v1 Deployment the target reads. */
export interface KubeDeployment {
  metadata?: {
    name?: string;
    namespace?: string;
    generation?: number;
    annotations?: Record<string, string>;
    managedFields?: KubeManagedFields[];
  };
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { containers?: KubeContainer[] };
    };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: KubeCondition[];
  };
}

/** One track as read from the API: its Deployment (null: it does not exist). */
export interface Track {
  role: TrackRole;
  name: string;
  deployment: KubeDeployment | null;
}

export const deploymentPath = (namespace: string, name: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`;

/** The stable track's name when the config does not give one: `x-canary` → `x-stable`, else `x-stable` appended. */
export function defaultStableDeployment(canary: string): string {
  return canary.endsWith('-canary') ? `${canary.slice(0, -'-canary'.length)}-stable` : `${canary}-stable`;
}

/** The version the track's pod template runs (its `rollgate.dev/version` annotation); null: none. */
export function versionOf(track: Track): string | null {
  const version = track.deployment?.spec?.template?.metadata?.annotations?.[VERSION_ANNOTATION];
  return typeof version === 'string' && version !== '' ? version : null;
}

/** Desired replicas (`spec.replicas`, 1 when unset as the API server defaults it). */
export function replicasOf(track: Track): number {
  const replicas = track.deployment?.spec?.replicas;
  return typeof replicas === 'number' ? replicas : 1;
}

/** A track that runs something: a Rollgate version at more than 0 replicas. */
export const isBusy = (track: Track) => track.deployment !== null && versionOf(track) !== null && replicasOf(track) > 0;

/**
 * Which track `version` goes to:
 * 1. role `stable` (promotion, a first deploy): the stable track;
 * 2. the track whose pod template already runs `version` (the stable one if both do): a repeat,
 *    a scale-up, a restore;
 * 3. role `canary` or `preview`: the canary track;
 * 4. no role (a restore of a version no track runs): the canary track, unless it runs another
 *    version while the stable track runs none, then the stable track.
 */
export function chooseTrack(version: string, role: EnsureRequest['role'], stable: Track, canary: Track): TrackRole {
  if (role === 'stable') return 'stable';
  if (versionOf(stable) === version) return 'stable';
  if (versionOf(canary) === version) return 'canary';
  if (role === 'canary' || role === 'preview') return 'canary';
  return isBusy(canary) && !isBusy(stable) ? 'stable' : 'canary';
}

/** The container that runs the version: the configured one, else the template's only container. */
export function containerOf(track: Track, configured: string | undefined): { ok: true; container: KubeContainer } | { ok: false; message: string } {
  const containers = track.deployment?.spec?.template?.spec?.containers ?? [];
  const where = `the pod template of Deployment ${track.deployment?.metadata?.namespace ?? '?'}/${track.name}`;
  if (configured !== undefined) {
    const container = containers.find((c) => c.name === configured);
    return container ? { ok: true, container } : { ok: false, message: `${where} has no container "${configured}" (it has ${containers.map((c) => c.name).join(', ') || 'none'})` };
  }
  if (containers.length === 1) return { ok: true, container: containers[0]! };
  return { ok: false, message: `${where} has ${containers.length} containers (${containers.map((c) => c.name).join(', ')}): set the target's \`container\`` };
}

// ------------------------------------------------------------------------------------------ images

const DOMAIN = '(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?/)?';
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
/** An image reference as the distribution grammar has it: `[domain/]path[:tag][@digest]`. */
const IMAGE_REFERENCE = new RegExp(`^${DOMAIN}${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export const isImageReference = (image: string) => image.length <= 4096 && IMAGE_REFERENCE.test(image);

/** `image` without its tag and digest: `reg:5000/a/b:1.0@sha256:…` → `reg:5000/a/b`. */
export function repositoryOf(image: string): string {
  const withoutDigest = image.split('@')[0]!;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

/**
 * The image a version runs: the template with `{version}` replaced (no template: the current
 * image's repository tagged with the version), then `@<digest>` appended when an artifact digest
 * is given and the reference names none yet. Refuses what is not an image reference.
 */
export function renderImage(options: { template?: string; current?: string; version: string; digest?: string }): { ok: true; image: string } | { ok: false; message: string } {
  const { template, current, version, digest } = options;
  if (digest !== undefined && !SHA256_DIGEST.test(digest)) return { ok: false, message: `artifact digest "${digest}" is not "sha256:" and 64 lowercase hex digits` };
  let image: string;
  if (template !== undefined) image = template.replaceAll('{version}', version);
  else if (current) image = `${repositoryOf(current)}:${version}`;
  else return { ok: false, message: 'the container has no image to take the repository from: set the target\'s `image`' };
  if (digest !== undefined && !image.includes('@')) image = `${image}@${digest}`;
  if (!isImageReference(image)) {
    return { ok: false, message: `"${image}" is not a valid image reference (a tag is at most 128 letters, digits, "_", "." or "-", so version "${version}" may not fit in one)` };
  }
  return { ok: true, image };
}

// ------------------------------------------------------------------------------------------ env

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The env entries of a request, in order, or why they cannot go into a Deployment. */
export function envEntries(request: Pick<EnsureRequest, 'env' | 'secrets'>): { ok: true; env: KubeEnvVar[] } | { ok: false; message: string } {
  const env = request.env ?? {};
  const secrets = new Set(request.secrets ?? []);
  const fromSecrets = Object.entries(env)
    .filter(([, value]) => secrets.has(value))
    .map(([name]) => name);
  if (fromSecrets.length > 0) {
    return {
      ok: false,
      message:
        `env ${fromSecrets.join(', ')} ${fromSecrets.length === 1 ? 'comes' : 'come'} from a Rollgate secret, which the kubernetes target does not write into a Deployment ` +
        '(its spec is readable by anyone who may read the Deployment, and kept in etcd and in its ReplicaSets in plain text): ' +
        'use Kubernetes Secrets (valueFrom.secretKeyRef) in the Deployment instead',
    };
  }
  const invalid = Object.keys(env).filter((name) => !ENV_NAME.test(name));
  if (invalid.length > 0) return { ok: false, message: `env ${invalid.map((n) => JSON.stringify(n)).join(', ')}: not a valid environment variable name for Kubernetes` };
  return { ok: true, env: Object.entries(env).map(([name, value]) => ({ name, value })) };
}

/**
 * The names of the container's env entries that field manager `manager` applied (its Apply entry
 * in `metadata.managedFields`, FieldsV1: `f:spec` › `f:template` › `f:spec` › `f:containers` ›
 * `k:{"name":C}` › `f:env` › `k:{"name":N}`).
 */
export function appliedEnvNames(deployment: KubeDeployment, container: string, manager: string): string[] {
  const names: string[] = [];
  for (const entry of deployment.metadata?.managedFields ?? []) {
    if (entry.manager !== manager || entry.operation !== 'Apply' || (entry.subresource ?? '') !== '') continue;
    const containers = dig(entry.fieldsV1, ['f:spec', 'f:template', 'f:spec', 'f:containers']);
    if (!isRecord(containers)) continue;
    for (const [key, fields] of Object.entries(containers)) {
      if (keyName(key) !== container) continue;
      const env = dig(fields, ['f:env']);
      if (!isRecord(env)) continue;
      for (const envKey of Object.keys(env)) {
        const name = keyName(envKey);
        if (name !== null && !names.includes(name)) names.push(name);
      }
    }
  }
  return names;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function dig(value: unknown, path: string[]): unknown {
  let current = value;
  for (const key of path) current = isRecord(current) ? current[key] : undefined;
  return current;
}

/** `k:{"name":"x"}` → `x`; anything else → null. */
function keyName(key: string): string | null {
  if (!key.startsWith('k:')) return null;
  try {
    const parsed = JSON.parse(key.slice(2)) as unknown;
    return isRecord(parsed) && typeof parsed.name === 'string' ? parsed.name : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------------ apply

export interface TrackConfiguration {
  namespace: string;
  name: string;
  container: string;
  version: string;
  image: string;
  replicas: number;
  env: KubeEnvVar[];
  /** The version the track ran before this one; null: none known. */
  previousVersion: string | null;
}

/**
 * Everything Rollgate applies to a track, as one server-side apply configuration: fields it
 * applied before and leaves out here would be removed, so every apply carries all of them.
 */
export function applyConfiguration(c: TrackConfiguration): Record<string, unknown> {
  const container: Record<string, unknown> = { name: c.container, image: c.image };
  if (c.env.length > 0) container.env = c.env;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: c.name,
      namespace: c.namespace,
      ...(c.previousVersion !== null ? { annotations: { [PREVIOUS_ANNOTATION]: c.previousVersion } } : {}),
    },
    spec: {
      replicas: c.replicas,
      template: {
        metadata: { annotations: { [VERSION_ANNOTATION]: c.version } },
        spec: { containers: [container] },
      },
    },
  };
}

// ------------------------------------------------------------------------------------------ status

export interface TrackHealth {
  phase: InstancePhase;
  healthy: boolean;
  message?: string;
}

/**
 * A track's rollout, read as `kubectl rollout status` does: the controller has seen the latest
 * spec (`observedGeneration`), every desired replica runs the new template (`updatedReplicas`), no
 * old one is left (`replicas`), and all are available (`availableReplicas`). A `Progressing`
 * condition with reason `ProgressDeadlineExceeded` is a failure (its message says which ReplicaSet);
 * one with reason `NewReplicaSetAvailable` says the rollout finished, so replicas missing after
 * that make the version `unhealthy` rather than `starting`.
 */
export function trackHealth(track: Track): TrackHealth {
  const deployment = track.deployment;
  const where = `Deployment ${deployment?.metadata?.namespace ?? '?'}/${track.name}`;
  if (!deployment) return { phase: 'failed', healthy: false, message: `${where} does not exist` };
  const desired = replicasOf(track);
  if (desired === 0) return { phase: 'stopped', healthy: false, message: `${where} is scaled to 0` };
  const status = deployment.status ?? {};
  const generation = deployment.metadata?.generation ?? 0;
  if ((status.observedGeneration ?? 0) < generation) {
    return { phase: 'starting', healthy: false, message: `${where}: waiting for the Deployment controller to observe generation ${generation}` };
  }
  const conditions = status.conditions ?? [];
  const progressing = conditions.find((condition) => condition.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { phase: 'failed', healthy: false, message: `${where}: ${progressing.message ?? 'progress deadline exceeded'} (ProgressDeadlineExceeded)` };
  }
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const old = Math.max(0, total - updated);
  if (updated >= desired && old === 0 && available >= desired) return { phase: 'running', healthy: true };
  const failure = conditions.find((condition) => condition.type === 'ReplicaFailure' && condition.status === 'True');
  const failing = failure ? `; ${failure.reason ?? 'ReplicaFailure'}: ${failure.message ?? ''}`.replace(/: $/, '') : '';
  // Rolled out before (the controller says so), and some replicas are not available now.
  if (updated >= desired && old === 0 && progressing?.reason === 'NewReplicaSetAvailable') {
    return { phase: 'unhealthy', healthy: false, message: `${where}: ${available} of ${desired} replicas available${failing}` };
  }
  const oldPart = old > 0 ? `, ${old} old replica${old === 1 ? '' : 's'} still running` : '';
  return { phase: 'starting', healthy: false, message: `${where}: rolling out, ${Math.min(updated, desired)} of ${desired} replicas updated, ${available} available${oldPart}${failing}` };
}
