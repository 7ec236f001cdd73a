/**
 * Rules the objects service applies when a Deployment is created (whichever route it comes
 * through): promotion by digest along the pipeline, an automatic change record where the
 * environment requires one, and `promote` policies. Filled in by the promotions feature.
 */
import type { ValidDocument } from '../../core/resources/validate.js';
import type { Stores } from '../../ports/store.js';
import type { RuleContext } from '../releases/rules.js';

/**
 * Called before a Deployment is created. May return a document with `spec.change` (and
 * `metadata.name`) filled in (an automatic change record created in the same transaction); throws
 * GateRefusedError when a gate refuses.
 */
export async function prepareDeploymentCreate(_stores: Pick<Stores, 'objects' | 'audit'>, document: ValidDocument, _ctx: RuleContext): Promise<ValidDocument> {
  return document;
}
