// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { memoryStorage, TEST_SERVER } from '../../test-support/fake-api.js';
import { changeObject, fakeChangesApi } from '../changes/fake-changes.js';

afterEach(cleanup);

const USERS = {
  rg_alice: { user: 'alice', role: 'approver' as const, groups: ['release-managers'] },
  rg_bob: { user: 'bob', role: 'approver' as const, groups: ['cab'] },
  rg_mallory: { user: 'mallory', role: 'approver' as const, groups: ['cab'] },
  rg_erin: { user: 'erin', role: 'approver' as const, groups: ['cab'] },
};

function renderInbox(token: keyof typeof USERS, path = '/approvals') {
  const api = fakeChangesApi({
    users: USERS,
    changes: [changeObject('chg-00001'), changeObject('chg-00002', { requestedBy: 'dave', title: 'Rotate keys' }), changeObject('chg-00003', { state: 'Closed' })],
  });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: token })} location={location} />);
  return { api, location };
}

describe('approvals inbox', () => {
  it('shows what waits for my groups with risk, top factors, progress per group, services, conflicts, evidence and window', async () => {
    const { api } = renderInbox('rg_bob');
    const entry = await screen.findByTestId('inbox-chg-00001');
    expect(screen.getByTestId('approvals-count').textContent).toBe('2 waiting for you or your groups · 2 awaiting the board');
    expect(within(entry).getByRole('heading', { name: 'chg-00001 · Upgrade checkout to 2.4' })).toBeTruthy();
    expect(within(entry).getByText('high · 62')).toBeTruthy();
    expect(within(entry).getByText('Service tier +20 · Environment data sensitivity +15 · Maintenance window +14')).toBeTruthy();
    expect(within(within(entry).getByTestId('inbox-progress')).getByText(/cab: 0 of 2 — 2 more/)).toBeTruthy();
    expect(within(entry).getByText(/planned outside every maintenance window/)).toBeTruthy();
    expect(within(entry).getByRole('link', { name: 'Test report' })).toBeTruthy();
    expect(within(entry).getByText('2026-03-03 22:00Z → 2026-03-04 00:30Z (2h30m)')).toBeTruthy();
    expect(within(entry).getByRole('button', { name: 'Approve chg-00001' })).toBeTruthy();
    expect(screen.queryByTestId('inbox-chg-00003')).toBeNull();
    // Services and evidence come with the CAB entry: no read of each change record.
    const facts = (term: string) => within(entry).getByText(term, { selector: 'dt' }).nextElementSibling?.textContent;
    expect(facts('Services')).toBe('checkout');
    expect(facts('Business services')).toBe('online-store');
    expect(within(entry).getByText('Bad link (javascript:alert(1))')).toBeTruthy();
    expect(within(entry).getByRole('link', { name: 'Test report' }).getAttribute('href')).toBe('https://ci.example.com/runs/42');
    expect(api.requests.filter((request) => request.startsWith('GET /api/v1/changes/'))).toEqual([]);
    expect(api.requests.filter((request) => request === 'GET /api/v1/cab')).toHaveLength(1);
  });

  it('shows the requester her own change without approve / reject, and the board on the toggle', async () => {
    const { location } = renderInbox('rg_alice');
    const entry = await screen.findByTestId('inbox-chg-00001');
    expect(within(entry).getByText('your request')).toBeTruthy();
    expect(within(entry).queryByRole('button', { name: /Approve|Reject/ })).toBeNull();
    expect(within(entry).getByText(/You requested this change: separation of duties/)).toBeTruthy();
    expect(screen.queryByTestId('inbox-chg-00002')).toBeNull();
    await userEvent.click(screen.getByRole('button', { name: 'All awaiting the board' }));
    expect(await screen.findByTestId('inbox-chg-00002')).toBeTruthy();
    expect(location.history.at(-1)).toBe('/approvals?scope=all');
    // Not her group: no buttons, and why.
    expect(within(screen.getByTestId('inbox-chg-00002')).getByText('Approvals are needed from cab; you are in release-managers.')).toBeTruthy();
  });

  it('hides the buttons from an artifact author', async () => {
    const api = fakeChangesApi({ users: USERS, changes: [changeObject('chg-00004', { authors: ['mallory'] })] });
    render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_mallory' })} location={memoryLocation({ path: '/approvals' })} />);
    const entry = await screen.findByTestId('inbox-chg-00004');
    expect(within(entry).queryByRole('button', { name: /Approve/ })).toBeNull();
    expect(within(entry).getByText(/authored an artifact this change deploys/)).toBeTruthy();
  });

  it('rejects with a comment; the change leaves the inbox', async () => {
    const { api } = renderInbox('rg_bob');
    const entry = await screen.findByTestId('inbox-chg-00002');
    await userEvent.click(within(entry).getByRole('button', { name: 'Reject chg-00002' }));
    const dialog = screen.getByRole('dialog', { name: 'Reject chg-00002?' });
    await userEvent.type(within(dialog).getByLabelText('Comment (required)'), 'no backout tested');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Confirm reject' }));
    await waitFor(() => expect(screen.queryByTestId('inbox-chg-00002')).toBeNull());
    expect(api.decisions).toEqual(['bob reject chg-00002: no backout tested']);
  });

  it("shows the server's refusal when it refuses a decision the UI allowed (groups changed since sign-in)", async () => {
    const { api } = renderInbox('rg_erin');
    const entry = await screen.findByTestId('inbox-chg-00001');
    api.groups.erin = ['ops']; // removed from cab after she signed in
    await userEvent.click(within(entry).getByRole('button', { name: 'Approve chg-00001' }));
    await userEvent.type(within(screen.getByRole('dialog')).getByLabelText('Comment (required)'), 'lgtm');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm approve' }));
    const alert = await within(entry).findByRole('alert');
    expect(alert.textContent).toContain('The server refused: user "erin" is in none of the groups change chg-00001 needs approvals from (cab)');
    expect(alert.textContent).toContain('POST /api/v1/changes/chg-00001/approvals answered 403 Forbidden');
  });

  it('shows the separation-of-duties refusal as the server words it', async () => {
    // The server knows an author the UI does not (e.g. a record written by an older version): the 403 is shown.
    const { api } = renderInbox('rg_bob');
    const entry = await screen.findByTestId('inbox-chg-00001');
    const change = api.objects.Change![0]!;
    (change.status as { authors: string[] }).authors = ['bob'];
    await userEvent.click(within(entry).getByRole('button', { name: 'Approve chg-00001' }));
    await userEvent.type(within(screen.getByRole('dialog')).getByLabelText('Comment (required)'), 'ok');
    await userEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Confirm approve' }));
    expect((await within(entry).findByRole('alert')).textContent).toContain('The server refused: user "bob" authored an artifact change chg-00001 deploys and cannot approve it (separation of duties)');
  });

  it('says when nothing waits', async () => {
    const api = fakeChangesApi({ users: USERS, changes: [] });
    render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_bob' })} location={memoryLocation({ path: '/approvals' })} />);
    expect(await screen.findByText('Nothing waits for you or your groups.')).toBeTruthy();
  });
});
