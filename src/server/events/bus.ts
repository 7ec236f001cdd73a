/**
 * In-process fan-out of change events to SSE subscribers. Only committed work is published
 * (see transaction.ts), so subscribers never see a change that was rolled back. The bus holds no
 * history: a subscriber that falls behind is dropped and reconnects with Last-Event-ID, which is
 * replayed from the audit log.
 */
import type { ChangeEvent } from '../../core/api.js';
import type { ChainedAuditEvent } from '../../core/audit/chain.js';

/** Queued events per subscriber before it is considered stuck and dropped. */
const MAX_QUEUED = 1000;

export interface Subscription {
  /** The next event; null once the subscription ended (bus closed, dropped, or unsubscribed). */
  next(): Promise<ChangeEvent | null>;
  close(): void;
}

export interface EventBus {
  publish(event: ChangeEvent): void;
  subscribe(): Subscription;
  /** Ends every subscription (graceful shutdown); later subscriptions end at once. */
  close(): void;
  readonly subscriberCount: number;
}

/** The change event an audit event stands for; `details.version` is the object's version after the change. */
export function changeEventOf(event: ChainedAuditEvent): ChangeEvent {
  const version = event.details?.['version'];
  return {
    seq: event.seq,
    action: event.action,
    kind: event.kind,
    name: event.name,
    version: typeof version === 'number' ? version : null,
    actor: event.actor,
    time: event.time,
  };
}

export function createEventBus(): EventBus {
  const subscribers = new Set<Queue>();
  let closed = false;

  class Queue implements Subscription {
    private readonly pending: ChangeEvent[] = [];
    private waiter: ((event: ChangeEvent | null) => void) | null = null;
    private ended = false;

    push(event: ChangeEvent): void {
      if (this.ended) return;
      if (this.waiter) {
        const resolve = this.waiter;
        this.waiter = null;
        resolve(event);
        return;
      }
      if (this.pending.length >= MAX_QUEUED) return this.close();
      this.pending.push(event);
    }

    next(): Promise<ChangeEvent | null> {
      const queued = this.pending.shift();
      if (queued) return Promise.resolve(queued);
      if (this.ended) return Promise.resolve(null);
      return new Promise((resolve) => (this.waiter = resolve));
    }

    close(): void {
      if (this.ended) return;
      this.ended = true;
      this.pending.length = 0;
      subscribers.delete(this);
      this.waiter?.(null);
      this.waiter = null;
    }
  }

  return {
    publish(event) {
      for (const subscriber of subscribers) subscriber.push(event);
    },
    subscribe() {
      const queue = new Queue();
      if (closed) queue.close();
      else subscribers.add(queue);
      return queue;
    },
    close() {
      closed = true;
      for (const subscriber of [...subscribers]) subscriber.close();
    },
    get subscriberCount() {
      return subscribers.size;
    },
  };
}
