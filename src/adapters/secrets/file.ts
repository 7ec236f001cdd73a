/**
 * The `file` secret provider: `secretRef { name, key }` is the file `<dir>/<name>/<key>`, the
 * layout of a Kubernetes Secret mounted as a volume (one directory per Secret, one file per key)
 * and of Docker/systemd credentials directories.
 *
 * - One trailing newline ("\n" or "\r\n") is dropped, since `echo secret > file` adds one; set
 *   `keepTrailingNewline` when values must be byte-exact.
 * - Names and keys are validated before they become paths ("." and ".." are not keys), and the
 *   file's real path must stay inside `dir`: symbolic links within it are followed (Kubernetes
 *   mounts keys as links into `..data/`), links leading out of it are refused.
 * - Entries starting with ".." (Kubernetes' own `..data` bookkeeping) are not keys.
 * - Files are read at each resolve, so a rotated file takes effect at the next start of a version.
 *
 * It lists (directory names and file names, never contents) and cannot be written through Rollgate.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { secretKeySchema, secretNameSchema, secretRefSchema, type SecretRef } from '../../core/secrets/env.js';
import { SecretProviderError, type SecretInfo, type SecretProvider } from '../../ports/secret-provider.js';

export interface FileSecretProviderOptions {
  /** The directory holding one directory per secret. */
  dir: string;
  /** Keep a trailing newline instead of dropping one; default false. */
  keepTrailingNewline?: boolean;
}

/** Larger files are refused: a secret is a credential, not a data file. */
export const MAX_SECRET_FILE_BYTES = 1024 * 1024;

const isMissing = (error: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

export class FileSecretProvider implements SecretProvider {
  readonly kind = 'file';
  readonly capabilities = Object.freeze({ write: false, list: true });
  readonly #dir: string;
  readonly #keepNewline: boolean;

  constructor(options: FileSecretProviderOptions) {
    if (!options.dir) throw new TypeError('FileSecretProvider: dir is required');
    this.#dir = path.resolve(options.dir);
    this.#keepNewline = options.keepTrailingNewline ?? false;
  }

  async resolve(ref: SecretRef): Promise<string | null> {
    if (!secretRefSchema.safeParse(ref).success || ref.key.startsWith('..')) return null;
    const where = `secret ${ref.name}/${ref.key}`;
    let root: string;
    let real: string;
    try {
      root = await realpath(this.#dir);
      real = await realpath(path.join(this.#dir, ref.name, ref.key));
    } catch (error) {
      if (isMissing(error)) return null;
      throw new SecretProviderError(`${where}: cannot read its file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, ref);
    }
    if (path.relative(root, real).startsWith('..') || path.isAbsolute(path.relative(root, real))) {
      throw new SecretProviderError(`${where}: its file links outside the secrets directory ${this.#dir}; refused`, ref);
    }
    let text: string;
    try {
      const info = await stat(real);
      if (!info.isFile()) return null;
      if (info.size > MAX_SECRET_FILE_BYTES) throw new SecretProviderError(`${where}: its file is larger than ${MAX_SECRET_FILE_BYTES} bytes`, ref);
      text = await readFile(real, 'utf8');
    } catch (error) {
      if (error instanceof SecretProviderError) throw error;
      if (isMissing(error)) return null;
      throw new SecretProviderError(`${where}: cannot read its file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, ref);
    }
    return this.#keepNewline ? text : text.replace(/\r?\n$/, '');
  }

  async list(): Promise<SecretInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if (isMissing(error)) return [];
      throw new SecretProviderError(`cannot list the secrets directory ${this.#dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const secrets: SecretInfo[] = [];
    for (const name of names.filter((entry) => secretNameSchema.safeParse(entry).success).sort()) {
      let entries: string[];
      try {
        if (!(await stat(path.join(this.#dir, name))).isDirectory()) continue;
        entries = await readdir(path.join(this.#dir, name));
      } catch {
        continue;
      }
      const keys: string[] = [];
      let updatedAt: string | null = null;
      for (const key of entries.filter((entry) => !entry.startsWith('..') && secretKeySchema.safeParse(entry).success).sort()) {
        try {
          const info = await stat(path.join(this.#dir, name, key));
          if (!info.isFile()) continue;
          keys.push(key);
          const modified = info.mtime.toISOString();
          if (updatedAt === null || modified > updatedAt) updatedAt = modified;
        } catch {
          // vanished or unreadable: not listed
        }
      }
      if (keys.length > 0) secrets.push({ name, keys, updatedAt });
    }
    return secrets;
  }
}
