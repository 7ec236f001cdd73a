import { describe, expect, it } from 'vitest';
import type { AuditEventWire, AuditListQuery } from '../../../../src/client/index.js';
import { describeVerify, findHeadSeq, hasFilters, loadNewer, loadNewest, loadOlder, matchesText, mergeEvents, objectHref, shortHash, type ListAudit } from './derive.js';

const event = (seq: number, over: Partial<AuditEventWire> = {}): AuditEventWire => ({
  seq,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  actor: seq % 2 ? 'user:alice' : 'system:engine',
  action: seq % 3 ? 'update' : 'create',
  kind: seq % 5 ? 'Deployment' : 'Release',
  name: `obj-${seq % 7}`,
  beforeDigest: null,
  afterDigest: 'sha256:abc',
  prevHash: `h${seq - 1}`,
  hash: `h${seq}`,
  ...over,
});

/** The server's list over `count` events (filters exact, action also a prefix with a trailing *, either order, one extra row to tell more). */
function fakeLog(count: number) {
  const events = Array.from({ length: count }, (_, i) => event(i + 1));
  const calls: AuditListQuery[] = [];
  const list: ListAudit = async (query) => {
    calls.push(query);
    const limit = query.limit ?? 100;
    const action = query.action;
    const ordered = query.order === 'desc' ? [...events].reverse() : events;
    const rows = ordered
      .filter(
        (e) =>
          e.seq > (query.afterSeq ?? 0) &&
          e.seq < (query.beforeSeq ?? Infinity) &&
          (!query.kind || e.kind === query.kind) &&
          (!query.name || e.name === query.name) &&
          (!query.actor || e.actor === query.actor) &&
          (!action || (action.endsWith('*') ? e.action.startsWith(action.slice(0, -1)) : e.action === action)),
      )
      .slice(0, limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? String(items.at(-1)!.seq) : null };
  };
  return { list, calls, events };
}

describe('newest first, page by page', () => {
  it('reads the newest page with one request without filters, then older ones by beforeSeq', async () => {
    const log = fakeLog(120);
    const first = await loadNewest(log.list, { filters: {}, pageSize: 50 });
    expect(first.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 120 - i));
    expect(first).toMatchObject({ head: 120, before: 71 });
    expect(log.calls).toEqual([{ order: 'desc', limit: 50 }]);
    const second = await loadOlder(log.list, { before: first.before, filters: {}, pageSize: 50 });
    expect(second.events[0]!.seq).toBe(70);
    expect(log.calls.at(-1)).toEqual({ order: 'desc', limit: 50, beforeSeq: 71 });
    const third = await loadOlder(log.list, { before: second.before, filters: {}, pageSize: 50 });
    expect(third.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(third.before).toBe(0);
    expect(log.calls).toHaveLength(3);
  });

  it('with filters, the server pages the matches: one request a page, however sparse, and the head is the whole log\'s', async () => {
    const log = fakeLog(5000);
    const filters = { kind: 'Release', name: 'obj-0' };
    const page = await loadNewest(log.list, { filters, pageSize: 50 });
    // Release and obj-0: seq divisible by 35, newest first.
    expect(page.events.every((e) => e.kind === 'Release' && e.name === 'obj-0')).toBe(true);
    expect(page.events.map((e) => e.seq).slice(0, 3)).toEqual([4970, 4935, 4900]);
    expect(page.events).toHaveLength(50);
    expect(page.head).toBe(5000);
    expect(log.calls).toEqual([{ order: 'desc', limit: 1 }, { order: 'desc', limit: 50, kind: 'Release', name: 'obj-0' }]);
    const older = await loadOlder(log.list, { before: page.before, filters, pageSize: 50 });
    expect(older.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => page.before - 35 * (i + 1)));
    const none = await loadNewest(log.list, { filters: { actor: 'nobody' }, pageSize: 50 });
    expect(none).toEqual({ events: [], before: 0, head: 5000 });
  });

  it('passes the action filter, exact or as a prefix', async () => {
    const log = fakeLog(30);
    const creates = await loadNewest(log.list, { filters: { action: 'create' }, pageSize: 50 });
    expect(creates.events.map((e) => e.seq)).toEqual([30, 27, 24, 21, 18, 15, 12, 9, 6, 3]);
    expect(log.calls.at(-1)).toEqual({ order: 'desc', limit: 50, action: 'create' });
    const prefix = await loadNewest(log.list, { filters: { action: 'upd*', actor: 'user:alice' }, pageSize: 3 });
    expect(prefix.events.map((e) => e.seq)).toEqual([29, 25, 23]);
    expect(prefix.before).toBe(23);
    expect(hasFilters({ action: 'create' })).toBe(true);
    expect(hasFilters({ action: '', kind: '' })).toBe(false);
  });

  it('reads new events after a seq, newest first, and merges them once', async () => {
    const log = fakeLog(2100);
    const newer = await loadNewer(log.list, { afterSeq: 50, filters: {} });
    expect(newer).toHaveLength(2050);
    expect(newer[0]!.seq).toBe(2100);
    expect(mergeEvents([event(3), event(2)], [event(4), event(3)]).map((e) => e.seq)).toEqual([4, 3, 2]);
  });

  it('finds the head with one request', async () => {
    for (const count of [0, 1, 1001, 123_457]) {
      const log = fakeLog(count);
      expect(await findHeadSeq(log.list)).toBe(count);
      expect(log.calls).toEqual([{ order: 'desc', limit: 1 }]);
    }
  });
});

describe('labels and search', () => {
  it('searches every field and the details, every word', () => {
    const e = event(9, { action: 'release.promote', details: { environment: 'prod' } });
    expect(matchesText(e, 'promote')).toBe(true);
    expect(matchesText(e, 'PROD alice')).toBe(true);
    expect(matchesText(e, 'staging')).toBe(false);
    expect(matchesText(e, '')).toBe(true);
  });
  it('describes the verdict like the CLI', () => {
    expect(describeVerify({ ok: true, checked: 1204 })).toEqual({ tone: 'ok', text: 'Chain verified: 1,204 events, every hash links to the one before.' });
    expect(describeVerify({ ok: false, checked: 7, brokenAt: 7, reason: 'hash mismatch' })).toEqual({ tone: 'broken', text: 'Chain broken at event 7: hash mismatch (7 events checked).' });
  });
  it('links objects the UI shows and shortens hashes', () => {
    expect(objectHref('Release', 'r 1')).toBe('/releases/r%201');
    expect(objectHref('Deployment', 'd')).toBe('/rollouts/d');
    expect(objectHref('Change', 'c')).toBe('/changes/c');
    expect(objectHref('Service', 's')).toBeNull();
    expect(shortHash(`sha256:${'a'.repeat(64)}`)).toBe('sha256:aaaaaaaaaaaa…');
    expect(shortHash(null)).toBe('—');
  });
});
