import type { z } from 'zod';
import { documentHeaderSchema, documentSchema, KINDS, type KindName } from './kinds.js';

export type FieldPath = (string | number)[];

export interface FieldIssue {
  /** Path inside the document, e.g. ['spec', 'steps', 2, 'setWeight']. */
  path: FieldPath;
  message: string;
}

export interface ValidDocument {
  apiVersion: string;
  kind: KindName;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; version?: number };
  spec: Record<string, unknown>;
}

export type ValidationResult = { ok: true; document: ValidDocument } | { ok: false; issues: FieldIssue[] };

/** Renders a path the way users read it: `spec.steps[2].setWeight`. */
export function formatPath(path: FieldPath): string {
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part), '');
}

type RawIssue = z.core.$ZodIssue;

const cleanPath = (path: PropertyKey[]): FieldPath => path.filter((p): p is string | number => typeof p !== 'symbol');

/**
 * Makes zod's issues point at the field a user must fix: an unknown key is reported at the key
 * itself, and a union (e.g. one canary step) reports the issues of the branch that came closest.
 */
function toFieldIssues(issues: readonly RawIssue[], prefix: FieldPath = []): FieldIssue[] {
  return issues.flatMap((issue): FieldIssue[] => {
    const path = [...prefix, ...cleanPath(issue.path)];
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const closest = [...issue.errors].sort((a, b) => unionBranchScore(a) - unionBranchScore(b))[0]!;
      if (closest.length > 0 && !closest.every((inner) => inner.code === 'unrecognized_keys' && inner.path.length === 0)) {
        return toFieldIssues(closest, path);
      }
      return [{ path, message: 'does not match any allowed form' }];
    }
    return [{ path, message: issue.message }];
  });
}

/** Lower is closer: a branch failing deep inside matched more of the input than one failing at the top. */
const unionBranchScore = (branch: readonly RawIssue[]): number =>
  branch.length * 10 - Math.max(0, ...branch.map((issue) => issue.path.length)) - (branch.some((issue) => issue.code === 'unrecognized_keys') ? -5 : 0);

const toIssues = (error: z.ZodError): FieldIssue[] => toFieldIssues(error.issues);

/** Validates one document of any kind; defaults are filled in on success. */
export function validateDocument(input: unknown): ValidationResult {
  const header = documentHeaderSchema.safeParse(input);
  if (!header.success) return { ok: false, issues: toIssues(header.error) };
  const parsed = documentSchema(header.data.kind).safeParse(input);
  if (!parsed.success) return { ok: false, issues: toIssues(parsed.error) };
  return { ok: true, document: parsed.data as ValidDocument };
}

export const kindDefinition = (kind: KindName) => KINDS[kind];
