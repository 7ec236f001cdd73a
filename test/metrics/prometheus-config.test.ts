/** Configuration paths of the Prometheus provider: the engine's provider cache and `rollgate serve --prometheus-url`. */
import { describe, expect, it } from 'vitest';
import { PrometheusMetricProvider } from '../../src/adapters/metrics/prometheus.js';
import { parsePrometheusUrl } from '../../src/cli/commands/serve.js';
import { UsageError } from '../../src/cli/context.js';
import { prometheusProviders } from '../../src/engine/index.js';
import { withPrometheus, type ServiceRuntime } from '../../src/engine/runtime.js';

describe('engine Prometheus providers', () => {
  it('builds one provider per address, with the engine settings, and none by default without an address', () => {
    const none = prometheusProviders();
    expect(none.default).toBeNull();
    const a = none.at('http://127.0.0.1:9090');
    expect(a).toBeInstanceOf(PrometheusMetricProvider);
    expect(none.at('http://127.0.0.1:9090')).toBe(a);
    expect(none.at('http://127.0.0.1:9091')).not.toBe(a);

    const configured = prometheusProviders({ address: 'http://prometheus:9090/', timeoutMs: 1234, retries: 0 });
    expect(configured.default).toBe(configured.at('http://prometheus:9090/'));
    expect((configured.default as PrometheusMetricProvider).config).toMatchObject({ address: 'http://prometheus:9090', timeoutMs: 1234, retries: 0 });
    expect(() => prometheusProviders({ address: 'not a url' })).toThrow(/http\(s\) URL/);
  });

  it('gives a runtime the default provider and per-address lookup, keeping what its factory set', () => {
    const providers = prometheusProviders({ address: 'http://prometheus:9090' });
    const bare = { metrics: {} } as ServiceRuntime;
    withPrometheus(bare, providers);
    expect(bare.metrics.prometheus).toBe(providers.default);
    expect(bare.prometheusAt!('http://x:1')).toBe(providers.at('http://x:1'));
    const own = { capabilities: { latency: false, windows: true }, query: async () => ({ baseline: null, canary: null }) };
    const custom = { metrics: { prometheus: own } } as unknown as ServiceRuntime;
    withPrometheus(custom, providers);
    expect(custom.metrics.prometheus).toBe(own);
  });
});

describe('rollgate serve --prometheus-url', () => {
  it('accepts http(s) URLs and refuses anything else with a usage error naming the source', () => {
    expect(parsePrometheusUrl('http://127.0.0.1:9090')).toBe('http://127.0.0.1:9090');
    expect(parsePrometheusUrl('https://user:pw@prom.example/prefix')).toBe('https://user:pw@prom.example/prefix');
    expect(() => parsePrometheusUrl('127.0.0.1:9090')).toThrow(UsageError);
    expect(() => parsePrometheusUrl('ftp://x', 'ROLLGATE_PROMETHEUS_URL')).toThrow(/invalid ROLLGATE_PROMETHEUS_URL "ftp:\/\/x"/);
  });
});
