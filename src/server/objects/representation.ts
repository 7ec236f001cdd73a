/** How a stored object looks on the wire, and the digest audit events record instead of its content. */
import { digestOf } from '../../core/audit/chain.js';
import { API_VERSION } from '../../core/resources/common.js';
import type { StoredObject } from '../../ports/store.js';

export function toApiObject(object: StoredObject) {
  return {
    apiVersion: API_VERSION,
    kind: object.kind,
    metadata: {
      name: object.name,
      labels: object.labels,
      annotations: object.annotations,
      version: object.version,
      createdAt: object.createdAt,
      updatedAt: object.updatedAt,
    },
    spec: object.spec,
    status: object.status,
  };
}

/**
 * Digest of everything a user or the control plane decided about the object. Version and
 * timestamps are left out: the same content always digests the same, so an auditor can check a
 * document they hold against the log.
 */
export const objectDigest = (object: StoredObject | null): string | null =>
  object === null
    ? null
    : digestOf({ kind: object.kind, name: object.name, labels: object.labels, annotations: object.annotations, spec: object.spec, status: object.status });
