/**
 * The `env` secret provider: secrets are the control plane's own environment variables.
 *
 * Mapping: `secretRef { name, key }` reads the variable `PREFIX + NAME_KEY`, where NAME and KEY are
 * upper-cased and every character other than a letter or digit becomes "_":
 *
 *   { name: db, key: password }             → DB_PASSWORD
 *   { name: payments-api, key: token.live } → PAYMENTS_API_TOKEN_LIVE
 *   with prefix RG_SECRET_: { name: db, key: password } → RG_SECRET_DB_PASSWORD
 *
 * Different references can map to one variable (`a-b`/`c` and `a`/`b-c` both give A_B_C); pick
 * names that do not collide, or a prefix. Rollgate's own variables (`ROLLGATE_*`: the master key,
 * the database URL, tokens) are never handed out, unless the prefix itself starts with ROLLGATE_
 * (then only variables under that prefix can be reached). Without a prefix a spec author can read
 * any other variable of the control plane's environment; set one in production.
 *
 * It cannot list (variable names do not map back to a name and key) and cannot be written.
 */
import { secretRefSchema, type SecretRef } from '../../core/secrets/env.js';
import type { SecretInfo, SecretProvider } from '../../ports/secret-provider.js';

export interface EnvSecretProviderOptions {
  /** Where variables are read; default process.env (read at each resolve). */
  env?: Record<string, string | undefined>;
  /** Put before NAME_KEY, e.g. `RG_SECRET_`; default none. */
  prefix?: string;
}

const RESERVED_PREFIX = 'ROLLGATE_';

const upper = (part: string): string => part.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** The environment variable a reference reads (see the file comment). */
export function envVariableFor(ref: SecretRef, prefix = ''): string {
  return `${prefix}${upper(ref.name)}_${upper(ref.key)}`;
}

export class EnvSecretProvider implements SecretProvider {
  readonly kind = 'env';
  readonly capabilities = Object.freeze({ write: false, list: false });
  readonly #env: Record<string, string | undefined>;
  readonly #prefix: string;

  constructor(options: EnvSecretProviderOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#prefix = options.prefix ?? '';
    if (this.#prefix !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(this.#prefix)) throw new RangeError(`invalid environment secret prefix "${this.#prefix}"`);
  }

  /** The variable `ref` maps to; null when it is one the provider refuses to hand out. */
  variableFor(ref: SecretRef): string | null {
    const variable = envVariableFor(ref, this.#prefix);
    if (variable.startsWith(RESERVED_PREFIX) && !this.#prefix.startsWith(RESERVED_PREFIX)) return null;
    return variable;
  }

  async resolve(ref: SecretRef): Promise<string | null> {
    if (!secretRefSchema.safeParse(ref).success) return null;
    const variable = this.variableFor(ref);
    if (variable === null) return null;
    const value = this.#env[variable];
    return value === undefined ? null : value;
  }

  async list(): Promise<SecretInfo[] | null> {
    return null;
  }
}
