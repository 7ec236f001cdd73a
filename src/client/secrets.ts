/**
 * Client calls for secrets (see src/server/secrets/routes.ts and docs/secrets.md). Values are
 * sent and never come back: every answer carries names, keys and times only.
 */
import {
  secretInfoSchema,
  secretListSchema,
  SECRETS_PATH,
  type SecretInfoWire,
  type SecretList,
} from '../core/secrets/api.js';
import type { Call } from './call.js';

export type { SecretInfoWire as SecretInfo, SecretList } from '../core/secrets/api.js';

const secretPath = (name: string) => `${SECRETS_PATH}/${encodeURIComponent(name)}`;

export function secretsApi(call: Call) {
  return {
    /** The server's provider and every secret it can list, by name (never values). */
    list(): Promise<SecretList> {
      return call('GET', SECRETS_PATH, secretListSchema);
    },

    /**
     * Creates or replaces the secret: afterwards it holds exactly `data`. Safe to repeat. ApiError
     * 409 `secrets-unavailable` when the server's provider cannot be written (env, file).
     */
    set(name: string, data: Record<string, string>): Promise<SecretInfoWire> {
      return call('PUT', secretPath(name), secretInfoSchema, { body: { data } });
    },

    /** Sets the keys given with a string and removes those given with null; the others are kept. */
    merge(name: string, data: Record<string, string | null>): Promise<SecretInfoWire> {
      return call('PATCH', secretPath(name), secretInfoSchema, { body: { data } });
    },

    /** Deletes the secret; ApiError 404 when there is none. */
    delete(name: string): Promise<SecretInfoWire> {
      return call('DELETE', secretPath(name), secretInfoSchema);
    },
  };
}
export type SecretsApi = ReturnType<typeof secretsApi>;
