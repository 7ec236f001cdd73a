/**
 * RFC 9457 problem details: every error the API returns goes through this file, so clients can
 * rely on one shape (`problemSchema` in src/core/api.ts) and on `errors[].path` naming the field.
 */
import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { z } from 'zod';
import type { Problem } from '../core/api.js';
import { validateDocument, type FieldPath } from '../core/resources/validate.js';
import { ConflictError, NotFoundError } from '../ports/store.js';
import type { AppEnv } from './context.js';
import { DocumentConflictError, ForbiddenError, GateRefusedError, InUseError, InvalidContentError, ManagedKindError, SeparationOfDutiesError } from './errors.js';
import type { Logger } from './logger.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** `type` URIs identify the kind of problem; clients switch on them rather than on `title`. */
export const problemType = (slug: string): string => `https://rollgate.dev/problems/${slug}`;

export function problem(status: number, slug: string, detail: string, extra: Partial<Problem> = {}): Problem {
  return { type: problemType(slug), title: TITLES[status] ?? 'Error', status, detail, ...extra };
}

export function problemResponse(c: Context, body: Problem, headers: Record<string, string> = {}): Response {
  const withInstance: Problem = { ...body, instance: body.instance ?? c.req.path };
  return new Response(JSON.stringify(withInstance), {
    status: body.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...headers },
  });
}

const cleanPath = (path: PropertyKey[]): FieldPath => path.filter((part): part is string | number => typeof part !== 'symbol');

/**
 * zod issues as field errors. An unknown key is reported at the key itself (the field a user must
 * remove), matching what validateDocument does for documents.
 */
export function fieldErrors(error: z.ZodError): Array<{ path: FieldPath; message: string }> {
  return error.issues.flatMap((issue) => {
    const path = cleanPath(issue.path);
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
    return [{ path, message: issue.message }];
  });
}

const TARGET_NAMES: Record<string, string> = { json: 'request body', query: 'query parameters', param: 'path parameters', header: 'headers', cookie: 'cookies', form: 'form body' };

/** A body shaped like a resource document, whose issues validateDocument can point at more precisely. */
const looksLikeDocument = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && 'apiVersion' in value && 'kind' in value;

/**
 * The zod-openapi `defaultHook`: a request that fails its route's schema becomes a problem.
 * A body that parsed as JSON but has the wrong content is 422; bad query/path parameters are 400.
 * For resource documents the issues come from validateDocument (core), which reports a failed
 * union at the field inside the closest branch instead of at the union itself.
 */
export function validationHook(result: { target: string; success: boolean; data?: unknown; error?: z.ZodError }, c: Context): Response | undefined {
  if (result.success || !result.error) return undefined;
  if (result.target === 'json') {
    const checked = looksLikeDocument(result.data) ? validateDocument(result.data) : null;
    const errors = checked && !checked.ok ? checked.issues : fieldErrors(result.error);
    return problemResponse(c, problem(422, 'validation', 'invalid request body', { errors }));
  }
  const where = TARGET_NAMES[result.target] ?? result.target;
  return problemResponse(c, problem(400, 'validation', `invalid ${where}`, { errors: fieldErrors(result.error) }));
}

/** Maps any thrown value to a problem. Unknown errors are logged and reported without internals. */
export function errorHandler(logger: Logger): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof InvalidContentError) return problemResponse(c, problem(422, 'validation', error.message, { errors: error.issues }));
    if (error instanceof ForbiddenError) {
      return problemResponse(c, problem(403, 'forbidden', error.message, error.issues.length > 0 ? { errors: error.issues } : {}));
    }
    if (error instanceof GateRefusedError) {
      const refusing = error.gates.filter((gate) => gate.outcome === 'deny' || gate.outcome === 'pending');
      return problemResponse(
        c,
        problem(409, 'gate-refused', error.message, {
          gates: error.gates,
          errors: refusing.map((gate) => ({ path: ['gates', gate.gate, gate.name], message: gate.message })),
        }),
      );
    }
    if (error instanceof ManagedKindError) return problemResponse(c, problem(409, 'managed-kind', error.message));
    if (error instanceof SeparationOfDutiesError) return problemResponse(c, problem(403, 'separation-of-duties', error.message));
    if (error instanceof InUseError) {
      return problemResponse(c, problem(409, 'in-use', error.message, { errors: error.referrers.map((r) => ({ path: r.path, message: `${r.kind} "${r.name}" refers to it` })) }));
    }
    if (error instanceof DocumentConflictError) {
      return problemResponse(c, problem(409, 'conflict', error.message, { currentVersion: error.currentVersion, errors: [{ document: error.document, path: ['metadata', 'version'], message: error.message }] }));
    }
    if (error instanceof ConflictError) return problemResponse(c, problem(409, 'conflict', error.message, { currentVersion: error.currentVersion }));
    if (error instanceof NotFoundError) return problemResponse(c, problem(404, 'not-found', error.message));
    if (error instanceof HTTPException) {
      // Raised by Hono itself: malformed JSON (400), unsupported media type (415), ...
      const status = error.status;
      const detail = error.message || TITLES[status] || 'request failed';
      const extra = status === 400 ? { errors: [{ path: [], message: detail }] } : {};
      if (status >= 500) logger.error({ err: error }, 'http exception');
      return problemResponse(c, problem(status, status === 400 ? 'malformed-request' : 'http-error', detail, extra));
    }
    logger.error({ err: error, method: c.req.method, path: c.req.path }, 'unhandled error');
    return problemResponse(c, problem(500, 'internal', 'the server failed to handle the request; the error was logged'));
  };
}

export const notFoundHandler: NotFoundHandler<AppEnv> = (c) => problemResponse(c, problem(404, 'not-found', `no route for ${c.req.method} ${c.req.path}`));
