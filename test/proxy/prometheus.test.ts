/**
 * The proxy's /metrics text must be valid Prometheus exposition format 0.0.4: checked with a strict
 * parser written from the format spec (line grammar, escaping, TYPE before samples, families
 * contiguous, no duplicate series, histogram rules: le ascending, cumulative, +Inf == _count).
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_CONTENT_TYPE, PROMETHEUS_LATENCY_BUCKETS, ProxyStats, createProxy, renderPrometheus, type EmbeddedProxy } from '../../src/proxy/index.js';
import { HOST, request, sendMany, startUpstream, waitFor, type Upstream } from './helpers.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  name: string;
  type: string;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)$/;

function parseValue(text: string): number {
  if (!VALUE.test(text)) throw new Error(`invalid value "${text}"`);
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Parses `{a="x",b="y"}` strictly; returns labels and the index after the closing brace. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  while (line[i] !== '}') {
    const nameStart = i;
    while (i < line.length && line[i] !== '=') i++;
    const name = line.slice(nameStart, i);
    if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`invalid label name "${name}" in: ${line}`);
    if (line[i + 1] !== '"') throw new Error(`label value must be quoted in: ${line}`);
    i += 2;
    let value = '';
    for (;;) {
      const c = line[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const n = line[i + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`invalid escape \\${n} in: ${line}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = value;
    i++;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
  }
  return { labels, end: i + 1 };
}

function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a line feed');
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const seenSeries = new Set<string>();
  let current: Family | null = null;
  const familyOf = (sampleName: string): string => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = sampleName.slice(0, -suffix.length);
      if (sampleName.endsWith(suffix) && families.get(base)?.type === 'histogram') return base;
    }
    return sampleName;
  };
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name in: ${line}`);
      let family = families.get(name);
      if (family && closed.has(name)) throw new Error(`family ${name} is not contiguous`);
      if (!family) {
        if (current) closed.add(current.name);
        family = { name, type: 'untyped', samples: [] };
        families.set(name, family);
        current = family;
      }
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`invalid type in: ${line}`);
        if (family.samples.length > 0) throw new Error(`TYPE after samples for ${name}`);
        family.type = rest;
      } else {
        if (family.help !== undefined) throw new Error(`second HELP for ${name}`);
        family.help = rest;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`invalid sample line: ${line}`);
    const name = line.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new Error(`invalid metric name in: ${line}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === '{') ({ labels, end: i } = parseLabels(line, i));
    if (line[i] !== ' ') throw new Error(`expected a space before the value in: ${line}`);
    const parts = line.slice(i + 1).split(' ');
    if (parts.length < 1 || parts.length > 2) throw new Error(`invalid value/timestamp in: ${line}`);
    const value = parseValue(parts[0]!);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`invalid timestamp in: ${line}`);
    const familyName = familyOf(name);
    let family = families.get(familyName);
    if (family && closed.has(familyName)) throw new Error(`family ${familyName} is not contiguous`);
    if (!family) {
      if (current) closed.add(current.name);
      family = { name: familyName, type: 'untyped', samples: [] };
      families.set(familyName, family);
    }
    current = family;
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) throw new Error(`duplicate series ${key}`);
    seenSeries.add(key);
    if (family.type === 'counter' && !(value >= 0)) throw new Error(`negative counter in: ${line}`);
    if (family.type === 'histogram' && name === familyName) throw new Error(`histogram sample without suffix: ${line}`);
    if (name.endsWith('_bucket') && family.type === 'histogram' && labels.le === undefined) throw new Error(`bucket without le: ${line}`);
    family.samples.push({ name, labels, value });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number; sum?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(le!), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${family.name}${key}: missing _count or _sum`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${family.name}${key}: le not ascending`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1];
    if (!last || last[0] !== Infinity) throw new Error(`${family.name}${key}: no +Inf bucket`);
    if (last[1] !== g.count) throw new Error(`${family.name}${key}: +Inf bucket ${last[1]} != _count ${g.count}`);
  }
}

describe('Prometheus exposition', () => {
  let stable: Upstream;
  let canary: Upstream;
  let proxy: EmbeddedProxy;
  let port: number;

  beforeAll(async () => {
    [stable, canary] = await Promise.all([startUpstream('8.0.0'), startUpstream('8.1.0')]);
    proxy = createProxy({ listen: { host: HOST, port: 0 }, service: 'checkout' });
    ({ port } = await proxy.start());
    proxy.setBackends({ stable: { version: '8.0.0', endpoints: [stable.endpoint] }, canary: { version: '8.1.0', endpoints: [canary.endpoint] } });
  });
  afterAll(async () => {
    await proxy.stop();
    await Promise.all([stable.close(), canary.close()]);
  });

  it('the parser rejects what Prometheus rejects', () => {
    expect(() => parseExposition('a 1')).toThrow(/line feed/);
    expect(() => parseExposition('a{b="x} 1\n')).toThrow(/unterminated/);
    expect(() => parseExposition('a{b="\\t"} 1\n')).toThrow(/escape/);
    expect(() => parseExposition('a 1\nb 1\na 2\n')).toThrow(/contiguous|duplicate/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/cumulative/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 2\n')).toThrow(/_count/);
    expect(() => parseExposition('x one\n')).toThrow(/value/);
  });

  it('renders valid exposition with the counted traffic', async () => {
    proxy.setWeights({ canary: 0 });
    await sendMany(port, 30, { path: '/?delayMs=3' });
    await sendMany(port, 5, { path: '/?status=503' });
    await sendMany(port, 4, { path: '/?status=404' });
    proxy.setWeights({ canary: 100 });
    await sendMany(port, 20, { path: '/?delayMs=30' });
    await waitFor(() => (proxy.stats.total('8.1.0')?.requests ?? 0) >= 20);

    const text = proxy.renderPrometheus();
    const families = parseExposition(text);
    const requests = families.get('rollgate_proxy_requests_total')!;
    expect(requests.type).toBe('counter');
    const count = (labels: Record<string, string>) => requests.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(count({ version: '8.0.0', arm: 'stable', code_class: '2xx' })).toBe(30);
    expect(count({ version: '8.0.0', arm: 'stable', code_class: '5xx' })).toBe(5);
    expect(count({ version: '8.0.0', arm: 'stable', code_class: '4xx' })).toBe(4);
    expect(count({ version: '8.1.0', arm: 'canary', code_class: '2xx' })).toBe(20);
    expect(requests.samples.every((s) => s.labels.service === 'checkout')).toBe(true);

    const duration = families.get('rollgate_proxy_request_duration_seconds')!;
    expect(duration.type).toBe('histogram');
    const les = duration.samples.filter((s) => s.name.endsWith('_bucket') && s.labels.version === '8.1.0').map((s) => s.labels.le);
    expect(les).toEqual([...PROMETHEUS_LATENCY_BUCKETS.map(String), '+Inf']);
    const canaryBucket = (le: string) => duration.samples.find((s) => s.name.endsWith('_bucket') && s.labels.version === '8.1.0' && s.labels.le === le)!.value;
    expect(canaryBucket('0.025')).toBe(0); // every canary request waited 30 ms
    expect(canaryBucket('10')).toBe(20);
    const canaryCount = duration.samples.find((s) => s.name.endsWith('_count') && s.labels.version === '8.1.0')!.value;
    const canarySum = duration.samples.find((s) => s.name.endsWith('_sum') && s.labels.version === '8.1.0')!.value;
    expect(canaryCount).toBe(20);
    expect(canarySum).toBeGreaterThan(20 * 0.029);
    expect(families.get('rollgate_proxy_canary_weight')!.samples[0]!.value).toBe(100);
    expect(PROMETHEUS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
    await request(port);
  });

  it('promtool check metrics accepts it (when promtool is installed)', async (ctx) => {
    const probe = spawnSync('promtool', ['--version'], { stdio: 'ignore' });
    if (probe.error || probe.status !== 0) {
      if (process.env.CI === 'true') throw new Error('promtool is not installed, but CI=true: .ci/run must install the Debian package "prometheus"');
      ctx.skip('promtool is not installed (Debian package "prometheus")');
    }
    await sendMany(port, 10);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: proxy.renderPrometheus(), encoding: 'utf8', timeout: 10_000 });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  it('escapes label values and renders an empty proxy validly', () => {
    const stats = new ProxyStats();
    const weird = 'v"1\\2\nx';
    stats.record(stats.versionStats(weird), stats.series(weird, 'canary'), 200, 0.0042);
    const text = renderPrometheus({ service: 'a"b', canaryWeight: 2.5, series: stats.allSeries() });
    const families = parseExposition(text);
    const sample = families.get('rollgate_proxy_requests_total')!.samples[0]!;
    expect(sample.labels.version).toBe(weird);
    expect(sample.labels.service).toBe('a"b');
    const bucket5ms = families.get('rollgate_proxy_request_duration_seconds')!.samples.find((s) => s.labels.le === '0.005')!;
    expect(bucket5ms.value).toBe(1);
    expect(families.get('rollgate_proxy_request_duration_seconds')!.samples.find((s) => s.labels.le === '0.0025')!.value).toBe(0);
    parseExposition(renderPrometheus({ service: 's', canaryWeight: 0, series: [] }));
  });
});
