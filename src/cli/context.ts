/**
 * What every command shares: the process I/O (injectable for tests), the global options, the
 * connection settings (flags, environment, then `<data-dir>/config.json`), output formats, and the
 * mapping from errors to one stderr line and an exit code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { ApiError, ConnectionError, UnexpectedResponseError, createClient, normalizeServer, type RollgateClient } from '../client/index.js';
import { formatPath } from '../core/resources/validate.js';
import type { ManifestIssue } from './manifests.js';

/** Process exit codes; `rollgate --help` lists them too. */
export const EXIT_CODES = Object.freeze({
  /** Success. */
  ok: 0,
  /** Failure: invalid manifests, server unreachable, not found, any other error. */
  failure: 1,
  /** Usage error: unknown command or option, bad KIND, missing argument. */
  usage: 2,
  /** Conflict or rejected by the server: HTTP 409, 403 or 422. */
  rejected: 3,
});
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';
export const DEFAULT_DATA_DIR = '.rollgate';
export const CONFIG_FILE = 'config.json';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface WritableText {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The process around the CLI; tests pass their own. */
export interface CliIO {
  stdout: WritableText;
  stderr: WritableText;
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Given to the API client (tests). */
  fetch?: typeof fetch;
}

export const processIO = (): CliIO => ({
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});

export interface GlobalOptions {
  server?: string;
  token?: string;
  dataDir?: string;
  output: OutputFormat;
}

/** What `rollgate serve` writes for the CLI to find its way back. */
export interface SavedConfig {
  server?: string;
  token?: string;
}

/** A mistake in how the command was called; exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure already explained to the user (or to be shown as `message`), with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT_CODES.failure,
    /** Extra lines printed after the message (e.g. `file:line:col` issues). */
    readonly details: string[] = [],
    /** Structured issues for `--output json`. */
    readonly issues: ManifestIssue[] = [],
    /** The server's problem this failure came from, for `--output json`. */
    readonly problem?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export class CliContext {
  /** What `main` returns once the command finished. */
  exitCode: ExitCode | number = EXIT_CODES.ok;

  constructor(readonly io: CliIO) {}

  /**
   * Wraps a command body for commander's `.action()`: the body gets the command and its
   * positional arguments; its return value (or the error it throws) becomes the exit code.
   */
  run<A extends unknown[]>(body: (command: Command, ...args: A) => Promise<number | void>): (...raw: unknown[]) => Promise<void> {
    return async (...raw: unknown[]) => {
      const command = raw[raw.length - 1] as Command;
      const args = raw.slice(0, -2) as A;
      try {
        this.exitCode = (await body(command, ...args)) ?? EXIT_CODES.ok;
      } catch (error) {
        this.exitCode = this.report(error, this.outputFormat(command));
      }
    };
  }

  outputFormat(command: Command): OutputFormat {
    try {
      return this.globals(command).output ?? 'table';
    } catch {
      return 'table';
    }
  }

  out(text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  err(text: string): void {
    this.io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  globals(command: Command): GlobalOptions {
    return command.optsWithGlobals() as GlobalOptions;
  }

  /** The data directory, absolute: `--data-dir`, else ROLLGATE_DATA_DIR, else `./.rollgate`. */
  dataDir(command: Command): string {
    const dir = this.globals(command).dataDir ?? (this.io.env.ROLLGATE_DATA_DIR || DEFAULT_DATA_DIR);
    return path.resolve(this.io.cwd, dir);
  }

  /**
   * Server and token: flags, then ROLLGATE_SERVER / ROLLGATE_TOKEN, then `<data-dir>/config.json`.
   * The saved token is only sent to the server it was saved for.
   */
  connection(command: Command): { server: string; token?: string } {
    const options = this.globals(command);
    const explicitServer = options.server ?? (this.io.env.ROLLGATE_SERVER || undefined);
    const explicitToken = options.token ?? (this.io.env.ROLLGATE_TOKEN || undefined);
    const saved = explicitServer && explicitToken ? {} : readSavedConfig(path.join(this.dataDir(command), CONFIG_FILE));
    const server = explicitServer ?? saved.server ?? DEFAULT_SERVER;
    let normalized: string;
    try {
      normalized = normalizeServer(server);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const savedServer = saved.server ? safeNormalize(saved.server) : normalizeServer(DEFAULT_SERVER);
    const token = explicitToken ?? (saved.token && savedServer === normalized ? saved.token : undefined);
    return token ? { server: normalized, token } : { server: normalized };
  }

  client(command: Command): RollgateClient {
    return createClient({ ...this.connection(command), ...(this.io.fetch ? { fetch: this.io.fetch } : {}) });
  }

  /** Prints data as JSON or YAML (for `--output json|yaml`); lists as a JSON array or a YAML stream. */
  printData(format: 'json' | 'yaml', data: unknown, options: { list?: boolean } = {}): void {
    if (format === 'json') {
      this.out(JSON.stringify(data, null, 2));
    } else if (options.list && Array.isArray(data)) {
      if (data.length > 0) this.out(data.map((item) => stringify(item)).join('---\n'));
    } else {
      this.out(stringify(data));
    }
  }

  /** Reports an error on stderr (one clear line, or a JSON problem with `--output json`) and returns its exit code. */
  report(error: unknown, format: OutputFormat): ExitCode {
    const { exitCode, message, details, problem } = describeError(error);
    if (format === 'json') {
      this.err(JSON.stringify({ ...problem, exitCode }, null, 2));
    } else if (error instanceof CliError && error.issues.length > 0) {
      // Compiler style: every `file:line:col` line, then the summary.
      for (const line of details) this.err(line);
      this.err(`error: ${message}`);
    } else {
      this.err(`error: ${message}`);
      for (const line of details) this.err(line);
    }
    return exitCode;
  }
}

function safeNormalize(server: string): string | undefined {
  try {
    return normalizeServer(server);
  } catch {
    return undefined;
  }
}

/** `{}` when the file does not exist; a clear error when it exists but cannot be used. */
export function readSavedConfig(file: string): SavedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError(`cannot read ${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null) throw new CliError(`cannot read ${file}: expected a JSON object`);
  const { server, token } = value as Record<string, unknown>;
  return {
    ...(typeof server === 'string' && server ? { server } : {}),
    ...(typeof token === 'string' && token ? { token } : {}),
  };
}

interface ErrorDescription {
  exitCode: ExitCode;
  message: string;
  details: string[];
  problem: Record<string, unknown>;
}

/** HTTP statuses that mean "the server understood and refused": exit code 3. */
const REJECTED_STATUSES = new Set([403, 409, 422]);

export function exitCodeForStatus(status: number): ExitCode {
  return REJECTED_STATUSES.has(status) ? EXIT_CODES.rejected : EXIT_CODES.failure;
}

function describeError(error: unknown): ErrorDescription {
  if (error instanceof CliError) {
    const problem: Record<string, unknown> = error.problem ? { ...error.problem } : { type: 'about:blank', title: error.message };
    if (error.issues.length > 0) problem.errors = error.issues.map((issue) => ({ ...issue }));
    else if (error.details.length > 0) problem.errors = error.details.map((line) => ({ message: line.trim() }));
    return { exitCode: error.exitCode, message: error.message, details: error.details, problem };
  }
  if (error instanceof UsageError) {
    return { exitCode: EXIT_CODES.usage, message: error.message, details: [], problem: { type: 'about:blank', title: 'Usage error', detail: error.message } };
  }
  if (error instanceof ApiError) {
    const details = (error.problem.errors ?? []).map((issue) =>
      issue.path.length > 0 ? `  ${formatPath(issue.path)}: ${issue.message}` : `  ${issue.message}`,
    );
    let message = error.problem.detail && error.problem.detail !== error.problem.title ? `${error.problem.title}: ${error.problem.detail}` : error.problem.title;
    if (error.status === 401) message += ' (give a token with --token or ROLLGATE_TOKEN)';
    return { exitCode: exitCodeForStatus(error.status), message, details, problem: { ...error.problem } };
  }
  if (error instanceof ConnectionError) {
    return {
      exitCode: EXIT_CODES.failure,
      message: `${error.message}; is \`rollgate serve\` running? (set the server with --server or ROLLGATE_SERVER)`,
      details: [],
      problem: { type: 'about:blank', title: 'Server unreachable', detail: error.message },
    };
  }
  if (error instanceof UnexpectedResponseError) {
    return { exitCode: EXIT_CODES.failure, message: error.message, details: [], problem: { type: 'about:blank', title: 'Unexpected response', detail: error.message } };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_CODES.failure, message, details: [], problem: { type: 'about:blank', title: 'Error', detail: message } };
}
