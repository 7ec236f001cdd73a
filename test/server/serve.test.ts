import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import type { Store } from '../../src/ports/store.js';
import { createLogger } from '../../src/server/logger.js';
import { installSignalHandlers, startServer, type RunningServer } from '../../src/server/serve.js';

const logger = createLogger({ level: 'silent' });
let running: RunningServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** The store with object listing slowed down, to hold a request in flight; `order` records what happened when. */
function slowListing(store: Store, ms: number, order: string[]): Store {
  return {
    dialect: store.dialect,
    transaction: (work) => store.transaction(work),
    ping: () => store.ping(),
    close: async () => {
      order.push('store closed');
      await store.close();
    },
    read: {
      ...store.read,
      objects: {
        ...store.read.objects,
        list: async (...args) => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          const page = await store.read.objects.list(...args);
          order.push('request served');
          return page;
        },
      },
    },
  };
}

describe('startServer', () => {
  it('listens on a free port, mints the admin token only on first start, and serves the API', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'rollgate-serve-'));
    const file = path.join(dir, 'rollgate.db');
    running = await startServer({ store: await openSqliteStore({ file }), host: '127.0.0.1', port: 0, logger });
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(running.adminToken).toMatch(/^rg_/);
    const token = running.adminToken!;
    expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${running.url}/api/v1/environments`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await running.close();

    running = await startServer({ store: await openSqliteStore({ file }), host: '127.0.0.1', port: 0, logger });
    expect(running.adminToken).toBeNull();
    expect((await fetch(`${running.url}/api/v1/environments`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });

  it('shuts down gracefully: finishes in-flight requests, ends SSE streams, then closes the store', async () => {
    const order: string[] = [];
    running = await startServer({ store: slowListing(await openSqliteStore({ file: ':memory:' }), 300, order), host: '127.0.0.1', port: 0, logger, shutdownGraceMs: 5000 });
    const auth = { authorization: `Bearer ${running.adminToken}` };

    const events = await fetch(`${running.url}/api/v1/events`, { headers: auth });
    expect(events.status).toBe(200);
    const drained = events.text(); // resolves when the server ends the stream

    const inFlight = fetch(`${running.url}/api/v1/environments`, { headers: auth });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    order.push('close called');
    const closing = running.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: unknown[] }).items).toEqual([]);
    await closing;
    expect(order).toEqual(['close called', 'request served', 'store closed']);
    expect(await drained).toContain(': connected');
    expect(Date.now() - started).toBeLessThan(3000);
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    running = undefined;
  });

  it('installs signal handlers that close once and can be removed', async () => {
    let closes = 0;
    const exits: number[] = [];
    const listenersBefore = process.listenerCount('SIGTERM');
    const remove = installSignalHandlers({ close: async () => void closes++ }, { exit: (code) => exits.push(code) });
    process.emit('SIGTERM', 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(closes).toBe(1);
    expect(exits).toEqual([0]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(exits).toEqual([0, 1]);
    remove();
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore);
  });
});
