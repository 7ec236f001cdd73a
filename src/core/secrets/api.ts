/**
 * Wire shapes of the secrets API (`/api/v1/secrets`). Values go in and never come out: every
 * answer carries names, keys and times only. The server builds its OpenAPI from these and the
 * client parses with them; both import this file, never each other.
 */
import { z } from 'zod';
import { API_PREFIX } from '../api.js';
import { secretKeySchema, secretNameSchema } from './env.js';

export const SECRETS_PATH = `${API_PREFIX}/secrets`;

/** Largest value accepted (bytes of UTF-8): secrets are credentials and keys, not files of data. */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;
/** Most keys one secret may hold. */
export const MAX_SECRET_KEYS = 100;

const secretValueSchema = z
  .string()
  .refine((value) => new TextEncoder().encode(value).length <= MAX_SECRET_VALUE_BYTES, `must be at most ${MAX_SECRET_VALUE_BYTES} bytes`);

const keyCount = (data: Record<string, unknown>) => Object.keys(data).length;

/** `PUT /api/v1/secrets/{name}`: the secret becomes exactly `data`. */
export const secretPutSchema = z.strictObject({
  data: z
    .record(secretKeySchema, secretValueSchema)
    .refine((data) => keyCount(data) >= 1, 'must hold at least one key')
    .refine((data) => keyCount(data) <= MAX_SECRET_KEYS, `must hold at most ${MAX_SECRET_KEYS} keys`),
});
export type SecretPut = z.infer<typeof secretPutSchema>;

/** `PATCH /api/v1/secrets/{name}`: keys with a string are set, keys with null removed, the rest kept. */
export const secretPatchSchema = z.strictObject({
  data: z
    .record(secretKeySchema, secretValueSchema.nullable())
    .refine((data) => keyCount(data) >= 1, 'must name at least one key')
    .refine((data) => keyCount(data) <= MAX_SECRET_KEYS, `must name at most ${MAX_SECRET_KEYS} keys`),
});
export type SecretPatch = z.infer<typeof secretPatchSchema>;

export const secretNameParamSchema = z.object({ name: secretNameSchema });

/** What the API tells about a secret: never a value. */
export const secretInfoSchema = z.object({
  name: z.string(),
  keys: z.array(z.string()),
  /** Last write; null when the provider cannot tell. */
  updatedAt: z.string().nullable(),
});
export type SecretInfoWire = z.infer<typeof secretInfoSchema>;

export const secretListSchema = z.object({
  /** Which provider the server resolves `secretRef`s from (`builtin`, `env`, `file`, ...). */
  provider: z.string(),
  /** Whether the provider accepts writes through this API (only `builtin` does). */
  writable: z.boolean(),
  /** false: the provider cannot list (environment variables); `items` is then empty. */
  listable: z.boolean(),
  items: z.array(secretInfoSchema),
});
export type SecretList = z.infer<typeof secretListSchema>;
