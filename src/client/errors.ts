import type { Problem } from '../core/api.js';

/** The server answered with an error status; `problem` is its RFC 9457 body (or one made from the status). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly problem: Problem,
    /** `GET /api/v1/services/checkout`, for debugging. */
    readonly request: string,
  ) {
    super(problem.detail ?? problem.title);
  }
}

/** The request never got an HTTP answer: refused, DNS failure, reset, TLS error. */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(
    readonly server: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach Rollgate at ${server} (${reason})`, options);
  }
}

/** The server answered 2xx with a body that does not match the API's wire shape. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  constructor(
    readonly request: string,
    detail: string,
  ) {
    super(`unexpected response from ${request}: ${detail}`);
  }
}

/** The most specific reason a `fetch` rejection carries: `ECONNREFUSED`, `ENOTFOUND`, ... */
export function networkReason(error: unknown): string {
  const seen = new Set<unknown>();
  let current: unknown = error;
  let fallback = error instanceof Error ? error.message : String(error);
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) {
      return current.message && !current.message.includes(code) ? `${code}: ${current.message}` : current.message || code;
    }
    if (current.message && current.message !== 'fetch failed') fallback = current.message;
    current = current.cause;
  }
  return fallback;
}
