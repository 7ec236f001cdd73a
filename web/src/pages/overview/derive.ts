/**
 * The overview's rows, derived from what the API returns (pure, so it is tested without a DOM):
 * one row per service × environment, where a service's environments are those of the Pipelines
 * listing it plus those it has Deployments in; a service with neither gets one row per
 * Environment (or one with no environment when none exist).
 *
 * For each row the newest Deployment (creation time, then name: as the server orders them) says:
 * - phase: its rollout's phase, `Pending` before the engine's first pass (as `rollgate get
 *   deployments` shows), `Failed` when it could not start; `Not deployed` without a Deployment;
 * - running: the rollout's stable version; before a first pass, the previous Deployment's;
 * - rolling out: the new version while the rollout is not finished (Pending, Progressing, Paused).
 */
import type { ApiObject } from '../../../../src/client/index.js';

export const PHASES = ['Pending', 'Progressing', 'Paused', 'Healthy', 'Aborted', 'Degraded', 'Failed', 'Not deployed'] as const;
export type OverviewPhase = (typeof PHASES)[number];

const ACTIVE: ReadonlySet<OverviewPhase> = new Set(['Pending', 'Progressing', 'Paused']);

export interface OverviewRow {
  /** `service/environment`: stable across reloads (React keys). */
  key: string;
  service: string;
  /** null: the service has no environment at all. */
  environment: string | null;
  running: string | null;
  rollingOut: string | null;
  phase: OverviewPhase;
  /** The new version's share of traffic, 0..100; null without a rollout. */
  canaryWeight: number | null;
  /** The newest Deployment's name (the rollout page's address); null when not deployed. */
  deployment: string | null;
  /** The rollout's own one-line explanation. */
  message: string | null;
  /** When the newest Deployment last changed (ISO time). */
  updatedAt: string | null;
}

interface RolloutLike {
  phase?: string;
  stableVersion?: string | null;
  canaryVersion?: string;
  canaryWeight?: number;
  message?: string;
}

const rolloutOf = (deployment: ApiObject): RolloutLike | null => ((deployment.status?.rollout ?? null) as RolloutLike | null);
const str = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export function phaseOf(deployment: ApiObject): OverviewPhase {
  const phase = rolloutOf(deployment)?.phase;
  if (phase && (PHASES as readonly string[]).includes(phase)) return phase as OverviewPhase;
  return deployment.status?.failure ? 'Failed' : 'Pending';
}

/** The server's newest-first order. */
const newestFirst = (a: ApiObject, b: ApiObject): number =>
  a.metadata.createdAt < b.metadata.createdAt ? 1 : a.metadata.createdAt > b.metadata.createdAt ? -1 : a.metadata.name < b.metadata.name ? 1 : a.metadata.name > b.metadata.name ? -1 : 0;

/** Environment order: as promotion paths list them (dev before prod), then by name. */
function environmentOrder(environments: readonly ApiObject[], pipelines: readonly ApiObject[]): (name: string) => number {
  const order = new Map<string, number>();
  for (const pipeline of pipelines) {
    const stages = (pipeline.spec.stages ?? []) as Array<{ environment?: string }>;
    stages.forEach((stage, index) => {
      if (stage.environment && (order.get(stage.environment) ?? Infinity) > index) order.set(stage.environment, index);
    });
  }
  const names = environments.map((environment) => environment.metadata.name).sort();
  return (name) => (order.get(name) ?? 1000) * 100_000 + (names.indexOf(name) === -1 ? 99_999 : names.indexOf(name));
}

export function deriveOverview(services: readonly ApiObject[], environments: readonly ApiObject[], pipelines: readonly ApiObject[], deployments: readonly ApiObject[]): OverviewRow[] {
  const byPair = new Map<string, ApiObject[]>();
  const envsOf = new Map<string, Set<string>>();
  const addEnv = (service: string, environment: string) => {
    let set = envsOf.get(service);
    if (!set) envsOf.set(service, (set = new Set()));
    set.add(environment);
  };
  for (const deployment of deployments) {
    const service = str(deployment.spec.service);
    if (!service) continue;
    const environment = str(deployment.spec.environment) ?? 'default';
    const key = `${service}/${environment}`;
    const list = byPair.get(key);
    if (list) list.push(deployment);
    else byPair.set(key, [deployment]);
    addEnv(service, environment);
  }
  for (const pipeline of pipelines) {
    const stages = (pipeline.spec.stages ?? []) as Array<{ environment?: string }>;
    for (const service of (pipeline.spec.services ?? []) as string[]) for (const stage of stages) if (stage.environment) addEnv(service, stage.environment);
  }
  const allEnvironments = environments.map((environment) => environment.metadata.name);
  const rank = environmentOrder(environments, pipelines);

  const rows: OverviewRow[] = [];
  for (const service of [...services].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))) {
    const name = service.metadata.name;
    const own = envsOf.get(name);
    const envs: Array<string | null> = own && own.size > 0 ? [...own].sort((a, b) => rank(a) - rank(b)) : allEnvironments.length > 0 ? [...allEnvironments].sort((a, b) => rank(a) - rank(b)) : [null];
    for (const environment of envs) rows.push(rowFor(name, environment, environment === null ? [] : (byPair.get(`${name}/${environment}`) ?? [])));
  }
  return rows;
}

function rowFor(service: string, environment: string | null, deployments: ApiObject[]): OverviewRow {
  const key = `${service}/${environment ?? ''}`;
  const sorted = [...deployments].sort(newestFirst);
  const newest = sorted[0];
  if (!newest) return { key, service, environment, running: null, rollingOut: null, phase: 'Not deployed', canaryWeight: null, deployment: null, message: null, updatedAt: null };
  const rollout = rolloutOf(newest);
  const phase = phaseOf(newest);
  const version = str(newest.spec.version);
  // Before the engine's first pass the newest Deployment has no stable version yet: what runs is
  // what the previous Deployment left stable.
  const previousStable = sorted.slice(1).map((deployment) => str(rolloutOf(deployment)?.stableVersion)).find((value) => value !== null) ?? null;
  const running = rollout ? str(rollout.stableVersion) : previousStable;
  return {
    key,
    service,
    environment,
    running,
    rollingOut: ACTIVE.has(phase) ? (str(rollout?.canaryVersion) ?? version) : null,
    phase,
    canaryWeight: typeof rollout?.canaryWeight === 'number' ? rollout.canaryWeight : null,
    deployment: newest.metadata.name,
    message: str(rollout?.message) ?? str((newest.status?.failure as { message?: unknown } | undefined)?.message),
    updatedAt: newest.metadata.updatedAt,
  };
}

export interface OverviewFilter {
  /** Case-insensitive substring of the service name; empty: all. */
  search: string;
  /** '' : every environment. */
  environment: string;
  /** '' : every phase. */
  phase: OverviewPhase | '';
}

export function filterRows(rows: readonly OverviewRow[], filter: OverviewFilter): OverviewRow[] {
  const needle = filter.search.trim().toLowerCase();
  return rows.filter(
    (row) =>
      (needle === '' || row.service.toLowerCase().includes(needle)) &&
      (filter.environment === '' || row.environment === filter.environment) &&
      (filter.phase === '' || row.phase === filter.phase),
  );
}
