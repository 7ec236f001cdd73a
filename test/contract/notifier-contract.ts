/**
 * The Notifier contract (src/ports/notifier.ts): every implementation, fakes included, runs this
 * suite. The setup gives a notifier and a way to read what its receiver got.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationEvent, Notifier } from '../../src/ports/notifier.js';

export interface DeliveredEvent {
  id: string;
  /** The type as the receiver saw it (a notifier may namespace it, e.g. "dev.rollgate.<type>"). */
  type?: string;
}

export interface NotifierContractSetup {
  notifier: Notifier;
  /** Everything the receiving side got so far, in arrival order. */
  delivered(): Promise<DeliveredEvent[]>;
  teardown(): Promise<void>;
}

export function sampleEvent(overrides: Partial<NotificationEvent> = {}): NotificationEvent {
  const rollout = `ro_${randomUUID().slice(0, 8)}`;
  return {
    id: `${rollout}:step-2:attempt-1:rollout.step.completed`,
    type: 'rollout.step.completed',
    subject: { kind: 'rollout', name: 'checkout-prod' },
    time: '2025-03-04T10:15:00.000Z',
    data: { step: 2, weight: 25, verdict: 'pass', note: 'canary "b" within budget' },
    ...overrides,
  };
}

export function describeNotifierContract(label: string, setup: () => Promise<NotifierContractSetup>): void {
  describe(`Notifier contract: ${label}`, () => {
    let ctx: NotifierContractSetup;

    beforeEach(async () => {
      ctx = await setup();
    });

    afterEach(async () => {
      await ctx.teardown();
    });

    it('delivers one event once, with its id, by the time notify resolves', async () => {
      const event = sampleEvent();
      await ctx.notifier.notify(event);
      const delivered = await ctx.delivered();
      expect(delivered).toHaveLength(1);
      expect(delivered[0]!.id).toBe(event.id);
      if (delivered[0]!.type !== undefined) expect(delivered[0]!.type).toContain(event.type);
    });

    it('the same event twice reaches the receiver with the same id (so it can deduplicate)', async () => {
      const event = sampleEvent();
      await ctx.notifier.notify(event);
      await ctx.notifier.notify(event);
      const delivered = await ctx.delivered();
      expect(delivered.length).toBeGreaterThanOrEqual(1);
      expect(delivered.length).toBeLessThanOrEqual(2);
      expect(new Set(delivered.map((d) => d.id))).toEqual(new Set([event.id]));
    });

    it('distinct events arrive with distinct ids, in order', async () => {
      const first = sampleEvent({ type: 'rollout.started' });
      const second = sampleEvent({ type: 'rollout.promoted', subject: { kind: 'deployment', name: 'checkout@1.4.2' } });
      await ctx.notifier.notify(first);
      await ctx.notifier.notify(second);
      expect((await ctx.delivered()).map((d) => d.id)).toEqual([first.id, second.id]);
    });
  });
}
