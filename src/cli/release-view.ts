/**
 * Plain-text views of a release for `rollgate release show` and `rollgate release go-no-go`.
 * Pure: the overview / go-no-go answer in, lines out (tests read them as they are printed).
 */
import type { GoNoGoView, ReleaseOverview } from '../client/releases.js';
import { renderTable } from './output.js';

/** `sha256:` and the first 12 hex digits: enough to tell digests apart on screen. */
export const shortDigest = (digest: string): string => (digest.startsWith('sha256:') ? `sha256:${digest.slice(7, 19)}` : digest);

const list = (items: readonly string[], empty = '-'): string => (items.length === 0 ? empty : items.join(', '));

/** Marks per criterion state, so a column of them reads at a glance. */
const STATE_MARK: Record<string, string> = { met: '✓', waived: '~', pending: '…', unmet: '✗' };

/** The criteria table and last decision for one environment. */
export function renderGoNoGo(view: GoNoGoView, indent = ''): string[] {
  const blocking = view.blocking.length;
  const lines = [`${indent}${view.environment}: ${view.canGo ? 'GO possible (every required criterion met)' : `BLOCKED (${blocking} required ${blocking === 1 ? 'criterion' : 'criteria'} not met: ${view.blocking.join(', ')})`}`];
  if (view.criteria.length === 0) lines.push(`${indent}  no criteria`);
  else {
    const table = renderTable(
      ['', 'CRITERION', 'STATE', 'KIND', 'REQUIRED', 'DETAIL'],
      view.criteria.map((criterion) => [STATE_MARK[criterion.state] ?? '?', criterion.id, criterion.state, criterion.kind, criterion.required ? 'yes' : 'no', criterion.detail]),
    );
    lines.push(...table.split('\n').map((line) => `${indent}  ${line}`));
  }
  const last = view.lastDecision;
  lines.push(
    last
      ? `${indent}  Last decision: ${last.decision.toUpperCase()} by ${last.decidedBy} at ${last.at} — "${last.comment}"`
      : `${indent}  Last decision: none`,
  );
  return lines;
}

/** A stage's mark on the promotion path: promoted and Healthy, under way, failed, or not there yet. */
function stageMark(stage: ReleaseOverview['promotionPath'][number]): string {
  if (!stage.promoted) return '·';
  const phases = stage.deployments.map((deployment) => deployment.phase);
  if (phases.some((phase) => phase === 'Aborted' || phase === 'Degraded')) return '✗';
  if (phases.every((phase) => phase === 'Healthy')) return '✓';
  return '◐';
}

function section(title: string, body: string[], empty: string): string[] {
  return ['', `${title}:`, ...(body.length > 0 ? body : [`  ${empty}`])];
}

export function renderReleaseOverview(overview: ReleaseOverview): string {
  const name = overview.release.metadata.name;
  const out: string[] = [];
  out.push(`Release:    ${name}`);
  out.push(`Version:    ${overview.version}`);
  if (overview.description) out.push(`About:      ${overview.description}`);
  out.push(`Pipeline:   ${overview.pipeline ?? '- (no pipeline covers every component)'}`);
  out.push(`Freeze:     ${overview.freeze.frozen ? `FROZEN since ${overview.freeze.freezeDate}` : overview.freeze.freezeDate ? `freezes at ${overview.freeze.freezeDate}` : 'no freeze date'}`);

  const totals = overview.scope.totals;
  const scope: string[] = [];
  for (const group of overview.scope.groups) {
    scope.push(`  ${group.classification} (${group.items}, value ${group.value}${group.contractual > 0 ? `, ${group.contractual} contractual` : ''})`);
    for (const item of group.scope) {
      const tags = [
        item.value !== undefined ? `value ${item.value}` : null,
        item.contractual ? 'contractual' : null,
        item.jurisdictions && item.jurisdictions.length > 0 ? `jurisdictions ${item.jurisdictions.join(', ')}` : null,
        item.link ? item.link : null,
      ].filter((tag): tag is string => tag !== null);
      scope.push(`    - ${item.title}${tags.length > 0 ? `  [${tags.join('; ')}]` : ''}`);
    }
  }
  out.push(
    ...section(
      `Scope (${totals.items} ${totals.items === 1 ? 'item' : 'items'}, value ${totals.value}, ${totals.contractual} contractual, jurisdictions: ${list(totals.jurisdictions, 'none')})`,
      scope,
      'no scope items',
    ),
  );

  const components = overview.components.length
    ? renderTable(
        ['SERVICE', 'VERSION', 'DIGEST', 'BUSINESS-SERVICES', 'ARTIFACT'],
        overview.components.map((component) => [
          component.service,
          component.version,
          shortDigest(component.digest),
          list(component.businessServices),
          component.artifact
            ? `${component.artifact.name} (${component.artifact.signed ? `signed ×${component.artifact.signatures}` : 'UNSIGNED'}${component.artifact.author ? `, author ${component.artifact.author}` : ''})`
            : 'not registered',
        ]),
      )
        .split('\n')
        .map((line) => `  ${line}`)
    : [];
  out.push(...section('Components', components, 'no components'));

  const points = overview.integrationPoints
    .filter((point) => point.critical)
    .map((point) => {
      const parts = [
        point.dependents.inside.length > 0 ? `${point.dependents.inside.join(', ')} (in the release)` : null,
        point.dependents.outside.length > 0 ? `${point.dependents.outside.join(', ')} (outside)` : null,
      ].filter((part): part is string => part !== null);
      return `  ${point.service} ← ${parts.join('; ')}`;
    });
  out.push(...section('Critical integration points (services others depend on)', points, 'none: nothing depends on the release\'s services'));

  const exceptions = overview.exceptions.map((exception) => {
    const change = [...exception.add.map((item) => `+ "${String(item['title'])}"`), ...exception.remove.map((title) => `- "${title}"`)].join(', ');
    const decided = exception.decidedBy ? ` by ${exception.decidedBy} at ${exception.decidedAt}${exception.comment ? ` — "${exception.comment}"` : ''}` : '';
    return `  ${exception.id}  ${exception.state.toUpperCase()}${decided}: ${change} (requested by ${exception.requestedBy}: ${exception.reason})`;
  });
  out.push(...section('Scope exceptions', exceptions, 'none'));

  const results = overview.results.map((result) => {
    const findings = result.findings ? Object.entries(result.findings).map(([severity, count]) => `${severity} ${count}`).join(', ') : '';
    const parts = [
      result.value !== undefined ? `value ${result.value}` : null,
      findings ? `findings: ${findings}` : null,
      result.environment ? `in ${result.environment}` : null,
      result.summary ?? null,
    ].filter((part): part is string => part !== null);
    return `  ${result.passed ? '✓' : '✗'} ${result.name} (${result.type})${result.service ? ` [${result.service}]` : ''}${parts.length ? `  ${parts.join('; ')}` : ''}  — ${result.postedBy} at ${result.at}`;
  });
  out.push(...section('Results', results, 'none posted'));

  const signoffs = overview.signoffs.map((signoff) => `  ${signoff.group}: ${signoff.user} at ${signoff.at} — "${signoff.comment}"`);
  out.push(...section('Sign-offs', signoffs, 'none'));

  out.push(...section('Go / no-go', overview.goNoGo.flatMap((view) => renderGoNoGo(view, '  ')), 'no go/no-go environment (no goNoGo.environment, no production stage)'));

  const path = overview.promotionPath;
  const pathLines = path.length
    ? [
        `  ${path.map((stage) => `${stage.environment} ${stageMark(stage)}`).join(' → ')}`,
        ...path.map((stage) => {
          if (!stage.promoted) return `  ${stage.environment}: not promoted`;
          const deployments = stage.deployments.map((deployment) => `${deployment.service} ${deployment.deployment} ${deployment.phase ?? 'not started'}`).join(', ');
          return `  ${stage.environment}: promoted at ${stage.at} by ${stage.by}${stage.change ? `, change ${stage.change}` : ''}${deployments ? `; ${deployments}` : ''}`;
        }),
      ]
    : [];
  out.push(...section('Promotion path (✓ Healthy, ◐ rolling out, ✗ failed, · not yet)', pathLines, 'no pipeline and no promotions'));

  const refusals = overview.refusals.map((refusal) => {
    const refusing = refusal.gates.filter((gate) => gate.outcome === 'deny' || gate.outcome === 'pending');
    return `  ${refusal.at} ${refusal.environment} by ${refusal.actor}: ${refusing.map((gate) => `${gate.gate}/${gate.name}: ${gate.message}`).join('; ') || 'refused'}`;
  });
  out.push(...section('Refused promotions', refusals, 'none'));

  const changes = overview.changes.map((change) =>
    change.found ? `  ${change.name}  ${change.environment ?? '-'}  ${change.state ?? '?'}  risk ${change.risk ?? 'not assessed'}` : `  ${change.name}  ${change.environment ?? '-'}  (deleted)`,
  );
  out.push(...section('Changes', changes, 'none'));
  return out.join('\n');
}
