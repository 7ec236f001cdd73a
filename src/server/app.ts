/**
 * Composes the HTTP API: global middleware, one register call per feature, the OpenAPI
 * document, and the error mapping. Tests call `createApp(...).request(...)` in-process.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import type { Store } from '../ports/store.js';
import { registerApplyRoutes } from './apply/routes.js';
import { createApplyService } from './apply/service.js';
import { registerAuditRoutes } from './audit/routes.js';
import { createAuditService } from './audit/service.js';
import type { AppEnv } from './context.js';
import { createEventBus, type EventBus } from './events/bus.js';
import { registerEventRoutes } from './events/routes.js';
import { registerHealthRoutes } from './health/routes.js';
import { registerMetricsRoutes } from './metrics/routes.js';
import { requestLogger, type Logger } from './logger.js';
import { registerObjectRoutes } from './objects/routes.js';
import { createObjectService } from './objects/service.js';
import { errorHandler, notFoundHandler, problem, problemResponse, validationHook } from './problem.js';
import { assertEveryRouteDeclared, BEARER_SCHEME } from './route.js';
import { registerRolloutRoutes } from './rollouts/routes.js';
import { createRolloutService } from './rollouts/service.js';
import { registerTokenRoutes } from './tokens/routes.js';
import { createTokenService } from './tokens/service.js';
import { createCommit } from './transaction.js';
import { registerCalendarRoutes } from './calendar/routes.js';
import { registerChangesRoutes } from './changes/routes.js';
import { registerPoliciesRoutes } from './policies/routes.js';
import { recordingRefusals } from './promotions/deployment-rules.js';
import { registerPromotionsRoutes } from './promotions/routes.js';
import { registerReleasesRoutes } from './releases/routes.js';
import { registerUsersRoutes } from './users/routes.js';
import { registerSecretsRoutes, type ServerSecrets } from './secrets/routes.js';
import { registerWebRoutes } from './web/static.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export const OPENAPI_PATH = '/api/openapi.json';

export interface AppDeps {
  store: Store;
  logger: Logger;
  now?: () => Date;
  bodyLimitBytes?: number;
  /** Shared with startServer so shutdown can end SSE streams; a private one otherwise. */
  bus?: EventBus;
  /** SSE heartbeat interval; tests shorten it. */
  heartbeatMs?: number;
  /**
   * Called after the commit when a Deployment is created (objects API or apply) or an operation is
   * queued on its rollout, so an engine can wake that rollout at once. Errors are logged, not raised.
   */
  onDeploymentChange?: (name: string) => void;
  /** Prometheus exposition served at /metrics (the engine's routers and counters); empty without one. */
  metrics?: () => Promise<string>;
  /** The provider `secretRef`s resolve from; without one the secrets API answers 409 (docs/secrets.md). */
  secrets?: ServerSecrets;
  /**
   * Directory of the built web UI (`dist/web`) to serve on non-/api GET paths; the composition roots
   * pass it (src/server/web/static.ts). Without it the app is the API only, as in the API tests.
   */
  webRoot?: string;
}

export type App = OpenAPIHono<AppEnv>;

export function createApp(deps: AppDeps): App {
  const { store, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const bus = deps.bus ?? createEventBus();
  const notifyDeployment = (name: string): void => {
    try {
      deps.onDeploymentChange?.(name);
    } catch (error) {
      logger.error({ err: error, deployment: name }, 'onDeploymentChange failed');
    }
  };
  const commit = createCommit(store, deps.onDeploymentChange ? notifyingBus(bus, notifyDeployment) : bus);
  const maxSize = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;

  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use('*', requestLogger(logger));
  app.use('*', bodyLimit({ maxSize, onError: (c) => problemResponse(c, problem(413, 'too-large', `the body exceeds ${maxSize} bytes`)) }));
  app.use('*', async (c, next) => {
    c.set('tokenLookup', store.read.tokens);
    c.set('userLookup', store.read.objects);
    await next();
  });

  const objects = createObjectService({ now });
  registerHealthRoutes(app, { store, logger });
  registerMetricsRoutes(app, { metrics: deps.metrics ?? (async () => '') });
  // Refused Deployment creations and Release updates are recorded after their transaction rolled back.
  const recording = recordingRefusals(commit);
  registerObjectRoutes(app, { store, commit: recording, objects });
  registerApplyRoutes(app, { store, commit: recording, apply: createApplyService({ objects }) });
  registerAuditRoutes(app, { store, audit: createAuditService() });
  registerTokenRoutes(app, { store, commit, tokens: createTokenService({ now }) });
  registerEventRoutes(app, { store, bus, logger, ...(deps.heartbeatMs ? { heartbeatMs: deps.heartbeatMs } : {}) });
  registerRolloutRoutes(app, { store, commit, rollouts: createRolloutService({ now }), onDeploymentChange: notifyDeployment });
  const governance = { store, commit, now, onDeploymentChange: notifyDeployment };
  registerUsersRoutes(app, governance);
  registerChangesRoutes(app, governance);
  registerReleasesRoutes(app, governance);
  registerPromotionsRoutes(app, governance);
  registerPoliciesRoutes(app, governance);
  registerCalendarRoutes(app, governance);
  registerSecretsRoutes(app, { commit, now, secrets: deps.secrets });

  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (`rg_...`). The first start prints an admin token; create others with POST /api/v1/tokens.',
  });
  app.doc31(OPENAPI_PATH, {
    openapi: '3.1.0',
    info: { title: 'Rollgate API', version: '1', description: 'Release control plane. Errors are RFC 9457 application/problem+json.' },
    security: [{ [BEARER_SCHEME]: [] }],
  });

  // Last: the UI's catch-all route must come after every API route.
  if (deps.webRoot !== undefined) registerWebRoutes(app, { root: deps.webRoot });

  app.onError(errorHandler(logger));
  app.notFound(notFoundHandler);
  assertEveryRouteDeclared(app);
  return app;
}

/**
 * The bus the commit publishes to, which also tells `onDeployment` about each committed Deployment
 * creation (from the objects routes and apply alike). Queued operations notify from their route.
 */
function notifyingBus(bus: EventBus, onDeployment: (name: string) => void): EventBus {
  return {
    publish(event) {
      bus.publish(event);
      if (event.kind === 'Deployment' && event.action === 'create') onDeployment(event.name);
    },
    subscribe: () => bus.subscribe(),
    close: () => bus.close(),
    get subscriberCount() {
      return bus.subscriberCount;
    },
  };
}
