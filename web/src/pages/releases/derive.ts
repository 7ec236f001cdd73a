/**
 * Pure logic of the releases pages: one row per Release for the list (version, freeze, components,
 * where it has reached on its promotion path, last go/no-go), the search over them, and the labels
 * the release page shares with `rollgate release show` (short digests, stage marks, states).
 *
 * The list is derived from the Release, Pipeline and Deployment objects (three list calls), not
 * from one overview call per release: the path is the release's pipeline (its spec's, else the one
 * Pipeline whose services cover every component) with the promotions recorded in its status.
 */
import type { ApiObject } from '../../../../src/client/index.js';
import type { ReleaseOverview } from '../../../../src/client/releases.js';
import { readReleaseStatus, type GoNoGoDecision } from '../../../../src/core/governance/records.js';

export type StageMark = 'healthy' | 'rolling' | 'failed' | 'not-yet';

export interface PathStage {
  environment: string;
  promoted: boolean;
  mark: StageMark;
}

export interface ReleaseRow {
  name: string;
  version: string;
  description: string | null;
  freezeDate: string | null;
  frozen: boolean;
  components: string[];
  scopeItems: number;
  pipeline: string | null;
  path: PathStage[];
  /** The newest recorded go/no-go decision, any environment. */
  lastDecision: Pick<GoNoGoDecision, 'decision' | 'environment' | 'decidedBy' | 'at' | 'comment'> | null;
  updatedAt: string;
}

const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const arr = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** `sha256:` and the first 12 hex digits, as the CLI shows it. */
export const shortDigest = (digest: string): string => (digest.startsWith('sha256:') ? `sha256:${digest.slice(7, 19)}` : digest);

/** The mark of a promoted stage from its deployments' phases (null phase: the engine has not started it). */
export function markOf(promoted: boolean, phases: readonly (string | null)[]): StageMark {
  if (!promoted) return 'not-yet';
  if (phases.some((phase) => phase === 'Aborted' || phase === 'Degraded')) return 'failed';
  if (phases.every((phase) => phase === 'Healthy')) return 'healthy';
  return 'rolling';
}

export const STAGE_SYMBOL: Record<StageMark, string> = { healthy: '✓', rolling: '◐', failed: '✗', 'not-yet': '·' };
export const STAGE_LABEL: Record<StageMark, string> = { healthy: 'promoted, Healthy', rolling: 'promoted, rolling out', failed: 'promoted, failed', 'not-yet': 'not promoted yet' };

/** A promotion stage of the overview as a mark. */
export const overviewStageMark = (stage: ReleaseOverview['promotionPath'][number]): StageMark =>
  markOf(
    stage.promoted,
    stage.deployments.map((deployment) => deployment.phase),
  );

function phaseOf(deployment: ApiObject | undefined): string | null {
  const rollout = deployment?.status?.['rollout'] as { phase?: unknown } | undefined;
  return str(rollout?.phase);
}

/** The pipeline a release goes through: its spec's, else the only one covering every component. */
export function pipelineOf(spec: Record<string, unknown>, pipelines: readonly ApiObject[]): ApiObject | null {
  const named = str(spec['pipeline']);
  if (named) return pipelines.find((pipeline) => pipeline.metadata.name === named) ?? null;
  const services = arr(spec['components']).flatMap((component) => {
    const service = str((component as Record<string, unknown>)['service']);
    return service ? [service] : [];
  });
  if (services.length === 0) return null;
  const covering = pipelines.filter((pipeline) => {
    const covered = new Set(arr(pipeline.spec['services']).map(String));
    return services.every((service) => covered.has(service));
  });
  return covering.length === 1 ? covering[0]! : null;
}

export function deriveReleaseRow(release: ApiObject, pipelines: readonly ApiObject[], deployments: ReadonlyMap<string, ApiObject>, now: number): ReleaseRow {
  const spec = release.spec;
  const status = readReleaseStatus(release.status);
  const pipeline = pipelineOf(spec, pipelines);
  const freezeDate = str(spec['freezeDate']);
  const stageEnvironments = pipeline
    ? arr(pipeline.spec['stages']).flatMap((stage) => {
        const environment = str((stage as Record<string, unknown>)['environment']);
        return environment ? [environment] : [];
      })
    : [...new Set(status.promotions.map((promotion) => promotion.environment))];
  const path = stageEnvironments.map((environment): PathStage => {
    const promotion = status.promotions.filter((candidate) => candidate.environment === environment).at(-1);
    const phases = (promotion?.deployments ?? []).map((deployment) => phaseOf(deployments.get(deployment.deployment)));
    return { environment, promoted: promotion !== undefined, mark: markOf(promotion !== undefined, phases) };
  });
  const decisions = [...status.goNoGo].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const last = decisions.at(-1);
  return {
    name: release.metadata.name,
    version: str(spec['version']) ?? '—',
    description: str(spec['description']),
    freezeDate,
    frozen: freezeDate !== null && now >= Date.parse(freezeDate),
    components: arr(spec['components']).flatMap((component) => {
      const service = str((component as Record<string, unknown>)['service']);
      return service ? [service] : [];
    }),
    scopeItems: arr(spec['scope']).length,
    pipeline: pipeline?.metadata.name ?? null,
    path,
    lastDecision: last ? { decision: last.decision, environment: last.environment, decidedBy: last.decidedBy, at: last.at, comment: last.comment } : null,
    updatedAt: release.metadata.updatedAt,
  };
}

/** One row per release, most recently updated first. */
export function deriveReleaseRows(releases: readonly ApiObject[], pipelines: readonly ApiObject[], deployments: readonly ApiObject[], now: number): ReleaseRow[] {
  const byName = new Map(deployments.map((deployment) => [deployment.metadata.name, deployment]));
  return releases
    .map((release) => deriveReleaseRow(release, pipelines, byName, now))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.name.localeCompare(b.name));
}

/** Case-insensitive, every word must match the name, version, description, pipeline or a component. */
export function filterReleases(rows: readonly ReleaseRow[], search: string): ReleaseRow[] {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...rows];
  return rows.filter((row) => {
    const text = [row.name, row.version, row.description ?? '', row.pipeline ?? '', ...row.components].join(' ').toLowerCase();
    return words.every((word) => text.includes(word));
  });
}

/** `dev ✓ → staging ◐ → prod ·`: the path in one line (also the accessible name of the path cell). */
export const pathText = (path: readonly PathStage[]): string => path.map((stage) => `${stage.environment} ${STAGE_SYMBOL[stage.mark]}`).join(' → ');

export const CLASSIFICATION_LABEL: Record<string, string> = { 'net-new': 'Net new', enhancement: 'Enhancements', 'defect-fix': 'Defect fixes' };

export const CRITERION_SYMBOL: Record<string, string> = { met: '✓', waived: '~', pending: '…', unmet: '✗' };

type CriterionWire = ReleaseOverview['goNoGo'][number]['criteria'][number];

export interface SignoffViewer {
  user: string;
  groups: readonly string[];
  /** Sign-offs need the approver role (the server's route). */
  isApprover: boolean;
}

/**
 * What the viewer can do for a manual criterion: sign off for its group (`signed: false`), or
 * nothing more because they already did (`signed: true`). null: not a sign-off criterion (or an
 * older server that does not say its group), already met or waived, or the viewer is no approver
 * in that group. The server still checks the membership and refuses a second sign-off.
 */
export function signoffAction(criterion: Pick<CriterionWire, 'state' | 'signoff'>, viewer: SignoffViewer, signoffs: ReadonlyArray<{ group: string; user: string }>): { group: string; signed: boolean } | null {
  const group = criterion.signoff?.group;
  if (!group || !viewer.isApprover || !viewer.groups.includes(group)) return null;
  if (criterion.state === 'met' || criterion.state === 'waived') return null;
  return { group, signed: signoffs.some((signoff) => signoff.group === group && signoff.user === viewer.user) };
}

/** `critical 0, high 1` */
export const findingsText = (findings: Partial<Record<string, number>> | undefined): string =>
  findings
    ? Object.entries(findings)
        .map(([severity, count]) => `${severity} ${count}`)
        .join(', ')
    : '';

/** The gate results recorded with each promotion of the release, per environment (the latest promotion's). */
export function promotionGates(release: { status: unknown }): Map<string, ReturnType<typeof readReleaseStatus>['promotions'][number]> {
  const status = readReleaseStatus(release.status);
  const map = new Map<string, (typeof status.promotions)[number]>();
  for (const promotion of status.promotions) map.set(promotion.environment, promotion);
  return map;
}

/** A gate outcome's symbol, so a column reads at a glance. */
export const OUTCOME_SYMBOL: Record<string, string> = { pass: '✓', warn: '!', deny: '✗', pending: '…' };
