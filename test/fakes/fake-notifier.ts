/** In-memory Notifier for engine unit tests. Runs the Notifier contract (test/notifiers/fake.test.ts). */
import type { NotificationEvent, Notifier } from '../../src/ports/notifier.js';

export class FakeNotifier implements Notifier {
  /** Every delivered event, in order (deep copies). */
  readonly delivered: NotificationEvent[] = [];
  private failures: Error[] = [];

  /** The next `count` notify calls reject with `error` (and deliver nothing). */
  failNext(count = 1, error: Error = new Error('notifier unavailable')): void {
    for (let i = 0; i < count; i++) this.failures.push(error);
  }

  async notify(event: NotificationEvent): Promise<void> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.delivered.push(structuredClone(event));
  }

  /** Delivered events with duplicate ids dropped, as a deduplicating receiver would see them. */
  unique(): NotificationEvent[] {
    const seen = new Set<string>();
    return this.delivered.filter((event) => (seen.has(event.id) ? false : (seen.add(event.id), true)));
  }

  ofType(type: string): NotificationEvent[] {
    return this.delivered.filter((event) => event.type === type);
  }

  clear(): void {
    this.delivered.length = 0;
    this.failures = [];
  }
}
