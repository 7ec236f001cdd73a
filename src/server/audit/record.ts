/** The audit event for one object write; every service that writes objects goes through here. */
import type { ChainedAuditEvent } from '../../core/audit/chain.js';
import type { AuditRepository, StoredObject } from '../../ports/store.js';
import { objectDigest } from '../objects/representation.js';

export type ObjectAction = 'create' | 'update' | 'delete';

export function recordObjectChange(
  audit: Pick<AuditRepository, 'append'>,
  change: { time: Date; actor: string; action: ObjectAction; before: StoredObject | null; after: StoredObject | null; via?: string },
): Promise<ChainedAuditEvent> {
  const subject = (change.after ?? change.before)!;
  return audit.append({
    time: change.time.toISOString(),
    actor: change.actor,
    action: change.action,
    kind: subject.kind,
    name: subject.name,
    beforeDigest: objectDigest(change.before),
    afterDigest: objectDigest(change.after),
    // version: what the SSE change event reports; null after a delete (no object remains).
    details: { version: change.after ? change.after.version : null, ...(change.via ? { via: change.via } : {}) },
  });
}
