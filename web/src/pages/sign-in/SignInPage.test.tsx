// @vitest-environment jsdom
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { fakeApi, memoryStorage, TEST_SERVER } from '../../test-support/fake-api.js';

afterEach(cleanup);

const users = { rg_admin: { user: 'alice', role: 'admin' as const }, rg_viewer: { user: 'victor', role: 'viewer' as const } };

function renderApp(storage = memoryStorage(), api = fakeApi({ users })) {
  const location = memoryLocation({ path: '/' });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={storage} location={location} />);
  return { storage, api };
}

describe('sign-in', () => {
  it('refuses an unknown token, saying why, and keeps nothing', async () => {
    const { storage } = renderApp();
    await userEvent.type(screen.getByLabelText('API token'), 'rg_wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveProperty('textContent', 'That token was not accepted: it is unknown, revoked or mistyped.');
    expect(storage.getItem(TOKEN_KEY)).toBeNull();
    expect(screen.getByLabelText('API token').getAttribute('aria-invalid')).toBe('true');
  });

  it('asks for a token when the field is empty, without calling the server', async () => {
    const { api } = renderApp();
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toBe('Enter a token.');
    expect(api.requests).toEqual([]);
  });

  it('signs in with a token checked by whoami, shows the user and role, keeps the token in the session only, and signs out', async () => {
    const { storage, api } = renderApp();
    await userEvent.type(screen.getByLabelText('API token'), 'rg_admin');
    await userEvent.keyboard('{Enter}');
    expect(await screen.findByRole('heading', { level: 1, name: 'Overview' })).toBeTruthy();
    expect(screen.getByTestId('current-user').textContent).toBe('alice admin');
    expect(api.requests).toContain('GET /api/v1/whoami');
    expect(storage.getItem(TOKEN_KEY)).toBe('rg_admin');
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Overview' }).getAttribute('aria-current')).toBe('page');
    await waitFor(() => expect(screen.getByTestId('live-indicator').textContent).toBe('Live'));

    await userEvent.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('heading', { name: 'Sign in to Rollgate' })).toBeTruthy();
    expect(storage.getItem(TOKEN_KEY)).toBeNull();
  });

  it('resumes with a token kept in this tab after checking it again', async () => {
    const { api } = renderApp(memoryStorage({ [TOKEN_KEY]: 'rg_viewer' }));
    expect(screen.getByRole('status').textContent).toBe('Checking your session…');
    expect(await screen.findByText('victor')).toBeTruthy();
    expect(api.requests[0]).toBe('GET /api/v1/whoami');
  });

  it('drops a kept token the server no longer accepts and says so', async () => {
    const storage = memoryStorage({ [TOKEN_KEY]: 'rg_revoked' });
    renderApp(storage);
    expect(await screen.findByText(/not accepted/)).toBeTruthy();
    expect(storage.getItem(TOKEN_KEY)).toBeNull();
  });

  it('navigates between pages', async () => {
    renderApp(memoryStorage({ [TOKEN_KEY]: 'rg_admin' }));
    await userEvent.click(await screen.findByRole('link', { name: 'Approvals' }));
    expect(await screen.findByRole('heading', { level: 1, name: 'Approvals' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Approvals' }).getAttribute('aria-current')).toBe('page');
  });
});
