// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { apiObject, fakeApi, fakeLayout, json, memoryStorage, problem, TEST_SERVER } from '../../test-support/fake-api.js';

beforeAll(() => fakeLayout());
afterEach(cleanup);

const DIGEST = `sha256:1100000000000000000000000000000000000000000000000000000000000abc`;
const AT = '2026-05-02T10:00:00.000Z';

const releaseObject = apiObject(
  'Release',
  'ledger-1-1-0',
  { version: '1.1.0', description: 'Multi-currency settlement', freezeDate: '2026-05-01T00:00:00Z', components: [{ service: 'ledger', version: '1.1.0', digest: DIGEST }], scope: [] },
  {
    promotions: [{ environment: 'dev', at: AT, actor: 'user:alice', deployments: [{ service: 'ledger', version: '1.1.0', digest: DIGEST, deployment: 'dep-dev' }], gates: [{ gate: 'digest', name: 'dev', outcome: 'pass', message: 'first stage' }] }],
    goNoGo: [{ decision: 'no-go', environment: 'prod', decidedBy: 'dave', at: AT, comment: 'load test missing', criteria: [] }],
  },
);

function overview(over: Record<string, unknown> = {}) {
  return {
    release: releaseObject,
    version: '1.1.0',
    description: 'Multi-currency settlement',
    pipeline: 'ledger-path',
    scope: {
      groups: [
        { classification: 'net-new', items: 1, value: 90, contractual: 1, jurisdictions: ['eu'], scope: [{ title: 'Report EU settlements', classification: 'net-new', value: 90, contractual: true, jurisdictions: ['eu'] }] },
        { classification: 'enhancement', items: 1, value: 0, contractual: 0, jurisdictions: [], scope: [{ title: 'Several currencies', classification: 'enhancement', link: 'https://tracker.example/PAY-1' }] },
        { classification: 'defect-fix', items: 1, value: 0, contractual: 0, jurisdictions: [], scope: [{ title: 'Reject negative amounts', classification: 'defect-fix', link: '1584b92d' }] },
      ],
      totals: { items: 3, value: 90, contractual: 1, jurisdictions: ['eu'] },
    },
    components: [{ service: 'ledger', version: '1.1.0', digest: DIGEST, businessServices: ['payments'], artifact: { name: 'ledger-1-1-0', signed: true, signatures: 1, author: 'erin', attestations: ['provenance'] } }],
    integrationPoints: [{ service: 'ledger', dependsOn: [], dependents: { inside: [], outside: ['storefront'] }, critical: true }],
    freeze: { freezeDate: '2026-05-01T00:00:00Z', frozen: true, message: 'scope is frozen since 2026-05-01T00:00:00Z' },
    exceptions: [{ id: 'ex-1', requestedBy: 'alice', requestedAt: AT, reason: 'contract', add: [{ title: 'Report EU settlements' }], remove: [], state: 'approved', decidedBy: 'dave', decidedAt: AT, comment: 'approved, contractual' }],
    results: [{ id: 'res-1', name: 'coverage', type: 'coverage', passed: true, value: 87.5, service: 'ledger', postedBy: 'erin', at: AT }],
    signoffs: [],
    goNoGo: [
      {
        release: 'ledger-1-1-0',
        environment: 'prod',
        canGo: false,
        blocking: ['load-test'],
        criteria: [
          { id: 'coverage', description: 'coverage ≥ 80', kind: 'automatic', required: true, state: 'met', detail: '"coverage" for ledger passed (value 87.5)' },
          { id: 'load-test', description: 'load test', kind: 'automatic', required: true, state: 'pending', detail: 'no result "load-test" posted yet' },
          { id: 'compliance-signoff', description: '1 sign-off from compliance', kind: 'manual', required: false, state: 'unmet', detail: '0 of 1 sign-off' },
        ],
        lastDecision: { decision: 'no-go', environment: 'prod', decidedBy: 'dave', at: AT, comment: 'load test missing', criteria: [] },
      },
    ],
    promotionPath: [
      { environment: 'dev', production: false, promoted: true, at: AT, by: 'user:alice', change: null, deployments: [{ service: 'ledger', deployment: 'dep-dev', version: '1.1.0', digest: DIGEST, phase: 'Healthy' }] },
      { environment: 'prod', production: true, promoted: false, at: null, by: null, change: null, deployments: [] },
    ],
    refusals: [{ environment: 'prod', at: AT, actor: 'user:alice', gates: [{ gate: 'goNoGo', name: 'load-test', outcome: 'pending', message: 'load test: pending' }] }],
    changes: [{ name: 'chg-00001', environment: 'prod', found: true, state: 'Closed', risk: 'high' }],
    ...over,
  };
}

function renderAt(path: string, answer: () => unknown = () => overview(), options: { token?: string; decide?: (body: Record<string, unknown>) => Response; signoff?: (body: Record<string, unknown>) => Response } = {}) {
  const posted: Record<string, unknown>[] = [];
  const signoffs: Record<string, unknown>[] = [];
  const api = fakeApi({
    users: {
      rg_viewer: { user: 'vic', role: 'viewer' },
      rg_approver: { user: 'dave', role: 'approver', groups: ['release-managers'] },
      rg_carol: { user: 'carol', role: 'approver', groups: ['compliance'] },
      rg_cora: { user: 'cora', role: 'deployer', groups: ['compliance'] },
    },
    objects: { Release: [releaseObject, apiObject('Release', 'cart-2-0-0', { version: '2.0.0', components: [] })], Pipeline: [apiObject('Pipeline', 'ledger-path', { services: ['ledger'], stages: [{ environment: 'dev' }, { environment: 'prod' }] })], Deployment: [apiObject('Deployment', 'dep-dev', { service: 'ledger', environment: 'dev', version: '1.1.0' }, { rollout: { phase: 'Healthy' } })] },
    routes: [
      {
        method: 'POST',
        path: '/api/v1/releases/ledger-1-1-0/go-no-go',
        respond: ({ body }) => {
          const decision = body as Record<string, unknown>;
          posted.push(decision);
          return options.decide ? options.decide(decision) : json({ decision: { ...decision, decidedBy: 'dave', at: AT, criteria: [] }, release: { metadata: { name: 'ledger-1-1-0', version: 3 } } });
        },
      },
      {
        method: 'POST',
        path: '/api/v1/releases/ledger-1-1-0/signoffs',
        respond: ({ body, who }) => {
          const request = body as Record<string, unknown>;
          signoffs.push(request);
          if (options.signoff) return options.signoff(request);
          const signoff = { group: request['group'], user: who.user, at: AT, comment: request['comment'] };
          return json({ signoff, release: releaseObject }, 201);
        },
      },
      { path: /^\/api\/v1\/releases\/([^/]+)\/overview$/, respond: ({ params: [name] }) => (name === 'ledger-1-1-0' ? json(answer()) : problem(404, 'Not Found', `no Release named "${name}"`)) },
    ],
  });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: options.token ?? 'rg_viewer' })} location={location} />);
  return { api, location, posted, signoffs };
}

/** The overview with the compliance sign-off pending for `count` members, `signed` by these users so far. */
function withSignoff(count = 1, signed: string[] = []) {
  const base = overview();
  const view = base.goNoGo[0]!;
  const compliance = { id: 'compliance-signoff', description: `${count} sign-off from compliance`, kind: 'manual', required: true, state: 'pending', detail: `${signed.length} of ${count} sign-off from compliance`, signoff: { group: 'compliance', count } };
  return {
    ...base,
    signoffs: signed.map((user) => ({ group: 'compliance', user, at: AT, comment: 'reviewed' })),
    goNoGo: [{ ...view, blocking: ['load-test', 'compliance-signoff'], criteria: [...view.criteria.slice(0, 2), compliance] }],
  };
}

describe('releases page', () => {
  it('lists releases with version, freeze, components, path and last go/no-go, searchable, linking to each', async () => {
    const { location } = renderAt('/releases');
    await screen.findByText('2 shown');
    const row = screen.getByRole('row', { name: /ledger-1-1-0/ });
    expect(row.textContent).toMatch(/1\.1\.0.*frozen.*1 \(ledger\).*dev.*prod.*NO-GO for prod by dave/);
    expect(within(row).getByRole('list', { name: 'Path: dev ✓ → prod ·' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'ledger-1-1-0' }).getAttribute('href')).toBe('/releases/ledger-1-1-0');
    expect(screen.getByRole('row', { name: /cart-2-0-0/ }).textContent).toMatch(/no freeze date.*0.*no pipeline.*none/);
    await userEvent.type(screen.getByLabelText('Search'), 'multi');
    expect(screen.getByTestId('releases-count').textContent).toBe('1 of 2 shown');
    expect(location.history.at(-1)).toBe('/releases?q=multi');
  });
});

describe('release page', () => {
  it('shows scope by classification, freeze and exceptions, components with digests, criteria, path, refusals and changes', async () => {
    renderAt('/releases/ledger-1-1-0');
    await screen.findByRole('heading', { level: 2, name: 'Scope' });
    expect(screen.getByTestId('freeze').textContent).toMatch(/^Frozen since/);
    const groups = ['net-new', 'enhancement', 'defect-fix'].map((classification) => screen.getByTestId(`scope-${classification}`));
    expect(groups.map((group) => within(group).getByRole('heading').textContent)).toEqual(['Net new (1, value 90, 1 contractual)', 'Enhancements (1, value 0)', 'Defect fixes (1, value 0)']);
    expect(groups[0]!.textContent).toMatch(/Report EU settlements.*value 90.*contractual.*jurisdiction eu/);
    expect(within(groups[1]!).getByRole('link', { name: 'Several currencies' }).getAttribute('href')).toBe('https://tracker.example/PAY-1');
    expect(groups[2]!.textContent).toContain('1584b92d');
    expect(screen.getByText(/ex-1/).closest('li')!.textContent).toMatch(/APPROVED.*Report EU settlements.*requested by alice.*decided by dave.*approved, contractual/);

    const digest = screen.getByText('sha256:110000000000');
    expect(digest.getAttribute('title')).toBe(DIGEST);
    expect(screen.getByRole('row', { name: /^ledger/ }).textContent).toMatch(/payments.*ledger-1-1-0 \(signed ×1, author erin\)/);
    expect(screen.getByText('storefront (outside the release)', { exact: false })).toBeTruthy();

    const prod = screen.getByTestId('gonogo-prod');
    expect(within(prod).getByText(/^BLOCKED: 1 required criterion not met \(load-test\)$/)).toBeTruthy();
    const states = within(prod).getAllByRole('row').slice(1).map((row) => within(row).getAllByRole('cell').map((cell) => cell.textContent).join(' | '));
    expect(states).toEqual(['✓ met | automatic | yes | "coverage" for ledger passed (value 87.5)', '… pending | automatic | yes | no result "load-test" posted yet', '✗ unmet | manual | no | 0 of 1 sign-off']);
    expect(prod.textContent).toMatch(/Last decision: NO-GO by dave.*load test missing/);

    expect(screen.getByRole('list', { name: 'Promotion path' }).textContent).toMatch(/dev.*promoted, Healthy.*prod \(production\).*not promoted yet/);
    expect(screen.getByRole('link', { name: 'dep-dev' }).getAttribute('href')).toBe('/rollouts/dep-dev');
    expect(screen.getByRole('table', { name: 'Gates at the promotion to dev' }).textContent).toMatch(/pass.*digest\/dev.*first stage/);
    expect(screen.getByRole('table', { name: 'Gates that refused the promotion to prod' }).textContent).toMatch(/pending.*goNoGo\/load-test/);
    expect(screen.getByRole('region', { name: 'Results' }).textContent).toMatch(/coverage \[ledger\].*passed.*coverage.*87\.5.*erin/);
    expect(screen.getByRole('link', { name: 'chg-00001' }).getAttribute('href')).toBe('/changes/chg-00001');
  });

  it('shows no decision buttons to a viewer', async () => {
    renderAt('/releases/ledger-1-1-0');
    await screen.findByTestId('gonogo-prod');
    expect(screen.queryByRole('button', { name: /Record/ })).toBeNull();
  });

  it('lets an approver record a decision with a comment, GO disabled while blocked', async () => {
    let loads = 0;
    const { posted } = renderAt('/releases/ledger-1-1-0', () => (loads++, overview()), { token: 'rg_approver' });
    const noGo = await screen.findByRole('button', { name: 'Record NO-GO for prod…' });
    expect((screen.getByRole('button', { name: 'Record GO for prod…' }) as HTMLButtonElement).disabled).toBe(true);
    await userEvent.click(noGo);
    const dialog = screen.getByRole('dialog', { name: 'Record NO-GO for ledger-1-1-0 in prod' });
    await userEvent.type(within(dialog).getByLabelText(/Comment/), 'load test still missing');
    const before = loads;
    await userEvent.click(within(dialog).getByRole('button', { name: 'Record NO-GO' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posted).toEqual([{ environment: 'prod', decision: 'no-go', comment: 'load test still missing' }]);
    await waitFor(() => expect(loads).toBeGreaterThan(before));
  });

  it("shows the server's refusal in the dialog", async () => {
    const refuse = () => problem(403, 'Forbidden', 'a no-go decision needs membership of group "release-managers"');
    renderAt('/releases/ledger-1-1-0', () => overview(), { token: 'rg_approver', decide: refuse });
    await userEvent.click(await screen.findByRole('button', { name: 'Record NO-GO for prod…' }));
    const dialog = screen.getByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText(/Comment/), 'no');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Record NO-GO' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('Refused (403 Forbidden): a no-go decision needs membership of group "release-managers"');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('offers a member of the group a pending sign-off needs a Sign off action, recorded with a comment', async () => {
    let loads = 0;
    const { signoffs } = renderAt('/releases/ledger-1-1-0', () => (loads++, withSignoff()), { token: 'rg_carol' });
    const prod = await screen.findByTestId('gonogo-prod');
    const row = within(prod).getByRole('row', { name: /compliance-signoff/ });
    const button = within(row).getByRole('button', { name: 'Sign off for compliance…' });
    // Only on the criterion that needs the group's sign-off.
    expect(within(prod).getAllByRole('button', { name: /^Sign off/ })).toHaveLength(1);
    await userEvent.click(button);
    const dialog = screen.getByRole('dialog', { name: 'Sign off ledger-1-1-0 for compliance' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Sign off' }));
    expect(within(dialog).getByText('A comment is required: it is recorded with the sign-off.')).toBeTruthy();
    expect(signoffs).toEqual([]);
    await userEvent.type(within(dialog).getByLabelText(/Comment/), 'GDPR reviewed');
    const before = loads;
    await userEvent.click(within(dialog).getByRole('button', { name: 'Sign off' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(signoffs).toEqual([{ group: 'compliance', comment: 'GDPR reviewed' }]);
    await waitFor(() => expect(loads).toBeGreaterThan(before));
  });

  it('shows no Sign off action outside the group, to a viewer, below the approver role, or once met', async () => {
    for (const token of ['rg_approver', 'rg_viewer', 'rg_cora']) {
      renderAt('/releases/ledger-1-1-0', () => withSignoff(), { token });
      await screen.findByTestId('gonogo-prod');
      expect(screen.queryByRole('button', { name: /^Sign off/ }), token).toBeNull();
      cleanup();
    }
    const met = withSignoff(1, ['bob']);
    met.goNoGo[0]!.criteria[2] = { ...met.goNoGo[0]!.criteria[2]!, state: 'met', detail: 'signed off by bob for compliance' };
    renderAt('/releases/ledger-1-1-0', () => met, { token: 'rg_carol' });
    await screen.findByTestId('gonogo-prod');
    expect(screen.queryByRole('button', { name: /^Sign off/ })).toBeNull();
  });

  it('says the viewer already signed off when more sign-offs are needed, without a button', async () => {
    renderAt('/releases/ledger-1-1-0', () => withSignoff(2, ['carol']), { token: 'rg_carol' });
    const row = within(await screen.findByTestId('gonogo-prod')).getByRole('row', { name: /compliance-signoff/ });
    expect(within(row).getByText('You signed off for compliance.')).toBeTruthy();
    expect(within(row).queryByRole('button')).toBeNull();
  });

  it("shows the server's refusal of a sign-off in the dialog", async () => {
    const refuse = () => problem(403, 'Forbidden', 'signing off for "compliance" needs membership of group "compliance"');
    renderAt('/releases/ledger-1-1-0', () => withSignoff(), { token: 'rg_carol', signoff: refuse });
    await userEvent.click(await screen.findByRole('button', { name: 'Sign off for compliance…' }));
    const dialog = screen.getByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText(/Comment/), 'ok');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Sign off' }));
    expect((await within(dialog).findByRole('alert')).textContent).toBe('Refused (403 Forbidden): signing off for "compliance" needs membership of group "compliance"');
  });

  it('copies the full digest', async () => {
    const writeText = vi.fn(async () => undefined);
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText } });
    renderAt('/releases/ledger-1-1-0');
    await userEvent.click(await screen.findByRole('button', { name: 'Copy the full digest of ledger' }));
    expect(writeText).toHaveBeenCalledWith(DIGEST);
    expect(await screen.findByText('Copied')).toBeTruthy();
  });

  it('reloads when the release changes', async () => {
    let canGo = false;
    const { api } = renderAt('/releases/ledger-1-1-0', () => {
      const base = overview();
      return canGo ? { ...base, goNoGo: [{ ...base.goNoGo[0], canGo: true, blocking: [] }] } : base;
    });
    await screen.findByText(/^BLOCKED: 1 required/);
    await waitFor(() => expect(screen.getByTestId('live-indicator').textContent).toBe('Live'));
    canGo = true;
    api.emit({ kind: 'Release', name: 'ledger-1-1-0' });
    await screen.findByText('GO possible: every required criterion is met', {}, { timeout: 3000 });
  });

  it('says when there is no such release', async () => {
    renderAt('/releases/nope');
    expect((await screen.findByRole('alert')).textContent).toMatch(/No release named “nope”/);
  });
});
