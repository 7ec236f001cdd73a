/**
 * One metric of the current attempt's analysis: canary vs baseline over time (a chart per field
 * the metric is about, with a marker where each verdict fell), its verdict counts against the
 * limits, and the judge's evidence for each recent measurement.
 */
import { formatDuration, formatRelative, formatTimestamp } from '../../format.js';
import { chartData, evidenceOf, FIELD_LABEL, formatField, formatInterval, formatNumber, sampleValue, type Evidence, type MetricSeries } from './derive.js';
import { TimeChart } from './TimeChart.js';

const MEASUREMENTS_SHOWN = 8;
const CANARY = '#d9480f';
const BASELINE = '#1f5fbf';

const phaseClass = (phase: string) => `mphase mphase-${phase.toLowerCase()}`;

function EvidenceCell({ evidence }: { evidence: Evidence }) {
  switch (evidence.kind) {
    case 'sequential':
      return (
        <ul className="evidence">
          {evidence.tests.map((test) => (
            <li key={test.name}>
              <strong>{test.name}</strong> <span className={phaseClass(test.verdict)}>{test.verdict}</span>: e = {formatNumber(test.eValue)} {test.eValue !== null && test.threshold !== null && test.eValue >= test.threshold ? '≥' : '<'} {formatNumber(test.threshold)}
              {test.alpha !== null && <> (α {formatNumber(test.alpha, 3)})</>}; ratio {formatNumber(test.estimate, 3)} {formatInterval(test.lower, test.upper)}
              <span className="muted"> · {test.samples}</span>
            </li>
          ))}
        </ul>
      );
    case 'mannWhitney':
      return (
        <span>
          {evidence.classification}
          {evidence.critical ? ' (critical)' : ''}: Hodges–Lehmann {formatNumber(evidence.hodgesLehmann, 3)} {evidence.interval ? formatInterval(evidence.interval[0], evidence.interval[1]) : ''} at {formatNumber(evidence.confidence, 3)}, mean ratio {formatNumber(evidence.effectSize, 3)}, {evidence.points}
        </span>
      );
    case 'threshold':
      return (
        <span>
          success {evidence.success === null ? '–' : String(evidence.success)} · failure {evidence.failure === null ? '–' : String(evidence.failure)}
        </span>
      );
    default:
      return <span className="muted">–</span>;
  }
}

export function MetricPanel({ series, now }: { series: MetricSeries; now: number }) {
  const metric = series.latest;
  const settings = metric.settings;
  const totals = series.runs.reduce(
    (sum, { metric: m }) => ({ successful: sum.successful + m.successful, failed: sum.failed + m.failed, inconclusive: sum.inconclusive + m.inconclusive, errors: sum.errors + m.errors, noData: sum.noData + m.noData }),
    { successful: 0, failed: 0, inconclusive: 0, errors: 0, noData: 0 },
  );
  const judge = settings.judge;
  const recent = series.measurements.slice(-MEASUREMENTS_SHOWN).reverse();
  const headingId = `metric-${series.key.replace(/[^a-zA-Z0-9-]/g, '-')}`;
  const conditions = [settings.successCondition ? `success: ${settings.successCondition}` : null, settings.failureCondition ? `failure: ${settings.failureCondition}` : null].filter(Boolean);

  return (
    <section className="metric" aria-labelledby={headingId} data-testid={`metric-${series.key}`}>
      <h3 id={headingId}>
        {series.key} <span className={phaseClass(metric.phase)}>{metric.phase}</span>
      </h3>
      <p className="muted">
        judge {series.judge}
        {judge?.kind === 'sequential' && (
          <>
            {' '}
            · α {formatNumber(judge.alpha, 3)} (template {formatNumber(judge.templateAlpha, 3)}) · tolerance +{formatNumber(judge.tolerance * 100, 3)}%
          </>
        )}
        {judge?.kind === 'mannWhitney' && (
          <>
            {' '}
            · confidence {judge.confidence} · pass ≥ {judge.pass}, marginal ≥ {judge.marginal}
          </>
        )}{' '}
        · every {formatDuration(settings.intervalMs)} · {settings.count === null ? `${metric.counted} measured (until the rollout ends)` : `${metric.counted}/${settings.count} measured`}
        {metric.nextMeasurementAt !== null && metric.phase === 'Running' && <> · next {formatRelative(metric.nextMeasurementAt, now)}</>}
      </p>
      {conditions.length > 0 && (
        <p>
          <code>{conditions.join(' · ')}</code>
        </p>
      )}
      {metric.message && <p>{metric.message}</p>}
      <p className="verdict-counts">
        <span>{totals.successful} successful</span> · <span className={totals.failed > settings.failureLimit ? 'bad' : undefined}>{totals.failed} failed (limit {settings.failureLimit})</span> · <span>
          {totals.inconclusive} inconclusive (limit {settings.inconclusiveLimit})
        </span> · <span>
          {totals.errors} errors ({metric.consecutiveErrors} in a row, limit {settings.consecutiveErrorLimit})
        </span>
        {totals.noData > 0 && (
          <>
            {' '}
            · <span>
              {totals.noData} no data ({settings.noDataPolicy})
            </span>
          </>
        )}
      </p>
      {series.measurements.length === 0 ? (
        <p className="muted">No measurement yet.</p>
      ) : (
        <>
          <div className="metric-charts">
            {series.fields.map((field) => {
              const [xs, canary, baseline] = chartData(series, field);
              const last = series.measurements.at(-1)!;
              return (
                <figure key={field} className="chart">
                  <figcaption>
                    {FIELD_LABEL[field]}: canary <strong>{formatField(field, sampleValue(last.inputs.canary, field))}</strong> vs baseline {formatField(field, sampleValue(last.inputs.baseline, field))}
                  </figcaption>
                  <TimeChart
                    xs={xs}
                    series={[
                      { label: 'canary', values: canary, color: CANARY },
                      { label: 'baseline', values: baseline, color: BASELINE, dash: [6, 4] },
                    ]}
                    format={(value) => formatField(field, value)}
                    yMinSpan={field === 'errorRate' ? 0.01 : field === 'requests' || field === 'errors' || field === 'value' ? 1 : 0.005}
                    markers={series.verdicts}
                    summary={`${series.key} ${FIELD_LABEL[field]}, canary vs baseline over ${xs.length} windows; latest canary ${formatField(field, sampleValue(last.inputs.canary, field))}, baseline ${formatField(field, sampleValue(last.inputs.baseline, field))}`}
                    testId={`chart-${series.key}-${field}`}
                  />
                </figure>
              );
            })}
          </div>
          {series.verdicts.length > 0 && (
            <ul className="verdict-marks" aria-label="Verdicts">
              {series.verdicts.map((verdict) => (
                <li key={`${verdict.at}-${verdict.label}`} className={`tone-${verdict.tone}`}>
                  <time dateTime={new Date(verdict.at).toISOString()} title={formatTimestamp(verdict.at)}>
                    {new Date(verdict.at).toLocaleTimeString()}
                  </time>{' '}
                  {verdict.label}
                </li>
              ))}
            </ul>
          )}
          <div className="table-scroll">
            <table className="data-table evidence-table">
              <caption>
                Latest {recent.length} of {series.measurements.length} measurements, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Window</th>
                  <th scope="col">Verdict</th>
                  {series.fields.map((field) => (
                    <th scope="col" key={field}>
                      {FIELD_LABEL[field]} canary / baseline
                    </th>
                  ))}
                  <th scope="col">Requests canary / baseline</th>
                  <th scope="col">Evidence</th>
                </tr>
              </thead>
              <tbody>
                {recent.map((measurement) => (
                  <tr key={`${measurement.runId}-${measurement.seq}`}>
                    <th scope="row">
                      {measurement.seq}
                      <span className="muted"> {measurement.runId}</span>
                    </th>
                    <td className="num">
                      <time dateTime={new Date(measurement.window.endMs).toISOString()} title={formatTimestamp(measurement.window.endMs)}>
                        {formatDuration(measurement.window.endMs - measurement.window.startMs)} to {new Date(measurement.window.endMs).toLocaleTimeString()}
                      </time>
                    </td>
                    <td>
                      <span className={phaseClass(measurement.phase)}>{measurement.phase}</span>
                      {measurement.countedAs !== measurement.phase.toLowerCase() && <span className="muted"> (counted as {measurement.countedAs})</span>}
                      {measurement.message && <div className="muted small">{measurement.message}</div>}
                    </td>
                    {series.fields.map((field) => (
                      <td key={field} className="num">
                        <strong>{formatField(field, sampleValue(measurement.inputs.canary, field))}</strong> / {formatField(field, sampleValue(measurement.inputs.baseline, field))}
                      </td>
                    ))}
                    <td className="num">
                      {formatField('requests', sampleValue(measurement.inputs.canary, 'requests'))} / {formatField('requests', sampleValue(measurement.inputs.baseline, 'requests'))}
                    </td>
                    <td>
                      <EvidenceCell evidence={evidenceOf(measurement.details)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
