/**
 * Prometheus text exposition (format 0.0.4) of the proxy's counters.
 *
 * Series:
 * - `rollgate_proxy_requests_total{service,version,arm,code_class}` counter;
 * - `rollgate_proxy_request_duration_seconds{service,version,arm,le}` classic histogram
 *   (`_bucket`, `_sum`, `_count`), buckets 1 ms .. 10 s;
 * - `rollgate_proxy_canary_weight{service}` gauge, percent of unmatched traffic sent to the canary.
 */
import { CODE_CLASSES, PROMETHEUS_LATENCY_BUCKETS, type SeriesStats } from './stats.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as Prometheus parses it (Go ParseFloat syntax plus +Inf/-Inf/NaN). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export interface PrometheusInput {
  service: string;
  canaryWeight: number;
  series: readonly SeriesStats[];
}

export function renderPrometheus(input: PrometheusInput): string {
  const service = escapeLabelValue(input.service);
  const lines: string[] = [];

  lines.push('# HELP rollgate_proxy_requests_total Requests the embedded proxy answered, by version, arm and status class.');
  lines.push('# TYPE rollgate_proxy_requests_total counter');
  for (const s of input.series) {
    const base = `service="${service}",version="${escapeLabelValue(s.version)}",arm="${s.arm}"`;
    for (let i = 0; i < CODE_CLASSES.length; i++) {
      const n = s.codes[i]!;
      if (n > 0) lines.push(`rollgate_proxy_requests_total{${base},code_class="${CODE_CLASSES[i]}"} ${formatValue(n)}`);
    }
  }

  lines.push('# HELP rollgate_proxy_request_duration_seconds Time from request arrival to the end of the response, in seconds.');
  lines.push('# TYPE rollgate_proxy_request_duration_seconds histogram');
  for (const s of input.series) {
    const base = `service="${service}",version="${escapeLabelValue(s.version)}",arm="${s.arm}"`;
    let cumulative = 0;
    for (let i = 0; i < PROMETHEUS_LATENCY_BUCKETS.length; i++) {
      cumulative += s.buckets[i]!;
      lines.push(`rollgate_proxy_request_duration_seconds_bucket{${base},le="${formatValue(PROMETHEUS_LATENCY_BUCKETS[i]!)}"} ${formatValue(cumulative)}`);
    }
    // +Inf must equal _count; use the count directly so the two can never disagree.
    lines.push(`rollgate_proxy_request_duration_seconds_bucket{${base},le="+Inf"} ${formatValue(s.count)}`);
    lines.push(`rollgate_proxy_request_duration_seconds_sum{${base}} ${formatValue(s.sum)}`);
    lines.push(`rollgate_proxy_request_duration_seconds_count{${base}} ${formatValue(s.count)}`);
  }

  lines.push('# HELP rollgate_proxy_canary_weight Percent of unmatched traffic the proxy sends to the canary.');
  lines.push('# TYPE rollgate_proxy_canary_weight gauge');
  lines.push(`rollgate_proxy_canary_weight{service="${service}"} ${formatValue(input.canaryWeight)}`);

  return lines.join('\n') + '\n';
}
