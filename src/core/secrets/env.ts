/**
 * Environment maps that may refer to secrets, as specs write them:
 *
 *   env:
 *     LOG_LEVEL: debug
 *     DB_PASSWORD: { secretRef: { name: db, key: password } }
 *
 * and `resolveEnv`, which turns one into the plain map a process or command gets, plus the list of
 * values that must be redacted from everything Rollgate writes. Pure: the provider is passed in.
 */
import { z } from 'zod';
import { nameSchema } from '../resources/common.js';

/** One key of one secret. */
export interface SecretRef {
  /** The secret (a DNS-1123 label, like every Rollgate name). */
  name: string;
  /** A key inside it: letters, digits, "-", "_" and "." (as in a Kubernetes Secret). */
  key: string;
}

/** Secret names are object names. */
export const secretNameSchema = nameSchema;

/** Keys as Kubernetes Secrets allow them; "." and ".." are refused (they would be paths for the file provider). */
export const secretKeySchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be letters, digits, "-", "_" or "."')
  .refine((key) => key !== '.' && key !== '..', 'must not be "." or ".."');

export const secretRefSchema = z.strictObject({ name: secretNameSchema, key: secretKeySchema });

/** An environment variable's value: a literal string, or a reference to a secret. */
export const envValueSchema = z.union([z.string(), z.strictObject({ secretRef: secretRefSchema })]);
export type EnvValue = z.infer<typeof envValueSchema>;

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The `env` of a Deployment or of a Service's target. */
export const envSchema = z.record(z.string().regex(ENV_NAME_PATTERN, 'invalid environment variable name'), envValueSchema);
export type EnvSpec = z.infer<typeof envSchema>;

export const isSecretValue = (value: EnvValue): value is { secretRef: SecretRef } => typeof value === 'object' && value !== null && 'secretRef' in value;

/** `name/key`, how messages name a reference. */
export const formatSecretRef = (ref: SecretRef): string => `${ref.name}/${ref.key}`;

/** Every secret an env refers to, with the variable that refers to it (in the map's order). */
export function secretRefsOf(env: EnvSpec | undefined): Array<{ variable: string; ref: SecretRef }> {
  return Object.entries(env ?? {}).flatMap(([variable, value]) => (isSecretValue(value) ? [{ variable, ref: value.secretRef }] : []));
}

/** The literal entries only (what can be handed out without asking a provider). */
export function literalEnv(env: EnvSpec | undefined): Record<string, string> {
  const literal: Record<string, string> = {};
  for (const [variable, value] of Object.entries(env ?? {})) if (!isSecretValue(value)) literal[variable] = value;
  return literal;
}

/** Looks a secret up: the value, or null when the secret or the key does not exist. */
export type SecretResolver = (ref: SecretRef) => Promise<string | null>;

export interface ResolvedEnv {
  /** Variable → value, secrets resolved. */
  env: Record<string, string>;
  /** The values that came from secrets, each once, longest first: what a redactor must blank out. */
  secrets: string[];
}

export interface UnresolvedSecret {
  variable: string;
  ref: SecretRef;
  /** Why, without the value: "does not exist", or the provider's error message. */
  reason: string;
}

/**
 * Some secret an env refers to could not be resolved. The message names variables and references
 * (never a value), so it may go into status messages, audit events and logs.
 */
export class SecretResolutionError extends Error {
  override readonly name = 'SecretResolutionError';
  constructor(readonly unresolved: UnresolvedSecret[]) {
    super(
      unresolved
        .map(({ variable, ref, reason }) => `environment variable ${variable}: secret ${formatSecretRef(ref)} ${reason}`)
        .join('; '),
    );
  }
}

/**
 * Resolves every layer in order (a later layer's variable replaces an earlier one's, e.g. the
 * Service target's env then the Deployment's) and reports every reference that failed at once.
 * Each distinct reference is resolved once. A layer that is undefined is skipped.
 */
export async function resolveEnv(layers: EnvSpec | undefined | ReadonlyArray<EnvSpec | undefined>, resolver: SecretResolver): Promise<ResolvedEnv> {
  const list: ReadonlyArray<EnvSpec | undefined> = Array.isArray(layers) ? layers : [layers as EnvSpec | undefined];
  const merged: Record<string, EnvValue> = {};
  for (const layer of list) Object.assign(merged, layer ?? {});

  const lookups = new Map<string, Promise<{ value: string | null } | { error: string }>>();
  const lookup = (ref: SecretRef) => {
    const id = JSON.stringify([ref.name, ref.key]);
    let pending = lookups.get(id);
    if (!pending) {
      pending = resolver(ref).then(
        (value) => ({ value }),
        (error: unknown) => ({ error: error instanceof Error ? error.message : String(error) }),
      );
      lookups.set(id, pending);
    }
    return pending;
  };

  const env: Record<string, string> = {};
  const secrets = new Set<string>();
  const unresolved: UnresolvedSecret[] = [];
  await Promise.all(
    Object.entries(merged).map(async ([variable, value]) => {
      if (!isSecretValue(value)) {
        env[variable] = value;
        return;
      }
      const result = await lookup(value.secretRef);
      if ('error' in result) unresolved.push({ variable, ref: value.secretRef, reason: `could not be read: ${result.error}` });
      else if (result.value === null) unresolved.push({ variable, ref: value.secretRef, reason: 'does not exist' });
      else {
        env[variable] = result.value;
        secrets.add(result.value);
      }
    }),
  );
  if (unresolved.length > 0) {
    unresolved.sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
    throw new SecretResolutionError(unresolved);
  }
  // Map order, not resolution order, so the result does not depend on which lookup finished first.
  const ordered: Record<string, string> = {};
  for (const variable of Object.keys(merged)) ordered[variable] = env[variable]!;
  return { env: ordered, secrets: [...secrets].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0)) };
}
