/**
 * Closed-loop HTTP load generators, each run in its own process: `wrk` (1 thread) when it is on
 * PATH, else autocannon's CLI in a child Node process.
 */
import { createRequire } from 'node:module';
import { onPath, runProcess } from './processes.js';

export interface LoadResult {
  requests: number;
  rps: number;
  /** ms */
  p50: number;
  /** ms */
  p99: number;
  /** Non-2xx responses plus socket errors and timeouts. */
  errors: number;
}

export type LoadTool = 'wrk' | 'autocannon';

/**
 * The load generator for `--tool auto|wrk|autocannon`: wrk when asked for or (auto) when it is on
 * PATH, else autocannon. Throws if wrk is asked for and missing.
 */
export function pickLoadTool(requested: string): LoadTool {
  const hasWrk = onPath('wrk', '-v');
  if (requested === 'wrk' && !hasWrk) throw new Error('--tool wrk: wrk is not on PATH (apt-get install -y wrk)');
  return requested === 'autocannon' || !hasWrk ? 'autocannon' : 'wrk';
}

/** `connections` keep-alive connections against `url` for `seconds`, with `tool`. */
export function runLoad(tool: LoadTool, url: string, connections: number, seconds: number): Promise<LoadResult> {
  return tool === 'wrk' ? wrk(url, connections, seconds) : autocannon(url, connections, seconds);
}

/** wrk's duration text ("812.00us", "1.20ms", "2.01s", "1.5m") in ms; NaN if it is not one. */
export function wrkMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

/** `wrk -t1 -c<connections> -d<seconds>s --latency url`, its text output parsed. */
export async function wrk(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const out = await runProcess('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], (seconds + 30) * 1000);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: wrkMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: wrkMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    errors: non2xx + (sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0),
  };
}

/** autocannon's CLI (`-j`) in a child Node process. Its latency histogram has 1 ms resolution. */
export async function autocannon(url: string, connections: number, seconds: number): Promise<LoadResult> {
  // Resolved on use, so a wrk-only run does not need autocannon installed.
  const cli = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const out = await runProcess(process.execPath, [cli, '-j', '-c', String(connections), '-d', String(seconds), url], (seconds + 30) * 1000);
  const r = JSON.parse(out) as { duration: number; errors: number; timeouts: number; non2xx: number; latency: { p50: number; p99: number }; requests: { total: number } };
  return { requests: r.requests.total, rps: r.requests.total / r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx };
}
