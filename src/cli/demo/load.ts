/**
 * The demo's load generator: a steady, bounded stream of GET requests to the service's router on
 * loopback, counted the way a client sees them: by the version that answered (`X-Rollgate-Version`)
 * and by outcome. Each request is also counted under the current *segment* (e.g. "v2 at 25%"), so
 * the demo can show the share of traffic each version actually got at each weight step.
 *
 * Bounded on every side: a fixed rate (requests are skipped, and counted, while `maxInFlight` are
 * pending), a per-request timeout, and `stop()` waits at most `drainMs` for requests in flight.
 */
import http from 'node:http';

export interface LoadTarget {
  host: string;
  port: number;
}

export interface LoadOptions {
  /** Requests per second (default 150). */
  rate?: number;
  /** Requests pending at once before new ones are skipped (default 64). */
  maxInFlight?: number;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  /** Path requested (default `/shop`). */
  path?: string;
  now?: () => number;
}

export interface VersionCount {
  requests: number;
  /** Answered 5xx. */
  errors: number;
  /** First and last time (ms since epoch) a response came from this version. */
  firstAt: number;
  lastAt: number;
}

export interface SegmentCount {
  key: string;
  requests: number;
  byVersion: Record<string, number>;
}

export interface LoadCounts {
  sent: number;
  answered: number;
  /** 5xx answers plus requests that got no answer (connection error, timeout). */
  errors: number;
  /** No answer at all (connection refused or reset, timeout). */
  failed: number;
  /** Not sent because `maxInFlight` requests were pending. */
  skipped: number;
  byVersion: Record<string, VersionCount>;
}

/** The version header the embedded router puts on every response. */
const VERSION_HEADER = 'x-rollgate-version';

export class LoadGenerator {
  private readonly rate: number;
  private readonly maxInFlight: number;
  private readonly timeoutMs: number;
  private readonly path: string;
  private readonly now: () => number;
  private readonly agent: http.Agent;
  private timer: NodeJS.Timeout | null = null;
  private inFlight = 0;
  private readonly idle: Array<() => void> = [];
  private segmentKey: string | null = null;
  private readonly segments = new Map<string, SegmentCount>();
  private owed = 0;
  private lastTick = 0;
  readonly counts: LoadCounts = { sent: 0, answered: 0, errors: 0, failed: 0, skipped: 0, byVersion: {} };

  constructor(
    private readonly target: LoadTarget,
    options: LoadOptions = {},
  ) {
    this.rate = options.rate ?? 150;
    this.maxInFlight = options.maxInFlight ?? 64;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.path = options.path ?? '/shop';
    this.now = options.now ?? Date.now;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: this.maxInFlight });
  }

  get running(): boolean {
    return this.timer !== null;
  }

  /** Starts sending `rate` requests per second, spread over 20 ms ticks. */
  start(): void {
    if (this.timer) return;
    this.lastTick = this.now();
    this.timer = setInterval(() => this.tick(), 20);
  }

  /** Requests sent from now on are counted under `key` (null: under none). */
  setSegment(key: string | null): void {
    this.segmentKey = key;
  }

  segment(key: string): SegmentCount | undefined {
    return this.segments.get(key);
  }

  allSegments(): SegmentCount[] {
    return [...this.segments.values()];
  }

  /** Stops sending, waits (at most `drainMs`) for requests in flight, then closes every socket. */
  async stop(drainMs = 3000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.inFlight > 0) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.idle.push(resolve)),
        new Promise<void>((resolve) => (timeout = setTimeout(resolve, drainMs))),
      ]);
      clearTimeout(timeout);
    }
    this.agent.destroy();
  }

  /** Sends `count` requests, four at a time (not counted in `counts`); returns the versions that answered. */
  async burst(count: number): Promise<{ byVersion: Record<string, number>; errors: number }> {
    const result = { byVersion: {} as Record<string, number>, errors: 0 };
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    try {
      const one = () =>
        this.request(agent).then((answer) => {
          if (!answer) {
            result.errors += 1;
            return;
          }
          result.byVersion[answer.version] = (result.byVersion[answer.version] ?? 0) + 1;
          if (answer.status >= 500) result.errors += 1;
        });
      // Four at a time: quick, and still a burst through the same routing table. Bounded: requests
      // not sent within 10 s count as errors.
      const deadline = this.now() + 10_000;
      for (let sent = 0; sent < count; sent += 4) {
        if (this.now() > deadline) {
          result.errors += count - sent;
          break;
        }
        await Promise.all(Array.from({ length: Math.min(4, count - sent) }, one));
      }
    } finally {
      agent.destroy();
    }
    return result;
  }

  private tick(): void {
    const now = this.now();
    // Whole requests owed since the last tick; a late timer catches up, but by at most one second.
    this.owed = Math.min(this.owed + ((now - this.lastTick) / 1000) * this.rate, this.rate);
    this.lastTick = now;
    while (this.owed >= 1) {
      this.owed -= 1;
      if (this.inFlight >= this.maxInFlight) {
        this.counts.skipped += 1;
        continue;
      }
      this.send();
    }
  }

  private send(): void {
    const segment = this.segmentKey;
    this.counts.sent += 1;
    this.inFlight += 1;
    void this.request(this.agent).then((answer) => {
      this.inFlight -= 1;
      const at = this.now();
      if (!answer) {
        this.counts.failed += 1;
        this.counts.errors += 1;
      } else {
        this.counts.answered += 1;
        const entry = (this.counts.byVersion[answer.version] ??= { requests: 0, errors: 0, firstAt: at, lastAt: at });
        entry.requests += 1;
        entry.lastAt = at;
        if (answer.status >= 500) {
          entry.errors += 1;
          this.counts.errors += 1;
        }
        if (segment !== null) {
          const counted = this.segments.get(segment) ?? { key: segment, requests: 0, byVersion: {} };
          counted.requests += 1;
          counted.byVersion[answer.version] = (counted.byVersion[answer.version] ?? 0) + 1;
          this.segments.set(segment, counted);
        }
      }
      if (this.inFlight === 0) for (const resolve of this.idle.splice(0)) resolve();
    });
  }

  /** One GET; null when no answer came (connection error or timeout). Never rejects. */
  private request(agent: http.Agent): Promise<{ status: number; version: string } | null> {
    return new Promise((resolve) => {
      const request = http.get({ host: this.target.host, port: this.target.port, path: this.path, agent, timeout: this.timeoutMs }, (response) => {
        const version = String(response.headers[VERSION_HEADER] ?? 'unknown');
        const status = response.statusCode ?? 0;
        response.resume();
        response.on('end', () => resolve({ status, version }));
        response.on('error', () => resolve(null));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => resolve(null));
    });
  }
}
