/**
 * Errors services throw to say what went wrong in domain terms. Services stay free of HTTP;
 * problem.ts maps each class to a status and an RFC 9457 body. The store's ConflictError and
 * NotFoundError (src/ports/store.ts) are mapped there too.
 */
import type { GateResult } from '../core/governance/records.js';
import type { FieldPath } from '../core/resources/validate.js';

export interface DocumentIssue {
  /** Index of the document in an apply batch; absent for single-object requests. */
  document?: number;
  path: FieldPath;
  message: string;
}

/** The request is well-formed JSON but its content is invalid (422), e.g. a reference to nothing. */
export class InvalidContentError extends Error {
  override readonly name = 'InvalidContentError';
  constructor(
    message: string,
    readonly issues: DocumentIssue[],
  ) {
    super(message);
  }
}

/** The caller is authenticated but lacks the role for this particular operation (403). */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
  constructor(
    message: string,
    readonly issues: DocumentIssue[] = [],
  ) {
    super(message);
  }
}

/** The write would break the store's integrity as seen by others, e.g. deleting a referenced object (409). */
export class InUseError extends Error {
  override readonly name = 'InUseError';
  constructor(
    message: string,
    readonly referrers: { kind: string; name: string; path: FieldPath }[],
  ) {
    super(message);
  }
}

/** A version mismatch inside an apply batch: a ConflictError that also names the document (409). */
export class DocumentConflictError extends Error {
  override readonly name = 'DocumentConflictError';
  constructor(
    message: string,
    readonly document: number,
    readonly currentVersion: number | null,
  ) {
    super(message);
  }
}

/**
 * A governance gate refused the request (409 `gate-refused`): the body lists every gate's result
 * (`gates`) and `errors` names each refusing gate. The refusal itself is recorded (audit event,
 * release status) in its own transaction before this is thrown, so it is never lost with the rollback.
 */
export class GateRefusedError extends Error {
  override readonly name = 'GateRefusedError';
  constructor(
    message: string,
    readonly gates: GateResult[],
  ) {
    super(message);
  }
}

/** A write the generic objects API does not do for this kind: it has its own API (409 `managed-kind`). */
export class ManagedKindError extends Error {
  override readonly name = 'ManagedKindError';
}

/** The caller is who the rule forbids: a requester approving their own change (403 `separation-of-duties`). */
export class SeparationOfDutiesError extends Error {
  override readonly name = 'SeparationOfDutiesError';
}
