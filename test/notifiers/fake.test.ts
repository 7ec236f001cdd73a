import { describe, expect, it } from 'vitest';
import { describeNotifierContract, sampleEvent } from '../contract/notifier-contract.js';
import { FakeNotifier } from '../fakes/fake-notifier.js';

describeNotifierContract('FakeNotifier', async () => {
  const notifier = new FakeNotifier();
  return {
    notifier,
    delivered: async () => notifier.delivered.map((event) => ({ id: event.id, type: event.type })),
    teardown: async () => undefined,
  };
});

describe('FakeNotifier test hooks', () => {
  it('can fail on demand and shows what a deduplicating receiver keeps', async () => {
    const notifier = new FakeNotifier();
    const event = sampleEvent();
    notifier.failNext();
    await expect(notifier.notify(event)).rejects.toThrow(/unavailable/);
    await notifier.notify(event);
    await notifier.notify(event);
    expect(notifier.delivered).toHaveLength(2);
    expect(notifier.unique()).toHaveLength(1);
    expect(notifier.ofType(event.type)).toHaveLength(2);
  });
});
