// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { apiObject, fakeApi, fakeLayout, memoryStorage, problem, TEST_SERVER } from '../../test-support/fake-api.js';

beforeAll(() => fakeLayout());
afterEach(cleanup);

const status = (phase: string, stableVersion: string, canaryVersion: string, canaryWeight: number) => ({ rollout: { phase, stableVersion, canaryVersion, canaryWeight, message: phase }, pendingOperations: [], operationResults: [] });

function renderOverview(objects: Record<string, ReturnType<typeof apiObject>[]>, path = '/') {
  const api = fakeApi({ users: { rg_admin: { user: 'alice', role: 'admin' } }, objects });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_admin' })} location={location} />);
  return { api, location };
}

const rowTexts = () => screen.getAllByRole('row').slice(1).map((row) => within(row).getAllByRole('cell').map((cell) => cell.textContent).join(' | '));

describe('overview page', () => {
  const objects = {
    Service: [apiObject('Service', 'checkout'), apiObject('Service', 'cart')],
    Environment: [apiObject('Environment', 'staging'), apiObject('Environment', 'prod')],
    Pipeline: [apiObject('Pipeline', 'path', { services: ['checkout', 'cart'], stages: [{ environment: 'staging' }, { environment: 'prod' }] })],
    Deployment: [
      apiObject('Deployment', 'checkout-v2', { service: 'checkout', environment: 'prod', version: '2.0.0' }, status('Progressing', '1.0.0', '2.0.0', 25)),
      apiObject('Deployment', 'cart-s1', { service: 'cart', environment: 'staging', version: '1.1.0' }, status('Healthy', '1.1.0', '1.1.0', 100)),
    ],
  };

  it('lists every service × environment with running and rolling-out versions and phase, linking to the rollout', async () => {
    renderOverview(objects);
    await screen.findByText('4 rows');
    const rows = rowTexts();
    expect(rows[0]).toMatch(/^cart \| staging \| running 1\.1\.0 \| rolling out — \| Healthy \| /);
    expect(rows[1]).toMatch(/^cart \| prod \| running — \| rolling out — \| Not deployed \| —$/);
    expect(rows[3]).toMatch(/^checkout \| prod \| running 1\.0\.0 \| rolling out 2\.0\.0 · 25% \| Progressing \| /);
    expect(screen.getByRole('link', { name: 'checkout' }).getAttribute('href')).toBe('/rollouts/checkout-v2');
    expect(screen.getByText('2 services · 1 rolling out')).toBeTruthy();
  });

  it('filters by search, environment and phase, and keeps the filter in the URL', async () => {
    const { location } = renderOverview(objects);
    await screen.findByText('4 rows');
    await userEvent.type(screen.getByLabelText('Search'), 'check');
    expect(screen.getByTestId('overview-count').textContent).toBe('2 of 4 rows');
    await userEvent.selectOptions(screen.getByLabelText('Environment'), 'prod');
    expect(rowTexts()).toHaveLength(1);
    expect(rowTexts()[0]).toMatch(/^checkout \| prod/);
    await userEvent.selectOptions(screen.getByLabelText('Phase'), 'Healthy');
    expect(screen.getByText('No service matches these filters.')).toBeTruthy();
    expect(location.history.at(-1)).toBe('/?q=check&env=prod&phase=Healthy');
  });

  it('starts from filters in the URL', async () => {
    renderOverview(objects, '/?phase=Not+deployed');
    expect((await screen.findByTestId('overview-count')).textContent).toBe('2 of 4 rows');
    expect((screen.getByLabelText('Phase') as HTMLSelectElement).value).toBe('Not deployed');
  });

  it('reloads when the server reports a Deployment change', async () => {
    const { api } = renderOverview(objects);
    await screen.findByText('4 rows');
    await waitFor(() => expect(screen.getByTestId('live-indicator').textContent).toBe('Live'));
    api.objects.Deployment = [...objects.Deployment, apiObject('Deployment', 'cart-p1', { service: 'cart', environment: 'prod', version: '1.1.0' }, status('Paused', '1.0.0', '1.1.0', 5))];
    api.emit({ kind: 'Deployment', name: 'cart-p1', action: 'create' });
    await waitFor(() => expect(rowTexts()[1]).toMatch(/^cart \| prod \| running 1\.0\.0 \| rolling out 1\.1\.0 · 5% \| Paused/), { timeout: 3000 });
  });

  it('names what failed when loading fails', async () => {
    const api = fakeApi({ users: { rg_viewer: { user: 'v', role: 'viewer' } }, routes: [{ path: '/api/v1/deployments', respond: () => problem(403, 'Forbidden', 'no') }] });
    render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_viewer' })} location={memoryLocation({ path: '/' })} />);
    expect((await screen.findByRole('alert')).textContent).toMatch(/^Could not load services, environments, pipelines and deployments: GET \/api\/v1\/deployments answered 403 Forbidden: no/);
  });

  it('stays fast with 1,000 services: only the rows in view are in the DOM, and filtering is quick', async () => {
    const many = Array.from({ length: 1000 }, (_, i) => apiObject('Service', `svc-${String(i).padStart(4, '0')}`));
    const started = performance.now();
    renderOverview({ Service: many, Environment: [apiObject('Environment', 'staging'), apiObject('Environment', 'prod')], Pipeline: [], Deployment: [] });
    await screen.findByText('2,000 rows');
    const firstRender = performance.now() - started;
    expect(screen.getAllByRole('row').length).toBeGreaterThan(10);
    expect(screen.getAllByRole('row').length).toBeLessThan(60);

    const filtering = performance.now();
    await userEvent.type(screen.getByLabelText('Search'), 'svc-09');
    await screen.findByText('200 of 2,000 rows');
    const filterMs = performance.now() - filtering;
    expect(screen.getAllByRole('row').length).toBeLessThan(60);
    console.info(`overview with 1,000 services × 2 environments (jsdom): first render ${firstRender.toFixed(0)} ms, typing a 6-letter search ${filterMs.toFixed(0)} ms`);
    expect(firstRender).toBeLessThan(5000);
  });
});
