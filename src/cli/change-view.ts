/**
 * How `rollgate change show`, `change list` and `rollgate cab` present change records. Pure: the
 * output depends only on the objects given, so it is tested with objects made by the real server.
 */
import type { AuditEventWire } from '../core/api.js';
import { approvalProgress, type CabEntry } from '../core/governance/approvals.js';
import { allowedTransitions } from '../core/governance/change.js';
import { changeRecordStatusSchema, type ChangeRecordStatus } from '../core/governance/records.js';
import { changeSpecSchema, type ChangeSpec } from '../core/resources/change.js';
import { cell, renderTable } from './output.js';

/** The parts of an API object the views read (structurally an `ApiObject` of the client). */
export interface ChangeObjectView {
  metadata: { name: string; createdAt: string };
  spec: Record<string, unknown>;
  status: Record<string, unknown> | null;
}

interface ReadChange {
  name: string;
  spec: ChangeSpec | null;
  status: ChangeRecordStatus | null;
  raw: ChangeObjectView;
}

/** Reads tolerantly: a record another version wrote still shows what it can. */
function read(object: ChangeObjectView): ReadChange {
  const spec = changeSpecSchema.safeParse(object.spec);
  const status = changeRecordStatusSchema.safeParse(object.status ?? {});
  return { name: object.metadata.name, spec: spec.success ? spec.data : null, status: status.success ? status.data : null, raw: object };
}

const text = (value: unknown): string => (typeof value === 'string' ? value : value === undefined || value === null ? '' : JSON.stringify(value));
const indent = (block: string, by = '  ') => block.split('\n').map((line) => `${by}${line}`).join('\n');

/** `2026-03-04 09:00Z` from an ISO instant (UTC, minutes). */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}

function duration(startIso: string, endIso: string): string {
  const minutes = Math.round((Date.parse(endIso) - Date.parse(startIso)) / 60_000);
  if (!Number.isFinite(minutes)) return '';
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours}h` : `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** A factor's value as a reader wants it: rates in percent, hours with one decimal, sizes spelled out. */
function factorValue(name: string, value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (name === 'recentChangeFailureRate' && typeof value === 'number') return `${Math.round(value * 1000) / 10}%`;
  if (name === 'leadTime' && typeof value === 'number') return `${Math.round(value * 10) / 10} h`;
  if (typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>)
      .map(([key, v]) => `${key}=${text(v)}`)
      .join(' ');
  }
  return String(value);
}

/** `medium (43)`, or `-` before any assessment. */
export const riskCell = (risk: { level: string; score: number } | null | undefined): string => (risk ? `${risk.level} (${risk.score})` : '-');

/** The readable `rollgate change show`. */
export function renderChange(object: ChangeObjectView, audit: readonly AuditEventWire[] = []): string {
  const change = read(object);
  const { spec, status } = change;
  const lines: string[] = [];
  const field = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(13)}${value}`);
  const section = (title: string, body: string) => {
    lines.push('', `${title}:`, indent(body));
  };

  field('Change', `${change.name}  ${spec?.title ?? text(object.spec['title'])}`);
  if (!spec || !status) {
    // Nothing below can be trusted to parse: show what is there.
    lines.push('', '(this record does not match the Change schema; raw object follows)', JSON.stringify(object, null, 2));
    return lines.join('\n');
  }
  const next = allowedTransitions(spec.type, status.state);
  field('State', `${status.state}${status.stateEnteredAt ? ` since ${shortTime(status.stateEnteredAt)}` : ''}${next.length > 0 ? `; next: ${next.join(', ')}` : ' (final)'}`);
  field('Type', `${spec.type} (${status.origin}, requested by ${status.requestedBy})`);
  if (status.environment || status.release) field('Target', [status.environment ? `environment ${status.environment}` : '', status.release ? `release ${status.release}` : ''].filter(Boolean).join(', '));
  if (status.deployments.length > 0) field('Deployments', status.deployments.join(', '));
  field('Services', spec.services.length > 0 ? spec.services.join(', ') : '-');
  field('Business', spec.businessServices.length > 0 ? spec.businessServices.join(', ') : '-');
  field(
    'Planned',
    spec.plannedStart || spec.plannedEnd
      ? `${shortTime(spec.plannedStart)} → ${shortTime(spec.plannedEnd)}${spec.plannedStart && spec.plannedEnd ? ` (${duration(spec.plannedStart, spec.plannedEnd)})` : ''}`
      : '-',
  );
  if (spec.description) field('Description', spec.description);

  // Risk
  const risk = status.risk;
  if (!risk) {
    section('Risk', 'not assessed');
  } else {
    const head = `${risk.level}, score ${risk.score}/100 (assessed ${shortTime(risk.assessedAt)})${risk.levelBeforeFloor !== risk.level ? `; ${risk.levelBeforeFloor} by score, raised by a rule` : ''}`;
    const table = renderTable(
      ['FACTOR', 'VALUE', 'POINTS', 'MAX', 'WHY'],
      risk.factors.map((factor) => [factor.name, factorValue(factor.name, factor.value), String(factor.points), String(factor.max), factor.explanation]),
    );
    const floor = risk.floor ? `floor rule: ${risk.floor.rule} → at least ${risk.floor.level}: ${risk.floor.reason}` : 'floor rule: none matched';
    const skipped = risk.skippedRules.map((rule) => `skipped rule ${rule.rule}: ${rule.error}`);
    section('Risk', [head, table, floor, ...skipped].join('\n'));
  }

  // Plans
  const plans = (
    [
      ['Implementation', spec.implementationPlan],
      ['Backout', spec.backoutPlan],
      ['Test', spec.testPlan],
      ['Justification', spec.justification],
    ] as const
  ).map(([label, value]) => `${`${label}:`.padEnd(16)}${value ?? '-'}`);
  section('Plans', plans.join('\n'));

  // Approvals
  const progress = approvalProgress(status.requiredApprovals, status.approvals);
  const approvalLines: string[] = [];
  if (status.requiredApprovals.length === 0) {
    approvalLines.push(spec.type === 'standard' ? 'none required: a standard change is pre-approved' : 'none required');
  } else {
    approvalLines.push(progress.rejected ? `rejected by ${progress.rejected.user}: ${progress.rejected.comment}` : progress.satisfied ? 'complete' : `missing: ${progress.missing.join('; ')}`);
    approvalLines.push(
      renderTable(
        ['GROUP', 'NEEDS', 'HAS', 'APPROVERS', 'WHY'],
        progress.requirements.map((r) => [r.group, String(r.count), String(r.approvers.length), cell(r.approvers), r.reason]),
      ),
    );
  }
  if (status.approvals.length > 0) {
    approvalLines.push(
      renderTable(
        ['USER', 'DECISION', 'GROUPS', 'AT', 'VALID', 'COMMENT'],
        status.approvals.map((a) => [a.user, a.decision, cell(a.groups), shortTime(a.at), a.valid ? 'valid' : `expired: ${a.invalidatedReason ?? 'invalidated'}`, a.comment || '-']),
      ),
    );
  }
  const barred = [`${status.requestedBy} (requester)`, ...status.authors.filter((author) => author !== status.requestedBy).map((author) => `${author} (author)`)];
  approvalLines.push(`separation of duties: ${barred.join(', ')} cannot approve`);
  section('Approvals', approvalLines.join('\n'));

  if (status.override) {
    field('Override', `${status.override.window} at ${shortTime(status.override.at)} approved by ${status.override.approvers.join(', ')}: ${status.override.reason}`);
  }
  if (status.postReleaseReview) {
    const review = status.postReleaseReview;
    const state = review.completedAt ? `completed by ${review.completedBy ?? '?'} at ${shortTime(review.completedAt)}${review.notes ? `: ${review.notes}` : ''}` : 'not done yet';
    field('Review', `${review.required ? 'required' : 'optional'} (${review.reason}); ${state}`);
  }

  if (status.gates.length > 0) {
    section('Gates', renderTable(['GATE', 'NAME', 'OUTCOME', 'MESSAGE'], status.gates.map((gate) => [gate.gate, gate.name, gate.outcome, gate.message])));
  }
  if (spec.evidence.length > 0) {
    section('Evidence', renderTable(['TITLE', 'KIND', 'LINK'], spec.evidence.map((item) => [item.title, item.kind, item.link])));
  }
  if (spec.closeCode) field('Closed', `${spec.closeCode}${spec.closeNotes ? `: ${spec.closeNotes}` : ''}`);

  if (status.history.length > 0) {
    section('History', renderTable(['AT', 'ACTOR', 'FROM', 'TO', 'REASON'], status.history.map((entry) => [shortTime(entry.at), entry.actor, entry.from, entry.to, entry.reason ?? '-'])));
  }
  if (audit.length > 0) {
    section(
      'Audit trail',
      renderTable(
        ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'OBJECT', 'DETAILS'],
        audit.map((event) => [String(event.seq), shortTime(event.time), event.actor, event.action, `${event.kind.toLowerCase()}/${event.name}`, auditDetails(event.details)]),
      ),
    );
  }
  return lines.join('\n');
}

/** The details worth a glance (reason, comment, fields, user, a rollout event's message, a gate's window), never the digests. */
function auditDetails(details: Record<string, unknown> | undefined): string {
  if (!details) return '-';
  const shown = ['user', 'reason', 'comment', 'fields', 'from', 'to', 'window', 'message']
    .filter((key) => details[key] !== undefined && details[key] !== null && details[key] !== '')
    .map((key) => `${key}=${Array.isArray(details[key]) ? (details[key] as unknown[]).join(',') : text(details[key])}`);
  return shown.length > 0 ? shown.join(' ') : '-';
}

/** `rollgate change list`. */
export function renderChangeList(objects: readonly ChangeObjectView[]): string {
  const rows = objects.map((object) => {
    const { spec, status, name } = read(object);
    return [
      name,
      spec?.type ?? text(object.spec['type']),
      status?.state ?? text(object.status?.['state']),
      riskCell(status?.risk),
      status?.environment ?? '-',
      status?.requestedBy ?? '-',
      shortTime(spec?.plannedStart),
      spec?.title ?? text(object.spec['title']),
    ];
  });
  return renderTable(['NAME', 'TYPE', 'STATE', 'RISK', 'ENV', 'REQUESTER', 'PLANNED', 'TITLE'], rows);
}

/** What a CAB entry still needs: `cab 1 more (1/2)`, comma-separated. */
export const needsCell = (entry: CabEntry): string =>
  entry.requirements
    .filter((r) => !r.satisfied)
    .map((r) => `${r.group} ${r.remaining} more (${r.approvers.length}/${r.count})`)
    .join(', ') || '-';

/** `rollgate cab`: the board's queue, then every conflict spelled out. */
export function renderCab(entries: readonly CabEntry[]): string {
  if (entries.length === 0) return 'no changes await a board decision';
  const table = renderTable(
    ['NAME', 'TITLE', 'RISK', 'NEEDS', 'REQUESTER', 'PLANNED', 'CONFLICTS'],
    entries.map((entry) => {
      const blocking = entry.conflicts.filter((conflict) => conflict.severity === 'blocking').length;
      const conflicts = entry.conflicts.length === 0 ? '-' : `${entry.conflicts.length}${blocking > 0 ? ` (${blocking} blocking)` : ''}`;
      return [entry.name, entry.title, riskCell(entry.risk), needsCell(entry), entry.requestedBy, shortTime(entry.plannedStart), conflicts];
    }),
  );
  // A conflict between two waiting changes is in both entries: print it once.
  const unique = new Map(entries.flatMap((entry) => entry.conflicts.map((conflict) => [conflict.id, conflict] as const)));
  const details = [...unique.values()].map((conflict) => `  [${conflict.severity}] ${conflict.message}`);
  return details.length > 0 ? `${table}\n\nConflicts:\n${details.join('\n')}` : table;
}
