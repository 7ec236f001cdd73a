/**
 * A throwaway Prometheus server for tests: the Debian binary (`/usr/bin/prometheus`, package
 * `prometheus`) started by the test itself on 127.0.0.1:<free port> with a fresh TSDB in a temp dir,
 * scraping loopback targets; never the distribution's service (which would listen on :9090 with
 * its own data). Stopped (SIGTERM, then SIGKILL) and its directory removed in `stop()`, and killed
 * at the latest when the test process exits.
 *
 * Which binary: ROLLGATE_TEST_PROMETHEUS (CI exports it, see .ci/run), else `prometheus` on PATH,
 * else /usr/bin/prometheus. Without one the suites skip, stating why, except under CI=true where
 * they fail (as the PostgreSQL suites do without ROLLGATE_TEST_DATABASE_URL).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describeWithSystemBinary, findSystemBinary, type SystemBinary } from './system-binary.js';

const BINARY: SystemBinary = { envVar: 'ROLLGATE_TEST_PROMETHEUS', name: 'prometheus', packagePath: '/usr/bin/prometheus', debianPackage: 'prometheus', article: 'a Prometheus' };

/** The binary to use, or why there is none. */
export const findPrometheus = () => findSystemBinary(BINARY);

/** `describe(name, body)` with the binary; otherwise skipped with the reason, or failing where it must run. */
export const describeWithPrometheus = (name: string, body: (bin: string) => void): void => describeWithSystemBinary(BINARY, name, body);

export interface PrometheusServer {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234. */
  url: string;
  port: number;
  dir: string;
  scrapeIntervalMs: number;
  /** Runs an instant query (at `time` ms, default now); the API's `data`. */
  query(promql: string, time?: number): Promise<{ resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }>;
  /** Resolves once a scrape of every target that started at or after `sinceMs` (default now) is stored. */
  waitForScrape(sinceMs?: number, timeoutMs?: number): Promise<void>;
  /** The last lines Prometheus logged (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  bin: string;
  /** Scrape targets, `host:port` (loopback). */
  targets: string[];
  metricsPath?: string;
  /** Default 1000. Sub-second intervals are allowed (e.g. 250). */
  scrapeIntervalMs?: number;
  /** Default 30 s. */
  startTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Children still running, killed synchronously if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHook = false;
function killOnExit(child: ChildProcess): void {
  running.add(child);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const scrapeIntervalMs = options.scrapeIntervalMs ?? 1000;
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-prometheus-'));
  const config = [
    'global:',
    `  scrape_interval: ${scrapeIntervalMs}ms`,
    `  scrape_timeout: ${scrapeIntervalMs}ms`,
    `  evaluation_interval: ${scrapeIntervalMs}ms`,
    'scrape_configs:',
    '  - job_name: rollgate',
    `    metrics_path: ${JSON.stringify(options.metricsPath ?? '/metrics')}`,
    '    static_configs:',
    `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  const check = spawnSync(path.join(path.dirname(options.bin), 'promtool'), ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8', timeout: 10_000 });
  if (check.status !== null && check.status !== 0 && !check.error) throw new Error(`promtool rejects the test config: ${check.stdout}${check.stderr}`);

  let lastError: Error | null = null;
  // A port picked free can be taken before Prometheus binds it: try a few.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const logLines: string[] = [];
    const child = spawn(
      options.bin,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, `data-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    const collect = (chunk: Buffer) => {
      logLines.push(...chunk.toString().split('\n').filter(Boolean));
      if (logLines.length > 200) logLines.splice(0, logLines.length - 200);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let hasExited = false;
    void exited.then(() => {
      hasExited = true;
      running.delete(child);
    });
    const url = `http://127.0.0.1:${port}`;
    const log = () => logLines.slice(-30).join('\n');

    const stop = async () => {
      if (!hasExited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };

    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    let ready = false;
    while (!hasExited && Date.now() < deadline) {
      try {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
        await response.text();
        if (response.ok) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    if (!ready) {
      const text = log();
      if (!hasExited) {
        child.kill('SIGKILL');
        await exited;
      }
      lastError = new Error(`Prometheus did not become ready on ${url}${hasExited ? ' (it exited)' : ''}:\n${text}`);
      if (/address already in use/i.test(text)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw lastError;
    }

    const query: PrometheusServer['query'] = async (promql, time = Date.now()) => {
      const response = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql, time: (time / 1000).toFixed(3) })}`, { signal: AbortSignal.timeout(10_000) });
      const body = (await response.json()) as { status: string; data: never; error?: string };
      if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
      return body.data;
    };

    return {
      url,
      port,
      dir,
      scrapeIntervalMs,
      query,
      log,
      async waitForScrape(sinceMs = Date.now(), timeoutMs = 20_000) {
        const until = Date.now() + timeoutMs;
        let last = 'no answer';
        while (Date.now() < until) {
          // `up` is appended after the scrape's samples: once it is there, so are they.
          const data = await query('timestamp(up{job="rollgate"} == 1)').catch((error: Error) => ({ resultType: 'error', result: [], message: error.message }));
          const times = data.result.map((series) => Number(series.value[1]) * 1000);
          if (times.length === options.targets.length && times.every((t) => t >= sinceMs)) return;
          last = times.length === 0 ? 'no scrape yet' : `last scrapes at ${times.map((t) => new Date(t).toISOString()).join(', ')}`;
          await sleep(Math.min(100, scrapeIntervalMs / 2));
        }
        throw new Error(`no scrape since ${new Date(sinceMs).toISOString()} within ${timeoutMs} ms (${last}):\n${log()}`);
      },
      stop,
    };
  }
  throw lastError ?? new Error('Prometheus did not start');
}
