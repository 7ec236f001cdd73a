/**
 * Open-loop HTTP load on loopback: requests leave on schedule (`rate` per second) whatever the
 * responses do, so a slow or failing backend does not slow the load down. Each response is handed
 * to `onResponse` with the time it arrived and the version that served it (`x-rollgate-version`,
 * set by the embedded router). Bounded: at most `maxSeconds` of load, and each request times out.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface LoadResponse {
  /** Date.now() when the response arrived (the engine's clock). */
  at: number;
  version: string;
  status: number;
}

export interface OpenLoop {
  readonly sent: number;
  readonly failed: number;
  stop(): Promise<void>;
}

export function startOpenLoop(
  address: { host: string; port: number },
  options: { rate: number; maxSeconds: number; onResponse: (response: LoadResponse) => void; timeoutMs?: number },
): OpenLoop {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  let sent = 0;
  let failed = 0;
  let stopped = false;

  const once = () =>
    new Promise<void>((resolve) => {
      const request = http.get({ host: address.host, port: address.port, path: '/', agent }, (response) => {
        const version = String(response.headers['x-rollgate-version'] ?? 'none');
        const status = response.statusCode ?? 0;
        response.resume();
        response.on('end', () => {
          options.onResponse({ at: Date.now(), version, status });
          resolve();
        });
        response.on('error', () => resolve());
      });
      request.setTimeout(options.timeoutMs ?? 5_000, () => request.destroy(new Error('timeout')));
      request.on('error', () => {
        failed += 1;
        options.onResponse({ at: Date.now(), version: 'none', status: 0 });
        resolve();
      });
    });

  const timer = setInterval(() => {
    const elapsed = (performance.now() - start) / 1000;
    if (stopped || elapsed > options.maxSeconds) {
      clearInterval(timer);
      return;
    }
    const due = Math.floor(elapsed * options.rate);
    while (sent < due) {
      sent += 1;
      const work = once();
      pending.add(work);
      void work.then(() => pending.delete(work));
    }
  }, 1);

  return {
    get sent() {
      return sent;
    },
    get failed() {
      return failed;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...pending]);
      agent.destroy();
    },
  };
}
