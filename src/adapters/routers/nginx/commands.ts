/**
 * Runs NGINX for the NGINX router: `nginx -t` (on a candidate include alone, and on the whole
 * configuration), the reload command, and — when the master's pid file is known — watching the
 * master's children to confirm a reload took effect (Linux /proc).
 *
 * Commands run without a shell (argv arrays), with a timeout, and their output is kept for the
 * error a failed check throws.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { quote } from './render.js';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const MAX_OUTPUT = 64 * 1024;

export function runCommand(argv: readonly string[], timeoutMs: number): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv;
    if (!file) {
      reject(new TypeError('empty command'));
      return;
    }
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < MAX_OUTPUT) stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < MAX_OUTPUT) stderr += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${argv.join(' ')}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** NGINX's own words from a failed command: its [emerg]/[alert]/[error] lines, without the "nginx: " prefix. */
export function nginxMessage(result: CommandResult): string {
  if (result.timedOut) return 'timed out';
  const lines = `${result.stderr}\n${result.stdout}`
    .split('\n')
    .map((l) => l.replace(/^nginx: /, '').trim())
    .filter((l) => l.length > 0 && !/^configuration file .* test failed$/.test(l));
  const important = lines.filter((l) => /\[(emerg|alert|crit|error)\]/.test(l));
  const text = (important.length > 0 ? important : lines).join('; ');
  return text || `exit code ${result.code ?? `signal ${result.signal}`}`;
}

/** Raised when `nginx -t` refuses a configuration; `output` is what NGINX printed. */
export class NginxConfigError extends Error {
  readonly output: string;
  constructor(message: string, output: string) {
    super(message);
    this.name = 'NginxConfigError';
    this.output = output;
  }
}

/**
 * `nginx -t` on a throwaway configuration that includes `candidate` in `http {}` and nothing else:
 * catches everything the renderer can get wrong (syntax, PCRE, unresolvable hosts, duplicate
 * names inside the file) without reading the operator's configuration or touching the live file.
 * Its paths (prefix, pid, logs, temp directories) are all in a fresh temp directory, so it needs
 * no privileges. Resolves with null when the check passes, else with NGINX's message.
 */
export async function checkCandidateAlone(nginx: string, candidate: string, timeoutMs: number, tmpRoot = tmpdir()): Promise<{ message: string; output: string } | null> {
  const dir = await mkdtemp(path.join(tmpRoot, 'rollgate-nginx-check-'));
  try {
    const p = (name: string) => quote(path.join(dir, name));
    const conf = [
      '# Written by Rollgate to check a candidate include file on its own; removed right after.',
      `pid ${p('nginx.pid')};`,
      `error_log ${p('error.log')};`,
      'events { worker_connections 16; }',
      'http {',
      `    client_body_temp_path ${p('body')};`,
      `    proxy_temp_path ${p('proxy')};`,
      `    fastcgi_temp_path ${p('fastcgi')};`,
      `    uwsgi_temp_path ${p('uwsgi')};`,
      `    scgi_temp_path ${p('scgi')};`,
      `    access_log off;`,
      `    include ${quote(candidate)};`,
      '}',
      '',
    ].join('\n');
    await writeFile(path.join(dir, 'check.conf'), conf, { mode: 0o600 });
    const base = [nginx, '-t', '-q', '-p', `${dir}/`, '-c', path.join(dir, 'check.conf')];
    let result = await runCommand([...base, '-e', path.join(dir, 'error.log')], timeoutMs);
    // `-e` exists since NGINX 1.19.5; older builds log start-up errors to their compiled-in path.
    if (result.code !== 0 && /invalid option: "?-?e/.test(result.stderr)) result = await runCommand(base, timeoutMs);
    if (result.code === 0 && !result.timedOut) return null;
    const output = `${result.stderr}${result.stdout}`.split(candidate).join('<candidate include file>');
    return { message: nginxMessage({ ...result, stderr: output, stdout: '' }), output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Reload confirmation (Linux)

export interface ChildProcessInfo {
  pid: number;
  /** The process title (NGINX sets e.g. "nginx: worker process", "... is shutting down"). */
  title: string;
}

async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

export async function readPidFile(pidFile: string): Promise<number | null> {
  const text = await readText(pidFile);
  const pid = text === null ? NaN : Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else (a root master seen by an unprivileged control plane).
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether /proc can tell us a process's children. */
export async function procAvailable(): Promise<boolean> {
  return (await readText('/proc/self/stat')) !== null;
}

async function titleOf(pid: number): Promise<string> {
  const cmdline = await readText(`/proc/${pid}/cmdline`);
  return (cmdline ?? '').replace(/\0+/g, ' ').trim();
}

/** The children of `pid`, from /proc/<pid>/task/<pid>/children, else by scanning /proc/<n>/stat. */
export async function childrenOf(pid: number): Promise<ChildProcessInfo[]> {
  let pids: number[] | null = null;
  const listed = await readText(`/proc/${pid}/task/${pid}/children`);
  if (listed !== null) {
    pids = listed.split(/\s+/).filter(Boolean).map(Number);
  } else {
    pids = [];
    let entries: string[] = [];
    try {
      entries = await readdir('/proc');
    } catch {
      return [];
    }
    for (const entry of entries) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readText(`/proc/${entry}/stat`);
      if (stat === null) continue;
      // "pid (comm) state ppid ...": comm may contain spaces and parentheses; ppid follows the last ")".
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid) pids.push(Number(entry));
    }
  }
  const children = await Promise.all(pids.map(async (child) => ({ pid: child, title: await titleOf(child) })));
  return children.filter((c) => c.title.length > 0);
}

const shuttingDown = (c: ChildProcessInfo) => c.title.includes('shutting down');

/**
 * Waits until the master `pid` runs the reloaded configuration: at least one child that was not
 * there before (`before`), and every child from before either gone or "shutting down" (so no old
 * worker accepts connections any more). NGINX starts new workers only after it parsed and applied
 * the new configuration; when it cannot (e.g. a `listen` it cannot bind) it logs the error and
 * keeps the old workers, so this times out. Resolves with null when confirmed, else why not.
 */
export async function waitForNewWorkers(pid: number, before: ReadonlySet<number>, timeoutMs: number, pollMs = 10): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let last: ChildProcessInfo[] = [];
  for (;;) {
    if (!processAlive(pid)) return `the NGINX master (pid ${pid}) is not running`;
    last = await childrenOf(pid);
    const fresh = last.filter((c) => !before.has(c.pid) && !shuttingDown(c));
    const oldActive = last.filter((c) => before.has(c.pid) && !shuttingDown(c));
    if (fresh.length > 0 && oldActive.length === 0) return null;
    if (Date.now() >= deadline) {
      return `the NGINX master (pid ${pid}) did not replace its workers within ${timeoutMs} ms (children now: ${last.map((c) => `${c.pid} "${c.title}"`).join(', ') || 'none'}); it keeps the configuration it had — see its error log`;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
