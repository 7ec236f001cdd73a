/**
 * Rules the objects service applies to Release writes (whichever route they come through): the
 * scope freeze on Release updates. Filled in by the releases feature.
 */
import type { ValidDocument } from '../../core/resources/validate.js';
import type { StoredObject, Stores } from '../../ports/store.js';

export interface RuleContext {
  actor: string;
  /** The requesting user (see Principal.user); `system` for the engine. */
  user: string;
  now: Date;
}

/** Throws (GateRefusedError / InvalidContentError) when the update of a Release breaks its scope freeze. */
export async function checkReleaseUpdate(_stores: Pick<Stores, 'objects' | 'audit'>, _current: StoredObject, _document: ValidDocument, _ctx: RuleContext): Promise<void> {}
