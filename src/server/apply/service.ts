/**
 * Declarative apply: a batch of documents becomes created / configured / unchanged objects, all
 * or nothing. Every document is validated before anything is read, references are checked
 * against the batch and the store together, and the writes share the caller's transaction.
 */
import type { ApplyResult } from '../../core/api.js';
import { KINDS, roleAtLeast, type Role } from '../../core/resources/kinds.js';
import { validateDocument, type ValidDocument } from '../../core/resources/validate.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import { DocumentConflictError, ForbiddenError, InvalidContentError, type DocumentIssue } from '../errors.js';
import { missingReferences, objectKey } from '../objects/references.js';
import { sameDesiredState, type ObjectService } from '../objects/service.js';

type Reader = Pick<Stores, 'objects'>;
type Writer = Pick<Stores, 'objects' | 'audit'>;
type ApplyAction = ApplyResult['results'][number]['action'];

/** A validated document; apply needs a name even for records, or re-applying would duplicate them. */
export type NamedDocument = ValidDocument & { metadata: ValidDocument['metadata'] & { name: string } };

export interface PlannedWrite {
  index: number;
  document: NamedDocument;
  current: StoredObject | null;
  action: ApplyAction;
}

export function createApplyService(deps: { objects: ObjectService }) {
  return {
    /** Validates all documents and reports every problem of every document, or returns them all. */
    validate(documents: unknown[]): NamedDocument[] {
      const issues: DocumentIssue[] = [];
      const valid: NamedDocument[] = [];
      const seen = new Map<string, number>();
      documents.forEach((input, index) => {
        const result = validateDocument(input);
        if (!result.ok) {
          issues.push(...result.issues.map((issue) => ({ document: index, ...issue })));
          return;
        }
        const { document } = result;
        if (document.metadata.name === undefined) {
          issues.push({ document: index, path: ['metadata', 'name'], message: 'required in apply, so applying the same file again finds the same object' });
          return;
        }
        const key = objectKey(document.kind, document.metadata.name);
        const first = seen.get(key);
        if (first !== undefined) issues.push({ document: index, path: ['metadata', 'name'], message: `${key} already appears as document ${first}` });
        seen.set(key, first ?? index);
        valid.push(document as NamedDocument);
      });
      if (issues.length > 0) throw new InvalidContentError(`${new Set(issues.map((issue) => issue.document)).size} of ${documents.length} documents are invalid`, issues);
      return valid;
    },

    /** Each document needs its kind's write role on top of the route's role. */
    authorize(documents: NamedDocument[], role: Role): void {
      const refused = documents.flatMap((document, index) => {
        const needed = KINDS[document.kind].writeRole;
        return roleAtLeast(role, needed) ? [] : [{ document: index, path: ['kind'], message: `writing ${document.kind} requires role "${needed}"` }];
      });
      if (refused.length > 0) {
        const first = refused[0]!;
        throw new ForbiddenError(`document ${first.document} (${documents[first.document]!.kind} "${documents[first.document]!.metadata.name}"): ${first.message}; the token has role "${role}"`, refused);
      }
    },

    /** Decides each document's action without writing; throws on any missing reference or version mismatch. */
    async plan(stores: Reader, documents: NamedDocument[]): Promise<PlannedWrite[]> {
      const batch = new Set(documents.map((document) => objectKey(document.kind, document.metadata.name)));
      const missing: DocumentIssue[] = [];
      const plan: PlannedWrite[] = [];
      for (const [index, document] of documents.entries()) {
        const current = await stores.objects.get(document.kind, document.metadata.name);
        const expected = document.metadata.version;
        if (expected !== undefined && expected !== (current?.version ?? null)) {
          const name = `${document.kind} "${document.metadata.name}"`;
          throw new DocumentConflictError(current ? `${name} is at version ${current.version}, not ${expected}` : `${name} does not exist yet, so it has no version ${expected}`, index, current?.version ?? null);
        }
        for (const issue of await missingReferences(stores.objects, document.kind, document.spec, batch)) missing.push({ document: index, ...issue });
        const action: ApplyAction = current === null ? 'created' : sameDesiredState(current, document) ? 'unchanged' : 'configured';
        plan.push({ index, document, current, action });
      }
      if (missing.length > 0) throw new InvalidContentError('documents refer to objects that exist neither in the batch nor in the store', missing);
      return plan;
    },

    /** The results a plan would produce, for dry runs: versions are what the writes would assign. */
    preview(plan: PlannedWrite[]): ApplyResult['results'] {
      return plan.map(({ document, current, action }) => ({
        kind: document.kind,
        name: document.metadata.name,
        action,
        version: current === null ? 1 : action === 'unchanged' ? current.version : current.version + 1,
      }));
    },

    /** Performs the plan; unchanged documents are neither written nor audited. */
    async execute(stores: Writer, actor: string, plan: PlannedWrite[]): Promise<ApplyResult['results']> {
      const results: ApplyResult['results'] = [];
      for (const { document, current, action } of plan) {
        let version = current?.version ?? 0;
        const options = { via: 'apply', referencesChecked: true };
        if (action === 'created') version = (await deps.objects.create(stores, actor, document, options)).version;
        if (action === 'configured') version = (await deps.objects.update(stores, actor, document.metadata.name, document, options)).version;
        results.push({ kind: document.kind, name: document.metadata.name, action, version });
      }
      return results;
    },
  };
}

export type ApplyService = ReturnType<typeof createApplyService>;
