/** Runs `rollgate serve` as a real child process and the CLI in-process against it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { main } from '../../src/cli/main.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI_ENTRY = path.join(ROOT, 'src/cli/main.ts');
/** tsx's loader by absolute URL: `--import tsx` would resolve from the child's cwd (a temp dir). */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `rollgate serve` on a free port in `cwd` and waits until config.json names its URL. */
export async function startServe(cwd: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'serve', '--listen', '127.0.0.1:0', ...args], {
    cwd,
    env: { ...process.env, ...env, ROLLGATE_DATABASE_URL: env.ROLLGATE_DATABASE_URL ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const configFile = path.join(cwd, '.rollgate', 'config.json');
  const deadline = Date.now() + 20_000;
  let url: string | null = null;
  while (Date.now() < deadline && child.exitCode === null) {
    if (existsSync(configFile) && /listening/.test(output)) {
      url = (JSON.parse(readFileSync(configFile, 'utf8')) as { server: string }).server;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  if (!url) {
    child.kill('SIGKILL');
    throw new Error(`rollgate serve did not start:\n${output}`);
  }
  return {
    child,
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process, as a user would type it in `cwd`. */
export async function rollgate(cwd: string, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(['node', 'rollgate', ...args], {
    cwd,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ROLLGATE_'))),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}
