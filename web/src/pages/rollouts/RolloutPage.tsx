/**
 * One rollout (a Deployment), as `rollgate rollout status` shows it and more: what is rolled out
 * where, the phase and why, the step timeline, the canary's traffic weight over time, each
 * metric's canary vs baseline over time with the judge's evidence, pause / abort / blocked /
 * failure panels, queued operations and their results, and the events. Operators (deployer and
 * above) get the operations that make sense in the current phase, each confirmed with a reason.
 * Updates live on every change to the Deployment.
 */
import { useMemo, useState } from 'react';
import { Link, useParams } from 'wouter';
import type { OperationType } from '../../../../src/core/rollout/types.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { PhaseBadge } from '../../components/PhaseBadge.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { describeError, formatDuration, formatRelative, formatTimestamp } from '../../format.js';
import { useSession } from '../../session.js';
import {
  availableOperations,
  deploymentPhase,
  headerRouteText,
  metricSeries,
  operationLabel,
  pauseUntil,
  runTitle,
  specOf,
  statusOf,
  stepTimeline,
  weightSeries,
  type OperationChoice,
  type RolloutStatus,
} from './derive.js';
import { MetricPanel } from './MetricPanel.js';
import { TimeChart } from './TimeChart.js';
import { useNow } from './useNow.js';
import './rollouts.css';

const REFRESH_ON = ['Deployment'] as const;
/** The permission of POST /deployments/{name}/operations (src/server/rollouts/routes.ts). */
const OPERATE_ROLE = 'deployer' as const;

function When({ at, now }: { at: number; now: number }) {
  return (
    <time dateTime={new Date(at).toISOString()} title={formatTimestamp(at)}>
      {new Date(at).toLocaleTimeString()} ({formatRelative(at, now)})
    </time>
  );
}

export default function RolloutPage() {
  const { name = '' } = useParams<{ name: string }>();
  usePageTitle(`Rollout ${name}`);
  const session = useSession();
  const deployment = useApi(`deployment ${name}`, (client) => client.get('Deployment', name), [name], { refreshOn: REFRESH_ON, minIntervalMs: 500 });
  const [choice, setChoice] = useState<OperationChoice | null>(null);
  const [submitted, setSubmitted] = useState<Array<{ id: string; type: OperationType; reason: string }>>([]);

  const object = deployment.data ?? null;
  const parsed = useMemo(() => (object ? statusOf(object) : null), [object]);
  const rollout = parsed?.rollout ?? null;
  const running = rollout !== null && rollout.finishedAt === null;
  const now = useNow(1000, running || (parsed?.status.pendingOperations.length ?? 0) > 0);

  if (deployment.error && !object) return <ErrorNotice error={deployment.error} onRetry={deployment.reload} />;
  if (deployment.data === undefined) return <p role="status">Loading rollout {name}…</p>;
  if (object === null) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title">Rollout {name}</h1>
        <p role="alert">
          There is no deployment named <code>{name}</code>. <Link href="/rollouts">All rollouts</Link>
        </p>
      </section>
    );
  }

  const spec = specOf(object);
  const status = parsed!.status;
  const phase = deploymentPhase(object);
  const operations = session.can(OPERATE_ROLE) ? availableOperations(rollout) : [];

  const submit = async (operation: OperationChoice, reason: string) => {
    const queued = await session.client.rollouts.operate(name, operation.type, reason || undefined);
    setSubmitted((list) => [...list, { id: queued.operationId, type: operation.type, reason }]);
  };

  return (
    <article className="rollout" aria-labelledby="page-title">
      <nav aria-label="Breadcrumb" className="breadcrumb">
        <Link href="/rollouts">Rollouts</Link> / <span aria-current="page">{name}</span>
      </nav>
      <header className="rollout-head">
        <div className="rollout-title">
          <h1 id="page-title">{name}</h1>
          <PhaseBadge phase={phase} />
        </div>
        <p className="rollout-message" data-testid="rollout-message">
          {rollout ? rollout.message : status.failure ? `The rollout cannot start: ${status.failure.message}` : 'Waiting for the engine to start the rollout.'}
        </p>
        <dl className="facts">
          <div>
            <dt>Service</dt>
            <dd>{spec.service ?? '?'}</dd>
          </div>
          <div>
            <dt>Environment</dt>
            <dd>{spec.environment ?? 'default'}</dd>
          </div>
          <div>
            <dt>Version</dt>
            <dd data-testid="rollout-version">{spec.version ?? '?'}</dd>
          </div>
          {spec.release && (
            <div>
              <dt>Release</dt>
              <dd>
                <Link href={`/releases/${encodeURIComponent(spec.release)}`}>{spec.release}</Link>
              </dd>
            </div>
          )}
          {spec.artifact?.digest && (
            <div className="wide">
              <dt>Artifact</dt>
              <dd>
                <code className="digest" title={spec.artifact.digest}>
                  {spec.artifact.digest}
                </code>
                {spec.artifact.uri && <span className="muted"> {spec.artifact.uri}</span>}
              </dd>
            </div>
          )}
          {rollout && (
            <>
              <div>
                <dt>Strategy</dt>
                <dd>
                  {rollout.strategy === 'direct' ? 'direct (no steps, no analysis)' : rollout.strategy === 'blueGreen' ? 'blue-green' : 'canary'}
                  {spec.strategy && <span className="muted"> ({spec.strategy})</span>}
                </dd>
              </div>
              <div>
                <dt>Attempt</dt>
                <dd>{rollout.attempt}</dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>
                  <When at={rollout.startedAt} now={now} />
                </dd>
              </div>
              <div>
                <dt>{rollout.finishedAt !== null ? 'Took' : 'Running for'}</dt>
                <dd data-testid="rollout-duration">{formatDuration((rollout.finishedAt ?? now) - rollout.startedAt)}</dd>
              </div>
            </>
          )}
          {!rollout && (
            <div>
              <dt>Created</dt>
              <dd>
                <When at={Date.parse(object.metadata.createdAt)} now={now} />
              </dd>
            </div>
          )}
        </dl>
      </header>

      {deployment.error && <ErrorNotice error={deployment.error} onRetry={deployment.reload} />}

      {status.failure && (
        <section className="panel panel-bad" aria-labelledby="failure-title">
          <h2 id="failure-title">Cannot start</h2>
          <p>{status.failure.message}</p>
          <p className="muted">Since {formatTimestamp(status.failure.at)}. Fix the service, strategy or templates it refers to; the engine picks it up.</p>
        </section>
      )}
      {status.blocked && (
        <section className="panel panel-bad" aria-labelledby="blocked-title">
          <h2 id="blocked-title">Blocked</h2>
          <p>{status.blocked.message}</p>
          <p className="muted">Since {formatTimestamp(status.blocked.at)} ({formatRelative(status.blocked.at, now)}); the engine tries again by itself.</p>
        </section>
      )}
      {rollout?.pause && (
        <section className="panel panel-warn" aria-labelledby="pause-title">
          <h2 id="pause-title">Paused: {rollout.pause.reason}</h2>
          <p>{rollout.pause.message}</p>
          <p className="muted">
            Since <When at={rollout.pause.since} now={now} /> by {rollout.pause.actor}; {pauseUntil(rollout)}
            {rollout.pause.until !== null && (
              <>
                {' '}
                (<When at={rollout.pause.until} now={now} />)
              </>
            )}
            .
          </p>
        </section>
      )}
      {rollout?.abort && (
        <section className="panel panel-bad" aria-labelledby="abort-title">
          <h2 id="abort-title">
            {rollout.phase === 'Degraded' ? 'Degraded' : 'Aborted'}: {rollout.abort.reason}
          </h2>
          <p>{rollout.abort.message}</p>
          <p className="muted">
            By {rollout.abort.actor} at <When at={rollout.abort.at} now={now} />. {rollout.phase === 'Aborted' ? 'The stable version serves all traffic; retry starts a new attempt.' : 'Fix the cause and retry.'}
          </p>
        </section>
      )}

      {(operations.length > 0 || submitted.length > 0 || status.pendingOperations.length > 0 || status.operationResults.length > 0) && (
        <section className="panel" aria-labelledby="ops-title">
          <h2 id="ops-title">Operations</h2>
          {operations.length > 0 && (
            <div className="op-buttons" role="group" aria-label="Rollout operations">
              {operations.map((operation) => (
                <button key={operation.type} type="button" className={operation.danger ? 'danger' : undefined} onClick={() => setChoice(operation)}>
                  {operation.label}
                </button>
              ))}
            </div>
          )}
          <OperationLog status={status} submitted={submitted} now={now} />
        </section>
      )}

      {rollout && <RolloutBody rollout={rollout} resolved={status.resolved} now={now} />}

      {choice && (
        <ConfirmDialog
          title={`${choice.label} ${name}?`}
          description={choice.effect}
          fieldLabel="Reason"
          placeholder="Why (kept in the rollout's events and the audit log)"
          disableUntilFilled
          confirmLabel={`Confirm ${choice.label.toLowerCase()}`}
          danger={choice.danger}
          describeRefusal={describeError}
          onConfirm={(reason) => submit(choice, reason)}
          onClose={(done) => {
            setChoice(null);
            if (done) deployment.reload();
          }}
        />
      )}
    </article>
  );
}

function OperationLog({ status, submitted, now }: { status: ReturnType<typeof statusOf>['status']; submitted: Array<{ id: string; type: OperationType; reason: string }>; now: number }) {
  const pendingIds = new Set(status.pendingOperations.map((op) => op.id));
  const resultIds = new Set(status.operationResults.map((op) => op.id));
  // Sent from this page but not in the status yet (the reload is on its way).
  const inFlight = submitted.filter((op) => !pendingIds.has(op.id) && !resultIds.has(op.id));
  const mine = new Set(submitted.map((op) => op.id));
  if (status.pendingOperations.length === 0 && status.operationResults.length === 0 && inFlight.length === 0) return null;
  return (
    <div className="table-scroll">
      <table className="data-table ops-table" data-testid="operations">
        <caption>Queued operations and what the engine made of them, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">By</th>
            <th scope="col">Outcome</th>
            <th scope="col">When</th>
          </tr>
        </thead>
        <tbody>
          {inFlight.map((op) => (
            <tr key={op.id} className={mine.has(op.id) ? 'mine' : undefined}>
              <th scope="row">{operationLabel(op.type)}</th>
              <td>you{op.reason && <span className="muted"> — “{op.reason}”</span>}</td>
              <td role="status">queued, waiting for the engine…</td>
              <td>just now</td>
            </tr>
          ))}
          {[...status.pendingOperations].reverse().map((op) => (
            <tr key={op.id} className={mine.has(op.id) ? 'mine' : undefined}>
              <th scope="row">{operationLabel(op.type)}</th>
              <td>
                {op.actor}
                {op.reason && <span className="muted"> — “{op.reason}”</span>}
              </td>
              <td role="status">queued, waiting for the engine…</td>
              <td>{formatRelative(op.requestedAt, now)}</td>
            </tr>
          ))}
          {[...status.operationResults].reverse().map((op) => (
            <tr key={op.id} className={mine.has(op.id) ? 'mine' : undefined} data-testid={mine.has(op.id) ? 'my-operation-result' : undefined}>
              <th scope="row">{operationLabel(op.type)}</th>
              <td>{op.actor}</td>
              <td>
                <span className={op.accepted ? 'ok' : 'bad'}>{op.accepted ? 'accepted' : 'refused'}</span>: {op.message}
              </td>
              <td>{formatRelative(op.handledAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const STEP_MARK: Record<string, string> = { done: '✓', current: '▶', stopped: '✗', next: '·' };
const STEP_STATE: Record<string, string> = { done: 'done', current: 'current', stopped: 'stopped here', next: 'next' };

function RolloutBody({ rollout, resolved, now }: { rollout: RolloutStatus; resolved: ReturnType<typeof statusOf>['status']['resolved']; now: number }) {
  const steps = useMemo(() => stepTimeline(rollout, resolved), [rollout, resolved]);
  const weights = useMemo(() => weightSeries(rollout, now), [rollout, now]);
  const metrics = useMemo(() => metricSeries(rollout), [rollout]);
  const runs = rollout.analysisRuns.filter((run) => run.attempt === rollout.attempt);
  const done = Math.min(rollout.stepIndex, rollout.stepCount);
  const route = headerRouteText(rollout);
  const weight = rollout.phase === 'Healthy' ? 100 : rollout.canaryWeight;
  const retiring = rollout.retirements.filter((r) => r.retiredAt === null);
  const weightXs = weights.map((p) => p.at / 1000);
  const weightValues = weights.map((p) => p.weight);
  const events = [...rollout.history].reverse();

  return (
    <>
      <div className="rollout-grid">
        <section className="panel" aria-labelledby="traffic-title">
          <h2 id="traffic-title">Traffic</h2>
          <p className="versions">
            {rollout.phase === 'Healthy' ? (
              <>
                stable <strong>{rollout.stableVersion ?? '–'}</strong>
                {rollout.previousStableVersion && rollout.previousStableVersion !== rollout.stableVersion && <> · previous {rollout.previousStableVersion}</>}
              </>
            ) : (
              <>
                stable <strong>{rollout.stableVersion ?? 'none (first deploy)'}</strong> · canary <strong>{rollout.canaryVersion}</strong>
                {rollout.newVersion.state && (
                  <span className="muted">
                    {' '}
                    ({rollout.newVersion.state}
                    {rollout.newVersion.message ? `: ${rollout.newVersion.message}` : ''})
                  </span>
                )}
              </>
            )}
          </p>
          <div className="weight-bar" role="meter" aria-valuemin={0} aria-valuemax={100} aria-valuenow={weight} aria-label="Canary traffic weight" data-testid="canary-weight">
            <div className="weight-fill" style={{ width: `${weight}%` }} />
            <span className="weight-text">{rollout.phase === 'Healthy' ? `${rollout.canaryVersion} serves 100%` : `canary ${weight}% · stable ${100 - weight}%`}</span>
          </div>
          {route && <p>{route}</p>}
          {retiring.length > 0 && (
            <p className="muted">
              Retiring: {retiring.map((r) => `${r.version} ${r.notBefore > now ? formatRelative(r.notBefore, now) : 'once traffic left it'} (${r.reason})`).join('; ')}
            </p>
          )}
          {weights.length > 1 && (
            <figure className="chart">
              <figcaption>Canary weight over time (%)</figcaption>
              <TimeChart
                xs={weightXs}
                series={[{ label: 'canary %', values: weightValues, color: '#d9480f' }]}
                format={(value) => (value === null ? '–' : `${Math.round(value)}%`)}
                stepped
                yRange={[0, 100]}
                height={160}
                legend={false}
                summary={`Canary weight over time: ${weights.map((p) => `${p.weight}%`).join(' → ')}`}
                testId="weight-chart"
              />
            </figure>
          )}
        </section>

        <section className="panel" aria-labelledby="steps-title">
          <h2 id="steps-title">Steps</h2>
          {steps.length === 0 ? (
            <p>{rollout.strategy === 'direct' ? 'None: deployed directly, marked stable once ready.' : 'None.'}</p>
          ) : (
            <>
              <p className="muted" data-testid="step-summary">
                {done >= rollout.stepCount ? `All ${rollout.stepCount} steps done` : `Step ${done + 1} of ${rollout.stepCount}${rollout.phase === 'Aborted' || rollout.phase === 'Degraded' ? ' (stopped here)' : ''}`}
              </p>
              <ol className="steps" data-testid="steps">
                {steps.map((step) => (
                  <li key={step.index} className={`step step-${step.state} step-kind-${step.kind}`} aria-current={step.state === 'current' ? 'step' : undefined}>
                    <span className="step-mark" aria-hidden="true">
                      {STEP_MARK[step.state]}
                    </span>
                    <span className="step-label">{step.label}</span>
                    <span className="step-state">{STEP_STATE[step.state]}</span>
                    {step.detail && <span className="step-detail muted">{step.detail}</span>}
                    {step.state === 'current' && <span className="step-detail muted">· for {formatDuration(now - rollout.step.startedAt)}</span>}
                  </li>
                ))}
              </ol>
            </>
          )}
        </section>
      </div>

      {runs.length > 0 && (
        <section className="panel" aria-labelledby="analysis-title">
          <h2 id="analysis-title">Analysis</h2>
          <ul className="runs">
            {runs.map((run) => (
              <li key={run.id}>
                <strong>{run.id}</strong> {runTitle(run)} <span className={`mphase mphase-${run.phase.toLowerCase()}`}>{run.phase}</span>{' '}
                <span className="muted">{run.finishedAt !== null ? `ended ${formatRelative(run.finishedAt, now)}` : `started ${formatRelative(run.startedAt, now)}`}</span>
                {run.message && run.phase !== 'Running' && <> — {run.message}</>}
                {run.scores?.at(-1) && (
                  <div>
                    score <strong>{run.scores.at(-1)!.score}</strong> ({run.scores.at(-1)!.outcome}) after interval {run.scores.at(-1)!.interval} of {run.scores.at(-1)!.template}
                    {run.scores.at(-1)!.message ? ` — ${run.scores.at(-1)!.message}` : ''}
                  </div>
                )}
              </li>
            ))}
          </ul>
          {metrics.map((series) => (
            <MetricPanel key={series.key} series={series} now={now} />
          ))}
        </section>
      )}

      <section className="panel" aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        {events.length === 0 ? (
          <p className="muted">No events yet.</p>
        ) : (
          <div className="table-scroll">
            <table className="data-table events-table">
              <caption>
                {rollout.history.length < rollout.eventSeq ? `The last ${rollout.history.length} of ${rollout.eventSeq} events` : `${events.length} events`}, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Event</th>
                  <th scope="col">Step</th>
                  <th scope="col">Phase</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.seq} className={`event-${event.type}`}>
                    <td className="num">
                      <time dateTime={new Date(event.at).toISOString()} title={formatTimestamp(event.at)}>
                        {new Date(event.at).toLocaleTimeString()}
                      </time>
                    </td>
                    <th scope="row">{event.type}</th>
                    <td className="num">{event.stepIndex + 1}</td>
                    <td>{event.phase}</td>
                    <td>
                      {event.message}
                      {event.actor !== 'system' && <span className="muted"> ({event.actor})</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
