/**
 * The only way to declare an API route: `secureRoute` takes a zod-openapi route config plus a
 * mandatory `permission`, attaches the auth middleware, declares the bearer security scheme and
 * the standard error responses, and records the permission in the OpenAPI operation
 * (`x-rollgate-permission`). `assertEveryRouteDeclared` refuses to build an app holding a route
 * registered any other way, so a route without a permission cannot ship.
 */
import { createRoute, z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import { problemSchema } from '../core/api.js';
import { requirePermission, type Permission } from './auth/middleware.js';
import type { AppEnv } from './context.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

export type { Permission };
export const PERMISSION_EXTENSION = 'x-rollgate-permission';
export const BEARER_SCHEME = 'bearerAuth';

/**
 * Registered once as a component, so each error response is a `$ref` rather than a copy. Rebuilt
 * from its shape: a zod schema created before @hono/zod-openapi extended zod (core's module-level
 * constants, depending on import order) has no `.openapi` method.
 */
const problemComponent = z.object(problemSchema.shape).openapi('Problem');

/** An error response in the OpenAPI document. */
export const problemResponse = (description: string) => ({ description, content: { [PROBLEM_CONTENT_TYPE]: { schema: problemComponent } } });

const standardErrors = (permission: Permission) => ({
  ...(permission === 'public'
    ? {}
    : {
        400: problemResponse('Malformed request or invalid parameters'),
        401: problemResponse('Missing, unknown or revoked token'),
        403: problemResponse(`The token's role is below "${permission}"`),
        413: problemResponse('Body larger than the limit'),
      }),
  500: problemResponse('Unexpected server error (details are logged, not returned)'),
});

type Declaration = Omit<RouteConfig, 'middleware' | 'security'> & { permission: Permission };

export function secureRoute<const D extends Declaration>(declaration: D) {
  const { permission, responses, ...rest } = declaration;
  return createRoute({
    ...rest,
    [PERMISSION_EXTENSION]: permission,
    security: permission === 'public' ? [] : [{ [BEARER_SCHEME]: [] }],
    middleware: requirePermission(permission),
    responses: { ...standardErrors(permission), ...(responses as D['responses']) },
  });
}

export interface DeclaredRoute {
  method: string;
  /** OpenAPI form: `/api/v1/services/{name}`. */
  path: string;
  permission: Permission;
  operationId?: string;
}

/**
 * Routes outside the registry that are public by design: the OpenAPI document, and the web UI's
 * static files (src/server/web/static.ts, `GET /*` registered after every API route when the app
 * serves the UI; it answers /api paths with the API's 404, so it cannot shadow or open an API route).
 */
export const UNDOCUMENTED_PUBLIC_ROUTES: DeclaredRoute[] = [
  { method: 'GET', path: '/api/openapi.json', permission: 'public' },
  { method: 'GET', path: '/*', permission: 'public' },
];

/** Every route declared through `secureRoute` in this app, read back from its OpenAPI registry. */
export function routeTable(app: OpenAPIHono<AppEnv>): DeclaredRoute[] {
  return app.openAPIRegistry.definitions.flatMap((definition) => {
    if (definition.type !== 'route') return [];
    const route = definition.route as RouteConfig & { [PERMISSION_EXTENSION]?: Permission };
    const permission = route[PERMISSION_EXTENSION];
    if (!permission) throw new Error(`${route.method.toUpperCase()} ${route.path} was registered without secureRoute (no permission)`);
    return [{ method: route.method.toUpperCase(), path: route.path, permission, ...(route.operationId ? { operationId: route.operationId } : {}) }];
  });
}

const toHonoPath = (path: string) => path.replaceAll(/\{([^}]+)\}/g, ':$1');

/** Throws if any handler in `app` was registered without a declared permission. */
export function assertEveryRouteDeclared(app: OpenAPIHono<AppEnv>): void {
  const declared = new Set([...routeTable(app), ...UNDOCUMENTED_PUBLIC_ROUTES].map((route) => `${route.method} ${toHonoPath(route.path)}`));
  // `use()` middleware is registered with method ALL; every other entry is a handler.
  const undeclared = app.routes.filter((route) => route.method !== 'ALL' && !declared.has(`${route.method} ${route.path}`));
  if (undeclared.length > 0) {
    throw new Error(`routes registered without secureRoute: ${[...new Set(undeclared.map((route) => `${route.method} ${route.path}`))].join(', ')}`);
  }
}
