/**
 * The approvals inbox: changes in Authorize waiting for the signed-in user's groups (and their own
 * requests, to follow them), or — with the toggle — everything awaiting the board (the CAB view,
 * `rollgate cab`). Each entry shows risk with its top factors, what each group still has to give,
 * the services it touches, calendar conflicts, evidence and the planned window (all in the CAB
 * entry: one request), with Approve / Reject when the user may decide (never for their own request
 * or an artifact they authored). Updates live.
 */
import { Link, useSearchParams } from 'wouter';
import type { CabEntry } from '../../../../src/client/changes.js';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { formatCount } from '../../format.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { useSession } from '../../session.js';
import { RiskBadge, StateBadge } from '../changes/Badges.js';
import { DecideButtons } from '../changes/Decide.js';
import { decisionAccess, inboxEntries, plannedWindow, requirementLine, safeHref, subjectOfEntry, topFactors, type InboxScope, type Viewer } from '../changes/derive.js';
import '../changes/changes.css';

const REFRESH_ON = ['Change', 'Window'] as const;

export default function ApprovalsPage() {
  usePageTitle('Approvals');
  const session = useSession();
  const viewer: Viewer = { user: session.user.user, groups: session.user.groups, isApprover: session.can('approver') };
  const [params, setParams] = useSearchParams();
  const scope: InboxScope = params.get('scope') === 'all' ? 'all' : 'mine';
  const setScope = (next: InboxScope) =>
    setParams(
      (previous) => {
        const query = new URLSearchParams(previous);
        if (next === 'all') query.set('scope', 'all');
        else query.delete('scope');
        return query;
      },
      { replace: true },
    );

  const cab = useApi('changes awaiting approval', (client) => client.changes.cab(), [], { refreshOn: REFRESH_ON });

  const all = cab.data ?? [];
  const shown = inboxEntries(all, viewer, scope);
  const groups = viewer.groups.length > 0 ? viewer.groups.join(', ') : 'no group';

  return (
    <section className="approvals chg-scope" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Approvals</h1>
        <p className="muted">
          Signed in as <strong>{viewer.user}</strong> ({groups})
        </p>
      </div>
      <div className="filters" role="group" aria-label="Which changes">
        <div className="scope">
          <button type="button" aria-pressed={scope === 'mine'} onClick={() => setScope('mine')}>
            Waiting for me
          </button>
          <button type="button" aria-pressed={scope === 'all'} onClick={() => setScope('all')}>
            All awaiting the board
          </button>
        </div>
      </div>

      {cab.error && <ErrorNotice error={cab.error} onRetry={cab.reload} />}
      {!cab.data && cab.loading && <p role="status">Loading changes awaiting approval…</p>}
      {cab.data && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="approvals-count">
            {scope === 'mine'
              ? `${formatCount(shown.length)} waiting for you or your groups · ${formatCount(all.length)} awaiting the board`
              : `${formatCount(all.length)} awaiting the board`}
          </p>
          {shown.length === 0 ? (
            <p>
              {scope === 'mine' ? (
                <>
                  Nothing waits for you or your groups.{' '}
                  {all.length > 0 && (
                    <button type="button" className="link-button" onClick={() => setScope('all')}>
                      Show all {formatCount(all.length)} awaiting the board
                    </button>
                  )}
                </>
              ) : (
                'No change awaits a board decision.'
              )}
            </p>
          ) : (
            <ul className="cards" aria-label="Changes awaiting approval">
              {shown.map((entry) => (
                <InboxEntry key={entry.name} entry={entry} viewer={viewer} onDecided={cab.reload} />
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}

function InboxEntry({ entry, viewer, onDecided }: { entry: CabEntry; viewer: Viewer; onDecided(): void }) {
  const access = decisionAccess(viewer, subjectOfEntry(entry));
  const headingId = `entry-${entry.name}`;
  const factors = topFactors(entry.risk);
  return (
    <li className="ccard" aria-labelledby={headingId} data-testid={`inbox-${entry.name}`}>
      <div className="ccard-head">
        <h2 id={headingId}>
          <Link href={`/changes/${encodeURIComponent(entry.name)}`}>{entry.name}</Link> · {entry.title}
        </h2>
        <StateBadge state={entry.state} />
        <RiskBadge risk={entry.risk} />
        {entry.requestedBy === viewer.user && <span className="badge">your request</span>}
      </div>
      <dl className="meta">
        <div>
          <dt>Type</dt>
          <dd>{entry.type}</dd>
        </div>
        <div>
          <dt>Environment</dt>
          <dd>{entry.environment ?? '—'}</dd>
        </div>
        {entry.services.length > 0 && (
          <div>
            <dt>Services</dt>
            <dd>{entry.services.join(', ')}</dd>
          </div>
        )}
        {entry.businessServices.length > 0 && (
          <div>
            <dt>Business services</dt>
            <dd>{entry.businessServices.join(', ')}</dd>
          </div>
        )}
        <div>
          <dt>Requested by</dt>
          <dd>{entry.requestedBy}</dd>
        </div>
        <div>
          <dt>Planned</dt>
          <dd>{plannedWindow(entry.plannedStart, entry.plannedEnd)}</dd>
        </div>
        {entry.release && (
          <div>
            <dt>Release</dt>
            <dd>
              <Link href={`/releases/${encodeURIComponent(entry.release)}`}>{entry.release}</Link>
            </dd>
          </div>
        )}
        {entry.authors.length > 0 && (
          <div>
            <dt>Authors</dt>
            <dd>{entry.authors.join(', ')}</dd>
          </div>
        )}
        {factors && (
          <div>
            <dt>Risk from</dt>
            <dd>{factors}</dd>
          </div>
        )}
      </dl>

      {entry.rejected && (
        <p className="outcome-deny">
          Rejected by {entry.rejected.user}: {entry.rejected.comment}
        </p>
      )}
      <ul className="req-list" aria-label="Approvals still needed" data-testid="inbox-progress">
        {entry.requirements.map((requirement, index) => (
          <li key={`${requirement.group}-${index}`} className="req">
            <strong className={requirement.satisfied ? 'req-done' : undefined}>{requirement.group}</strong>
            <progress max={requirement.count} value={Math.min(requirement.approvers.length, requirement.count)} aria-label={`${requirement.group}: ${requirement.approvers.length} of ${requirement.count}`} />
            <span>
              {requirementLine(requirement)} <span className="muted small">— {requirement.reason}</span>
            </span>
          </li>
        ))}
      </ul>

      {entry.conflicts.length > 0 && (
        <div>
          <strong>Conflicts</strong>
          <ul className="conflict">
            {entry.conflicts.map((conflict) => (
              <li key={conflict.id} className={`conflict-${conflict.severity}`}>
                <strong>{conflict.severity}</strong>: {conflict.message}
              </li>
            ))}
          </ul>
        </div>
      )}

      {entry.evidence.length > 0 && (
        <div>
          <strong>Evidence</strong>
          <ul className="conflict">
            {entry.evidence.map((item) => {
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
        </div>
      )}

      <DecideButtons change={entry.name} title={entry.title} access={access} onDecided={onDecided} />
    </li>
  );
}
