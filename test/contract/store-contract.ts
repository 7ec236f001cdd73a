import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chainEvent, GENESIS_HASH, verifyChain, type AuditEventBody } from '../../src/core/audit/chain.js';
import { ConflictError, NotFoundError, type NewObject, type Store, type StoredObject } from '../../src/ports/store.js';

type AuditInput = Omit<AuditEventBody, 'seq'>;

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const service = (name: string, extra: Partial<NewObject> = {}): NewObject => ({
  kind: 'Service',
  name,
  spec: { description: `service ${name}` },
  ...extra,
});

const event = (n: number, extra: Partial<AuditInput> = {}): AuditInput => ({
  time: `2025-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`,
  actor: 'alice',
  action: 'update',
  kind: 'Service',
  name: `svc-${n}`,
  beforeDigest: null,
  afterDigest: `sha256:${String(n).padStart(64, '0')}`,
  ...extra,
});

/** Rejects with the error the promise rejected with, or fails if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** Walks every page of a list and returns the names in the order they came. */
async function allNames(store: Store, limit: number, labels?: Record<string, string>): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.read.objects.list('Service', { limit, ...(labels && { labels }), ...(cursor && { cursor }) });
    pages += 1;
    expect(page.items.length).toBeLessThanOrEqual(limit);
    names.push(...page.items.map((item) => item.name));
    cursor = page.nextCursor ?? undefined;
    if (pages > 1000) throw new Error('pagination does not terminate');
  } while (cursor);
  return { names, pages };
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The behaviour every Store implementation must have. `openFreshStore` returns an empty, migrated
 * store each time; the suite closes it after each test.
 */
export function describeStoreContract(label: string, openFreshStore: () => Promise<Store>): void {
  describe(`Store contract: ${label}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await openFreshStore();
    });

    afterEach(async () => {
      await store.close();
    });

    it('answers ping, and close is safe to repeat', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
      await store.close();
      await store.close();
    });

    describe('objects', () => {
      it('creates an object at version 1 with defaults, and reads it back identically', async () => {
        const created = await store.read.objects.create(service('checkout'));
        expect(created).toEqual({
          kind: 'Service',
          name: 'checkout',
          labels: {},
          annotations: {},
          spec: { description: 'service checkout' },
          status: null,
          version: 1,
          createdAt: expect.stringMatching(ISO_MS),
          updatedAt: created.createdAt,
        });
        expect(await store.read.objects.get('Service', 'checkout')).toEqual(created);
      });

      it('round-trips nested JSON, unicode, labels, annotations and status exactly', async () => {
        const spec = { nested: { list: [1, 2.5, -3, true, null, 'x'], empty: {}, emptyList: [] }, text: 'héllo ✓ "quoted" \\ \n', zero: 0 };
        const created = await store.read.objects.create(
          service('rich', { labels: { 'app.kubernetes.io/name': 'rich', tier: 'back-end' }, annotations: { note: 'a: b' }, spec, status: { phase: 'Ready', replicas: 3 } }),
        );
        const read = await store.read.objects.get('Service', 'rich');
        expect(read).toEqual(created);
        expect(read?.spec).toEqual(spec);
        expect(read?.labels).toEqual({ 'app.kubernetes.io/name': 'rich', tier: 'back-end' });
        expect(read?.annotations).toEqual({ note: 'a: b' });
        expect(read?.status).toEqual({ phase: 'Ready', replicas: 3 });
      });

      it('returns null for an absent object, and keeps kinds apart', async () => {
        await store.read.objects.create(service('shared-name'));
        expect(await store.read.objects.get('Service', 'missing')).toBeNull();
        expect(await store.read.objects.get('Environment', 'shared-name')).toBeNull();
        const env = await store.read.objects.create({ kind: 'Environment', name: 'shared-name', spec: { tier: 'prod' } });
        expect(env.version).toBe(1);
        expect((await store.read.objects.get('Service', 'shared-name'))?.spec).toEqual({ description: 'service shared-name' });
        expect((await store.read.objects.get('Environment', 'shared-name'))?.spec).toEqual({ tier: 'prod' });
      });

      it('refuses to create an existing object with ConflictError and leaves it unchanged', async () => {
        const first = await store.read.objects.create(service('checkout'));
        await store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'v2' } });
        const error = await rejection(store.read.objects.create(service('checkout', { spec: { description: 'other' } })));
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(2);
        const stored = await store.read.objects.get('Service', 'checkout');
        expect(stored?.spec).toEqual({ description: 'v2' });
        expect(stored?.createdAt).toBe(first.createdAt);
      });

      it('updates only the given fields and raises the version by one', async () => {
        await store.read.objects.create(service('checkout', { labels: { team: 'pay' }, annotations: { a: '1' }, status: { phase: 'Old' } }));
        const v2 = await store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'new' } });
        expect(v2.version).toBe(2);
        expect(v2.spec).toEqual({ description: 'new' });
        expect(v2.labels).toEqual({ team: 'pay' });
        expect(v2.annotations).toEqual({ a: '1' });
        expect(v2.status).toEqual({ phase: 'Old' });
        expect(v2.updatedAt).toMatch(ISO_MS);
        expect(v2.updatedAt >= v2.createdAt).toBe(true);

        const v3 = await store.read.objects.update('Service', 'checkout', 2, { status: null, labels: { team: 'core' } });
        expect(v3.version).toBe(3);
        expect(v3.status).toBeNull();
        expect(v3.labels).toEqual({ team: 'core' });
        expect(v3.spec).toEqual({ description: 'new' });
        expect(await store.read.objects.get('Service', 'checkout')).toEqual(v3);
      });

      it('refuses an update with a stale version with ConflictError and writes nothing', async () => {
        await store.read.objects.create(service('checkout'));
        const v2 = await store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'v2' } });
        const error = await rejection(store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'stale' }, labels: { x: 'y' } }));
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(2);
        expect(await store.read.objects.get('Service', 'checkout')).toEqual(v2);
      });

      it('never applies the same expected version twice', async () => {
        await store.read.objects.create(service('checkout'));
        await store.read.objects.update('Service', 'checkout', 1, { status: { attempt: 1 } });
        await expect(store.read.objects.update('Service', 'checkout', 1, { status: { attempt: 1 } })).rejects.toBeInstanceOf(ConflictError);
        expect((await store.read.objects.get('Service', 'checkout'))?.version).toBe(2);
      });

      it('throws NotFoundError when updating an absent object', async () => {
        await expect(store.read.objects.update('Service', 'ghost', 1, { spec: {} })).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.read.objects.get('Service', 'ghost')).toBeNull();
      });

      it('lets exactly one of two concurrent updates with the same expected version win', async () => {
        await store.read.objects.create(service('checkout'));
        const results = await Promise.allSettled([
          store.transaction((s) => s.objects.update('Service', 'checkout', 1, { spec: { winner: 'a' } })),
          store.transaction((s) => s.objects.update('Service', 'checkout', 1, { spec: { winner: 'b' } })),
        ]);
        const won = results.filter((r): r is PromiseFulfilledResult<StoredObject> => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]?.reason).toBeInstanceOf(ConflictError);
        expect((lost[0]?.reason as ConflictError).currentVersion).toBe(2);
        const stored = await store.read.objects.get('Service', 'checkout');
        expect(stored?.version).toBe(2);
        expect(stored?.spec).toEqual(won[0]?.value.spec);
      });

      it('lets exactly one of many concurrent writers win, inside or outside transactions', async () => {
        await store.read.objects.create(service('checkout'));
        const attempts = Array.from({ length: 8 }, (_, i) =>
          i % 2 === 0
            ? store.read.objects.update('Service', 'checkout', 1, { spec: { writer: i } })
            : store.transaction((s) => s.objects.update('Service', 'checkout', 1, { spec: { writer: i } })),
        );
        const results = await Promise.allSettled(attempts);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect((await store.read.objects.get('Service', 'checkout'))?.version).toBe(2);
      });

      it('lets exactly one of many concurrent creates of the same name win', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 6 }, (_, i) => store.transaction((s) => s.objects.create(service('dup', { spec: { creator: i } })))),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConflictError);
        expect((await store.read.objects.get('Service', 'dup'))?.version).toBe(1);
      });

      it('deletes and returns the object; deleting again returns null', async () => {
        await store.read.objects.create(service('checkout'));
        const v2 = await store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'x' } });
        expect(await store.read.objects.delete('Service', 'checkout')).toEqual(v2);
        expect(await store.read.objects.get('Service', 'checkout')).toBeNull();
        expect(await store.read.objects.delete('Service', 'checkout')).toBeNull();
        expect(await store.read.objects.delete('Service', 'checkout', 2)).toBeNull();
      });

      it('deletes with an expected version only when it matches', async () => {
        await store.read.objects.create(service('checkout'));
        await store.read.objects.update('Service', 'checkout', 1, { spec: { description: 'x' } });
        const error = await rejection(store.read.objects.delete('Service', 'checkout', 1));
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).currentVersion).toBe(2);
        expect((await store.read.objects.get('Service', 'checkout'))?.version).toBe(2);
        expect((await store.read.objects.delete('Service', 'checkout', 2))?.version).toBe(2);
        expect(await store.read.objects.get('Service', 'checkout')).toBeNull();
      });

      it('can create an object again after deleting it, starting over at version 1', async () => {
        await store.read.objects.create(service('checkout'));
        await store.read.objects.update('Service', 'checkout', 1, { spec: {} });
        await store.read.objects.delete('Service', 'checkout');
        expect((await store.read.objects.create(service('checkout'))).version).toBe(1);
      });
    });

    describe('list', () => {
      it('filters by every given label in the database, with dotted and dashed keys and values', async () => {
        await store.read.objects.create(service('a', { labels: { 'app.kubernetes.io/name': 'checkout', tier: 'front-end', version: 'v1.2.3-rc.1' } }));
        await store.read.objects.create(service('b', { labels: { 'app.kubernetes.io/name': 'checkout', tier: 'back-end', version: 'v1.2.3-rc.1' } }));
        await store.read.objects.create(service('c', { labels: { 'app.kubernetes.io/name': 'cart', tier: 'front-end' } }));
        await store.read.objects.create(service('d', { annotations: { tier: 'front-end' } }));
        await store.read.objects.create(service('e', { labels: { "it's \"odd\"": 'va$lue.x-y', tier: 'front-end' } }));
        await store.read.objects.create({ kind: 'Environment', name: 'a2', spec: {}, labels: { tier: 'front-end' } });

        const names = async (labels: Record<string, string>) => (await store.read.objects.list('Service', { labels })).items.map((o) => o.name);
        expect(await names({})).toEqual(['a', 'b', 'c', 'd', 'e']);
        expect(await names({ tier: 'front-end' })).toEqual(['a', 'c', 'e']);
        expect(await names({ 'app.kubernetes.io/name': 'checkout' })).toEqual(['a', 'b']);
        expect(await names({ 'app.kubernetes.io/name': 'checkout', tier: 'front-end' })).toEqual(['a']);
        expect(await names({ 'app.kubernetes.io/name': 'checkout', tier: 'front-end', version: 'v1.2.3-rc.1' })).toEqual(['a']);
        expect(await names({ version: 'v1.2.3-rc.1' })).toEqual(['a', 'b']);
        expect(await names({ version: 'v1.2.3' })).toEqual([]);
        expect(await names({ 'app.kubernetes.io': 'checkout' })).toEqual([]);
        expect(await names({ "it's \"odd\"": 'va$lue.x-y' })).toEqual(['e']);
        expect(await names({ tier: 'front-end', missing: 'x' })).toEqual([]);
      });

      it('pages through every object exactly once, in name order', async () => {
        const expected = Array.from({ length: 23 }, (_, i) => `svc-${String((i * 7) % 23).padStart(2, '0')}`);
        await store.transaction(async (s) => {
          for (const name of expected) await s.objects.create(service(name));
        });
        await store.read.objects.create({ kind: 'Environment', name: 'svc-00x', spec: {} });
        const sorted = [...expected].sort(byCodePoint);

        const { names, pages } = await allNames(store, 5);
        expect(names).toEqual(sorted);
        expect(new Set(names).size).toBe(23);
        expect(pages).toBe(5);

        const exact = await allNames(store, 23);
        expect(exact.names).toEqual(sorted);
        expect(exact.pages).toBe(1);
      });

      it('returns nextCursor null on the last page, including an exactly full one', async () => {
        for (const name of ['a', 'b', 'c', 'd']) await store.read.objects.create(service(name));
        const first = await store.read.objects.list('Service', { limit: 2 });
        expect(first.items.map((o) => o.name)).toEqual(['a', 'b']);
        expect(first.nextCursor).toEqual(expect.any(String));
        const second = await store.read.objects.list('Service', { limit: 2, cursor: first.nextCursor! });
        expect(second.items.map((o) => o.name)).toEqual(['c', 'd']);
        expect(second.nextCursor).toBeNull();
        expect(await store.read.objects.list('Service', { limit: 10 })).toMatchObject({ nextCursor: null });
        expect(await store.read.objects.list('Environment')).toEqual({ items: [], nextCursor: null });
      });

      it('keeps its place when objects are inserted between pages', async () => {
        for (const name of ['b', 'd', 'f', 'h']) await store.read.objects.create(service(name));
        const first = await store.read.objects.list('Service', { limit: 2 });
        expect(first.items.map((o) => o.name)).toEqual(['b', 'd']);
        await store.read.objects.create(service('a'));
        await store.read.objects.create(service('e'));
        await store.read.objects.delete('Service', 'b');
        const rest = await store.read.objects.list('Service', { limit: 10, cursor: first.nextCursor! });
        expect(rest.items.map((o) => o.name)).toEqual(['e', 'f', 'h']);
      });

      it('paginates a label-filtered list without gaps', async () => {
        await store.transaction(async (s) => {
          for (let i = 0; i < 30; i += 1) {
            await s.objects.create(service(`n${String(i).padStart(2, '0')}`, { labels: { parity: i % 2 === 0 ? 'even' : 'odd', 'release.io/track': 'stable' } }));
          }
        });
        const { names } = await allNames(store, 4, { parity: 'even', 'release.io/track': 'stable' });
        expect(names).toEqual(Array.from({ length: 15 }, (_, i) => `n${String(i * 2).padStart(2, '0')}`));
      });

      it('defaults the page size to 100 and caps it at 1000', { timeout: 60_000 }, async () => {
        await store.transaction(async (s) => {
          for (let i = 0; i < 1005; i += 1) await s.objects.create(service(`bulk-${String(i).padStart(4, '0')}`));
        });
        const defaultPage = await store.read.objects.list('Service');
        expect(defaultPage.items).toHaveLength(100);
        expect(defaultPage.nextCursor).not.toBeNull();
        const capped = await store.read.objects.list('Service', { limit: 5000 });
        expect(capped.items).toHaveLength(1000);
        expect(capped.items[999]?.name).toBe('bulk-0999');
        const tail = await store.read.objects.list('Service', { limit: 5000, cursor: capped.nextCursor! });
        expect(tail.items.map((o) => o.name)).toEqual(['bulk-1000', 'bulk-1001', 'bulk-1002', 'bulk-1003', 'bulk-1004']);
        expect(tail.nextCursor).toBeNull();
      });
    });

    describe('transactions', () => {
      it('commits all writes together and returns the callback result', async () => {
        const result = await store.transaction(async (s) => {
          const created = await s.objects.create(service('checkout'));
          const appended = await s.audit.append(event(1, { name: 'checkout', action: 'create' }));
          // Reads inside the transaction see its own writes.
          expect(await s.objects.get('Service', 'checkout')).toEqual(created);
          return { created, appended };
        });
        expect(await store.read.objects.get('Service', 'checkout')).toEqual(result.created);
        expect(await store.read.audit.head()).toEqual(result.appended);
      });

      it('rolls back the object and the audit event when the callback throws', async () => {
        const failure = new Error('boom');
        const error = await rejection(
          store.transaction(async (s) => {
            await s.objects.create(service('checkout'));
            await s.audit.append(event(1, { name: 'checkout', action: 'create' }));
            throw failure;
          }),
        );
        expect(error).toBe(failure);
        expect(await store.read.objects.get('Service', 'checkout')).toBeNull();
        expect(await store.read.audit.head()).toBeNull();
        expect(await store.read.audit.list()).toEqual([]);
      });

      it('rolls back an update and leaves no gap in the audit chain', async () => {
        await store.read.objects.create(service('checkout'));
        await store.read.audit.append(event(1));
        await expect(
          store.transaction(async (s) => {
            await s.objects.update('Service', 'checkout', 1, { spec: { description: 'doomed' } });
            await s.audit.append(event(2));
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        const stored = await store.read.objects.get('Service', 'checkout');
        expect(stored?.version).toBe(1);
        expect(stored?.spec).toEqual({ description: 'service checkout' });
        const next = await store.read.audit.append(event(3));
        expect(next.seq).toBe(2);
        expect(verifyChain(await store.read.audit.list()).ok).toBe(true);
      });

      it('rolls back earlier writes when a later write in the same transaction conflicts', async () => {
        await store.read.objects.create(service('existing'));
        const error = await rejection(
          store.transaction(async (s) => {
            await s.objects.create(service('fresh'));
            await s.audit.append(event(1));
            await s.objects.create(service('existing'));
          }),
        );
        expect(error).toBeInstanceOf(ConflictError);
        expect(await store.read.objects.get('Service', 'fresh')).toBeNull();
        expect(await store.read.audit.head()).toBeNull();
      });
    });

    describe('audit', () => {
      it('assigns seq 1, 2, 3 and links each event to the one before', async () => {
        expect(await store.read.audit.head()).toBeNull();
        const inputs = [event(1), event(2, { details: { reason: 'promote', steps: [1, 2], nested: { ok: true } } }), event(3, { beforeDigest: 'sha256:abc' })];
        const appended = [];
        for (const input of inputs) appended.push(await store.transaction((s) => s.audit.append(input)));

        expect(appended.map((e) => e.seq)).toEqual([1, 2, 3]);
        expect(appended[0]?.prevHash).toBe(GENESIS_HASH);
        let previous = GENESIS_HASH;
        appended.forEach((appendedEvent, index) => {
          expect(appendedEvent).toEqual(chainEvent(previous, { ...inputs[index]!, seq: index + 1 }));
          previous = appendedEvent.hash;
        });

        const listed = await store.read.audit.list();
        expect(listed).toEqual(appended);
        expect(verifyChain(listed)).toEqual({ ok: true, checked: 3, headHash: appended[2]!.hash });
        expect(await store.read.audit.head()).toEqual(appended[2]);
      });

      it('reads back an event without details without a details key, so its hash verifies', async () => {
        await store.read.audit.append(event(1));
        await store.read.audit.append(event(2, { details: {} }));
        const [first, second] = await store.read.audit.list();
        expect(first).toBeDefined();
        expect(Object.hasOwn(first!, 'details')).toBe(false);
        expect(second?.details).toEqual({});
        expect(verifyChain([first!, second!]).ok).toBe(true);
      });

      it('keeps the caller\'s time string exactly as written (it is hashed)', async () => {
        const appended = await store.read.audit.append(event(1, { time: '2025-03-01T12:00:00+01:00' }));
        const [listed] = await store.read.audit.list();
        expect(listed?.time).toBe('2025-03-01T12:00:00+01:00');
        expect(listed).toEqual(appended);
      });

      it('keeps the chain gapless under many concurrent transactions and plain appends', { timeout: 30_000 }, async () => {
        const inTransactions = Array.from({ length: 20 }, (_, i) =>
          store.transaction(async (s) => {
            await s.objects.create(service(`c-${i}`));
            return s.audit.append(event(i, { name: `c-${i}`, action: 'create' }));
          }),
        );
        const plain = Array.from({ length: 10 }, (_, i) => store.read.audit.append(event(100 + i)));
        const appended = await Promise.all([...inTransactions, ...plain]);
        expect(appended.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

        const listed = await store.read.audit.list({ limit: 1000 });
        expect(listed.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
        expect(verifyChain(listed)).toMatchObject({ ok: true, checked: 30 });
      });

      it('filters by afterSeq, kind, name, actor and limit, ascending by seq', async () => {
        const inputs: AuditInput[] = [
          event(1, { actor: 'alice', kind: 'Service', name: 'checkout' }),
          event(2, { actor: 'bob', kind: 'Service', name: 'cart' }),
          event(3, { actor: 'alice', kind: 'Environment', name: 'checkout' }),
          event(4, { actor: 'bob', kind: 'Service', name: 'checkout' }),
          event(5, { actor: 'alice', kind: 'Service', name: 'checkout' }),
        ];
        for (const input of inputs) await store.read.audit.append(input);
        const seqs = async (query: Parameters<Store['read']['audit']['list']>[0]) => (await store.read.audit.list(query)).map((e) => e.seq);

        expect(await seqs({})).toEqual([1, 2, 3, 4, 5]);
        expect(await seqs({ afterSeq: 3 })).toEqual([4, 5]);
        expect(await seqs({ afterSeq: 5 })).toEqual([]);
        expect(await seqs({ kind: 'Service' })).toEqual([1, 2, 4, 5]);
        expect(await seqs({ name: 'checkout' })).toEqual([1, 3, 4, 5]);
        expect(await seqs({ kind: 'Service', name: 'checkout' })).toEqual([1, 4, 5]);
        expect(await seqs({ actor: 'bob' })).toEqual([2, 4]);
        expect(await seqs({ limit: 2 })).toEqual([1, 2]);
        expect(await seqs({ afterSeq: 1, actor: 'alice', limit: 1 })).toEqual([3]);
        expect(await seqs({ kind: 'Service', name: 'checkout', actor: 'alice', afterSeq: 1 })).toEqual([5]);

        // A page that starts after the first event verifies from the event before it.
        const all = await store.read.audit.list();
        const tail = await store.read.audit.list({ afterSeq: 2 });
        expect(verifyChain(tail, all[1]!.hash, 3)).toMatchObject({ ok: true, checked: 3 });
      });

      it('lists newest first with order desc, bounded by beforeSeq and afterSeq, with the same filters', async () => {
        for (let n = 1; n <= 7; n++) await store.read.audit.append(event(n, { actor: n % 2 ? 'alice' : 'bob', kind: n <= 4 ? 'Service' : 'Release' }));
        const seqs = async (query: Parameters<Store['read']['audit']['list']>[0]) => (await store.read.audit.list(query)).map((e) => e.seq);

        expect(await seqs({ order: 'desc' })).toEqual([7, 6, 5, 4, 3, 2, 1]);
        expect(await seqs({ order: 'asc' })).toEqual([1, 2, 3, 4, 5, 6, 7]);
        expect(await seqs({ order: 'desc', limit: 3 })).toEqual([7, 6, 5]);
        expect(await seqs({ order: 'desc', limit: 3, beforeSeq: 5 })).toEqual([4, 3, 2]);
        expect(await seqs({ order: 'desc', beforeSeq: 1 })).toEqual([]);
        expect(await seqs({ order: 'desc', beforeSeq: 7, afterSeq: 3 })).toEqual([6, 5, 4]);
        expect(await seqs({ beforeSeq: 4 })).toEqual([1, 2, 3]);
        expect(await seqs({ order: 'desc', actor: 'alice', limit: 2 })).toEqual([7, 5]);
        expect(await seqs({ order: 'desc', actor: 'alice', beforeSeq: 5 })).toEqual([3, 1]);
        expect(await seqs({ order: 'desc', kind: 'Service', actor: 'bob' })).toEqual([4, 2]);

        // Newest first, page by page: each page's last seq is the next page's beforeSeq.
        const pages: number[][] = [];
        let beforeSeq: number | undefined;
        for (;;) {
          const page = await seqs({ order: 'desc', limit: 3, ...(beforeSeq !== undefined ? { beforeSeq } : {}) });
          if (page.length === 0) break;
          pages.push(page);
          beforeSeq = page.at(-1);
        }
        expect(pages).toEqual([[7, 6, 5], [4, 3, 2], [1]]);
      });

      it('filters by action, exactly or by a prefix ending in *, case-sensitively and with % and _ taken literally', async () => {
        const actions = ['create', 'rollout.Promote', 'rollout.abort', 'rollouts.sync', 'Rollout.abort', 'release.promote', '50%_done', '50x_done', 'évènement.créé', 'rollout.'];
        for (const [index, action] of actions.entries()) await store.read.audit.append(event(index + 1, { action, actor: index % 2 ? 'bob' : 'alice' }));
        const listed = async (query: Parameters<Store['read']['audit']['list']>[0]) => (await store.read.audit.list(query)).map((e) => e.action);

        expect(await listed({ action: 'create' })).toEqual(['create']);
        expect(await listed({ action: 'rollout.abort' })).toEqual(['rollout.abort']);
        expect(await listed({ action: 'rollout' })).toEqual([]);
        expect(await listed({ action: 'rollout.*' })).toEqual(['rollout.Promote', 'rollout.abort', 'rollout.']);
        expect(await listed({ action: 'rollout*' })).toEqual(['rollout.Promote', 'rollout.abort', 'rollouts.sync', 'rollout.']);
        expect(await listed({ action: 'Rollout.*' })).toEqual(['Rollout.abort']);
        expect(await listed({ action: 'rollout.P*' })).toEqual(['rollout.Promote']);
        expect(await listed({ action: 'rollout.p*' })).toEqual([]);
        expect(await listed({ action: '50%*' })).toEqual(['50%_done']);
        expect(await listed({ action: '50_*' })).toEqual([]);
        expect(await listed({ action: 'évènement.*' })).toEqual(['évènement.créé']);
        expect(await listed({ action: '*' })).toEqual(actions);
        // A * that does not end the text is taken literally.
        expect(await listed({ action: 'rollout.*abort' })).toEqual([]);
        // With the other filters, newest first.
        expect(await listed({ action: 'rollout.*', order: 'desc' })).toEqual(['rollout.', 'rollout.abort', 'rollout.Promote']);
        expect(await listed({ action: 'rollout*', actor: 'bob', order: 'desc' })).toEqual(['rollout.', 'rollouts.sync', 'rollout.Promote']);
        expect(await listed({ action: 'rollout.*', order: 'desc', beforeSeq: 10, limit: 1 })).toEqual(['rollout.abort']);
      });
    });

    describe('tokens', () => {
      const token = (name: string, hash: string) => ({ id: `id-${name}`, name, role: 'deployer' as const, hash });

      it('creates a token and finds it by hash', async () => {
        const created = await store.read.tokens.create(token('ci', 'h1'));
        expect(created).toEqual({ id: 'id-ci', name: 'ci', role: 'deployer', hash: 'h1', createdAt: expect.stringMatching(ISO_MS), revokedAt: null, user: null });
        expect(await store.read.tokens.findByHash('h1')).toEqual(created);
        expect(await store.read.tokens.findByHash('nope')).toBeNull();
      });

      it('lists tokens by name, revoked ones included', async () => {
        await store.read.tokens.create({ ...token('zeta', 'h1'), role: 'admin' });
        await store.read.tokens.create({ ...token('alpha', 'h2'), role: 'viewer' });
        await store.read.tokens.revoke('zeta', '2025-01-01T00:00:00.000Z');
        const listed = await store.read.tokens.list();
        expect(listed.map((t) => [t.name, t.role, t.revokedAt])).toEqual([
          ['alpha', 'viewer', null],
          ['zeta', 'admin', '2025-01-01T00:00:00.000Z'],
        ]);
      });

      it('refuses a duplicate name with ConflictError, even when the first is revoked', async () => {
        await store.read.tokens.create(token('ci', 'h1'));
        await expect(store.read.tokens.create(token('ci', 'h2'))).rejects.toBeInstanceOf(ConflictError);
        await store.read.tokens.revoke('ci', '2025-01-01T00:00:00.000Z');
        await expect(store.read.tokens.create({ ...token('ci', 'h3'), id: 'other' })).rejects.toBeInstanceOf(ConflictError);
        expect(await store.read.tokens.findByHash('h2')).toBeNull();
        expect(await store.read.tokens.list()).toHaveLength(1);
      });

      it('revokes idempotently, keeping the first time; a revoked token is still found', async () => {
        await store.read.tokens.create(token('ci', 'h1'));
        const first = await store.read.tokens.revoke('ci', '2025-01-01T00:00:00.000Z');
        expect(first?.revokedAt).toBe('2025-01-01T00:00:00.000Z');
        const again = await store.read.tokens.revoke('ci', '2025-06-01T00:00:00.000Z');
        expect(again?.revokedAt).toBe('2025-01-01T00:00:00.000Z');
        expect((await store.read.tokens.findByHash('h1'))?.revokedAt).toBe('2025-01-01T00:00:00.000Z');
        expect(await store.read.tokens.revoke('ghost', '2025-01-01T00:00:00.000Z')).toBeNull();
      });

      it('binds a token to a user, keeps the binding through list and revoke, and reads null when none was given', async () => {
        const bound = await store.read.tokens.create({ ...token('alice-laptop', 'h1'), user: 'alice' });
        expect(bound.user).toBe('alice');
        expect(await store.read.tokens.findByHash('h1')).toEqual(bound);
        // Several tokens may belong to one user; null and an absent user both mean "no user".
        await store.transaction((s) => s.tokens.create({ ...token('alice-ci', 'h2'), user: 'alice' }));
        await store.read.tokens.create({ ...token('robot', 'h3'), user: null });
        await store.read.tokens.create(token('legacy', 'h4'));
        expect((await store.read.tokens.list()).map((t) => [t.name, t.user])).toEqual([
          ['alice-ci', 'alice'],
          ['alice-laptop', 'alice'],
          ['legacy', null],
          ['robot', null],
        ]);
        expect((await store.read.tokens.revoke('alice-laptop', '2025-01-01T00:00:00.000Z'))?.user).toBe('alice');
        expect((await store.read.tokens.findByHash('h1'))?.user).toBe('alice');
      });

      it('rolls a token binding back with its transaction', async () => {
        await expect(
          store.transaction(async (s) => {
            await s.tokens.create({ ...token('alice-laptop', 'h1'), user: 'alice' });
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await store.read.tokens.findByHash('h1')).toBeNull();
      });
    });

    describe('leases', () => {
      const t0 = new Date('2030-01-01T00:00:00.000Z');
      const at = (ms: number) => new Date(t0.getTime() + ms);

      it('grants a free lease with fencing token 1 until now + ttl', async () => {
        expect(await store.read.leases.get('controller')).toBeNull();
        const lease = await store.read.leases.acquire('controller', 'a', 10_000, t0);
        expect(lease).toEqual({ name: 'controller', holder: 'a', fencingToken: 1, expiresAt: '2030-01-01T00:00:10.000Z' });
        expect(await store.read.leases.get('controller')).toEqual(lease);
      });

      it('renews for the same holder, keeping the fencing token', async () => {
        await store.read.leases.acquire('controller', 'a', 10_000, t0);
        const renewed = await store.read.leases.acquire('controller', 'a', 10_000, at(5_000));
        expect(renewed).toEqual({ name: 'controller', holder: 'a', fencingToken: 1, expiresAt: '2030-01-01T00:00:15.000Z' });
      });

      it('refuses another holder while the lease is unexpired, and changes nothing', async () => {
        const lease = await store.read.leases.acquire('controller', 'a', 10_000, t0);
        expect(await store.read.leases.acquire('controller', 'b', 10_000, at(9_999))).toBeNull();
        expect(await store.read.leases.get('controller')).toEqual(lease);
      });

      it('hands an expired lease to another holder with a higher fencing token, and refuses the old holder', async () => {
        await store.read.leases.acquire('controller', 'a', 10_000, t0);
        const taken = await store.read.leases.acquire('controller', 'b', 10_000, at(10_000));
        expect(taken).toEqual({ name: 'controller', holder: 'b', fencingToken: 2, expiresAt: '2030-01-01T00:00:20.000Z' });
        expect(await store.read.leases.acquire('controller', 'a', 10_000, at(11_000))).toBeNull();
        const back = await store.read.leases.acquire('controller', 'a', 10_000, at(25_000));
        expect(back?.fencingToken).toBe(3);
      });

      it('releases only for the holder, and the next holder still gets a higher token', async () => {
        await store.read.leases.acquire('controller', 'a', 60_000, t0);
        await store.read.leases.release('controller', 'b');
        expect(await store.read.leases.acquire('controller', 'b', 10_000, at(1_000))).toBeNull();
        await store.read.leases.release('controller', 'a');
        await store.read.leases.release('controller', 'a');
        const next = await store.read.leases.acquire('controller', 'b', 10_000, at(1_000));
        expect(next).toMatchObject({ holder: 'b', fencingToken: 2 });
        await store.read.leases.release('missing', 'a');
        expect(await store.read.leases.get('missing')).toBeNull();
      });

      it('keeps leases independent by name', async () => {
        await store.read.leases.acquire('one', 'a', 10_000, t0);
        expect(await store.read.leases.acquire('two', 'b', 10_000, t0)).toMatchObject({ holder: 'b', fencingToken: 1 });
      });

      it('grants a contested free lease to exactly one of many concurrent acquirers', async () => {
        const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((holder) => store.read.leases.acquire('controller', holder, 10_000, t0)));
        const winners = results.filter((lease) => lease !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.fencingToken).toBe(1);
        expect((await store.read.leases.get('controller'))?.holder).toBe(winners[0]?.holder);
      });

      it('works inside a transaction and rolls back with it', async () => {
        await expect(
          store.transaction(async (s) => {
            expect(await s.leases.acquire('controller', 'a', 10_000, t0)).not.toBeNull();
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await store.read.leases.get('controller')).toBeNull();
      });
    });
  });
}
