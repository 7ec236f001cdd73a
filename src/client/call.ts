/**
 * The one request primitive the feature clients (changes.ts, releases.ts, ...) build on: sends,
 * throws ApiError on a non-2xx answer, parses the body with `schema` (UnexpectedResponseError when
 * it does not fit). Paths are absolute (`/api/v1/...`).
 */
import type { z } from 'zod';

export type Query = Record<string, string | number | undefined>;

export interface CallOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

export type Call = <S extends z.ZodType>(method: string, path: string, schema: S, options?: CallOptions) => Promise<z.output<S>>;
