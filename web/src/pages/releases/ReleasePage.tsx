/**
 * One release, from `GET /api/v1/releases/{name}/overview` (what `rollgate release show` prints):
 * its path through the environments (with the gate results recorded at each promotion and the
 * refused ones), go/no-go per environment, scope grouped by classification, the freeze and its
 * exceptions, components with digests, critical integration points, results, sign-offs and changes.
 * Members of the group a pending manual criterion needs get a "Sign off for <group>…" button.
 * Live: releases, deployments and changes changing reload it.
 */
import { useState } from 'react';
import { Link, useParams } from 'wouter';
import { ApiError } from '../../../../src/client/index.js';
import type { ReleaseOverview } from '../../../../src/client/releases.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ErrorNotice } from '../../components/ErrorNotice.js';
import { PhaseBadge } from '../../components/PhaseBadge.js';
import { useApi } from '../../hooks/useApi.js';
import { usePageTitle } from '../../hooks/usePageTitle.js';
import { formatRelative, formatTimestamp } from '../../format.js';
import { useSession } from '../../session.js';
import {
  CLASSIFICATION_LABEL,
  CRITERION_SYMBOL,
  findingsText,
  OUTCOME_SYMBOL,
  overviewStageMark,
  promotionGates,
  shortDigest,
  signoffAction,
  STAGE_LABEL,
  STAGE_SYMBOL,
} from './derive.js';
import './releases.css';

const REFRESH_ON = ['Release', 'Deployment', 'Change'] as const;
const COMMENT_LABEL = 'Comment (recorded with the decision)';
const COMMENT_REQUIRED = 'A comment is required: it is recorded with the decision.';

function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span className="muted">—</span>;
  return (
    <time dateTime={at} title={formatTimestamp(at)}>
      {formatRelative(at)}
    </time>
  );
}

export default function ReleasePage() {
  const { name = '' } = useParams<{ name: string }>();
  usePageTitle(`Release ${name}`);
  const overview = useApi(`release ${name}`, (client) => client.releases.overview(name), [name], { refreshOn: REFRESH_ON });
  const notFound = overview.error?.cause instanceof ApiError && overview.error.cause.status === 404;

  return (
    <article className="rel-page" aria-labelledby="page-title">
      <p>
        <Link href="/releases">← Releases</Link>
      </p>
      <div className="page-head">
        <h1 id="page-title">Release {name}</h1>
        {overview.data && <p className="muted">version {overview.data.version}</p>}
      </div>
      {notFound ? (
        <p role="alert">
          No release named “{name}”. <Link href="/releases">See every release</Link>.
        </p>
      ) : (
        overview.error && <ErrorNotice error={overview.error} onRetry={overview.reload} />
      )}
      {!overview.data && overview.loading && <p role="status">Loading release…</p>}
      {overview.data && <ReleaseView overview={overview.data} reload={overview.reload} />}
    </article>
  );
}

function ReleaseView({ overview, reload }: { overview: ReleaseOverview; reload: () => void }) {
  const totals = overview.scope.totals;
  return (
    <>
      <dl className="rel-facts">
        {overview.description && (
          <>
            <dt>About</dt>
            <dd>{overview.description}</dd>
          </>
        )}
        <dt>Pipeline</dt>
        <dd>{overview.pipeline ?? <span className="muted">none (no pipeline covers every component)</span>}</dd>
        <dt>Scope freeze</dt>
        <dd data-testid="freeze">
          {overview.freeze.freezeDate === null ? (
            'no freeze date: the scope can change at any time'
          ) : overview.freeze.frozen ? (
            <>
              <strong>Frozen</strong> since <time dateTime={overview.freeze.freezeDate}>{formatTimestamp(overview.freeze.freezeDate)}</time>: scope changes need an approved exception
            </>
          ) : (
            <>
              Not frozen yet: freezes <time dateTime={overview.freeze.freezeDate}>{formatTimestamp(overview.freeze.freezeDate)}</time> ({formatRelative(overview.freeze.freezeDate)})
            </>
          )}
        </dd>
        <dt>Scope</dt>
        <dd>
          {totals.items} {totals.items === 1 ? 'item' : 'items'}, value {totals.value}, {totals.contractual} contractual, jurisdictions: {totals.jurisdictions.length ? totals.jurisdictions.join(', ') : 'none'}
        </dd>
        <dt>Path</dt>
        <dd>
          {overview.promotionPath.length === 0 ? (
            <span className="muted">no pipeline and no promotions</span>
          ) : (
            <ol className="rel-stepper" aria-label="Promotion path">
              {overview.promotionPath.map((stage) => {
                const mark = overviewStageMark(stage);
                return (
                  <li key={stage.environment} className={`mark-${mark}`}>
                    <strong>{stage.environment}</strong>
                    {stage.production && <span className="muted"> (production)</span>} <span aria-hidden="true">{STAGE_SYMBOL[mark]}</span> <span>{STAGE_LABEL[mark]}</span>
                  </li>
                );
              })}
            </ol>
          )}
        </dd>
        <dt>Go / no-go</dt>
        <dd>
          {overview.goNoGo.length === 0 ? (
            <span className="muted">no go/no-go environment</span>
          ) : (
            overview.goNoGo.map((view) => (
              <div key={view.environment}>
                {view.environment}: <span className={`verdict ${view.canGo ? 'verdict-go' : 'verdict-blocked'}`}>{view.canGo ? 'GO possible' : `BLOCKED by ${view.blocking.join(', ')}`}</span>
                {view.lastDecision && (
                  <span className="muted">
                    {' '}
                    · last decision {view.lastDecision.decision.toUpperCase()} by {view.lastDecision.decidedBy}
                  </span>
                )}
              </div>
            ))
          )}
        </dd>
      </dl>
      <ScopeSection overview={overview} reload={reload} />
      <ComponentsSection overview={overview} />
      <GoNoGoSection overview={overview} reload={reload} />
      <PathSection overview={overview} />
      <ResultsSection overview={overview} />
      <ChangesSection overview={overview} />
    </>
  );
}

function PathSection({ overview }: { overview: ReleaseOverview }) {
  const gates = promotionGates(overview.release);
  const path = overview.promotionPath;
  return (
    <section className="rel-section" aria-labelledby="path-title">
      <h2 id="path-title">Path through environments</h2>
      {path.length === 0 ? (
        <p className="muted">No pipeline and no promotions yet.</p>
      ) : (
        <>
          {path.map((stage) => {
            const promotion = gates.get(stage.environment);
            return (
              <div className="rel-card" key={stage.environment}>
                <h3>{stage.environment}</h3>
                {!stage.promoted ? (
                  <p className="muted">Not promoted.</p>
                ) : (
                  <>
                    <p>
                      Promoted <When at={stage.at} /> by {stage.by ?? '—'}
                      {stage.change && (
                        <>
                          , change <Link href={`/changes/${encodeURIComponent(stage.change)}`}>{stage.change}</Link>
                        </>
                      )}
                    </p>
                    {stage.deployments.length > 0 && (
                      <ul>
                        {stage.deployments.map((deployment) => (
                          <li key={deployment.deployment}>
                            {deployment.service} {deployment.version}: <Link href={`/rollouts/${encodeURIComponent(deployment.deployment)}`}>{deployment.deployment}</Link>{' '}
                            {deployment.phase ? <PhaseBadge phase={deployment.phase} /> : <span className="muted">not started</span>}
                          </li>
                        ))}
                      </ul>
                    )}
                    {promotion && promotion.gates.length > 0 && <GateTable caption={`Gates at the promotion to ${stage.environment}`} gates={promotion.gates} />}
                  </>
                )}
              </div>
            );
          })}
        </>
      )}
      <h3>Refused promotions</h3>
      {overview.refusals.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        overview.refusals.map((refusal, index) => (
          <div className="rel-card" key={`${refusal.at}-${index}`}>
            <p>
              To <strong>{refusal.environment}</strong> by {refusal.actor}, <When at={refusal.at} />
            </p>
            <GateTable caption={`Gates that refused the promotion to ${refusal.environment}`} gates={refusal.gates} />
          </div>
        ))
      )}
    </section>
  );
}

function GateTable({ caption, gates }: { caption: string; gates: ReadonlyArray<{ gate: string; name: string; outcome: string; message: string; service?: string | undefined }> }) {
  return (
    <div className="table-box">
      <table className="data-table stack rel-table">
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Outcome</th>
            <th scope="col">Gate</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {gates.map((gate, index) => (
            <tr key={`${gate.gate}-${gate.name}-${index}`}>
              <td data-label="Outcome" className={`outcome-${gate.outcome}`}>
                <span aria-hidden="true">{OUTCOME_SYMBOL[gate.outcome] ?? '?'}</span> {gate.outcome}
              </td>
              <td data-label="Gate">
                {gate.gate}/{gate.name}
                {gate.service && <span className="muted"> [{gate.service}]</span>}
              </td>
              <td data-label="Message">{gate.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function GoNoGoSection({ overview, reload }: { overview: ReleaseOverview; reload: () => void }) {
  const { client, can, user } = useSession();
  const [ask, setAsk] = useState<{ environment: string; decision: 'go' | 'no-go' } | null>(null);
  const [signFor, setSignFor] = useState<string | null>(null);
  const name = overview.release.metadata.name;
  const viewer = { user: user.user, groups: user.groups, isApprover: can('approver') };
  return (
    <section className="rel-section" aria-labelledby="gonogo-title">
      <h2 id="gonogo-title">Go / no-go</h2>
      {overview.goNoGo.length === 0 && <p className="muted">No go/no-go environment (no goNoGo.environment, no production stage).</p>}
      {overview.goNoGo.map((view) => (
        <div className="rel-card" key={view.environment} data-testid={`gonogo-${view.environment}`}>
          <h3>{view.environment}</h3>
          <p className={`verdict ${view.canGo ? 'verdict-go' : 'verdict-blocked'}`}>
            {view.canGo
              ? 'GO possible: every required criterion is met'
              : `BLOCKED: ${view.blocking.length} required ${view.blocking.length === 1 ? 'criterion' : 'criteria'} not met (${view.blocking.join(', ')})`}
          </p>
          {view.criteria.length === 0 ? (
            <p className="muted">No criteria.</p>
          ) : (
            <div className="table-box">
              <table className="data-table stack rel-table">
                <caption className="visually-hidden">Go/no-go criteria for {view.environment}</caption>
                <thead>
                  <tr>
                    <th scope="col">Criterion</th>
                    <th scope="col">State</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Required</th>
                    <th scope="col">Evidence</th>
                  </tr>
                </thead>
                <tbody>
                  {view.criteria.map((criterion) => {
                    const signoff = signoffAction(criterion, viewer, overview.signoffs);
                    return (
                      <tr key={criterion.id}>
                        <th scope="row">
                          {criterion.id}
                          <div className="muted">{criterion.description}</div>
                        </th>
                        <td data-label="State" className={`state-${criterion.state}`}>
                          <span aria-hidden="true">{CRITERION_SYMBOL[criterion.state] ?? '?'}</span> {criterion.state}
                        </td>
                        <td data-label="Kind">{criterion.kind}</td>
                        <td data-label="Required">{criterion.required ? 'yes' : 'no'}</td>
                        <td data-label="Evidence">
                          {criterion.detail}
                          {signoff && (
                            <div className="rel-signoff">
                              {signoff.signed ? (
                                <span className="muted">You signed off for {signoff.group}.</span>
                              ) : (
                                <button type="button" className="secondary" onClick={() => setSignFor(signoff.group)}>
                                  Sign off for {signoff.group}…
                                </button>
                              )}
                            </div>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
          <p>
            Last decision:{' '}
            {view.lastDecision ? (
              <>
                <strong className={`dec-${view.lastDecision.decision}`}>{view.lastDecision.decision.toUpperCase()}</strong> by {view.lastDecision.decidedBy}, <When at={view.lastDecision.at} /> — “{view.lastDecision.comment}”
              </>
            ) : (
              <span className="muted">none</span>
            )}
          </p>
          {can('approver') && (
            <div className="rel-actions">
              <button type="button" disabled={!view.canGo} onClick={() => setAsk({ environment: view.environment, decision: 'go' })}>
                Record GO for {view.environment}…
              </button>
              <button type="button" className="secondary" onClick={() => setAsk({ environment: view.environment, decision: 'no-go' })}>
                Record NO-GO for {view.environment}…
              </button>
              {!view.canGo && <span className="muted">GO needs every required criterion met.</span>}
            </div>
          )}
        </div>
      ))}
      {ask && (
        <ConfirmDialog
          title={`Record ${ask.decision.toUpperCase()} for ${name} in ${ask.environment}`}
          description="The decision is recorded with every criterion's state now, your name and your comment. Deciding needs membership of the release managers' group."
          fieldLabel={COMMENT_LABEL}
          requiredMessage={COMMENT_REQUIRED}
          confirmLabel={`Record ${ask.decision.toUpperCase()}`}
          pendingLabel="Recording…"
          onConfirm={(comment) => client.releases.decide(name, { environment: ask.environment, decision: ask.decision, comment })}
          onClose={(done) => {
            setAsk(null);
            if (done) reload();
          }}
        />
      )}
      {signFor && (
        <ConfirmDialog
          title={`Sign off ${name} for ${signFor}`}
          description={`Your sign-off is recorded on the release with your name and comment, once per person and group; it counts for every criterion that needs a sign-off from ${signFor}.`}
          fieldLabel="Comment (recorded with the sign-off)"
          requiredMessage="A comment is required: it is recorded with the sign-off."
          confirmLabel="Sign off"
          pendingLabel="Signing off…"
          onConfirm={(comment) => client.releases.signoff(name, { group: signFor, comment })}
          onClose={(done) => {
            setSignFor(null);
            if (done) reload();
          }}
        />
      )}
      <h3>Sign-offs</h3>
      {overview.signoffs.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {overview.signoffs.map((signoff) => (
            <li key={`${signoff.group}-${signoff.user}-${signoff.at}`}>
              <strong>{signoff.group}</strong>: {signoff.user}, <When at={signoff.at} /> — “{signoff.comment}”
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ScopeSection({ overview, reload }: { overview: ReleaseOverview; reload: () => void }) {
  const { client, can } = useSession();
  const [ask, setAsk] = useState<{ id: string; decision: 'approve' | 'reject' } | null>(null);
  const name = overview.release.metadata.name;
  return (
    <section className="rel-section" aria-labelledby="scope-title">
      <h2 id="scope-title">Scope</h2>
      {overview.scope.groups.length === 0 && <p className="muted">No scope items.</p>}
      {overview.scope.groups.map((group) => (
        <section className="rel-card" key={group.classification} aria-labelledby={`scope-${group.classification}`} data-testid={`scope-${group.classification}`}>
          <h3 id={`scope-${group.classification}`}>
            {CLASSIFICATION_LABEL[group.classification] ?? group.classification}{' '}
            <span className="muted">
              ({group.items}, value {group.value}
              {group.contractual > 0 ? `, ${group.contractual} contractual` : ''})
            </span>
          </h3>
          <ul className="rel-scope">
            {group.scope.map((item) => (
              <li key={item.title}>
                {item.link && /^https?:\/\//.test(item.link) ? (
                  <a href={item.link} rel="noreferrer noopener" target="_blank">
                    {item.title}
                  </a>
                ) : (
                  item.title
                )}
                <span className="rel-tags">
                  {item.value !== undefined && <span className="tag">value {item.value}</span>}
                  {item.contractual && <span className="tag tag-contractual">contractual</span>}
                  {(item.jurisdictions ?? []).map((jurisdiction) => (
                    <span className="tag" key={jurisdiction}>
                      jurisdiction {jurisdiction}
                    </span>
                  ))}
                  {item.link && !/^https?:\/\//.test(item.link) && <code className="tag">{item.link}</code>}
                </span>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <h3>Scope exceptions</h3>
      {overview.exceptions.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {overview.exceptions.map((exception) => (
            <li key={exception.id}>
              <strong>{exception.id}</strong> <span className={exception.state === 'approved' ? 'state-met' : exception.state === 'rejected' ? 'state-unmet' : 'state-pending'}>{exception.state.toUpperCase()}</span>:{' '}
              {[...exception.add.map((item) => `+ “${String(item['title'])}”`), ...exception.remove.map((title) => `− “${title}”`)].join(', ')} — requested by {exception.requestedBy}, <When at={exception.requestedAt} />: {exception.reason}
              {exception.decidedBy && (
                <>
                  {' '}
                  · decided by {exception.decidedBy}, <When at={exception.decidedAt} />
                  {exception.comment ? ` — “${exception.comment}”` : ''}
                </>
              )}
              {exception.state === 'pending' && can('approver') && (
                <span className="rel-actions">
                  <button type="button" onClick={() => setAsk({ id: exception.id, decision: 'approve' })}>
                    Approve {exception.id}…
                  </button>
                  <button type="button" className="secondary" onClick={() => setAsk({ id: exception.id, decision: 'reject' })}>
                    Reject {exception.id}…
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      {ask && (
        <ConfirmDialog
          title={`${ask.decision === 'approve' ? 'Approve' : 'Reject'} scope exception ${ask.id}`}
          description={`${ask.decision === 'approve' ? 'Approving applies the scope change to the frozen release.' : 'Rejecting leaves the scope as it is.'} The requester cannot decide their own request.`}
          fieldLabel={COMMENT_LABEL}
          requiredMessage={COMMENT_REQUIRED}
          confirmLabel={ask.decision === 'approve' ? 'Approve' : 'Reject'}
          pendingLabel="Recording…"
          onConfirm={(comment) => client.releases.decideException(name, ask.id, { decision: ask.decision, comment })}
          onClose={(done) => {
            setAsk(null);
            if (done) reload();
          }}
        />
      )}
    </section>
  );
}

function Digest({ digest, service }: { digest: string; service: string }) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = () => {
    const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
    if (!clipboard) return setCopied('failed');
    clipboard.writeText(digest).then(
      () => setCopied('copied'),
      () => setCopied('failed'),
    );
  };
  return (
    <span className="digest">
      <code title={digest} data-digest={digest}>
        {shortDigest(digest)}
      </code>
      <button type="button" className="link-button" onClick={copy} aria-label={`Copy the full digest of ${service}`}>
        Copy
      </button>
      <span className="copy-status" role="status">
        {copied === 'copied' ? 'Copied' : copied === 'failed' ? 'Copy failed: the full digest is in the tooltip' : ''}
      </span>
    </span>
  );
}

function ComponentsSection({ overview }: { overview: ReleaseOverview }) {
  const critical = overview.integrationPoints.filter((point) => point.critical);
  return (
    <section className="rel-section" aria-labelledby="components-title">
      <h2 id="components-title">Components</h2>
      {overview.components.length === 0 ? (
        <p className="muted">No components.</p>
      ) : (
        <div className="table-box">
          <table className="data-table stack rel-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Version</th>
                <th scope="col">Digest</th>
                <th scope="col">Business services</th>
                <th scope="col">Artifact</th>
              </tr>
            </thead>
            <tbody>
              {overview.components.map((component) => (
                <tr key={component.service}>
                  <th scope="row">{component.service}</th>
                  <td data-label="Version">{component.version}</td>
                  <td data-label="Digest">
                    <Digest digest={component.digest} service={component.service} />
                  </td>
                  <td data-label="Business services">{component.businessServices.length ? component.businessServices.join(', ') : '—'}</td>
                  <td data-label="Artifact">
                    {component.artifact ? (
                      <>
                        {component.artifact.name} ({component.artifact.signed ? `signed ×${component.artifact.signatures}` : <strong className="state-unmet">UNSIGNED</strong>}
                        {component.artifact.author ? `, author ${component.artifact.author}` : ''})
                        {component.artifact.attestations.length > 0 && <div className="muted">attestations: {component.artifact.attestations.join(', ')}</div>}
                      </>
                    ) : (
                      <span className="state-unmet">not registered</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Critical integration points</h3>
      {critical.length === 0 ? (
        <p className="muted">None: nothing depends on the release's services.</p>
      ) : (
        <ul>
          {critical.map((point) => (
            <li key={point.service}>
              <strong>{point.service}</strong> is depended on by{' '}
              {[
                point.dependents.inside.length ? `${point.dependents.inside.join(', ')} (in the release)` : null,
                point.dependents.outside.length ? `${point.dependents.outside.join(', ')} (outside the release)` : null,
              ]
                .filter(Boolean)
                .join('; ')}
              {point.dependsOn.length > 0 && <span className="muted"> · depends on {point.dependsOn.join(', ')}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function ResultsSection({ overview }: { overview: ReleaseOverview }) {
  return (
    <section className="rel-section" aria-labelledby="results-title">
      <h2 id="results-title">Results</h2>
      {overview.results.length === 0 ? (
        <p className="muted">None posted.</p>
      ) : (
        <div className="table-box">
          <table className="data-table stack rel-table">
            <thead>
              <tr>
                <th scope="col">Result</th>
                <th scope="col">Outcome</th>
                <th scope="col">Type</th>
                <th scope="col">Value / findings</th>
                <th scope="col">Posted</th>
              </tr>
            </thead>
            <tbody>
              {overview.results.map((result) => (
                <tr key={result.id}>
                  <th scope="row">
                    {result.url && /^https?:\/\//.test(result.url) ? (
                      <a href={result.url} rel="noreferrer noopener" target="_blank">
                        {result.name}
                      </a>
                    ) : (
                      result.name
                    )}
                    {result.service && <span className="muted"> [{result.service}]</span>}
                    {result.environment && <span className="muted"> in {result.environment}</span>}
                    {result.summary && <div className="muted">{result.summary}</div>}
                  </th>
                  <td data-label="Outcome" className={result.passed ? 'state-met' : 'state-unmet'}>
                    <span aria-hidden="true">{result.passed ? '✓' : '✗'}</span> {result.passed ? 'passed' : 'failed'}
                  </td>
                  <td data-label="Type">{result.type}</td>
                  <td data-label="Value / findings">{[result.value !== undefined ? String(result.value) : null, findingsText(result.findings) || null].filter(Boolean).join('; ') || '—'}</td>
                  <td data-label="Posted">
                    {result.postedBy}, <When at={result.at} />
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

function ChangesSection({ overview }: { overview: ReleaseOverview }) {
  return (
    <section className="rel-section" aria-labelledby="changes-title">
      <h2 id="changes-title">Changes</h2>
      {overview.changes.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {overview.changes.map((change) => (
            <li key={change.name}>
              {change.found ? <Link href={`/changes/${encodeURIComponent(change.name)}`}>{change.name}</Link> : <span>{change.name} (deleted)</span>} {change.environment ?? '—'} · {change.state ?? '?'} · risk {change.risk ?? 'not assessed'}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
