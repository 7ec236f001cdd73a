import { describe, expect, it } from 'vitest';
import type { AuditEventWire, AuditListQuery } from '../../../../src/client/index.js';
import { describeVerify, findHeadSeq, loadNewer, loadOlder, matchesText, mergeEvents, objectHref, shortHash, type ListAudit } from './derive.js';

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

/** The server's list over `count` events (ascending, filters exact, one extra row to tell more). */
function fakeLog(count: number) {
  const events = Array.from({ length: count }, (_, i) => event(i + 1));
  const calls: AuditListQuery[] = [];
  const list: ListAudit = async (query) => {
    calls.push(query);
    const limit = query.limit ?? 100;
    const rows = events.filter((e) => e.seq > (query.afterSeq ?? 0) && (!query.kind || e.kind === query.kind) && (!query.name || e.name === query.name) && (!query.actor || e.actor === query.actor)).slice(0, limit + 1);
    const items = rows.slice(0, limit);
    return { items, nextCursor: rows.length > limit ? String(items.at(-1)!.seq) : null };
  };
  return { list, calls, events };
}

describe('finding the head', () => {
  it.each([0, 1, 999, 1000, 1001, 2500, 123_457])('finds the last seq of a log of %i events with few requests', async (count) => {
    const log = fakeLog(count);
    expect(await findHeadSeq(log.list)).toBe(count);
    expect(log.calls.length).toBeLessThanOrEqual(2 + 2 * Math.ceil(Math.log2(Math.max(2, count / 1000))) + 2);
  });
});

describe('newest first, page by page', () => {
  it('reads the newest page with one request without filters, then older ones', async () => {
    const log = fakeLog(120);
    const first = await loadOlder(log.list, { before: 121, filters: {}, pageSize: 50 });
    expect(first.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 120 - i));
    expect(log.calls).toEqual([{ afterSeq: 70, limit: 50 }]);
    const second = await loadOlder(log.list, { before: first.before, filters: {}, pageSize: 50 });
    expect(second.events[0]!.seq).toBe(70);
    const third = await loadOlder(log.list, { before: second.before, filters: {}, pageSize: 50 });
    expect(third.events.map((e) => e.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect(third.before).toBe(1);
  });

  it('with filters, scans windows downwards until a page is full, within a budget', async () => {
    const log = fakeLog(5000);
    const page = await loadOlder(log.list, { before: 5001, filters: { kind: 'Release', name: 'obj-0' }, pageSize: 50 });
    // Release and obj-0: seq divisible by 35, newest first, all of them in the windows scanned.
    expect(page.events.every((e) => e.kind === 'Release' && e.name === 'obj-0')).toBe(true);
    expect(page.events.map((e) => e.seq).slice(0, 3)).toEqual([4970, 4935, 4900]);
    expect(page.events.length).toBeGreaterThanOrEqual(50);
    expect(log.calls.every((call) => call.kind === 'Release' && call.name === 'obj-0' && call.limit === 1000)).toBe(true);
    const sparse = await loadOlder(log.list, { before: 5001, filters: { actor: 'nobody' }, pageSize: 50, maxWindows: 2 });
    expect(sparse).toEqual({ events: [], before: 3001 });
  });

  it('reads new events after a seq, newest first, and merges them once', async () => {
    const log = fakeLog(2100);
    const newer = await loadNewer(log.list, { afterSeq: 50, filters: {} });
    expect(newer).toHaveLength(2050);
    expect(newer[0]!.seq).toBe(2100);
    expect(mergeEvents([event(3), event(2)], [event(4), event(3)]).map((e) => e.seq)).toEqual([4, 3, 2]);
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
