/**
 * `GET /api/v1/events`: live change events over Server-Sent Events. A client that reconnects
 * with `Last-Event-ID` (or `?afterSeq=`) first gets what it missed, replayed from the audit log,
 * then live events; the event id is the audit seq, so replay and live never overlap or skip.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { API_PREFIX, changeEventSchema, type ChangeEvent } from '../../core/api.js';
import type { Store } from '../../ports/store.js';
import type { AppEnv } from '../context.js';
import type { Logger } from '../logger.js';
import { secureRoute } from '../route.js';
import { changeEventOf, type EventBus } from './bus.js';

export const HEARTBEAT_MS = 15_000;
const REPLAY_PAGE = 500;

const seq = z.coerce.number().int().min(0);

export const eventsRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/events`,
  operationId: 'streamEvents',
  tags: ['Events'],
  summary: 'Server-Sent Events: one `change` event (id = audit seq) per committed change; comments as heartbeats',
  request: {
    query: z.object({ afterSeq: seq.optional() }),
    headers: z.object({ 'last-event-id': z.string().regex(/^\d+$/, 'must be the id (audit seq) of the last event received').optional() }),
  },
  responses: {
    200: {
      description: 'text/event-stream; each `data:` line is a JSON ChangeEvent',
      content: { 'text/event-stream': { schema: changeEventSchema } },
    },
  },
});

export function registerEventRoutes(app: OpenAPIHono<AppEnv>, deps: { store: Store; bus: EventBus; logger: Logger; heartbeatMs?: number }): void {
  const { store, bus, logger } = deps;
  const heartbeatMs = deps.heartbeatMs ?? HEARTBEAT_MS;

  app.openapi(eventsRoute, (c) => {
    const header = c.req.valid('header')['last-event-id'];
    const afterSeq = header !== undefined ? Number(header) : c.req.valid('query').afterSeq;

    return streamSSE(c, async (stream) => {
      // Subscribe before replaying so nothing committed during the replay falls in between.
      const subscription = bus.subscribe();
      stream.onAbort(() => subscription.close());
      const heartbeat = setInterval(() => void stream.write(': heartbeat\n\n'), heartbeatMs);
      const send = (event: ChangeEvent) => stream.writeSSE({ event: 'change', id: String(event.seq), data: JSON.stringify(event) });
      // Highest seq the replay sent. Live events at or below it were already sent; live events
      // above it are sent as they come, even if two commits publish out of seq order.
      let replayedUpTo = afterSeq ?? 0;
      try {
        await stream.write(': connected\n\n');
        if (afterSeq !== undefined) {
          for (;;) {
            const page = await store.read.audit.list({ afterSeq: replayedUpTo, limit: REPLAY_PAGE });
            for (const event of page) await send(changeEventOf(event));
            if (page.length > 0) replayedUpTo = page[page.length - 1]!.seq;
            if (page.length < REPLAY_PAGE) break;
          }
        }
        for (let event = await subscription.next(); event !== null; event = await subscription.next()) {
          if (event.seq > replayedUpTo) await send(event);
        }
      } catch (error) {
        logger.error({ err: error }, 'event stream failed');
      } finally {
        clearInterval(heartbeat);
        subscription.close();
      }
    });
  });
}
