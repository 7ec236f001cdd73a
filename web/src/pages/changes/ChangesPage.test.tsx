// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { memoryStorage, TEST_SERVER } from '../../test-support/fake-api.js';
import { changeObject, fakeChangesApi } from './fake-changes.js';

afterEach(cleanup);

const USERS = {
  rg_alice: { user: 'alice', role: 'approver' as const, groups: ['release-managers'] },
  rg_bob: { user: 'bob', role: 'approver' as const, groups: ['cab'] },
  rg_vic: { user: 'vic', role: 'viewer' as const, groups: ['cab'] },
};

function renderAt(path: string, token: keyof typeof USERS, changes = [changeObject('chg-00001'), changeObject('chg-00002', { state: 'Closed', requestedBy: 'dave', title: 'Rotate keys' })]) {
  const api = fakeChangesApi({ users: USERS, changes });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: token })} location={location} />);
  return { api, location };
}

const rowTexts = () => screen.getAllByRole('row').slice(1).map((row) => within(row).getAllByRole('cell').map((cell) => cell.textContent).join(' | '));

describe('changes list', () => {
  it('lists every change newest first with state, risk, requester and window, linking to the record', async () => {
    renderAt('/changes', 'rg_vic');
    await screen.findByText('2 changes');
    expect(rowTexts()).toEqual([
      'chg-00002 | Rotate keys | normal | Closed | high · 62 | prod | dave | 2026-03-03 22:00Z → 2026-03-04 00:30Z (2h30m)',
      'chg-00001 | Upgrade checkout to 2.4 | normal | Authorizeneeds cab 0 of 2 | high · 62 | prod | alice | 2026-03-03 22:00Z → 2026-03-04 00:30Z (2h30m)',
    ]);
    expect(screen.getByRole('link', { name: 'chg-00001' }).getAttribute('href')).toBe('/changes/chg-00001');
  });

  it('filters by state and search, keeping them in the URL', async () => {
    const { location } = renderAt('/changes', 'rg_vic');
    await screen.findByText('2 changes');
    await userEvent.selectOptions(screen.getByLabelText('State'), 'open');
    expect(screen.getByTestId('changes-count').textContent).toBe('1 of 2 changes');
    await userEvent.type(screen.getByLabelText('Search'), 'rotate');
    expect(screen.getByText('No change matches these filters.')).toBeTruthy();
    expect(location.history.at(-1)).toBe('/changes?state=open&q=rotate');
  });

  it('says so when there are no change records', async () => {
    renderAt('/changes', 'rg_vic', []);
    expect(await screen.findByText(/No change records yet/)).toBeTruthy();
  });
});

describe('change page', () => {
  it('shows the record: state machine, scope and window, plans, evidence, risk breakdown, approvals, gates, audit', async () => {
    renderAt('/changes/chg-00001', 'rg_vic');
    expect(await screen.findByRole('heading', { level: 1, name: 'chg-00001 · Upgrade checkout to 2.4' })).toBeTruthy();
    const steps = screen.getByRole('list', { name: 'State machine of a normal change' });
    expect(within(steps).getByText('Authorize').closest('li')!.getAttribute('aria-current')).toBe('step');
    expect(screen.getByText('Assess → Authorize')).toBeTruthy();
    await waitFor(() => expect(screen.getByTestId('change-windows').textContent).toBe('weeknights (maintenance)'));

    const risk = screen.getByTestId('risk-breakdown');
    const factors = within(risk).getAllByRole('row').slice(1, -1).map((row) => row.querySelector('th')!.textContent);
    expect(factors).toEqual(['Service tier', 'Environment data sensitivity', 'Maintenance window', 'Customer-facing', 'Lead time', 'Emergency change']);
    expect(within(risk).getByTestId('risk-floor').textContent).toBe('medium by score, raised to high by rule “restricted-data”: restricted data in prod is at least high');

    expect(screen.getByTestId('approval-summary').textContent).toBe('Missing: 2 more from cab (has 0 of 2)');
    expect(screen.getByText(/alice \(requester\) cannot approve or reject/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Test report' }).getAttribute('href')).toBe('https://ci.example.com/runs/42');
    expect(screen.queryByRole('link', { name: 'Bad link' })).toBeNull();
    expect(screen.getByText('tests passed')).toBeTruthy();
    expect(within(screen.getByTestId('change-audit')).getByText('change.create')).toBeTruthy();
    // A viewer cannot decide.
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
    expect(screen.getByText('Deciding on changes needs the approver role.')).toBeTruthy();
  });

  it('shows expired approvals with why', async () => {
    renderAt('/changes/chg-00003', 'rg_vic', [
      changeObject('chg-00003', { approvals: [{ id: '1', user: 'bob', groups: ['cab'], decision: 'approve', comment: 'fine', at: '2026-03-01T10:00:00Z', valid: false, invalidatedAt: '2026-03-01T11:00:00Z', invalidatedReason: 'edited: plannedStart' }] }),
    ]);
    expect(await screen.findByText(/edited: plannedStart/)).toBeTruthy();
    expect(screen.getByTestId('approval-summary').textContent).toBe('Missing: 2 more from cab (has 0 of 2)');
  });

  it('approves with a required comment in a dialog, and the progress updates', async () => {
    const { api } = renderAt('/changes/chg-00001', 'rg_bob');
    await userEvent.click(await screen.findByRole('button', { name: 'Approve chg-00001' }));
    const dialog = screen.getByRole('dialog', { name: 'Approve chg-00001?' });
    expect(document.activeElement).toBe(within(dialog).getByLabelText('Comment (required)'));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm approve' }));
    expect(within(dialog).getByText(/Say why/)).toBeTruthy();
    expect(api.decisions).toEqual([]);
    await userEvent.type(within(dialog).getByLabelText('Comment (required)'), 'plans and backout look right');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm approve' }));
    await waitFor(() => expect(screen.getByTestId('approval-summary').textContent).toBe('Missing: 1 more from cab (has 1 of 2: bob)'));
    expect(api.decisions).toEqual(['bob approve chg-00001: plans and backout look right']);
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(screen.getByText(/You already decided/)).toBeTruthy();
  });

  it('cancels with Escape and returns focus to the button', async () => {
    renderAt('/changes/chg-00001', 'rg_bob');
    const reject = await screen.findByRole('button', { name: 'Reject chg-00001' });
    await userEvent.click(reject);
    expect(screen.getByRole('dialog', { name: 'Reject chg-00001?' })).toBeTruthy();
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(reject);
  });

  it('has no approve button for the requester', async () => {
    renderAt('/changes/chg-00001', 'rg_alice');
    expect(await screen.findByText(/You requested this change: separation of duties/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Approve/ })).toBeNull();
  });

  it('says when there is no such change', async () => {
    renderAt('/changes/chg-09999', 'rg_vic');
    expect(await screen.findByText(/There is no change record named/)).toBeTruthy();
  });
});
