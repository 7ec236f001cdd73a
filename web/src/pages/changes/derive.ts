/**
 * What the change pages (list, detail) and the approvals inbox show, computed from API data. Pure:
 * the pages render these values and the unit tests pin them. The CLI's `rollgate change show` /
 * `rollgate cab` (src/cli/change-view.ts) present the same records; these helpers say at least as
 * much (every risk factor, who may decide and why not, what is still missing per group).
 */
import type { ApiObject } from '../../../../src/client/index.js';
import type { CabEntry } from '../../../../src/client/changes.js';
import { approvalProgress, type ApprovalProgress } from '../../../../src/core/governance/approvals.js';
import { changeRecordStatusSchema, type ChangeRecordStatus, type RiskRecord } from '../../../../src/core/governance/records.js';
import { CHANGE_RISKS, CHANGE_STATES, CHANGE_TYPES, changeSpecSchema, type ChangeSpec, type ChangeState, type ChangeType } from '../../../../src/core/resources/change.js';

export { CHANGE_RISKS, CHANGE_STATES, CHANGE_TYPES };
export type RiskLevel = (typeof CHANGE_RISKS)[number];

/** A Change object read tolerantly: a record another version wrote still shows its name and title. */
export interface ChangeView {
  name: string;
  title: string;
  createdAt: string;
  spec: ChangeSpec | null;
  status: ChangeRecordStatus | null;
}

export function readChange(object: ApiObject): ChangeView {
  const spec = changeSpecSchema.safeParse(object.spec);
  const status = changeRecordStatusSchema.safeParse(object.status ?? {});
  const rawTitle = object.spec['title'];
  return {
    name: object.metadata.name,
    title: spec.success ? spec.data.title : typeof rawTitle === 'string' ? rawTitle : '',
    createdAt: object.metadata.createdAt,
    spec: spec.success ? spec.data : null,
    status: status.success ? status.data : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Times

/** `2026-03-04 09:00Z` (UTC, minutes): the CLI's format, unambiguous across time zones. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

/** `45m`, `2h`, `2h30m`, `3d4h`; '' when either end is missing or unreadable. */
export function windowDuration(start: string | null | undefined, end: string | null | undefined): string {
  if (!start || !end) return '';
  const minutes = Math.round((Date.parse(end) - Date.parse(start)) / 60_000);
  if (!Number.isFinite(minutes) || minutes < 0) return '';
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return `${Math.floor(hours / 24)}d${hours % 24 ? `${hours % 24}h` : ''}`;
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** `2026-03-04 09:00Z → 2026-03-04 11:00Z (2h)`, or `not planned`. */
export function plannedWindow(start: string | null | undefined, end: string | null | undefined): string {
  if (!start && !end) return 'not planned';
  const length = windowDuration(start, end);
  return `${shortTime(start)} → ${shortTime(end)}${length ? ` (${length})` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Risk

export const FACTOR_LABELS: Record<string, string> = {
  serviceTier: 'Service tier',
  customerFacing: 'Customer-facing',
  environmentSensitivity: 'Environment data sensitivity',
  irreversibleMigration: 'Irreversible migration',
  changeSize: 'Change size',
  recentChangeFailureRate: 'Recent change failure rate',
  leadTime: 'Lead time',
  maintenanceWindow: 'Maintenance window',
  emergency: 'Emergency change',
};
export const factorLabel = (name: string): string => FACTOR_LABELS[name] ?? name;

/** A factor's value as a reader wants it: rates in percent, hours with one decimal, sizes spelled out. */
export function factorValue(name: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (name === 'recentChangeFailureRate' && typeof value === 'number') return `${Math.round(value * 1000) / 10}%`;
  if (name === 'leadTime' && typeof value === 'number') return `${Math.round(value * 10) / 10} h`;
  if (name === 'maintenanceWindow' && typeof value === 'boolean') return value ? 'inside a window' : 'outside every window';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, v]) => `${key} ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(', ');
  }
  return String(value);
}

export interface FactorRow {
  name: string;
  label: string;
  value: string;
  points: number;
  max: number;
  /** Share of the score, 0..100 (0 when the score is 0). */
  share: number;
  explanation: string;
}

/** Every factor, largest contribution first (ties keep the assessment's order). */
export function riskBreakdown(risk: RiskRecord): FactorRow[] {
  const total = risk.factors.reduce((sum, factor) => sum + Math.max(0, factor.points), 0);
  return risk.factors
    .map((factor, index) => ({ factor, index }))
    .sort((a, b) => b.factor.points - a.factor.points || a.index - b.index)
    .map(({ factor }) => ({
      name: factor.name,
      label: factorLabel(factor.name),
      value: factorValue(factor.name, factor.value),
      points: factor.points,
      max: factor.max,
      share: total > 0 ? Math.round((Math.max(0, factor.points) / total) * 100) : 0,
      explanation: factor.explanation,
    }));
}

/** The factors that gave points, largest first: `Service tier +20 · Customer-facing +10`. */
export function topFactors(risk: RiskRecord | null | undefined, count = 3): string {
  if (!risk) return '';
  return riskBreakdown(risk)
    .filter((row) => row.points > 0)
    .slice(0, count)
    .map((row) => `${row.label} +${row.points}`)
    .join(' · ');
}

/** `high (62)` or `not assessed`. */
export const riskText = (risk: { level: string; score: number } | null | undefined): string => (risk ? `${risk.level} (${risk.score})` : 'not assessed');

/** What raised the level, when a rule did: `high by score, raised to critical by rule "prod-migrations": ...`. */
export function floorText(risk: RiskRecord): string {
  if (!risk.floor) return 'No floor rule matched: the level is the score’s.';
  const raised = risk.levelBeforeFloor !== risk.level;
  return raised
    ? `${risk.levelBeforeFloor} by score, raised to ${risk.level} by rule “${risk.floor.rule}”: ${risk.floor.reason}`
    : `Rule “${risk.floor.rule}” sets at least ${risk.floor.level} (${risk.floor.reason}); the score already gives ${risk.level}.`;
}

// ---------------------------------------------------------------------------------------------
// Approvals and who may decide

export interface DecisionSubject {
  type: ChangeType;
  state: ChangeState;
  requestedBy: string;
  authors: readonly string[];
  /** Groups the change needs approvals from. */
  requiredGroups: readonly string[];
  /** Users with a valid decision on this version. */
  decidedBy: readonly string[];
}

export interface Viewer {
  user: string;
  groups: readonly string[];
  /** The session's role allows deciding (approver or admin). */
  isApprover: boolean;
}

export interface DecisionAccess {
  approve: boolean;
  reject: boolean;
  /** Why the viewer cannot decide (shown instead of the buttons); null when they can, or when there is nothing to decide. */
  reason: string | null;
}

/**
 * Whether the signed-in user may approve / reject. Mirrors the server's checks in order (state,
 * separation of duties, group membership, one decision per version) so the buttons are absent
 * where the server would refuse; the server still decides (group membership may have changed
 * since sign-in), and its refusal is shown.
 */
export function decisionAccess(viewer: Viewer, change: DecisionSubject): DecisionAccess {
  const no = (reason: string | null): DecisionAccess => ({ approve: false, reject: false, reason });
  const emergencyOverride = change.type === 'emergency' && change.state === 'Scheduled';
  if (change.state !== 'Authorize' && !emergencyOverride) return no(null);
  if (change.requestedBy === viewer.user) return no('You requested this change: separation of duties bars you from approving or rejecting it.');
  if (change.authors.includes(viewer.user)) return no('You authored an artifact this change deploys: separation of duties bars you from approving or rejecting it.');
  if (!viewer.isApprover) return no('Deciding on changes needs the approver role.');
  if (change.requiredGroups.length > 0 && !change.requiredGroups.some((group) => viewer.groups.includes(group))) {
    return no(`Approvals are needed from ${change.requiredGroups.join(', ')}; you are in ${viewer.groups.length > 0 ? viewer.groups.join(', ') : 'no group'}.`);
  }
  if (change.decidedBy.includes(viewer.user)) return no('You already decided on this version of the change (one decision per person until it is edited).');
  return { approve: true, reject: !emergencyOverride, reason: null };
}

/** The decision subject of a change record. */
export function subjectOfChange(change: ChangeView): DecisionSubject | null {
  if (!change.spec || !change.status) return null;
  const status = change.status;
  return {
    type: change.spec.type,
    state: status.state,
    requestedBy: status.requestedBy,
    authors: status.authors,
    requiredGroups: [...new Set(status.requiredApprovals.map((r) => r.group))],
    decidedBy: status.approvals.filter((a) => a.valid).map((a) => a.user),
  };
}

/** The decision subject of a CAB entry (valid approvers are in the requirements; a valid rejection sends the change back to New). */
export function subjectOfEntry(entry: CabEntry): DecisionSubject {
  return {
    type: entry.type,
    state: entry.state,
    requestedBy: entry.requestedBy,
    authors: entry.authors,
    requiredGroups: [...new Set(entry.requirements.map((r) => r.group))],
    decidedBy: [...new Set(entry.requirements.flatMap((r) => r.approvers))],
  };
}

export const progressOf = (status: ChangeRecordStatus): ApprovalProgress => approvalProgress(status.requiredApprovals, status.approvals);

/** `cab: 1 of 2 (bob) — 1 more`, one line per requirement. */
export function requirementLine(r: { group: string; count: number; approvers: readonly string[]; remaining: number }): string {
  const who = r.approvers.length > 0 ? ` (${r.approvers.join(', ')})` : '';
  return `${r.group}: ${r.approvers.length} of ${r.count}${who}${r.remaining > 0 ? ` — ${r.remaining} more` : ' — done'}`;
}

/** A change waits for the viewer when a requirement of one of their groups is unmet. */
export const waitsForGroups = (entry: CabEntry, groups: readonly string[]): boolean => entry.requirements.some((r) => r.remaining > 0 && groups.includes(r.group));

export type InboxScope = 'mine' | 'all';

/** The inbox: changes waiting for the viewer's groups (and the viewer's own requests, to follow them), or the whole board's queue. */
export function inboxEntries(entries: readonly CabEntry[], viewer: Viewer, scope: InboxScope): CabEntry[] {
  if (scope === 'all') return [...entries];
  return entries.filter((entry) => waitsForGroups(entry, viewer.groups) || entry.requestedBy === viewer.user);
}

// ---------------------------------------------------------------------------------------------
// State machine

/** The usual path of a change type (Canceled is possible from every non-final state). */
export function statePath(type: ChangeType | undefined): ChangeState[] {
  if (type === 'standard') return ['New', 'Scheduled', 'Implement', 'Review', 'Closed'];
  return ['New', 'Assess', 'Authorize', 'Scheduled', 'Implement', 'Review', 'Closed'];
}

export type StepState = 'done' | 'current' | 'next' | 'skipped';

/** Each state of the path marked done / current / next (a canceled change marks the states it never reached as skipped). */
export function stateSteps(type: ChangeType | undefined, state: ChangeState): { state: ChangeState; step: StepState }[] {
  const path = statePath(type);
  if (state === 'Canceled') return [...path.map((s) => ({ state: s, step: 'skipped' as const })), { state: 'Canceled', step: 'current' }];
  const at = path.indexOf(state);
  return path.map((s, i) => ({ state: s, step: i < at ? 'done' : i === at ? 'current' : 'next' }));
}

// ---------------------------------------------------------------------------------------------
// The list

export interface ChangeRow {
  name: string;
  title: string;
  type: string;
  state: string;
  environment: string;
  risk: RiskLevel | null;
  score: number | null;
  requestedBy: string;
  plannedStart: string | null;
  plannedEnd: string | null;
  /** `cab 1 of 2` for unmet requirements while in Authorize; '' otherwise. */
  awaiting: string;
  services: string[];
}

export function changeRow(object: ApiObject): ChangeRow {
  const change = readChange(object);
  const status = change.status;
  const progress = status ? progressOf(status) : null;
  const awaiting =
    status?.state === 'Authorize' && progress
      ? progress.rejected
        ? `rejected by ${progress.rejected.user}`
        : progress.requirements
            .filter((r) => !r.satisfied)
            .map((r) => `${r.group} ${r.approvers.length} of ${r.count}`)
            .join(', ')
      : '';
  return {
    name: change.name,
    title: change.title,
    type: change.spec?.type ?? String(object.spec['type'] ?? ''),
    state: status?.state ?? String(object.status?.['state'] ?? 'New'),
    environment: status?.environment ?? '',
    risk: status?.risk?.level ?? null,
    score: status?.risk?.score ?? null,
    requestedBy: status?.requestedBy ?? '',
    plannedStart: change.spec?.plannedStart ?? null,
    plannedEnd: change.spec?.plannedEnd ?? null,
    awaiting,
    services: change.spec?.services ?? [],
  };
}

export interface ChangeFilter {
  search: string;
  state: string;
  type: string;
  environment: string;
  risk: string;
}

/** Rows matching every set filter; the search looks in name, title, requester and services. */
export function filterChanges(rows: readonly ChangeRow[], filter: ChangeFilter): ChangeRow[] {
  const needle = filter.search.trim().toLowerCase();
  return rows.filter(
    (row) =>
      (!filter.state || (filter.state === 'open' ? !['Closed', 'Canceled'].includes(row.state) : row.state === filter.state)) &&
      (!filter.type || row.type === filter.type) &&
      (!filter.environment || row.environment === filter.environment) &&
      (!filter.risk || row.risk === filter.risk) &&
      (!needle || [row.name, row.title, row.requestedBy, ...row.services].some((text) => text.toLowerCase().includes(needle))),
  );
}

/** Newest first by name (chg-NNNNN grows). */
export const sortRows = (rows: readonly ChangeRow[]): ChangeRow[] => [...rows].sort((a, b) => b.name.localeCompare(a.name, 'en', { numeric: true }));

// ---------------------------------------------------------------------------------------------
// Evidence and audit

/** Only http(s) links become links; anything else is shown as text (never a `javascript:` href). */
export function safeHref(link: string): string | null {
  try {
    const url = new URL(link);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** The details worth a glance in an audit row (reason, comment, user, a refusal's message, ...), never digests. */
export function auditDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '';
  return ['user', 'decision', 'reason', 'comment', 'message', 'fields', 'from', 'to', 'window']
    .filter((key) => details[key] !== undefined && details[key] !== null && details[key] !== '')
    .map((key) => {
      const value = details[key];
      return `${key}: ${Array.isArray(value) ? value.join(', ') : typeof value === 'string' ? value : JSON.stringify(value)}`;
    })
    .join(' · ');
}

/** Windows of the calendar whose occurrences overlap [start, end). */
export function windowsOverlapping<W extends { name: string; type: string; occurrences: { startMs: number; endMs: number }[] }>(windows: readonly W[], start: string, end: string): W[] {
  const from = Date.parse(start);
  const to = Date.parse(end);
  if (!Number.isFinite(from) || !Number.isFinite(to)) return [];
  return windows.filter((window) => window.occurrences.some((o) => o.startMs < to && o.endMs > from));
}
