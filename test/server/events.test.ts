import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../src/server/events/bus.js';
import { createCommit } from '../../src/server/transaction.js';
import { doc, startTestServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Reads an SSE body until `done(text)` holds or the timeout passes. */
function sseReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    async until(done: (text: string) => boolean, timeoutMs = 3000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!done(text)) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`timed out; stream so far:\n${text}`);
        const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), remaining))]);
        if (chunk === null) continue;
        if (chunk.done) break;
        text += decoder.decode(chunk.value, { stream: true });
      }
      return text;
    },
    cancel: () => reader.cancel(),
  };
}

const changes = (text: string) =>
  text
    .split('\n\n')
    .filter((block) => block.includes('event: change'))
    .map((block) => ({ id: /^id: (.*)$/m.exec(block)![1], data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) }));

describe('GET /api/v1/events', () => {
  it('sends a change event after a create commits', async () => {
    server = await startTestServer();
    const response = await server.request('GET', '/api/v1/events');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const stream = sseReader(response);
    await stream.until((text) => text.includes(': connected'));

    expect((await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'prod', {}) })).status).toBe(201);
    // A failed write commits nothing and publishes nothing.
    expect((await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'prod', {}) })).status).toBe(409);
    expect((await server.json('PUT', '/api/v1/environments/prod', { body: doc('Environment', 'prod', { production: true }) })).status).toBe(200);

    const text = await stream.until((t) => changes(t).length >= 2);
    expect(changes(text)).toEqual([
      { id: '2', data: { seq: 2, action: 'create', kind: 'Environment', name: 'prod', version: 1, actor: 'token:admin', time: expect.any(String) } },
      { id: '3', data: { seq: 3, action: 'update', kind: 'Environment', name: 'prod', version: 2, actor: 'token:admin', time: expect.any(String) } },
    ]);
    await stream.cancel();
  });

  it('replays missed events from the audit log with Last-Event-ID or afterSeq, then goes live', async () => {
    server = await startTestServer();
    for (const name of ['a', 'b', 'c']) await server.json('POST', '/api/v1/environments', { body: doc('Environment', name, {}) });

    const resumed = sseReader(await server.request('GET', '/api/v1/events', { headers: { 'last-event-id': '2' } }));
    const replayed = await resumed.until((t) => changes(t).length >= 2);
    expect(changes(replayed).map((change) => [change.id, change.data.name])).toEqual([
      ['3', 'b'],
      ['4', 'c'],
    ]);
    await server.json('POST', '/api/v1/environments', { body: doc('Environment', 'd', {}) });
    const live = await resumed.until((t) => changes(t).length >= 3);
    expect(changes(live).map((change) => change.id)).toEqual(['3', '4', '5']);
    await resumed.cancel();

    const byQuery = sseReader(await server.request('GET', '/api/v1/events?afterSeq=4'));
    expect(changes(await byQuery.until((t) => changes(t).length >= 1)).map((change) => change.data.name)).toEqual(['d']);
    await byQuery.cancel();

    const bad = await server.json('GET', '/api/v1/events', { headers: { 'last-event-id': 'yesterday' } });
    expect(bad.status).toBe(400);
  });

  it('sends heartbeats as comments', async () => {
    server = await startTestServer({ app: { heartbeatMs: 20 } });
    const stream = sseReader(await server.request('GET', '/api/v1/events'));
    expect(await stream.until((t) => t.includes(': heartbeat\n\n'))).toContain(': heartbeat');
    await stream.cancel();
  });
});

describe('publishing after commit', () => {
  it('publishes nothing for a transaction that rolls back', async () => {
    server = await startTestServer();
    const bus = createEventBus();
    const subscription = bus.subscribe();
    const commit = createCommit(server.store, bus);
    const append = (name: string) => (stores: any) =>
      stores.audit.append({ time: new Date().toISOString(), actor: 'test', action: 'create', kind: 'Environment', name, beforeDigest: null, afterDigest: null });
    await expect(
      commit(async (stores) => {
        await append('rolled-back')(stores);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await commit(append('kept'));
    const event = await subscription.next();
    expect(event).toMatchObject({ name: 'kept', seq: 2 });
    bus.close();
    expect(await subscription.next()).toBeNull();
  });
});
