/**
 * Every Deployment (rollout), newest first, as `rollgate rollout history` lists them: phase,
 * version, canary weight, when it started, how long it took (or runs so far) and its message.
 * Filters live in the URL's query (?service=&env=&phase=); updates live on any Deployment change.
 */
import { useMemo } from 'react';
import { Link, useSearchParams } from 'wouter';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { PhaseBadge } from '../../components/PhaseBadge.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatCount, formatDuration, formatRelative, formatTimestamp } from '../../format.js';
import { DEPLOYMENT_PHASES, filterRolloutRows, rolloutRows, type DeploymentPhase, type RolloutFilter } from './derive.js';
import { useNow } from './useNow.js';
import './rollouts.css';

const REFRESH_ON = ['Deployment'] as const;

export default function RolloutsPage() {
  usePageTitle('Rollouts');
  const deployments = useApi('deployments', (client) => client.listAll('Deployment'), [], { refreshOn: REFRESH_ON });
  const [params, setParams] = useSearchParams();
  const phaseParam = params.get('phase') ?? '';
  const filter: RolloutFilter = {
    service: params.get('service') ?? '',
    environment: params.get('env') ?? '',
    phase: (DEPLOYMENT_PHASES as readonly string[]).includes(phaseParam) ? (phaseParam as DeploymentPhase) : '',
  };
  const setFilter = (key: 'service' | 'env' | 'phase', value: string) =>
    setParams(
      (previous) => {
        const next = new URLSearchParams(previous);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  const anyRunning = useMemo(() => (deployments.data ?? []).some((d) => (d.status as { rollout?: { finishedAt?: unknown } } | null)?.rollout?.finishedAt === null), [deployments.data]);
  const now = useNow(1000, anyRunning);
  const rows = useMemo(() => (deployments.data ? rolloutRows(deployments.data, now) : undefined), [deployments.data, now]);
  const environments = useMemo(() => [...new Set((rows ?? []).map((row) => row.environment))].sort(), [rows]);
  const services = useMemo(() => [...new Set((rows ?? []).map((row) => row.service))].sort(), [rows]);
  const visible = useMemo(() => (rows ? filterRolloutRows(rows, filter) : []), [rows, filter.service, filter.environment, filter.phase]);
  const active = (rows ?? []).filter((row) => row.running || row.phase === 'Pending').length;

  return (
    <section className="rollouts" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title">Rollouts</h1>
        {rows && (
          <p className="muted">
            {formatCount(rows.length)} deployments · {formatCount(active)} in progress
          </p>
        )}
      </div>

      <form className="filters" role="search" aria-label="Filter rollouts" onSubmit={(event) => event.preventDefault()}>
        <div className="field">
          <label htmlFor="rollouts-service">Service</label>
          <input id="rollouts-service" type="search" list="rollouts-services" placeholder="Service or deployment name" value={filter.service} onChange={(event) => setFilter('service', event.target.value)} />
          <datalist id="rollouts-services">
            {services.map((name) => (
              <option key={name} value={name} />
            ))}
          </datalist>
        </div>
        <div className="field">
          <label htmlFor="rollouts-env">Environment</label>
          <select id="rollouts-env" value={filter.environment} onChange={(event) => setFilter('env', event.target.value)}>
            <option value="">All environments</option>
            {environments.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="rollouts-phase">Phase</label>
          <select id="rollouts-phase" value={filter.phase} onChange={(event) => setFilter('phase', event.target.value)}>
            <option value="">All phases</option>
            {DEPLOYMENT_PHASES.map((phase) => (
              <option key={phase} value={phase}>
                {phase}
              </option>
            ))}
          </select>
        </div>
      </form>

      {deployments.error && <ErrorNotice error={deployments.error} onRetry={deployments.reload} />}
      {!rows && deployments.loading && <p role="status">Loading rollouts…</p>}
      {rows && (
        <>
          <p className="muted" role="status" aria-live="polite" data-testid="rollouts-count">
            {visible.length === rows.length ? `${formatCount(rows.length)} rollouts` : `${formatCount(visible.length)} of ${formatCount(rows.length)} rollouts`}
          </p>
          {rows.length === 0 ? (
            <p>
              No rollouts yet. Start one with <code>rollgate deploy SERVICE VERSION</code>.
            </p>
          ) : visible.length === 0 ? (
            <p>No rollout matches these filters.</p>
          ) : (
            <div className="table-scroll">
              <table className="data-table rollouts-table">
                <caption className="visually-hidden">Rollouts, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Deployment</th>
                    <th scope="col">Service</th>
                    <th scope="col">Environment</th>
                    <th scope="col">Version</th>
                    <th scope="col">Phase</th>
                    <th scope="col">Weight</th>
                    <th scope="col">Started</th>
                    <th scope="col">Duration</th>
                    <th scope="col">Message</th>
                  </tr>
                </thead>
                <tbody>
                  {visible.map((row) => (
                    <tr key={row.name}>
                      <th scope="row" data-label="Deployment">
                        <Link href={`/rollouts/${encodeURIComponent(row.name)}`}>{row.name}</Link>
                      </th>
                      <td data-label="Service">{row.service}</td>
                      <td data-label="Environment">{row.environment}</td>
                      <td data-label="Version" className="num">
                        {row.version}
                      </td>
                      <td data-label="Phase">
                        <PhaseBadge phase={row.phase} />
                      </td>
                      <td data-label="Weight" className="num">
                        {row.weight === null ? '—' : row.phase === 'Healthy' ? '100%' : `${row.weight}%`}
                      </td>
                      <td data-label="Started" className="num">
                        {row.startedAt !== null ? (
                          <time dateTime={new Date(row.startedAt).toISOString()} title={formatTimestamp(row.startedAt)}>
                            {formatRelative(row.startedAt, now)}
                          </time>
                        ) : (
                          <span className="muted">created {formatRelative(row.createdAt, now)}</span>
                        )}
                      </td>
                      <td data-label="Duration" className="num">
                        {row.durationMs === null ? '—' : row.running ? `${formatDuration(row.durationMs)} so far` : formatDuration(row.durationMs)}
                      </td>
                      <td data-label="Message" className="message">
                        {row.message}
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
