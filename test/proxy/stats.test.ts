import { describe, expect, it } from 'vitest';
import { PROMETHEUS_LATENCY_BUCKETS, ProxyStats } from '../../src/proxy/index.js';
import { fakeClock } from './helpers.js';

function setup(retentionSeconds?: number) {
  const clock = fakeClock(Date.UTC(2030, 0, 1, 0, 0, 0)); // aligned to a whole second
  const stats = new ProxyStats({ now: clock.now, ...(retentionSeconds ? { retentionSeconds } : {}) });
  const v = stats.versionStats('1.0.0');
  const series = stats.series('1.0.0', 'stable');
  const record = (status: number, seconds: number) => stats.record(v, series, status, seconds);
  return { clock, stats, record, t0: clock.now() };
}

describe('ProxyStats windows (fake clock)', () => {
  it('merges 1-second buckets: a bucket belongs to a window when its second ends in (start, end]', () => {
    const { clock, stats, record, t0 } = setup();
    // Second k (k = 0..9) gets k + 1 requests, one error in every even second.
    for (let k = 0; k < 10; k++) {
      clock.set(t0 + k * 1000 + 500);
      for (let i = 0; i <= k; i++) record(k % 2 === 0 && i === 0 ? 500 : 200, 0.01 * (k + 1));
    }
    clock.set(t0 + 10_000);
    const w = (a: number, b: number) => stats.window('1.0.0', t0 + a, t0 + b);
    expect(w(0, 10_000)).toMatchObject({ requests: 55, errors: 5 });
    expect(w(0, 1000)).toMatchObject({ requests: 1, errors: 1 });
    expect(w(3000, 5000)).toMatchObject({ requests: 4 + 5, errors: 1 });
    // Unaligned edges: [2500, 4500) holds the buckets of seconds 2 and 3 (ending at 3000 and 4000).
    expect(w(2500, 4500)).toMatchObject({ requests: 3 + 4 });
    // [2000, 2001) ends no second; [2001, 3000) holds second 2's bucket.
    expect(w(2000, 2001)).toBeNull();
    expect(w(2001, 3000)).toMatchObject({ requests: 3 });
    // A second still filling up is not counted until it ends.
    clock.set(t0 + 10_500);
    record(200, 0.01);
    expect(w(9000, 10_500)).toMatchObject({ requests: 10 });
    clock.set(t0 + 11_000);
    expect(w(10_500, 11_000)).toMatchObject({ requests: 1 });
    clock.set(t0 + 10_000);
    // Consecutive windows partition the traffic: nothing counted twice or lost.
    const parts = [w(0, 3300), w(3300, 7000), w(7000, 10_000)].map((x) => x!.requests);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(55);
    // Latency: second 9 recorded 0.1 s ten times.
    const last = w(9000, 10_000)!;
    expect(last.latency!.p50).toBeCloseTo(0.1, 2);
    expect(last.latency!.max).toBeCloseTo(0.1, 2);
    expect(last.latency!.mean).toBeCloseTo(0.1, 2);
    // Merged quantiles: 55 values, the p50 of 0.01*(k+1) weighted by (k+1) is 0.07.
    expect(w(0, 10_000)!.latency!.p50).toBeCloseTo(0.07, 2);
    // The future and unknown versions: no data.
    expect(stats.window('1.0.0', t0 + 20_000, t0 + 30_000)).toBeNull();
    expect(stats.window('9.9.9', t0, t0 + 10_000)).toBeNull();
    expect(stats.total('1.0.0')).toMatchObject({ requests: 56, errors: 5 });
    expect(stats.total('9.9.9')).toBeNull();
  });

  it('quantiles are accurate to HDR precision and ordered', () => {
    const { clock, stats, record, t0 } = setup();
    for (let ms = 1; ms <= 1000; ms++) record(200, ms / 1000);
    clock.advance(1000);
    const l = stats.window('1.0.0', t0, t0 + 1000)!.latency!;
    expect(l.p50).toBeGreaterThan(0.495);
    expect(l.p50).toBeLessThan(0.505);
    expect(l.p90).toBeCloseTo(0.9, 2);
    expect(l.p99).toBeCloseTo(0.99, 2);
    expect(l.max).toBeCloseTo(1, 2);
    expect(l.mean).toBeCloseTo(0.5005, 2);
    expect(l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.p99 <= l.max).toBe(true);
    // Values beyond the histogram's range are clamped, not thrown.
    clock.set(t0 + 500);
    record(200, 3600);
    record(200, 0);
    clock.set(t0 + 1000);
    expect(stats.window('1.0.0', t0, t0 + 1000)!.requests).toBe(1002);
  });

  it('keeps the retention period, reuses buckets as the ring wraps, refuses older windows', () => {
    const { clock, stats, record, t0 } = setup(60);
    for (let s = 0; s < 200; s++) {
      clock.set(t0 + s * 1000);
      record(s < 100 ? 500 : 200, 0.002);
    }
    clock.set(t0 + 200_000); // second 199 is complete
    const now = clock.now();
    // Retained and complete: seconds 141..199.
    expect(stats.window('1.0.0', now - 59_000, now)).toMatchObject({ requests: 59, errors: 0 });
    expect(() => stats.window('1.0.0', now - 60_000, now)).toThrow(/retained 60 s/);
    expect(() => stats.window('1.0.0', t0, now)).toThrow(RangeError);
    // Cumulative totals survive the ring.
    expect(stats.total('1.0.0')).toMatchObject({ requests: 200, errors: 100 });
    // A gap longer than the retention leaves no stale bucket behind.
    clock.advance(500_000);
    expect(stats.window('1.0.0', clock.now() - 59_000, clock.now() + 1)).toBeNull();
    record(200, 0.001);
    expect(stats.window('1.0.0', clock.now() - 59_000, clock.now() + 1)).toBeNull(); // its second is not over yet
    clock.advance(1000);
    expect(stats.window('1.0.0', clock.now() - 59_000, clock.now())).toMatchObject({ requests: 1 });
  });

  it('forgets versions idle for longer than the retention unless kept', () => {
    const { clock, stats, record } = setup(60);
    record(200, 0.001);
    stats.versionStats('2.0.0');
    stats.series('2.0.0', 'canary');
    clock.advance(30_000);
    stats.pruneIdle(new Set());
    // 2.0.0 never served but is younger than the retention; 1.0.0 served within it.
    expect(stats.versions().sort()).toEqual(['1.0.0', '2.0.0']);
    clock.advance(31_000);
    stats.pruneIdle(new Set(['1.0.0']));
    expect(stats.versions()).toEqual(['1.0.0']);
    stats.pruneIdle(new Set());
    expect(stats.versions()).toEqual([]);
    expect(stats.allSeries()).toEqual([]);
  });

  it('rejects malformed windows and options', () => {
    const { stats, t0 } = setup();
    expect(() => stats.window('1.0.0', t0, t0 - 1)).toThrow(RangeError);
    expect(() => stats.window('1.0.0', Number.NaN, t0)).toThrow(RangeError);
    expect(() => new ProxyStats({ retentionSeconds: 0 })).toThrow(RangeError);
    expect(() => new ProxyStats({ retentionSeconds: 1.5 })).toThrow(RangeError);
  });

  it('prometheus series count status classes and place latencies in inclusive le buckets', () => {
    const { stats, record } = setup();
    record(101, 0.001);
    record(204, 0.0025);
    record(302, 0.011);
    record(404, 10);
    record(503, 11);
    record(999, 0.5);
    const s = stats.series('1.0.0', 'stable');
    expect([...s.codes]).toEqual([1, 1, 1, 1, 1, 1]);
    const at = (le: number) => s.buckets[PROMETHEUS_LATENCY_BUCKETS.indexOf(le)];
    expect(at(0.001)).toBe(1);
    expect(at(0.0025)).toBe(1);
    expect(at(0.025)).toBe(1);
    expect(at(0.5)).toBe(1);
    expect(at(10)).toBe(1);
    expect(s.buckets[PROMETHEUS_LATENCY_BUCKETS.length]).toBe(1); // +Inf only
    expect(s.count).toBe(6);
    expect(stats.versions()).toEqual(['1.0.0']);
  });
});
