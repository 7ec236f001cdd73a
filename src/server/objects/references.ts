/**
 * Referential integrity between objects. References live inside specs (JSON), so the store
 * cannot enforce them; every write checks them here, inside the write's transaction.
 */
import { KIND_NAMES, KINDS, type KindName } from '../../core/resources/kinds.js';
import type { FieldPath } from '../../core/resources/validate.js';
import type { ObjectRepository } from '../../ports/store.js';

export interface MissingReference {
  path: FieldPath;
  message: string;
}

/**
 * The references in `spec` that resolve to nothing. `pending` holds `Kind/name` keys that will
 * exist by the end of the same write (an apply batch), so they count as present.
 */
export async function missingReferences(
  objects: Pick<ObjectRepository, 'get'>,
  kind: KindName,
  spec: unknown,
  pending: ReadonlySet<string> = new Set(),
): Promise<MissingReference[]> {
  const missing: MissingReference[] = [];
  for (const reference of KINDS[kind].references(spec)) {
    if (pending.has(objectKey(reference.kind, reference.name))) continue;
    if (await objects.get(reference.kind, reference.name)) continue;
    missing.push({ path: reference.path, message: `${reference.kind} "${reference.name}" does not exist` });
  }
  return missing;
}

export const objectKey = (kind: string, name: string): string => `${kind}/${name}`;

const SCAN_PAGE = 500;

/**
 * Every object whose spec refers to `kind/name`. Scans all objects because references are
 * computed from specs; fine for the object counts a release control plane holds, and it runs
 * only on delete.
 */
export async function findReferrers(objects: Pick<ObjectRepository, 'list'>, kind: KindName, name: string) {
  const referrers: { kind: KindName; name: string; path: FieldPath }[] = [];
  for (const candidateKind of KIND_NAMES) {
    let cursor: string | undefined;
    do {
      const page = await objects.list(candidateKind, { limit: SCAN_PAGE, ...(cursor ? { cursor } : {}) });
      for (const candidate of page.items) {
        if (candidate.kind === kind && candidate.name === name) continue;
        for (const reference of KINDS[candidateKind].references(candidate.spec)) {
          if (reference.kind === kind && reference.name === name) referrers.push({ kind: candidateKind, name: candidate.name, path: reference.path });
        }
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }
  return referrers;
}
