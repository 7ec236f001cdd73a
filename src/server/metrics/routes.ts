/**
 * `/metrics`: the Prometheus exposition of the data planes Rollgate runs (per-version request
 * counts, errors and latency histograms of every embedded router) and of the engine. Public like
 * the health probes, so a Prometheus server scrapes it without a token; it carries counts, never
 * names of people, tokens or secrets.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import type { AppEnv } from '../context.js';
import { secureRoute } from '../route.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const metricsRoute = secureRoute({
  permission: 'public',
  method: 'get',
  path: '/metrics',
  operationId: 'metrics',
  tags: ['Health'],
  summary: 'Prometheus text exposition of the embedded routers and the engine',
  responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: z.string() } } } },
});

export function registerMetricsRoutes(app: OpenAPIHono<AppEnv>, deps: { metrics: () => Promise<string> }): void {
  app.openapi(metricsRoute, async (c) => c.body(await deps.metrics(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }));
}
