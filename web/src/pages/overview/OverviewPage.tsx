/**
 * Every service × environment at a glance: what runs, what is rolling out and in which phase.
 * Filters live in the URL's query (?q=&env=&phase=) so a filtered view can be shared and survives
 * a reload. Updates live: any change to services, environments, pipelines or deployments reloads.
 */
import { useMemo } from 'react';
import { useSearchParams } from 'wouter';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatCount } from '../../format.js';
import { deriveOverview, filterRows, PHASES, type OverviewFilter, type OverviewPhase } from './derive.js';
import { OverviewList } from './OverviewList.js';

const REFRESH_ON = ['Service', 'Environment', 'Pipeline', 'Deployment'] as const;

export default function OverviewPage() {
  usePageTitle('Overview');
  const overview = useApi(
    'services, environments, pipelines and deployments',
    async (client) => {
      const [services, environments, pipelines, deployments] = await Promise.all([
        client.listAll('Service'),
        client.listAll('Environment'),
        client.listAll('Pipeline'),
        client.listAll('Deployment'),
      ]);
      return { rows: deriveOverview(services, environments, pipelines, deployments), serviceCount: services.length };
    },
    [],
    { refreshOn: REFRESH_ON },
  );

  const [params, setParams] = useSearchParams();
  const filter: OverviewFilter = {
    search: params.get('q') ?? '',
    environment: params.get('env') ?? '',
    phase: ((PHASES as readonly string[]).includes(params.get('phase') ?? '') ? params.get('phase') : '') as OverviewPhase | '',
  };
  const setFilter = (key: 'q' | 'env' | 'phase', value: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  const rows = overview.data?.rows;
  const environments = useMemo(() => [...new Set((rows ?? []).flatMap((row) => (row.environment ? [row.environment] : [])))], [rows]);
  const visible = useMemo(() => (rows ? filterRows(rows, filter) : []), [rows, filter.search, filter.environment, filter.phase]);
  const rollingOut = useMemo(() => (rows ?? []).filter((row) => row.rollingOut !== null).length, [rows]);

  return (
    <section className="overview" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Overview</h1>
        {overview.data && (
          <p className="muted">
            {formatCount(overview.data.serviceCount)} services · {formatCount(rollingOut)} rolling out
          </p>
        )}
      </div>

      <form className="filters" role="search" aria-label="Filter services" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="overview-search">Search</label>
          <input id="overview-search" type="search" placeholder="Service name" value={filter.search} onChange={(event) => setFilter('q', event.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="overview-env">Environment</label>
          <select id="overview-env" value={filter.environment} onChange={(event) => setFilter('env', event.target.value)}>
            <option value="">All environments</option>
            {environments.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="overview-phase">Phase</label>
          <select id="overview-phase" value={filter.phase} onChange={(event) => setFilter('phase', event.target.value)}>
            <option value="">All phases</option>
            {PHASES.map((phase) => (
              <option key={phase} value={phase}>
                {phase}
              </option>
            ))}
          </select>
        </div>
      </form>

      {overview.error && <ErrorNotice error={overview.error} onRetry={overview.reload} />}
      {!rows && overview.loading && <p role="status">Loading services…</p>}
      {rows && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="overview-count">
            {visible.length === rows.length ? `${formatCount(rows.length)} rows` : `${formatCount(visible.length)} of ${formatCount(rows.length)} rows`}
          </p>
          {rows.length === 0 ? (
            <p>
              No services yet. Declare some with <code>rollgate apply -f</code>.
            </p>
          ) : visible.length === 0 ? (
            <p>No service matches these filters.</p>
          ) : (
            <OverviewList rows={visible} />
          )}
        </>
      )}
    </section>
  );
}
