/**
 * Every change record, newest first, filterable by state / type / environment / risk and a search.
 * Filters live in the URL (?q=&state=&type=&env=&risk=) so a view can be shared; updates live.
 */
import { useMemo } from 'react';
import { Link, useSearchParams } from 'wouter';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { formatCount } from '../../format.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { RiskBadge, StateBadge } from './Badges.js';
import { CHANGE_RISKS, CHANGE_STATES, CHANGE_TYPES, changeRow, filterChanges, plannedWindow, sortRows, type ChangeFilter } from './derive.js';
import './changes.css';

const REFRESH_ON = ['Change'] as const;
const KEYS = { search: 'q', state: 'state', type: 'type', environment: 'env', risk: 'risk' } as const;

export default function ChangesPage() {
  usePageTitle('Changes');
  const changes = useApi('change records', async (client) => sortRows((await client.changes.list()).map(changeRow)), [], { refreshOn: REFRESH_ON });
  const [params, setParams] = useSearchParams();
  const filter: ChangeFilter = {
    search: params.get(KEYS.search) ?? '',
    state: params.get(KEYS.state) ?? '',
    type: params.get(KEYS.type) ?? '',
    environment: params.get(KEYS.environment) ?? '',
    risk: params.get(KEYS.risk) ?? '',
  };
  const setFilter = (key: keyof ChangeFilter, value: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set(KEYS[key], value);
        else next.delete(KEYS[key]);
        return next;
      },
      { replace: true },
    );

  const rows = changes.data;
  const environments = useMemo(() => [...new Set((rows ?? []).map((row) => row.environment).filter(Boolean))].sort(), [rows]);
  const visible = useMemo(() => (rows ? filterChanges(rows, filter) : []), [rows, filter.search, filter.state, filter.type, filter.environment, filter.risk]);
  const awaiting = (rows ?? []).filter((row) => row.state === 'Authorize').length;

  const select = (key: keyof ChangeFilter, label: string, options: readonly string[], all: string, extra: { value: string; label: string }[] = []) => (
    <div className="field">
      <label htmlFor={`changes-${key}`}>{label}</label>
      <select id={`changes-${key}`} value={filter[key]} onChange={(event) => setFilter(key, event.target.value)}>
        <option value="">{all}</option>
        {extra.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <section className="changes chg-scope" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Changes</h1>
        {rows && (
          <p className="muted">
            {formatCount(rows.length)} change records · {formatCount(awaiting)} awaiting approval · <Link href="/approvals">approvals inbox</Link>
          </p>
        )}
      </div>

      <form className="filters" role="search" aria-label="Filter changes" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="changes-search">Search</label>
          <input id="changes-search" type="search" placeholder="Name, title, requester, service" value={filter.search} onChange={(event) => setFilter('search', event.target.value)} />
        </div>
        {select('state', 'State', CHANGE_STATES, 'All states', [{ value: 'open', label: 'Open (not closed or canceled)' }])}
        {select('type', 'Type', CHANGE_TYPES, 'All types')}
        {select('environment', 'Environment', environments, 'All environments')}
        {select('risk', 'Risk', CHANGE_RISKS, 'Any risk')}
      </form>

      {changes.error && <ErrorNotice error={changes.error} onRetry={changes.reload} />}
      {!rows && changes.loading && <p role="status">Loading change records…</p>}
      {rows && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="changes-count">
            {visible.length === rows.length ? `${formatCount(rows.length)} changes` : `${formatCount(visible.length)} of ${formatCount(rows.length)} changes`}
          </p>
          {rows.length === 0 ? (
            <p>
              No change records yet. Create one with <code>rollgate change create</code>; production deployments create them automatically.
            </p>
          ) : visible.length === 0 ? (
            <p>No change matches these filters.</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table stack ctable">
                <caption className="visually-hidden">Change records, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Change</th>
                    <th scope="col">Title</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Risk</th>
                    <th scope="col">Environment</th>
                    <th scope="col">Requester</th>
                    <th scope="col">Planned</th>
                  </tr>
                </thead>
                <tbody>
                  {visible.map((row) => (
                    <tr key={row.name}>
                      <td className="nowrap" data-label="Change">
                        <Link href={`/changes/${encodeURIComponent(row.name)}`}>{row.name}</Link>
                      </td>
                      <td className="title-cell" data-label="Title">
                        {row.title}
                      </td>
                      <td data-label="Type">{row.type}</td>
                      <td data-label="State">
                        <StateBadge state={row.state} />
                        {row.awaiting && <div className="muted small">needs {row.awaiting}</div>}
                      </td>
                      <td data-label="Risk">
                        <RiskBadge risk={row.risk && row.score !== null ? { level: row.risk, score: row.score } : null} />
                      </td>
                      <td data-label="Environment">{row.environment || '—'}</td>
                      <td data-label="Requester">{row.requestedBy || '—'}</td>
                      <td className="small" data-label="Planned">
                        {plannedWindow(row.plannedStart, row.plannedEnd)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
