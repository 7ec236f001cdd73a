/**
 * A client for HAProxy's Runtime API (the `stats socket ... level admin` UNIX socket; HAProxy's
 * management guide, section 9.3).
 *
 * One connection per batch: the client connects, switches the session to interactive mode
 * (`prompt`), sends the batch's commands one at a time — each only after the previous answer came
 * back — and closes with `quit`. In interactive mode every answer ends with a blank line followed
 * by the `> ` prompt, which is how answers are delimited; the answers this package reads (`show
 * servers state`, `show map`, short status lines) never contain a blank line themselves.
 *
 * Every batch is bounded by `timeoutMs` (connect included); on a timeout or a socket error the
 * batch fails and the connection is destroyed. Commands after a failed one in the same batch are
 * not sent. Arguments are escaped with `cliArg()`: the CLI splits words on blanks, ends a command
 * at `;` and treats `\` as an escape, so those are escaped and line breaks are refused.
 */
import net from 'node:net';

export interface RuntimeApiOptions {
  /** Path of the UNIX admin socket (`stats socket <path> level admin`). */
  socketPath: string;
  /** Bound on one batch (connect, every command, quit). Default 5000 ms. */
  timeoutMs?: number;
}

export class HaproxyRuntimeError extends Error {
  constructor(
    message: string,
    /** The command that failed, when one did. */
    readonly command: string | null = null,
    /** HAProxy's answer to it. */
    readonly response: string | null = null,
  ) {
    super(message);
    this.name = 'HaproxyRuntimeError';
  }
}

/** One CLI word: `\`, `;` and blanks escaped with a backslash. Line breaks cannot be sent. */
export function cliArg(value: string): string {
  if (/[\r\n]/.test(value)) throw new TypeError(`HAProxy CLI argument contains a line break: ${JSON.stringify(value)}`);
  if (value.length === 0) throw new TypeError('HAProxy CLI argument is empty');
  return value.replace(/[\\; \t]/g, (c) => `\\${c}`);
}

const PROMPT = '\n> ';

export class HaproxyRuntimeClient {
  readonly socketPath: string;
  readonly timeoutMs: number;

  constructor(options: RuntimeApiOptions) {
    if (typeof options?.socketPath !== 'string' || options.socketPath.length === 0) throw new TypeError('HAProxy runtime API: socketPath must be a non-empty string');
    this.socketPath = options.socketPath;
    this.timeoutMs = options.timeoutMs ?? 5000;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0) throw new RangeError('HAProxy runtime API: timeoutMs must be a positive number');
  }

  /** Runs one command; its answer without the trailing newline. */
  async run(command: string): Promise<string> {
    return (await this.batch([command]))[0]!;
  }

  /**
   * Runs `commands` in order on one connection; resolves with each answer (trailing newline
   * removed). `check`, when given, is called on each answer and may throw to stop the batch.
   */
  batch(commands: readonly string[], check?: (command: string, answer: string) => void): Promise<string[]> {
    for (const c of commands) {
      if (/[\r\n]/.test(c)) return Promise.reject(new TypeError(`HAProxy CLI command contains a line break: ${JSON.stringify(c)}`));
    }
    if (commands.length === 0) return Promise.resolve([]);
    return new Promise<string[]>((resolve, reject) => {
      const answers: string[] = [];
      let buffer = '';
      // -1: waiting for the answer to `prompt`; i: waiting for the answer to commands[i].
      let index = -1;
      let settled = false;
      const socket = net.createConnection({ path: this.socketPath });
      socket.setEncoding('utf8');
      const finish = (error: Error | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) {
          socket.destroy();
          reject(error);
          return;
        }
        socket.end('quit\n');
        // HAProxy closes on `quit`; should it not, the socket is dropped shortly after.
        setTimeout(() => socket.destroy(), 1000).unref();
        resolve(answers);
      };
      const timer = setTimeout(() => {
        const what = index < 0 ? 'entering interactive mode' : `"${commands[index]}"`;
        finish(new HaproxyRuntimeError(`HAProxy admin socket ${this.socketPath}: no answer within ${this.timeoutMs} ms (${what})`, index >= 0 ? commands[index]! : null));
      }, this.timeoutMs);
      socket.on('connect', () => socket.write('prompt\n'));
      socket.on('data', (chunk: string) => {
        buffer += chunk;
        while (!settled && buffer.endsWith(PROMPT)) {
          const answer = buffer.slice(0, -PROMPT.length).replace(/\n$/, '');
          buffer = '';
          if (index >= 0) {
            const command = commands[index]!;
            answers.push(answer);
            if (/^Permission denied\b/.test(answer) || /^Unknown command\b/.test(answer)) {
              finish(new HaproxyRuntimeError(`HAProxy refused "${command}": ${firstLine(answer)}${/^Permission denied/.test(answer) ? ' (the stats socket needs "level admin")' : ''}`, command, answer));
              return;
            }
            if (check) {
              try {
                check(command, answer);
              } catch (error) {
                finish(error instanceof Error ? error : new Error(String(error)));
                return;
              }
            }
          }
          index++;
          if (index >= commands.length) {
            finish(null);
            return;
          }
          socket.write(`${commands[index]}\n`);
        }
      });
      socket.on('error', (error: NodeJS.ErrnoException) => {
        const hint = error.code === 'ENOENT' ? ' (no such socket: is HAProxy running with `stats socket ... level admin`?)' : error.code === 'EACCES' ? ' (permission denied on the socket file)' : '';
        finish(new HaproxyRuntimeError(`HAProxy admin socket ${this.socketPath}: ${error.message}${hint}`));
      });
      socket.on('close', () => {
        if (!settled) finish(new HaproxyRuntimeError(`HAProxy admin socket ${this.socketPath} closed the connection before answering${index >= 0 ? ` "${commands[index]}"` : ''}`, index >= 0 ? commands[index]! : null));
      });
    });
  }
}

export const firstLine = (text: string): string => text.split('\n', 1)[0] ?? '';
