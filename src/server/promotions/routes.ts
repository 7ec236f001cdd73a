/** Promotion routes: promote a release into an environment; drift per environment. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';

export function registerPromotionsRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  void app;
  void deps;
}
