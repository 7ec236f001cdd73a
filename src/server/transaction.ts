/**
 * Runs route work in one store transaction and publishes its audit events to the event bus only
 * after the commit. Services never see the bus: they append audit events as usual and this
 * wrapper records what they appended. A rolled-back transaction publishes nothing.
 */
import type { ChainedAuditEvent } from '../core/audit/chain.js';
import type { AuditRepository, Store, Stores } from '../ports/store.js';
import { changeEventOf, type EventBus } from './events/bus.js';

export type Commit = <T>(work: (stores: Stores) => Promise<T>) => Promise<T>;

export function createCommit(store: Store, bus: EventBus): Commit {
  return async (work) => {
    let appended: ChainedAuditEvent[] = [];
    const result = await store.transaction(async (stores) => {
      // The store may retry the callback; only the attempt that commits counts.
      appended = [];
      const audit: AuditRepository = {
        append: async (event) => {
          const chained = await stores.audit.append(event);
          appended.push(chained);
          return chained;
        },
        list: (query) => stores.audit.list(query),
        head: () => stores.audit.head(),
      };
      return work({ objects: stores.objects, tokens: stores.tokens, leases: stores.leases, secrets: stores.secrets, audit });
    });
    for (const event of appended) bus.publish(changeEventOf(event));
    return result;
  };
}
