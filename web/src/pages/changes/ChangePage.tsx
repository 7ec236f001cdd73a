/**
 * One change record: what, where and when; its state machine and history; plans and evidence; the
 * risk breakdown (every factor's points, the floor rule, the level); approvals with who decided
 * what and why (expired ones too); gates; calendar windows and conflicts of its planned window;
 * the post-release review; and the audit trail. Approve / reject when the viewer may decide.
 */
import { Link, useParams } from 'wouter';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { formatRelative, formatTimestamp } from '../../format.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { useSession } from '../../session.js';
import type { AuditEventWire } from '../../../../src/core/api.js';
import { allowedTransitions } from '../../../../src/core/governance/change.js';
import type { ChangeRecordStatus, RiskRecord } from '../../../../src/core/governance/records.js';
import type { ChangeSpec } from '../../../../src/core/resources/change.js';
import { RiskBadge, StateBadge } from './Badges.js';
import { DecideButtons } from './Decide.js';
import {
  auditDetails,
  decisionAccess,
  floorText,
  plannedWindow,
  progressOf,
  readChange,
  requirementLine,
  riskBreakdown,
  safeHref,
  shortTime,
  stateSteps,
  subjectOfChange,
  windowsOverlapping,
} from './derive.js';
import './changes.css';

const REFRESH_ON = ['Change'] as const;
const CALENDAR_REFRESH = ['Change', 'Window', 'Environment'] as const;

function Time({ at }: { at: string | undefined | null }) {
  if (!at) return <>—</>;
  return (
    <time dateTime={at} title={formatTimestamp(at)}>
      {shortTime(at)}
    </time>
  );
}

export default function ChangePage() {
  const { name = '' } = useParams<{ name: string }>();
  usePageTitle(`Change ${name}`);
  const session = useSession();
  const loaded = useApi(
    `change ${name}`,
    async (client) => {
      const [object, audit] = await Promise.all([client.changes.get(name), client.changes.audit(name).catch(() => null)]);
      return { change: object ? readChange(object) : null, audit };
    },
    [name],
    { refreshOn: REFRESH_ON },
  );

  const change = loaded.data?.change;
  const spec = change?.spec ?? null;
  const status = change?.status ?? null;
  const environment = status?.environment;
  const start = spec?.plannedStart;
  const end = spec?.plannedEnd;

  const calendar = useApi(
    `the calendar around ${name}`,
    async (client) => {
      if (!start || !end) return null;
      const to = Date.parse(end) > Date.parse(start) ? end : new Date(Date.parse(start) + 60_000).toISOString();
      return client.calendar.get({ from: start, to, ...(environment ? { environment } : {}) });
    },
    [start, end, environment],
    { refreshOn: CALENDAR_REFRESH },
  );

  if (loaded.error && !loaded.data) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Change {name}</h1>
        <ErrorNotice error={loaded.error} onRetry={loaded.reload} />
      </section>
    );
  }
  if (!loaded.data) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Change {name}</h1>
        <p role="status">Loading change {name}…</p>
      </section>
    );
  }
  if (!change) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Change {name}</h1>
        <p>
          There is no change record named <code>{name}</code>. <Link href="/changes">All changes</Link>
        </p>
      </section>
    );
  }

  const subject = subjectOfChange(change);
  const access = subject
    ? decisionAccess({ user: session.user.user, groups: session.user.groups, isApprover: session.can('approver') }, subject)
    : { approve: false, reject: false, reason: null };

  const calendarData = calendar.data ?? null;
  const mine = calendarData?.changes.find((entry) => entry.name === change.name);
  const conflicts = calendarData ? calendarData.conflicts.filter((conflict) => conflict.changes.includes(change.name) || (mine?.conflicts ?? []).includes(conflict.id)) : [];
  const windows = calendarData && start && end ? windowsOverlapping(calendarData.windows, start, end) : [];

  return (
    <article className="change-detail chg-scope" aria-labelledby="page-title">
      <header className="ccard">
        <p className="muted small">
          <Link href="/changes">Changes</Link> / {change.name}
        </p>
        <h1 id="page-title">
          {change.name} · {change.title}
        </h1>
        <div className="ccard-head">
          {status && <StateBadge state={status.state} />}
          <span className="badge">{spec?.type ?? 'unknown type'}</span>
          <RiskBadge risk={status?.risk} />
          {status && (
            <span className="muted">
              {status.origin} change requested by <strong>{status.requestedBy}</strong>
              {status.stateEnteredAt && <> · {status.state} since <Time at={status.stateEnteredAt} /></>}
            </span>
          )}
        </div>
        <DecideButtons change={change.name} title={change.title} access={access} onDecided={loaded.reload} />
        {loaded.error && <ErrorNotice error={loaded.error} onRetry={loaded.reload} />}
      </header>

      {!spec || !status ? (
        <section className="ccard">
          <h2>Raw record</h2>
          <p>This record does not match the Change schema this UI knows; here it is as stored.</p>
          <pre>{JSON.stringify({ spec: spec ?? undefined, status: status ?? undefined }, null, 2)}</pre>
        </section>
      ) : (
        <>
          <StateSection spec={spec} status={status} />
          <div className="grid-2">
            <DetailsSection spec={spec} status={status} windows={windows.map((w) => `${w.name} (${w.type})`)} calendarLoaded={calendarData !== null} calendarError={calendar.error?.message ?? null} />
            <PlansSection spec={spec} />
          </div>
          <RiskSection risk={status.risk} />
          <ApprovalsSection spec={spec} status={status} />
          {conflicts.length > 0 && (
            <section className="ccard" aria-labelledby="conflicts-title">
              <h2 id="conflicts-title">Conflicts</h2>
              <ul className="conflict">
                {conflicts.map((conflict) => (
                  <li key={conflict.id} className={`conflict-${conflict.severity}`}>
                    <strong>{conflict.severity}</strong> ({conflict.type}): {conflict.message}
                  </li>
                ))}
              </ul>
            </section>
          )}
          {status.gates.length > 0 && <GatesSection status={status} />}
          {status.postReleaseReview && <ReviewSection review={status.postReleaseReview} />}
        </>
      )}

      <AuditSection audit={loaded.data.audit} />
    </article>
  );
}

function StateSection({ spec, status }: { spec: ChangeSpec; status: ChangeRecordStatus }) {
  const next = allowedTransitions(spec.type, status.state);
  return (
    <section className="ccard" aria-labelledby="state-title">
      <h2 id="state-title">State</h2>
      <ol className="steps" aria-label={`State machine of a ${spec.type} change`}>
        {stateSteps(spec.type, status.state).map((step) => (
          <li key={step.state} className={`step-${step.step}`} aria-current={step.step === 'current' ? 'step' : undefined}>
            {step.state}
            <span className="visually-hidden"> ({step.step})</span>
          </li>
        ))}
      </ol>
      <p className="muted small">{next.length > 0 ? `Next: ${next.join(', ')}` : 'Final state.'}</p>
      {spec.closeCode && (
        <p>
          Closed <strong>{spec.closeCode}</strong>
          {spec.closeNotes ? `: ${spec.closeNotes}` : ''}
        </p>
      )}
      {status.history.length === 0 ? (
        <p className="muted">No transitions yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table stack ctable">
            <caption className="visually-hidden">State history</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Transition</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {status.history.map((entry, index) => (
                <tr key={`${entry.at}-${index}`}>
                  <td className="nowrap" data-label="When">
                    <Time at={entry.at} />
                  </td>
                  <td data-label="Who">{entry.actor}</td>
                  <td data-label="Transition">
                    {entry.from} → {entry.to}
                  </td>
                  <td data-label="Reason">{entry.reason ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DetailsSection({ spec, status, windows, calendarLoaded, calendarError }: { spec: ChangeSpec; status: ChangeRecordStatus; windows: string[]; calendarLoaded: boolean; calendarError: string | null }) {
  const list = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : '—');
  return (
    <section className="ccard" aria-labelledby="details-title">
      <h2 id="details-title">Scope and window</h2>
      <dl className="kv">
        <dt>Environment</dt>
        <dd>{status.environment ?? '—'}</dd>
        {status.release && (
          <>
            <dt>Release</dt>
            <dd>
              <Link href={`/releases/${encodeURIComponent(status.release)}`}>{status.release}</Link>
            </dd>
          </>
        )}
        {status.deployments.length > 0 && (
          <>
            <dt>Deployments</dt>
            <dd>
              {status.deployments.map((deployment, index) => (
                <span key={deployment}>
                  {index > 0 && ', '}
                  <Link href={`/rollouts/${encodeURIComponent(deployment)}`}>{deployment}</Link>
                </span>
              ))}
            </dd>
          </>
        )}
        <dt>Services</dt>
        <dd>{list(spec.services)}</dd>
        <dt>Business services</dt>
        <dd>{list(spec.businessServices)}</dd>
        <dt>Planned</dt>
        <dd>{plannedWindow(spec.plannedStart, spec.plannedEnd)}</dd>
        <dt>Windows</dt>
        <dd data-testid="change-windows">
          {!spec.plannedStart || !spec.plannedEnd
            ? 'no planned window yet'
            : calendarError
              ? calendarError
              : !calendarLoaded
                ? 'loading…'
                : windows.length > 0
                  ? windows.join(', ')
                  : 'falls in no defined window'}
        </dd>
        {spec.description && (
          <>
            <dt>Description</dt>
            <dd>{spec.description}</dd>
          </>
        )}
        {status.authors.length > 0 && (
          <>
            <dt>Artifact authors</dt>
            <dd>{status.authors.join(', ')}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

function PlansSection({ spec }: { spec: ChangeSpec }) {
  return (
    <section className="ccard" aria-labelledby="plans-title">
      <h2 id="plans-title">Plans and evidence</h2>
      <dl className="kv">
        <dt>Implementation</dt>
        <dd>{spec.implementationPlan ?? '—'}</dd>
        <dt>Backout</dt>
        <dd>{spec.backoutPlan ?? '—'}</dd>
        <dt>Test</dt>
        <dd>{spec.testPlan ?? '—'}</dd>
        <dt>Justification</dt>
        <dd>{spec.justification ?? '—'}</dd>
        <dt>Evidence</dt>
        <dd>
          {spec.evidence.length === 0 ? (
            'none attached'
          ) : (
            <ul className="conflict">
              {spec.evidence.map((item) => {
                const href = safeHref(item.link);
                return (
                  <li key={`${item.title}-${item.link}`}>
                    {href ? (
                      <a href={href} target="_blank" rel="noreferrer noopener">
                        {item.title}
                      </a>
                    ) : (
                      `${item.title} (${item.link})`
                    )}{' '}
                    <span className="muted small">{item.kind}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </dd>
      </dl>
    </section>
  );
}

export function RiskSection({ risk }: { risk: RiskRecord | null }) {
  if (!risk) {
    return (
      <section className="ccard" aria-labelledby="risk-title">
        <h2 id="risk-title">Risk</h2>
        <p>Not assessed yet.</p>
      </section>
    );
  }
  const rows = riskBreakdown(risk);
  const sum = rows.reduce((total, row) => total + row.points, 0);
  return (
    <section className="ccard" aria-labelledby="risk-title" data-testid="risk-breakdown">
      <h2 id="risk-title">Risk</h2>
      <p className="risk-head">
        <RiskBadge risk={risk} /> <strong>{risk.level}</strong>, score {risk.score} of 100 <span className="muted small">(assessed <Time at={risk.assessedAt} />)</span>
      </p>
      <div className="table-scroll">
        <table className="data-table stack ctable">
          <caption className="visually-hidden">Risk factors, largest contribution first</caption>
          <thead>
            <tr>
              <th scope="col">Factor</th>
              <th scope="col">Value</th>
              <th scope="col" className="num">
                Points
              </th>
              <th scope="col" className="num">
                Max
              </th>
              <th scope="col">Share</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.name}>
                <th scope="row" data-label="Factor">
                  {row.label}
                </th>
                <td data-label="Value">{row.value}</td>
                <td className="num" data-label="Points">
                  {row.points}
                </td>
                <td className="num" data-label="Max">
                  {row.max}
                </td>
                <td className="bar-cell" data-label="Share">
                  <span className="bar" style={{ width: `${Math.max(row.share, 0) * 0.6}px` }} aria-hidden="true" /> {row.share}%
                </td>
                <td className="small" data-label="Why">
                  {row.explanation}
                </td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">Total</th>
              <td />
              <td className="num">{sum}</td>
              <td colSpan={3} className="small muted">
                {sum !== risk.score ? `clamped to ${risk.score} (0–100)` : ''}
              </td>
            </tr>
          </tfoot>
        </table>
      </div>
      <p data-testid="risk-floor">{floorText(risk)}</p>
      {risk.skippedRules.map((rule) => (
        <p key={rule.rule} className="muted small">
          Rule “{rule.rule}” was skipped: {rule.error}
        </p>
      ))}
    </section>
  );
}

function ApprovalsSection({ spec, status }: { spec: ChangeSpec; status: ChangeRecordStatus }) {
  const progress = progressOf(status);
  const barred = [`${status.requestedBy} (requester)`, ...status.authors.filter((author) => author !== status.requestedBy).map((author) => `${author} (author)`)];
  return (
    <section className="ccard" aria-labelledby="approvals-title" data-testid="change-approvals">
      <h2 id="approvals-title">Approvals</h2>
      {status.requiredApprovals.length === 0 ? (
        <p>{spec.type === 'standard' ? 'None required: a standard change is pre-approved.' : 'None required.'}</p>
      ) : (
        <>
          <p data-testid="approval-summary">
            {progress.rejected ? (
              <strong className="outcome-deny">
                Rejected by {progress.rejected.user}: {progress.rejected.comment}
              </strong>
            ) : progress.satisfied ? (
              <strong className="outcome-pass">Complete.</strong>
            ) : (
              <>Missing: {progress.missing.join('; ')}</>
            )}
          </p>
          <ul className="req-list">
            {progress.requirements.map((requirement, index) => (
              <li key={`${requirement.group}-${index}`} className="req">
                <strong className={requirement.satisfied ? 'req-done' : undefined}>{requirement.group}</strong>
                <progress max={requirement.count} value={Math.min(requirement.approvers.length, requirement.count)} aria-label={`${requirement.group}: ${requirement.approvers.length} of ${requirement.count}`} />
                <span>
                  {requirementLine(requirement)} <span className="muted small">— {requirement.reason}</span>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {status.approvals.length > 0 && (
        <div className="table-scroll">
          <table className="data-table stack ctable">
            <caption className="visually-hidden">Decisions, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">Who</th>
                <th scope="col">Decision</th>
                <th scope="col">Groups</th>
                <th scope="col">When</th>
                <th scope="col">Valid</th>
                <th scope="col">Comment</th>
              </tr>
            </thead>
            <tbody>
              {status.approvals.map((approval) => (
                <tr key={approval.id} className={approval.valid ? undefined : 'expired-row'}>
                  <td data-label="Who">{approval.user}</td>
                  <td data-label="Decision" className={approval.decision === 'approve' ? 'outcome-pass' : 'outcome-deny'}>
                    {approval.decision === 'approve' ? 'approved' : 'rejected'}
                  </td>
                  <td data-label="Groups">{approval.groups.join(', ') || '—'}</td>
                  <td className="nowrap" data-label="When">
                    <Time at={approval.at} />
                  </td>
                  <td data-label="Valid">
                    {approval.valid ? (
                      'valid'
                    ) : (
                      <span className="expired-text">
                        expired{approval.invalidatedAt ? ' ' : ''}
                        {approval.invalidatedAt && <Time at={approval.invalidatedAt} />}: {approval.invalidatedReason ?? 'invalidated'}
                      </span>
                    )}
                  </td>
                  <td data-label="Comment">{approval.comment || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {status.override && (
        <p>
          Blackout override of window <strong>{status.override.window}</strong> at <Time at={status.override.at} />, approved by {status.override.approvers.join(', ')}: {status.override.reason}
        </p>
      )}
      <p className="muted small">Separation of duties: {barred.join(', ')} cannot approve or reject.</p>
    </section>
  );
}

function GatesSection({ status }: { status: ChangeRecordStatus }) {
  return (
    <section className="ccard" aria-labelledby="gates-title">
      <h2 id="gates-title">Gates</h2>
      <div className="table-scroll">
        <table className="data-table stack ctable">
          <caption className="visually-hidden">Gate results</caption>
          <thead>
            <tr>
              <th scope="col">Gate</th>
              <th scope="col">Name</th>
              <th scope="col">Outcome</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {status.gates.map((gate, index) => (
              <tr key={`${gate.gate}-${gate.name}-${index}`}>
                <td data-label="Gate">{gate.gate}</td>
                <td data-label="Name">
                  {gate.name}
                  {gate.service ? ` (${gate.service})` : ''}
                </td>
                <td data-label="Outcome" className={`outcome-${gate.outcome}`}>
                  {gate.outcome}
                </td>
                <td data-label="Message">
                  {gate.message}
                  {gate.expression && (
                    <div className="muted small">
                      <code>{gate.expression}</code>
                    </div>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ReviewSection({ review }: { review: NonNullable<ChangeRecordStatus['postReleaseReview']> }) {
  return (
    <section className="ccard" aria-labelledby="review-title">
      <h2 id="review-title">Post-release review</h2>
      <p>
        {review.required ? 'Required' : 'Optional'}: {review.reason}
        {review.dueAt && (
          <>
            {' '}
            · due <Time at={review.dueAt} />
          </>
        )}
      </p>
      <p>
        {review.completedAt ? (
          <>
            Completed by {review.completedBy ?? '?'} at <Time at={review.completedAt} />
            {review.notes ? `: ${review.notes}` : ''}
          </>
        ) : (
          <strong className="outcome-pending">Not done yet.</strong>
        )}
      </p>
    </section>
  );
}

function AuditSection({ audit }: { audit: readonly AuditEventWire[] | null }) {
  const now = Date.now();
  return (
    <section className="ccard" aria-labelledby="audit-title">
      <h2 id="audit-title">Audit trail</h2>
      {audit === null ? (
        <p className="muted">The audit trail could not be loaded.</p>
      ) : audit.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table stack ctable" data-testid="change-audit">
            <caption className="visually-hidden">Audit events of this change and its deployments, oldest first</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Object</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {audit.map((event) => (
                <tr key={event.seq}>
                  <td className="num" data-label="#">
                    {event.seq}
                  </td>
                  <td className="nowrap" data-label="When" title={formatRelative(event.time, now)}>
                    <Time at={event.time} />
                  </td>
                  <td data-label="Actor">{event.actor}</td>
                  <td data-label="Action">{event.action}</td>
                  <td data-label="Object">
                    {event.kind.toLowerCase()}/{event.name}
                  </td>
                  <td className="small" data-label="Details">
                    {auditDetails(event.details) || '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
