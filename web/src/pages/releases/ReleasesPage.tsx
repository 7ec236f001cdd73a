/**
 * Every release: version, scope freeze, components, where it has reached on its promotion path and
 * its last go/no-go. The search lives in the URL (?q=) so a filtered view can be shared. Live:
 * releases, pipelines and deployments changing reload it.
 */
import { useMemo } from 'react';
import { Link, useSearchParams } from 'wouter';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatCount, formatRelative, formatTimestamp } from '../../format.js';
import { deriveReleaseRows, filterReleases, pathText, STAGE_LABEL, STAGE_SYMBOL, type ReleaseRow } from './derive.js';
import './releases.css';

const REFRESH_ON = ['Release', 'Pipeline', 'Deployment'] as const;

export default function ReleasesPage() {
  usePageTitle('Releases');
  const releases = useApi(
    'releases, pipelines and deployments',
    async (client) => {
      const [items, pipelines, deployments] = await Promise.all([client.listAll('Release'), client.listAll('Pipeline'), client.listAll('Deployment')]);
      return deriveReleaseRows(items, pipelines, deployments, Date.now());
    },
    [],
    { refreshOn: REFRESH_ON },
  );
  const [params, setParams] = useSearchParams();
  const search = params.get('q') ?? '';
  const setSearch = (value: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set('q', value);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  const rows = releases.data;
  const visible = useMemo(() => (rows ? filterReleases(rows, search) : []), [rows, search]);

  return (
    <section className="rel-page" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Releases</h1>
        {rows && <p className="muted">{formatCount(rows.length)} releases</p>}
      </div>
      <form className="filters" role="search" aria-label="Filter releases" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="releases-search">Search</label>
          <input id="releases-search" type="search" placeholder="Name, version, service" value={search} onChange={(event) => setSearch(event.target.value)} />
        </div>
      </form>
      {releases.error && <ErrorNotice error={releases.error} onRetry={releases.reload} />}
      {!rows && releases.loading && <p role="status">Loading releases…</p>}
      {rows && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="releases-count">
            {visible.length === rows.length ? `${formatCount(rows.length)} shown` : `${formatCount(visible.length)} of ${formatCount(rows.length)} shown`}
          </p>
          {rows.length === 0 ? (
            <p>
              No releases yet. Create one with <code>rollgate release create</code>.
            </p>
          ) : visible.length === 0 ? (
            <p>No release matches this search.</p>
          ) : (
            <div className="table-box">
              <table className="data-table stack rel-table">
                <caption className="visually-hidden">Releases, most recently updated first</caption>
                <thead>
                  <tr>
                    <th scope="col">Release</th>
                    <th scope="col">Version</th>
                    <th scope="col">Scope freeze</th>
                    <th scope="col">Components</th>
                    <th scope="col">Path</th>
                    <th scope="col">Last go/no-go</th>
                  </tr>
                </thead>
                <tbody>
                  {visible.map((row) => (
                    <ReleaseRowView key={row.name} row={row} />
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

function ReleaseRowView({ row }: { row: ReleaseRow }) {
  return (
    <tr>
      <th scope="row">
        <Link href={`/releases/${encodeURIComponent(row.name)}`}>{row.name}</Link>
        {row.description && <div className="muted">{row.description}</div>}
      </th>
      <td data-label="Version">{row.version}</td>
      <td data-label="Scope freeze">
        {row.freezeDate === null ? (
          <span className="muted">no freeze date</span>
        ) : row.frozen ? (
          <span title={formatTimestamp(row.freezeDate)}>frozen {formatRelative(row.freezeDate)}</span>
        ) : (
          <span title={formatTimestamp(row.freezeDate)}>freezes {formatRelative(row.freezeDate)}</span>
        )}
      </td>
      <td data-label="Components">
        {row.components.length}
        {row.components.length > 0 && <span className="muted"> ({row.components.join(', ')})</span>}
      </td>
      <td data-label="Path">
        {row.path.length === 0 ? (
          <span className="muted">{row.pipeline === null ? 'no pipeline' : 'no stages'}</span>
        ) : (
          <ol className="rel-path" aria-label={`Path: ${pathText(row.path)}`}>
            {row.path.map((stage) => (
              <li key={stage.environment} className={`mark-${stage.mark}`} title={`${stage.environment}: ${STAGE_LABEL[stage.mark]}`}>
                {stage.environment} <span aria-hidden="true">{STAGE_SYMBOL[stage.mark]}</span>
                <span className="visually-hidden">{STAGE_LABEL[stage.mark]}</span>
              </li>
            ))}
          </ol>
        )}
      </td>
      <td data-label="Last go/no-go">
        {row.lastDecision ? (
          <span title={`"${row.lastDecision.comment}" — ${formatTimestamp(row.lastDecision.at)}`}>
            <strong className={`dec-${row.lastDecision.decision}`}>{row.lastDecision.decision.toUpperCase()}</strong> for {row.lastDecision.environment} by {row.lastDecision.decidedBy}, {formatRelative(row.lastDecision.at)}
          </span>
        ) : (
          <span className="muted">none</span>
        )}
      </td>
    </tr>
  );
}
