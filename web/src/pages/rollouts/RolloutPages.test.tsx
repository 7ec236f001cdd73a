// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import type { ApiObject } from '../../../../src/client/index.js';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { fakeApi, fakeLayout, json, memoryStorage, problem, TEST_SERVER } from '../../test-support/fake-api.js';
import { deployment, deploymentStatus, measurement, metric, rolloutStatus, run, T0 } from './fixtures.js';

// uPlot draws on a canvas, which jsdom does not have: the chart is checked in the browser test.
vi.mock('./TimeChart.js', () => ({
  TimeChart: (props: { summary: string; testId?: string; xs: number[] }) => <div role="img" aria-label={props.summary} data-testid={props.testId} data-points={props.xs.length} />,
}));

beforeAll(() => fakeLayout());
afterEach(cleanup);

const USERS = { rg_admin: { user: 'alice', role: 'admin' as const }, rg_viewer: { user: 'vera', role: 'viewer' as const } };

/** The shared fake API (it serves GET /deployments/{name}) plus POST /deployments/{name}/operations. */
function renderAt(path: string, deployments: ApiObject[], token = 'rg_admin', operate?: (name: string, body: { type: string; reason?: string }) => Response) {
  const posted: Array<{ name: string; body: { type: string; reason?: string } }> = [];
  const api = fakeApi({
    users: USERS,
    objects: { Deployment: deployments },
    routes: [
      {
        method: 'POST',
        path: /^\/api\/v1\/deployments\/([^/]+)\/operations$/,
        respond: ({ params: [name = ''], body }) => {
          const operation = body as { type: string; reason?: string };
          posted.push({ name, body: operation });
          if (operate) return operate(name, operation);
          return json({ operationId: 'op-1', deployment: (api.objects.Deployment ?? []).find((d) => d.metadata.name === name) }, 202);
        },
      },
    ],
  });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: token })} location={memoryLocation({ path, record: true })} />);
  return { api, posted };
}

const progressing = () => {
  const status = rolloutStatus({
    analysisRuns: [run('a1/s1', [metric([measurement(1, T0 + 6_000, 1), measurement(2, T0 + 7_000, 2)], { nextMeasurementAt: T0 + 8_000 })])],
  });
  return deployment('shop-2', { service: 'shop', environment: 'prod', version: '2.0.0', release: 'spring', artifact: { digest: `sha256:${'ab'.repeat(32)}` } }, deploymentStatus(status));
};

describe('rollouts list', () => {
  const list = () => [
    deployment('shop-1', { service: 'shop', version: '1.0.0' }, deploymentStatus(rolloutStatus({ phase: 'Healthy', canaryWeight: 100, finishedAt: T0 + 12_000, message: '1.0.0 is stable' })), new Date(T0 - 60_000).toISOString()),
    deployment('shop-2', { service: 'shop', environment: 'prod', version: '2.0.0' }, deploymentStatus(rolloutStatus()), new Date(T0).toISOString()),
    deployment('cart-1', { service: 'cart', version: '3.0.0' }, null, new Date(T0 - 120_000).toISOString()),
  ];

  it('shows every rollout newest first with phase, version, weight, duration and message, linking to it', async () => {
    renderAt('/rollouts', list());
    await screen.findByText('3 rollouts');
    const rows = screen.getAllByRole('row').slice(1);
    expect(rows.map((row) => within(row).getByRole('rowheader').textContent)).toEqual(['shop-2', 'shop-1', 'cart-1']);
    expect(rows[0]!.textContent).toContain('Progressing');
    expect(rows[0]!.textContent).toContain('20%');
    expect(rows[0]!.textContent).toMatch(/so far/);
    expect(rows[1]!.textContent).toContain('12s');
    expect(rows[2]!.textContent).toContain('waiting for the engine');
    expect(screen.getByRole('link', { name: 'shop-2' }).getAttribute('href')).toBe('/rollouts/shop-2');
  });

  it('filters by service, environment and phase, and says when nothing matches', async () => {
    renderAt('/rollouts', list());
    await screen.findByText('3 rollouts');
    await userEvent.type(screen.getByLabelText('Service'), 'cart');
    expect(screen.getByTestId('rollouts-count').textContent).toBe('1 of 3 rollouts');
    await userEvent.clear(screen.getByLabelText('Service'));
    await userEvent.selectOptions(screen.getByLabelText('Environment'), 'prod');
    expect(screen.getByTestId('rollouts-count').textContent).toBe('1 of 3 rollouts');
    await userEvent.selectOptions(screen.getByLabelText('Phase'), 'Healthy');
    expect(screen.getByText('No rollout matches these filters.')).toBeTruthy();
  });

  it('has an empty state', async () => {
    renderAt('/rollouts', []);
    expect(await screen.findByText(/No rollouts yet/)).toBeTruthy();
  });
});

describe('rollout page', () => {
  it('shows the header, traffic, step timeline, analysis evidence and events', async () => {
    renderAt('/rollouts/shop-2', [progressing()]);
    await screen.findByRole('heading', { level: 1, name: 'shop-2' });
    expect(screen.getByTestId('rollout-message').textContent).toBe('step 2 of 4: analysis');
    expect(screen.getByTestId('rollout-version').textContent).toBe('2.0.0');
    expect(screen.getByRole('link', { name: 'spring' }).getAttribute('href')).toBe('/releases/spring');
    expect(screen.getByText(`sha256:${'ab'.repeat(32)}`)).toBeTruthy();
    expect(screen.getByTestId('canary-weight').getAttribute('aria-valuenow')).toBe('20');
    expect(screen.getByTestId('step-summary').textContent).toBe('Step 2 of 4');
    const steps = within(screen.getByTestId('steps')).getAllByRole('listitem');
    expect(steps.map((step) => step.textContent)).toEqual([
      expect.stringMatching(/setWeight 20.*done/),
      expect.stringMatching(/analysis golden.*current/),
      expect.stringMatching(/pause 3s.*next/),
      expect.stringMatching(/pause \(until promoted\).*next/),
    ]);
    expect(screen.getByTestId('weight-chart').getAttribute('data-points')).toBe('3');
    const errors = screen.getByTestId('metric-golden/errors');
    expect(within(errors).getByTestId('chart-golden/errors-errorRate').getAttribute('aria-label')).toMatch(/latest canary 2\.00%, baseline 0\.25%/);
    const evidence = within(errors).getAllByRole('row')[1]!;
    expect(evidence.textContent).toMatch(/errors running: e = 3\.2 < 40 \(α 0\.025\); ratio 1\.8 \[0\.6, 5\.1\]/);
    expect(within(errors).getByText(/α 0\.025 \(template 0\.05\) · tolerance \+25%/)).toBeTruthy();
    const events = screen.getByRole('table', { name: /events, newest first/ });
    expect(within(events).getAllByRole('row')[1]!.textContent).toContain('TrafficShifted');
  });

  it('aborts with a reason in a confirmation dialog, then shows the queued operation and its result', async () => {
    const { api, posted } = renderAt('/rollouts/shop-2', [progressing()]);
    await screen.findByRole('heading', { level: 1, name: 'shop-2' });
    const actions = screen.getByRole('group', { name: 'Rollout operations' });
    expect(within(actions).getAllByRole('button').map((b) => b.textContent)).toEqual(['Promote', 'Promote full', 'Pause', 'Abort']);
    await userEvent.click(within(actions).getByRole('button', { name: 'Abort' }));
    const dialog = screen.getByRole('dialog');
    const confirm = within(dialog).getByRole('button', { name: 'Confirm abort' }) as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await userEvent.type(within(dialog).getByLabelText('Reason'), 'p99 doubled');
    await userEvent.click(confirm);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(posted).toEqual([{ name: 'shop-2', body: { type: 'abort', reason: 'p99 doubled' } }]);
    expect(await screen.findByText('queued, waiting for the engine…')).toBeTruthy();

    // The engine handles it: the Deployment changes and the page reloads it live.
    const aborted = rolloutStatus({ phase: 'Aborted', canaryWeight: 0, finishedAt: T0 + 9_000, message: 'aborted by user:alice: p99 doubled', abort: { reason: 'OperatorAbort', message: 'aborted by user:alice: p99 doubled', actor: 'user:alice', at: T0 + 9_000 } });
    api.objects.Deployment = [
      deployment('shop-2', { service: 'shop', version: '2.0.0' }, deploymentStatus(aborted, { operationResults: [{ id: 'op-1', type: 'abort', accepted: true, message: 'aborted: all traffic back to the stable version', actor: 'user:alice', handledAt: T0 + 9_000 }] })),
    ];
    act(() => api.emit({ kind: 'Deployment', name: 'shop-2' }));
    await waitFor(() => expect(screen.getByTestId('my-operation-result').textContent).toMatch(/Abort.*accepted: aborted: all traffic back to the stable version/), { timeout: 3000 });
    expect(screen.getByRole('heading', { name: 'Aborted: OperatorAbort' })).toBeTruthy();
    expect(within(screen.getByRole('group', { name: 'Rollout operations' })).getAllByRole('button').map((b) => b.textContent)).toEqual(['Retry']);
  });

  it("shows the server's refusal in the dialog", async () => {
    const refuse = () => problem(409, 'Conflict', 'the rollout finished: 2.0.0 is stable');
    renderAt('/rollouts/shop-2', [progressing()], 'rg_admin', refuse);
    await screen.findByRole('heading', { level: 1, name: 'shop-2' });
    await userEvent.click(screen.getByRole('button', { name: 'Pause' }));
    const dialog = screen.getByRole('dialog');
    await userEvent.type(within(dialog).getByLabelText('Reason'), 'hold on');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm pause' }));
    expect((await within(dialog).findByRole('alert')).textContent).toMatch(/409 Conflict: the rollout finished: 2\.0\.0 is stable/);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('shows a viewer no action buttons', async () => {
    renderAt('/rollouts/shop-2', [progressing()], 'rg_viewer');
    await screen.findByRole('heading', { level: 1, name: 'shop-2' });
    expect(screen.queryByRole('group', { name: 'Rollout operations' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Abort' })).toBeNull();
  });

  it('shows pause, blocked and failure panels', async () => {
    const paused = rolloutStatus({ phase: 'Paused', pause: { reason: 'inconclusive', message: 'golden/errors is inconclusive', since: T0, until: null, actor: 'system' } });
    renderAt('/rollouts/shop-2', [
      deployment('shop-2', { service: 'shop', version: '2.0.0' }, deploymentStatus(paused, { blocked: { message: 'secret db/password does not resolve', at: new Date(T0).toISOString() } })),
    ]);
    expect(await screen.findByRole('heading', { name: 'Paused: inconclusive' })).toBeTruthy();
    expect(screen.getByText(/until resumed \(or promoted\)/)).toBeTruthy();
    expect(screen.getByRole('heading', { name: 'Blocked' })).toBeTruthy();
    expect(screen.getByText('secret db/password does not resolve')).toBeTruthy();
    expect(within(screen.getByRole('group', { name: 'Rollout operations' })).getAllByRole('button').map((b) => b.textContent)).toEqual(['Promote', 'Promote full', 'Resume', 'Pause', 'Abort']);
    cleanup();
    renderAt('/rollouts/cart-1', [deployment('cart-1', { service: 'cart', version: '1.0.0' }, { failure: { message: 'strategy "nope" not found', at: new Date(T0).toISOString() } })]);
    expect(await screen.findByRole('heading', { name: 'Cannot start' })).toBeTruthy();
    expect(screen.getAllByText(/strategy "nope" not found/).length).toBeGreaterThan(0);
  });

  it('says when there is no such deployment', async () => {
    renderAt('/rollouts/ghost', []);
    expect((await screen.findByRole('alert')).textContent).toContain('There is no deployment named ghost');
  });
});
