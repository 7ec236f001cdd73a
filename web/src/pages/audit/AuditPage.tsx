/**
 * The tamper-evident audit log, newest first: the chain's verification state on top (verify again
 * at will), server-side filters by actor, kind, object name and action, exact or a prefix such as
 * `rollout.*` (in the URL: ?actor=&kind=&name=&action=),
 * a text search over the loaded events (?q=, e.g. an action), older pages on demand, each event
 * expandable to its details and digests. New events appear live.
 */
import { Fragment, useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'wouter';
import type { AuditEventWire, AuditVerifyResult } from '../../../../src/client/index.js';
import { KIND_NAMES } from '../../../../src/core/resources/kind-names.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { describeError, formatCount, formatRelative, formatTimestamp } from '../../format.js';
import { useSession } from '../../session.js';
import { describeVerify, hasFilters, matchesText, objectHref, shortHash, type AuditFilters } from './derive.js';
import { useAuditLog } from './useAuditLog.js';
import './audit.css';

type VerifyState = { status: 'verifying'; previous: { result: AuditVerifyResult; at: number } | null } | { status: 'done'; result: AuditVerifyResult; at: number } | { status: 'failed'; error: string };

function useVerify() {
  const { client } = useSession();
  const [state, setState] = useState<VerifyState>({ status: 'verifying', previous: null });
  const latest = useRef(0);
  const verify = useCallback(() => {
    const id = ++latest.current;
    setState((previous) => ({ status: 'verifying', previous: previous.status === 'done' ? { result: previous.result, at: previous.at } : previous.status === 'verifying' ? previous.previous : null }));
    client.audit.verify().then(
      (result) => id === latest.current && setState({ status: 'done', result, at: Date.now() }),
      (cause: unknown) => id === latest.current && setState({ status: 'failed', error: `Could not verify the audit chain: ${describeError(cause)}` }),
    );
  }, [client]);
  useEffect(verify, [verify]);
  return { state, verify };
}

function VerifyBanner({ state, verify, latestLiveSeq }: { state: VerifyState; verify: () => void; latestLiveSeq: number }) {
  const shown = state.status === 'done' ? state : state.status === 'verifying' ? state.previous : null;
  const verdict = shown ? describeVerify(shown.result) : null;
  const since = shown && shown.result.ok && latestLiveSeq > shown.result.checked ? latestLiveSeq - shown.result.checked : 0;
  const tone = state.status === 'failed' ? 'broken' : (verdict?.tone ?? 'pending');
  return (
    <section className={`audit-verify audit-verify-${tone}`} aria-labelledby="verify-title">
      <h2 id="verify-title">Chain verification</h2>
      <div role="status" aria-live="polite" data-testid="audit-verify">
        {state.status === 'failed' ? (
          <p>{state.error}</p>
        ) : verdict && shown ? (
          <>
            <p className="audit-verdict">
              <span aria-hidden="true">{verdict.tone === 'ok' ? '✓ ' : '✗ '}</span>
              {verdict.text}
            </p>
            <p className="muted">
              Checked {formatRelative(shown.at)}
              {shown.result.headHash && (
                <>
                  {' '}
                  · head <code title={shown.result.headHash}>{shortHash(shown.result.headHash)}</code>
                </>
              )}
              {since > 0 && ` · ${formatCount(since)} ${since === 1 ? 'event' : 'events'} recorded since`}
              {state.status === 'verifying' && ' · verifying again…'}
            </p>
          </>
        ) : (
          <p>Verifying the whole chain…</p>
        )}
      </div>
      <button type="button" onClick={verify} disabled={state.status === 'verifying'}>
        Verify again
      </button>
    </section>
  );
}

function EventRow({ event, open, toggle }: { event: AuditEventWire; open: boolean; toggle: () => void }) {
  const href = objectHref(event.kind, event.name);
  const detailsId = `audit-event-${event.seq}`;
  return (
    <>
      <tr>
        <td data-label="Seq" className="audit-seq">
          {event.seq}
        </td>
        <td data-label="Time">
          <time dateTime={event.time} title={formatTimestamp(event.time)}>
            {formatRelative(event.time)}
          </time>
        </td>
        <td data-label="Actor">{event.actor}</td>
        <td data-label="Action">
          <strong>{event.action}</strong>
        </td>
        <td data-label="Object">
          {event.kind}/{href ? <Link href={href}>{event.name}</Link> : event.name}
        </td>
        <td>
          <button type="button" className="link-button" aria-expanded={open} aria-controls={detailsId} aria-label={`Details of event ${event.seq}`} onClick={toggle}>
            {open ? 'Hide' : 'Details'}
          </button>
        </td>
      </tr>
      {open && (
        <tr className="audit-details-row">
          <td colSpan={6} id={detailsId}>
            <dl className="audit-facts">
              <dt>Time</dt>
              <dd>{formatTimestamp(event.time)} ({event.time})</dd>
              <dt>Before</dt>
              <dd>
                <code title={event.beforeDigest ?? undefined}>{event.beforeDigest ?? '— (did not exist)'}</code>
              </dd>
              <dt>After</dt>
              <dd>
                <code title={event.afterDigest ?? undefined}>{event.afterDigest ?? '— (deleted / none)'}</code>
              </dd>
              <dt>Hash</dt>
              <dd>
                <code>{event.hash}</code>
              </dd>
              <dt>Previous hash</dt>
              <dd>
                <code>{event.prevHash}</code>
              </dd>
            </dl>
            {event.details && Object.keys(event.details).length > 0 ? <pre className="audit-json">{JSON.stringify(event.details, null, 2)}</pre> : <p className="muted">No details.</p>}
          </td>
        </tr>
      )}
    </>
  );
}

export default function AuditPage() {
  usePageTitle('Audit log');
  const [params, setParams] = useSearchParams();
  const filters: AuditFilters = { actor: params.get('actor') ?? '', kind: params.get('kind') ?? '', name: params.get('name') ?? '', action: params.get('action') ?? '' };
  const text = params.get('q') ?? '';
  const [draft, setDraft] = useState(filters);
  const log = useAuditLog(filters);
  const { state: verifyState, verify } = useVerify();
  const [open, setOpen] = useState<ReadonlySet<number>>(new Set());

  const update = (values: Record<string, string>) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        for (const [key, value] of Object.entries(values)) {
          if (value) next.set(key, value);
          else next.delete(key);
        }
        return next;
      },
      { replace: true },
    );
  const apply = (event: FormEvent) => {
    event.preventDefault();
    update({ actor: draft.actor?.trim() ?? '', kind: draft.kind?.trim() ?? '', name: draft.name?.trim() ?? '', action: draft.action?.trim() ?? '' });
  };
  const clear = () => {
    setDraft({ actor: '', kind: '', name: '', action: '' });
    update({ actor: '', kind: '', name: '', action: '', q: '' });
  };

  const events = log.events;
  const visible = useMemo(() => (events ? events.filter((event) => matchesText(event, text)) : []), [events, text]);
  const actors = useMemo(() => [...new Set((events ?? []).map((event) => event.actor))].sort(), [events]);
  // Object kinds, plus any other kind the log records (Token, ...), and the one in the URL.
  const kinds = useMemo(() => [...new Set<string>([...KIND_NAMES, ...(events ?? []).map((event) => event.kind), ...(filters.kind ? [filters.kind] : [])])].sort(), [events, filters.kind]);
  const toggle = (seq: number) =>
    setOpen((previous) => {
      const next = new Set(previous);
      if (next.has(seq)) next.delete(seq);
      else next.add(seq);
      return next;
    });
  const filtered = hasFilters(filters);
  const complete = log.before === 0;

  return (
    <section className="audit-page" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Audit log</h1>
        <p className="muted">Every change, newest first, in a hash chain.</p>
      </div>
      <VerifyBanner state={verifyState} verify={verify} latestLiveSeq={log.latestLiveSeq} />

      <form className="filters audit-filters" role="search" aria-label="Filter audit events" onSubmit={apply}>
        <div className="field">
          <label htmlFor="audit-actor">Actor</label>
          <input id="audit-actor" list="audit-actors" placeholder="user:alice" value={draft.actor} onChange={(event) => setDraft({ ...draft, actor: event.target.value })} />
          <datalist id="audit-actors">
            {actors.map((actor) => (
              <option key={actor} value={actor} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="audit-kind">Kind</label>
          <select id="audit-kind" value={draft.kind} onChange={(event) => setDraft({ ...draft, kind: event.target.value })}>
            <option value="">All kinds</option>
            {kinds.map((kind) => (
              <option key={kind} value={kind}>
                {kind}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="audit-name">Object name</label>
          <input id="audit-name" placeholder="exact name" value={draft.name} onChange={(event) => setDraft({ ...draft, name: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="audit-action">Action</label>
          <input id="audit-action" placeholder="rollout.* or change.create" aria-describedby="audit-action-hint" value={draft.action} onChange={(event) => setDraft({ ...draft, action: event.target.value })} />
          <span id="audit-action-hint" className="visually-hidden">
            Exact, or a prefix ending in an asterisk
          </span>
        </div>
        <div className="audit-buttons">
          <button type="submit">Apply filters</button>
          <button type="button" className="link-button" onClick={clear}>
            Clear
          </button>
        </div>
        <div className="field">
          <label htmlFor="audit-search">Search loaded events</label>
          <input id="audit-search" type="search" placeholder="action, name, detail…" value={text} onChange={(event) => update({ q: event.target.value })} />
        </div>
      </form>

      {log.error && (
        <div className="notice notice-error" role="alert">
          <p>{log.error}</p>
          <button type="button" onClick={log.reload}>
            Try again
          </button>
        </div>
      )}
      {!events && log.loading && <p role="status">Loading the audit log…</p>}
      {events && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="audit-count">
            {visible.length === events.length ? `${formatCount(events.length)} events` : `${formatCount(visible.length)} of ${formatCount(events.length)} loaded events match “${text}”`}
            {filtered ? ' (filtered on the server)' : ''}
            {!complete && ` · loaded down to event ${log.before}`}
            {log.loading && ' · reloading…'}
          </p>
          {events.length === 0 ? (
            <p>{filtered ? 'No event matches these filters.' : 'The audit log is empty.'}</p>
          ) : visible.length === 0 ? (
            <p>No loaded event matches this search{complete ? '' : '; load older events to search further'}.</p>
          ) : (
            <div className="table-box">
              <table className="data-table stack audit-table">
                <caption className="visually-hidden">Audit events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Seq</th>
                    <th scope="col">Time</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Action</th>
                    <th scope="col">Object</th>
                    <th scope="col">
                      <span className="visually-hidden">Details</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {visible.map((event) => (
                    <Fragment key={event.seq}>
                      <EventRow event={event} open={open.has(event.seq)} toggle={() => toggle(event.seq)} />
                    </Fragment>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {complete ? (
            events.length > 0 && <p className="muted">Start of the log reached.</p>
          ) : (
            <p>
              <button type="button" onClick={log.loadMore} disabled={log.loadingMore}>
                {log.loadingMore ? 'Loading…' : 'Load older events'}
              </button>
            </p>
          )}
        </>
      )}
    </section>
  );
}
