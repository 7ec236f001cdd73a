import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../../src/server/metrics/exposition.js';
import { createApp } from '../../src/server/app.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { memoryLog } from './helpers.js';

const router = (service: string) =>
  [
    '# HELP rollgate_proxy_requests_total Requests.',
    '# TYPE rollgate_proxy_requests_total counter',
    `rollgate_proxy_requests_total{service="${service}",version="1.0.0",arm="stable",code_class="2xx"} 10`,
    '# HELP rollgate_proxy_request_duration_seconds Latency.',
    '# TYPE rollgate_proxy_request_duration_seconds histogram',
    `rollgate_proxy_request_duration_seconds_bucket{service="${service}",le="0.1"} 10`,
    `rollgate_proxy_request_duration_seconds_bucket{service="${service}",le="+Inf"} 10`,
    `rollgate_proxy_request_duration_seconds_sum{service="${service}"} 0.5`,
    `rollgate_proxy_request_duration_seconds_count{service="${service}"} 10`,
    '',
  ].join('\n');

describe('/metrics exposition', () => {
  it('regroups families that several routers expose, keeping one header each', () => {
    const merged = mergeExpositions([router('a'), router('b')]);
    expect(merged.match(/# TYPE rollgate_proxy_requests_total/g)).toHaveLength(1);
    expect(merged.match(/# HELP rollgate_proxy_request_duration_seconds /g)).toHaveLength(1);
    const lines = merged.trim().split('\n');
    const counter = lines.filter((line) => line.startsWith('rollgate_proxy_requests_total'));
    expect(counter).toHaveLength(2);
    // Samples of a family are contiguous, right after its header.
    const typeAt = lines.indexOf('# TYPE rollgate_proxy_requests_total counter');
    expect(lines.slice(typeAt + 1, typeAt + 3)).toEqual(counter);
    const histogram = lines.filter((line) => line.startsWith('rollgate_proxy_request_duration_seconds'));
    expect(histogram).toHaveLength(8);
    expect(mergeExpositions([])).toBe('');
  });

  it('is accepted by promtool (when installed; CI installs it)', (ctx) => {
    const probe = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) {
      if (process.env.CI === 'true') throw new Error('promtool missing under CI=true');
      ctx.skip('promtool is not installed (Debian package "prometheus")');
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: mergeExpositions([router('a'), router('b')]), encoding: 'utf8' });
    expect(check.stderr + check.stdout).not.toMatch(/error/i);
    expect(check.status).toBe(0);
  });

  it('is served publicly at /metrics in the Prometheus text format', async () => {
    const store = await openSqliteStore({ file: ':memory:' });
    const app = createApp({ store, logger: memoryLog().logger, metrics: async () => mergeExpositions([router('a')]) });
    const response = await app.request('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await response.text()).toMatch(/rollgate_proxy_requests_total\{service="a"/);
    await store.close();
  });
});
