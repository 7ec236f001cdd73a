/** Loopback port allocation and the HTTP health probe of the `process` target. */
import http from 'node:http';
import net from 'node:net';

/** Ports handed out by any target in this process and not yet released (avoids handing one out twice). */
const reserved = new Set<number>();

export function reservePort(port: number): void {
  reserved.add(port);
}

export function releasePort(port: number): void {
  reserved.delete(port);
}

/** Binds `port` (0: any) on `host`, returns the bound port and closes the socket; null when it is taken. */
function tryBind(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : null;
      server.close(() => resolve(bound));
    });
  });
}

let rangeCursor = 0;

/**
 * A port that was free a moment ago: from `range` (inclusive) when given, else one the kernel picks
 * by binding port 0. The port is reserved in this process until `releasePort`. Another program can
 * still take it before the instance binds it; the instance then fails to start (or is restarted).
 */
export async function allocatePort(host: string, range?: readonly [number, number]): Promise<number> {
  if (range) {
    const [low, high] = range;
    const size = high - low + 1;
    for (let i = 0; i < size; i++) {
      const port = low + ((rangeCursor + i) % size);
      if (reserved.has(port)) continue;
      if ((await tryBind(host, port)) === port && !reserved.has(port)) {
        rangeCursor = (port - low + 1) % size;
        reserved.add(port);
        return port;
      }
    }
    throw new Error(`no free port in range ${low}-${high} on ${host}`);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await tryBind(host, 0);
    if (port !== null && !reserved.has(port)) {
      reserved.add(port);
      return port;
    }
  }
  throw new Error(`could not allocate a free port on ${host}`);
}

export interface ProbeResult {
  ok: boolean;
  /** "HTTP 503", "ECONNREFUSED", "timed out after 2000 ms", ... */
  detail: string;
}

/** GET http://host:port/path; ok on 2xx. Never keeps the connection alive (so it never delays an instance's shutdown). */
export function probeHttp(host: string, port: number, urlPath: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = http.request(
      { host, port, path: urlPath, method: 'GET', agent: false, headers: { connection: 'close', 'user-agent': 'rollgate-health' } },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        response.on('error', () => undefined);
        finish({ ok: status >= 200 && status < 300, detail: `HTTP ${status}` });
        request.destroy();
      },
    );
    const timer = setTimeout(() => {
      finish({ ok: false, detail: `timed out after ${timeoutMs} ms` });
      request.destroy();
    }, timeoutMs);
    timer.unref();
    request.on('error', (error: NodeJS.ErrnoException) => finish({ ok: false, detail: error.code ?? error.message }));
    request.end();
  });
}
