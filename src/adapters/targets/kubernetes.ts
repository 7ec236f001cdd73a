/**
 * DeployTarget over two existing Kubernetes Deployments, one per *track* (Argo Rollouts' canary
 * track, Flagger's primary + canary): a new version runs on the canary track first; at promotion
 * the engine ensures it with role `stable`, and the stable track is rolled to the same, already
 * verified image before the router sends the stable share to it; the old version's retirement
 * then scales the canary track to 0. Decision record: docs/adr/0006-kubernetes-target.md.
 *
 * Which track (see chooseTrack in ./kubernetes/deployment.ts): role `stable` → the stable track;
 * else the track whose pod template runs the version (annotation `rollgate.dev/version`); else the
 * canary track (a role-less ensure takes the stable track when only it is free).
 *
 * What Rollgate changes, by server-side apply (`PATCH …/deployments/NAME?fieldManager=rollgate&force=true`,
 * `application/apply-patch+yaml`): `spec.replicas`; the version's container's `image` and its `env`
 * entries that came from Rollgate; the pod template annotation `rollgate.dev/version`; the
 * Deployment annotation `rollgate.dev/previous-version`. Every apply carries all of them (fields a
 * manager stops applying are removed). Everything else — selector, labels, ports, probes,
 * resources, other containers and env entries, the Services — stays as its owner applied it.
 * Deployments are never created or deleted: retire scales a track to 0.
 *
 * Secrets: an env value that came from a Rollgate secret is refused (the version fails with a
 * message naming the variable) — a Deployment's spec is no place for a secret value; use
 * Kubernetes Secrets (`valueFrom.secretKeyRef`) in the Deployment.
 *
 * close() leaves the cluster as it is: the Deployments are the cluster's, not this process's.
 */
import type { DeployTarget, EnsureRequest, TargetCapabilities, VersionState } from '../../ports/deploy-target.js';
import { APPLY_CONTENT_TYPE, FIELD_MANAGER, KubeApiError, type KubeClient } from '../kubernetes/client.js';
import {
  PREVIOUS_ANNOTATION,
  appliedEnvNames,
  applyConfiguration,
  chooseTrack,
  containerOf,
  deploymentPath,
  envEntries,
  isBusy,
  renderImage,
  trackHealth,
  versionOf,
  type KubeDeployment,
  type KubeEnvVar,
  type Track,
  type TrackRole,
} from './kubernetes/deployment.js';

export { defaultStableDeployment, VERSION_ANNOTATION, PREVIOUS_ANNOTATION, type KubeDeployment } from './kubernetes/deployment.js';

export interface KubernetesTargetConfig {
  /** Rollgate Service name (messages only). */
  service: string;
  /** Namespace of both Deployments. */
  namespace: string;
  /** The canary track's Deployment. */
  deployment: string;
  /** The stable track's Deployment. */
  stableDeployment: string;
  /** The container that runs the version; default: the pod template's only container. */
  container?: string;
  /** Image template with `{version}`; default: the container's current image, tagged with the version. */
  image?: string;
  /** Pods per track while it serves, instead of the count the engine asks for. */
  replicas?: number;
  /** The cluster's API (see kubeClientFromKubeConfig). */
  client: KubeClient;
  /** How long ensure waits for a track to roll out (ms, default 60000). */
  timeoutMs?: number;
  /** How often it reads the Deployment meanwhile (ms, default 1000). */
  pollMs?: number;
  /**
   * The Services in front of the tracks (what the Gateway API router's backends name): each
   * version's endpoint is then its track's Service, `NAME.NAMESPACE.svc:PORT`; without them, none.
   */
  services?: { stable: string; canary: string; port: number; namespace?: string };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function freezeConfig(config: KubernetesTargetConfig): Readonly<KubernetesTargetConfig> {
  const fail = (what: string): never => {
    throw new TypeError(`KubernetesTarget: ${what}`);
  };
  if (typeof config?.service !== 'string' || config.service === '') fail('service must be a non-empty string');
  const label = (value: unknown) => typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value);
  const subdomain = (value: unknown) => typeof value === 'string' && value.length <= 253 && DNS_SUBDOMAIN.test(value);
  if (!label(config.namespace)) fail(`namespace "${config.namespace}" is not a valid namespace name`);
  for (const key of ['deployment', 'stableDeployment'] as const) {
    if (!subdomain(config[key])) fail(`${key} "${config[key]}" is not a valid Deployment name`);
  }
  if (config.deployment === config.stableDeployment) fail('deployment (the canary track) and stableDeployment must be different Deployments');
  if (config.container !== undefined && !label(config.container)) fail(`container "${config.container}" is not a valid container name`);
  if (config.image !== undefined && (typeof config.image !== 'string' || !config.image.includes('{version}') || /\s/.test(config.image))) {
    fail(`image "${config.image}" must be an image reference containing {version}`);
  }
  if (config.replicas !== undefined && (!Number.isInteger(config.replicas) || config.replicas < 1)) fail('replicas must be an integer >= 1');
  for (const key of ['timeoutMs', 'pollMs'] as const) {
    const value = config[key];
    if (value !== undefined && (!Number.isFinite(value) || value <= 0)) fail(`${key} must be a positive number of milliseconds`);
  }
  if (typeof config.client?.get !== 'function' || typeof config.client.patch !== 'function') fail('client must be a KubeClient');
  const services = config.services;
  if (services !== undefined) {
    if (!subdomain(services.stable) || !subdomain(services.canary)) fail('services.stable and services.canary must be Service names');
    if (!Number.isInteger(services.port) || services.port < 1 || services.port > 65535) fail('services.port must be an integer in 1..65535');
    if (services.namespace !== undefined && !label(services.namespace)) fail(`services.namespace "${services.namespace}" is not a valid namespace name`);
  }
  return Object.freeze({ ...config, ...(services ? { services: Object.freeze({ ...services }) } : {}) });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KubernetesTarget implements DeployTarget {
  readonly capabilities: TargetCapabilities = Object.freeze({ replicas: true, logs: false });
  readonly config: Readonly<KubernetesTargetConfig>;
  /** Versions refused before anything was applied (secrets, no such Deployment, a bad image): reported failed until retired or ensured again. */
  private readonly refused = new Map<string, VersionState>();
  /** Reading the tracks, choosing one and applying to it happen one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(config: KubernetesTargetConfig) {
    this.config = freezeConfig(config);
  }

  private get timeoutMs(): number {
    return this.config.timeoutMs ?? 60_000;
  }

  private nameOf(role: TrackRole): string {
    return role === 'stable' ? this.config.stableDeployment : this.config.deployment;
  }

  /**
   * Applies the version to its track and waits (up to `timeoutMs`) until the track has rolled out
   * or failed. A promotion — role `stable` for the version the canary track runs — that does not
   * finish in time rejects instead of returning: the engine must not move the route to a stable
   * track that is not ready (its pass is retried, and the rollout waits, see the ADR).
   */
  async ensure(request: EnsureRequest): Promise<VersionState> {
    const { version } = request;
    if (typeof version !== 'string' || version === '') throw new TypeError('ensure: version is required');
    if (!Number.isInteger(request.replicas) || request.replicas < 1) throw new RangeError('ensure: replicas must be an integer >= 1');
    this.assertOpen();
    const env = envEntries(request);
    if (!env.ok) return this.refuse(version, env.message);

    const applied = await this.exclusive(async (): Promise<{ refused: string } | { refused?: undefined; role: TrackRole; promotion: boolean; deployment: KubeDeployment }> => {
      this.assertOpen();
      const tracks = await this.readTracks();
      const role = chooseTrack(version, request.role, tracks.stable, tracks.canary);
      const track = tracks[role];
      const other = tracks[role === 'stable' ? 'canary' : 'stable'];
      if (track.deployment === null) {
        return { refused: `Deployment ${this.config.namespace}/${track.name} (the ${role} track) does not exist: Rollgate changes existing Deployments only` };
      }
      const container = containerOf(track, this.config.container);
      if (!container.ok) return { refused: container.message };
      const image = this.imageFor(version, request.artifactDigest, track, other, container.container.name);
      if (!image.ok) return { refused: image.message };
      const current = versionOf(track);
      const configuration = applyConfiguration({
        namespace: this.config.namespace,
        name: track.name,
        container: container.container.name,
        version,
        image: image.image,
        replicas: this.config.replicas ?? request.replicas,
        env: env.env,
        previousVersion: current !== null && current !== version ? current : previousOf(track),
      });
      const result = await this.apply(track.name, configuration);
      this.refused.delete(version);
      return { role, promotion: role === 'stable' && versionOf(tracks.canary) === version, deployment: result };
    });
    if (applied.refused !== undefined) return this.refuse(version, applied.refused);

    const state = await this.waitForRollout(applied.role, version, { role: applied.role, name: this.nameOf(applied.role), deployment: applied.deployment });
    if (applied.promotion && !state.healthy) {
      throw new Error(
        `promotion of ${this.config.service} ${version}: the stable track (Deployment ${this.config.namespace}/${this.config.stableDeployment}) ` +
          `${state.phase === 'failed' ? 'failed to roll out' : `has not rolled out within ${this.timeoutMs < 1000 ? `${this.timeoutMs} ms` : `${Math.round(this.timeoutMs / 1000)} s`}`}` +
          `${state.message ? ` (${state.message})` : ''}; the route keeps sending the stable share to the previous pods until it is ready`,
      );
    }
    return state;
  }

  async observe(): Promise<VersionState[]> {
    const tracks = await this.readTracks();
    const states: VersionState[] = [];
    // The stable track first: a version on both tracks (just promoted) is reported as the stable track sees it.
    for (const track of [tracks.stable, tracks.canary]) {
      const version = versionOf(track);
      if (version === null || !isBusy(track) || states.some((state) => state.version === version)) continue;
      states.push(this.stateOf(track, version));
    }
    for (const [version, state] of this.refused) {
      if (!states.some((s) => s.version === version)) states.push({ ...state, endpoints: [] });
    }
    return states;
  }

  /**
   * Scales to 0 the track that runs `version`: the canary track when it does; the stable track
   * when only it does. When no track runs it but it is the version the stable track replaced
   * (`rollgate.dev/previous-version`: the engine retires the old stable after a promotion), the
   * canary track, which served the promoted version until the route moved, goes to 0.
   */
  async retire(version: string): Promise<void> {
    this.assertOpen();
    this.refused.delete(version);
    await this.exclusive(async () => {
      const { stable, canary } = await this.readTracks();
      const scale: Track[] = [];
      if (versionOf(canary) === version) {
        if (isBusy(canary)) scale.push(canary);
      } else if (versionOf(stable) === version) {
        if (isBusy(stable)) scale.push(stable);
      } else if (previousOf(stable) === version && isBusy(canary) && versionOf(canary) === versionOf(stable)) {
        scale.push(canary);
      }
      for (const track of scale) await this.scaleToZero(track);
    });
  }

  /** Pod logs are the cluster's (`kubectl logs deployment/NAME`): none here. */
  async logs(_version: string, _lines: number): Promise<string[] | null> {
    return null;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  // ---------------------------------------------------------------- internals

  private imageFor(version: string, digest: string | undefined, track: Track, other: Track, container: string): ReturnType<typeof renderImage> {
    // The image a track already runs this version with: kept (a restore passes no digest and must
    // not roll the pods), and copied at promotion (the stable track gets exactly what was verified).
    for (const candidate of [track, other]) {
      if (versionOf(candidate) !== version) continue;
      const found = containerOf(candidate, this.config.container);
      const image = found.ok ? found.container.image : undefined;
      if (image && (digest === undefined || image.endsWith(`@${digest}`))) return { ok: true, image };
    }
    const current = track.deployment?.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image;
    return renderImage({ ...(this.config.image !== undefined ? { template: this.config.image } : {}), ...(current ? { current } : {}), version, ...(digest !== undefined ? { digest } : {}) });
  }

  private async scaleToZero(track: Track): Promise<void> {
    const container = containerOf(track, this.config.container);
    if (!container.ok) throw new Error(`retire: ${container.message}`);
    const names = appliedEnvNames(track.deployment!, container.container.name, FIELD_MANAGER);
    const env: KubeEnvVar[] = (container.container.env ?? []).filter((entry) => names.includes(entry.name));
    await this.apply(
      track.name,
      applyConfiguration({
        namespace: this.config.namespace,
        name: track.name,
        container: container.container.name,
        version: versionOf(track)!,
        image: container.container.image ?? '',
        replicas: 0,
        env,
        previousVersion: previousOf(track),
      }),
    );
  }

  private async apply(name: string, configuration: Record<string, unknown>): Promise<KubeDeployment> {
    const path = `${deploymentPath(this.config.namespace, name)}?fieldManager=${FIELD_MANAGER}&force=true`;
    return (await this.config.client.patch(path, JSON.stringify(configuration), APPLY_CONTENT_TYPE)) as KubeDeployment;
  }

  private async readTrack(role: TrackRole): Promise<Track> {
    const name = this.nameOf(role);
    try {
      return { role, name, deployment: (await this.config.client.get(deploymentPath(this.config.namespace, name))) as KubeDeployment };
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return { role, name, deployment: null };
      throw error;
    }
  }

  private async readTracks(): Promise<Record<TrackRole, Track>> {
    const [stable, canary] = await Promise.all([this.readTrack('stable'), this.readTrack('canary')]);
    return { stable, canary };
  }

  /** Reads the track until it has rolled out `version`, failed, or the timeout passed. */
  private async waitForRollout(role: TrackRole, version: string, first: Track): Promise<VersionState> {
    const deadline = Date.now() + this.timeoutMs;
    let track = first;
    for (;;) {
      const running = versionOf(track);
      if (running !== version) {
        return { version, phase: 'stopped', endpoints: [], healthy: false, restarts: 0, message: `Deployment ${this.config.namespace}/${track.name} now runs ${running ?? 'no Rollgate version'}` };
      }
      const state = this.stateOf(track, version);
      if (state.healthy || state.phase === 'failed' || this.closed || Date.now() >= deadline) return state;
      await sleep(Math.min(this.config.pollMs ?? 1000, Math.max(1, deadline - Date.now())));
      track = await this.readTrack(role);
    }
  }

  private stateOf(track: Track, version: string): VersionState {
    const health = trackHealth(track);
    const state: VersionState = { version, phase: health.phase, endpoints: this.endpointsOf(track.role), healthy: health.healthy, restarts: 0 };
    if (health.message !== undefined) state.message = health.message;
    return state;
  }

  private endpointsOf(role: TrackRole): string[] {
    const services = this.config.services;
    if (!services) return [];
    return [`${role === 'stable' ? services.stable : services.canary}.${services.namespace ?? this.config.namespace}.svc:${services.port}`];
  }

  private refuse(version: string, message: string): VersionState {
    const state: VersionState = { version, phase: 'failed', endpoints: [], healthy: false, restarts: 0, message: `${this.config.service} ${version}: ${message}` };
    this.refused.set(version, state);
    return { ...state };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`KubernetesTarget for ${this.config.namespace}/${this.config.deployment} is closed`);
  }
}

function previousOf(track: Track): string | null {
  const previous = track.deployment?.metadata?.annotations?.[PREVIOUS_ANNOTATION];
  return typeof previous === 'string' && previous !== '' ? previous : null;
}
