// @vitest-environment jsdom
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryLocation } from 'wouter/memory-location';
import type { AuditEventWire, AuditVerifyResult } from '../../../../src/client/index.js';
import { App } from '../../App.js';
import { TOKEN_KEY } from '../../session.js';
import { fakeApi, fakeLayout, json, memoryStorage, TEST_SERVER } from '../../test-support/fake-api.js';

beforeAll(() => fakeLayout());
afterEach(cleanup);

const event = (seq: number, over: Partial<AuditEventWire> = {}): AuditEventWire => ({
  seq,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  actor: seq % 2 ? 'user:alice' : 'system:engine',
  action: seq % 3 ? 'update' : 'create',
  kind: seq % 5 ? 'Deployment' : 'Release',
  name: `obj-${seq}`,
  beforeDigest: seq % 3 ? `sha256:${'b'.repeat(64)}` : null,
  afterDigest: `sha256:${'a'.repeat(64)}`,
  details: { version: seq },
  prevHash: `h${seq - 1}`,
  hash: `h${seq}`,
  ...over,
});

function renderAudit(count: number, path = '/audit', verdict: () => AuditVerifyResult = () => ({ ok: true, checked: count, headHash: `sha256:${'c'.repeat(64)}` })) {
  const log = Array.from({ length: count }, (_, i) => event(i + 1));
  const queries: string[] = [];
  // The server's list: filters exact (action also as a prefix with a trailing *), either order, one extra row to tell more.
  const page = (q: URLSearchParams) => {
    queries.push(q.toString());
    const limit = Number(q.get('limit') ?? 100);
    const action = q.get('action');
    const matches = (e: AuditEventWire) =>
      e.seq > Number(q.get('afterSeq') ?? 0) &&
      e.seq < Number(q.get('beforeSeq') ?? Infinity) &&
      (!q.get('kind') || e.kind === q.get('kind')) &&
      (!q.get('name') || e.name === q.get('name')) &&
      (!q.get('actor') || e.actor === q.get('actor')) &&
      (!action || (action.endsWith('*') ? e.action.startsWith(action.slice(0, -1)) : e.action === action));
    const ordered = q.get('order') === 'desc' ? [...log].reverse() : log;
    const rows = ordered.filter(matches).slice(0, limit + 1);
    const items = rows.slice(0, limit);
    return json({ items, nextCursor: rows.length > limit ? String(items.at(-1)!.seq) : null });
  };
  const api = fakeApi({
    users: { rg_viewer: { user: 'vic', role: 'viewer' } },
    routes: [
      { path: '/api/v1/audit/verify', respond: () => json(verdict()) },
      { path: '/api/v1/audit', respond: ({ url }) => page(url.searchParams) },
    ],
  });
  const location = memoryLocation({ path, record: true });
  render(<App server={TEST_SERVER} fetch={api.fetch} storage={memoryStorage({ [TOKEN_KEY]: 'rg_viewer' })} location={location} />);
  return { api, log, queries, location };
}

/** The seq column, top to bottom (a selector: role queries over 120 rows are slow in jsdom). */
const seqs = () => [...document.querySelectorAll('td.audit-seq')].map((cell) => Number(cell.textContent));

describe('audit page', () => {
  it('shows the newest events first, 50 at a time, with the chain verified', async () => {
    const { queries } = renderAudit(120);
    await screen.findByText(/^50 events · loaded down to event 71/);
    expect(seqs().slice(0, 3)).toEqual([120, 119, 118]);
    // One request for the newest page: no probing for the head.
    expect(queries).toEqual(['order=desc&limit=50']);
    await waitFor(() => expect(screen.getByTestId('audit-verify').textContent).toMatch(/^✓ Chain verified: 120 events, every hash links to the one before\.Checked just now · head sha256:cccccccccccc…$/));
    await userEvent.click(screen.getByText('Load older events'));
    await screen.findByText(/^100 events/);
    await userEvent.click(screen.getByText('Load older events'));
    await screen.findByText('120 events');
    expect(seqs().at(-1)).toBe(1);
    expect(screen.getByText('Start of the log reached.')).toBeTruthy();
    expect(queries).toEqual(['order=desc&limit=50', 'order=desc&limit=50&beforeSeq=71', 'order=desc&limit=50&beforeSeq=21']);
  });

  it('says where the chain is broken, and verifies again on demand', async () => {
    let verdict: AuditVerifyResult = { ok: false, checked: 7, brokenAt: 7, reason: 'hash does not match the event' };
    renderAudit(10, '/audit', () => verdict);
    await waitFor(() => expect(screen.getByTestId('audit-verify').textContent).toMatch(/Chain broken at event 7: hash does not match the event \(7 events checked\)\./));
    verdict = { ok: true, checked: 10 };
    await userEvent.click(screen.getByRole('button', { name: 'Verify again' }));
    await waitFor(() => expect(screen.getByTestId('audit-verify').textContent).toMatch(/Chain verified: 10 events/));
  });

  it('filters on the server by kind, name and actor (in the URL) and searches the loaded events', async () => {
    const { queries, location } = renderAudit(40);
    await screen.findByText(/^40 events/);
    await userEvent.selectOptions(screen.getByLabelText('Kind'), 'Release');
    await userEvent.type(screen.getByLabelText('Actor'), 'user:alice');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await waitFor(() => expect(seqs()).toEqual([35, 25, 15, 5]));
    expect(queries.at(-1)).toMatch(/kind=Release/);
    expect(queries.at(-1)).toMatch(/actor=user%3Aalice/);
    expect(location.history.at(-1)).toBe('/audit?actor=user%3Aalice&kind=Release');
    await userEvent.type(screen.getByLabelText('Search loaded events'), 'create');
    await waitFor(() => expect(seqs()).toEqual([15]));
    expect(screen.getByTestId('audit-count').textContent).toMatch(/^1 of 4 loaded events match “create” \(filtered on the server\)/);
    await userEvent.click(screen.getByRole('button', { name: 'Clear' }));
    await waitFor(() => expect(seqs()).toHaveLength(40));
  });

  it('filters by action on the server, exactly or by a prefix, and pages older matches', async () => {
    const { queries, location } = renderAudit(300, '/audit?action=create');
    // Every third event is a create: 100 of them, newest first, 50 a page.
    await screen.findByText(/^50 events \(filtered on the server\) · loaded down to event 153/);
    expect(seqs().slice(0, 3)).toEqual([300, 297, 294]);
    // Filtered: the log's head is read first (new events come after it), then the newest matches.
    expect(queries).toEqual(['order=desc&limit=1', 'order=desc&limit=50&action=create']);
    await userEvent.click(screen.getByText('Load older events'));
    await screen.findByText(/^100 events \(filtered on the server\)$/);
    expect(seqs().at(-1)).toBe(3);
    expect(queries.at(-1)).toBe('order=desc&limit=50&beforeSeq=153&action=create');

    const action = screen.getByLabelText('Action');
    await userEvent.clear(action);
    await userEvent.type(action, 'upd*');
    await userEvent.click(screen.getByRole('button', { name: 'Apply filters' }));
    await screen.findByText(/^50 events \(filtered on the server\) · loaded down to event 226/);
    expect(seqs().slice(0, 3)).toEqual([299, 298, 296]);
    expect(queries.at(-1)).toBe('order=desc&limit=50&action=upd*');
    expect(location.history.at(-1)).toBe('/audit?action=upd*');
  });

  it('expands an event to its details and digests', async () => {
    renderAudit(3);
    await screen.findByText('3 events');
    const button = screen.getByRole('button', { name: 'Details of event 2' });
    await userEvent.click(button);
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const details = document.getElementById(button.getAttribute('aria-controls')!)!;
    expect(details.textContent).toContain(`sha256:${'b'.repeat(64)}`);
    expect(details.querySelector('pre')!.textContent).toBe('{\n  "version": 2\n}');
    expect(screen.getByRole('link', { name: 'obj-2' }).getAttribute('href')).toBe('/rollouts/obj-2');
  });

  it('shows new events as they happen', async () => {
    const { api, log } = renderAudit(5);
    await screen.findByText('5 events');
    await waitFor(() => expect(screen.getByTestId('live-indicator').textContent).toBe('Live'));
    log.push(event(6, { action: 'release.promote', kind: 'Release', name: 'ledger' }));
    api.emit({ kind: 'Release', name: 'ledger' });
    await screen.findByText('6 events', {}, { timeout: 3000 });
    expect(seqs()[0]).toBe(6);
    expect(screen.getByRole('link', { name: 'ledger' }).getAttribute('href')).toBe('/releases/ledger');
  });

  it('says when the log is empty', async () => {
    renderAudit(0);
    expect(await screen.findByText('The audit log is empty.')).toBeTruthy();
  });
});
