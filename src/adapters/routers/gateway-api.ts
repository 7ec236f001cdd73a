/**
 * TrafficRouter over a Kubernetes Gateway (Gateway API `HTTPRoute`, gateway.networking.k8s.io/v1):
 * the router keeps the desired routing (backends, canary weight, header route), renders it into the
 * route's `spec.rules` (./gateway-api/render.ts) and applies it with server-side apply, field
 * manager `rollgate`, on every change (`PATCH ...?fieldManager=rollgate&force=true`,
 * `application/apply-patch+yaml`). `verify()` reads the route back and maps its weights, header
 * rule and annotations to a RouterState.
 *
 * What Rollgate owns and what it never touches: it applies `spec.rules` (the whole list: the CRD
 * makes it atomic, so give Rollgate an HTTPRoute of its own) and its `rollgate.dev/*` annotations;
 * `parentRefs`, `hostnames`, labels and every other annotation stay as the route's author applied
 * them. `force=true` takes `spec.rules` over from whoever applied it before (kubectl, a GitOps
 * tool): tell that tool to leave the field to Rollgate. The Services' selectors (which pods are
 * stable, which canary) belong to the deploy target, so `setBackends()` reads only the versions;
 * the endpoints are not used.
 *
 * The Gateway implementation programs the data plane asynchronously: a successful apply (and a
 * verify() that reads it back) means the API server holds the route, not that the proxies already
 * route by it. Route status conditions (Accepted, ResolvedRefs) are not read.
 *
 * With `client: null` the router only renders (a dry run): nothing is sent, `rendered()` returns
 * the route it would apply, and verify() returns null (capabilities.verify is false).
 */
import type { Backends, HeaderRoute, RouterCapabilities, RouterState, TrafficRouter } from '../../ports/traffic-router.js';
import { APPLY_CONTENT_TYPE, KubeApiError, type KubeClient } from '../kubernetes/client.js';
import {
  FIELD_MANAGER,
  headerMatchesFor,
  httpRoutePath,
  readRouterState,
  renderHttpRoute,
  type DesiredRouting,
  type HttpRoute,
  type HttpRouteTarget,
} from './gateway-api/render.js';

export { kubeClientFromKubeConfig, KubeApiError, type KubeClient, type KubeConfigClientOptions } from '../kubernetes/client.js';
export { renderHttpRoute, readRouterState, httpRoutePath, type DesiredRouting, type HttpRoute, type HttpRouteTarget } from './gateway-api/render.js';

export interface GatewayApiRouterConfig extends HttpRouteTarget {
  /** The cluster's API (see kubeClientFromKubeConfig); null: render only, apply nothing. */
  client: KubeClient | null;
}

export { APPLY_CONTENT_TYPE } from '../kubernetes/client.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function freezeConfig(config: GatewayApiRouterConfig): Readonly<GatewayApiRouterConfig> {
  const fail = (what: string) => {
    throw new TypeError(`GatewayApiRouter: ${what}`);
  };
  if (typeof config?.service !== 'string' || config.service.length === 0) fail('service must be a non-empty string');
  if (typeof config.namespace !== 'string' || !DNS_LABEL.test(config.namespace) || config.namespace.length > 63) fail(`namespace "${config.namespace}" is not a valid namespace name`);
  for (const key of ['httpRoute', 'stableBackend', 'canaryBackend'] as const) {
    const value = config[key];
    if (typeof value !== 'string' || !DNS_SUBDOMAIN.test(value) || value.length > 253) fail(`${key} "${value}" is not a valid Kubernetes object name`);
  }
  if (config.stableBackend === config.canaryBackend) fail('stableBackend and canaryBackend must be different Services');
  if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) fail(`port must be an integer in 1..65535 (got ${config.port})`);
  if (config.client !== null && (typeof config.client?.patch !== 'function' || typeof config.client.get !== 'function')) fail('client must be a KubeClient or null');
  return Object.freeze({ ...config });
}

export class GatewayApiRouter implements TrafficRouter {
  readonly capabilities: RouterCapabilities;
  readonly config: Readonly<GatewayApiRouterConfig>;
  private desired: DesiredRouting = { stableVersion: null, canaryVersion: null, canaryWeight: 0, headerRoute: null };
  /** Changes are applied one at a time, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private last: HttpRoute | null = null;
  private closed = false;

  constructor(config: GatewayApiRouterConfig) {
    this.config = freezeConfig(config);
    // Weights and header matches are core Gateway API; session persistence is not in the standard channel.
    this.capabilities = Object.freeze({ weights: true, headerRouting: true, sticky: false, verify: this.config.client !== null });
  }

  /** The API path of the route (without the apply query). */
  get path(): string {
    return httpRoutePath(this.config.namespace, this.config.httpRoute);
  }

  /** The route as last applied (or, without a client, rendered); null before the first change. */
  rendered(): HttpRoute | null {
    return this.last === null ? null : structuredClone(this.last);
  }

  async setBackends(backends: Backends): Promise<void> {
    const stable = backends?.stable;
    if (typeof stable?.version !== 'string' || stable.version.length === 0) throw new TypeError('setBackends: stable.version must be a non-empty string');
    const canary = backends.canary;
    if (canary !== null && (typeof canary?.version !== 'string' || canary.version.length === 0)) throw new TypeError('setBackends: canary must be null or have a non-empty version');
    await this.change((d) => ({ ...d, stableVersion: stable.version, canaryVersion: canary?.version ?? null }));
  }

  async setWeights(weights: { canary: number }): Promise<void> {
    const canary = weights?.canary;
    if (typeof canary !== 'number' || !Number.isFinite(canary) || canary < 0 || canary > 100) throw new RangeError(`setWeights: canary must be a number in 0..100 (got ${canary})`);
    await this.change((d) => ({ ...d, canaryWeight: canary }));
  }

  async setHeaderRoute(route: HeaderRoute | null): Promise<void> {
    let copy: HeaderRoute | null = null;
    if (route !== null) {
      headerMatchesFor(route); // refuses what Gateway API cannot express, before anything changes
      copy = { name: route.name, match: route.match.map((m) => ({ ...m })) };
    }
    await this.change((d) => ({ ...d, headerRoute: copy }));
  }

  async reset(): Promise<void> {
    await this.change((d) => ({ ...d, canaryWeight: 0, headerRoute: null }));
  }

  async verify(): Promise<RouterState | null> {
    this.assertOpen();
    const client = this.config.client;
    if (client === null) return null;
    let route: unknown = null;
    try {
      route = await client.get(this.path);
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) throw error;
    }
    return readRouterState(this.config, route);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => undefined);
  }

  /** Renders the next desired state and applies it; the state is kept only once the apply succeeded. */
  private change(next: (desired: DesiredRouting) => DesiredRouting): Promise<void> {
    this.assertOpen();
    const run = this.queue.then(async () => {
      this.assertOpen();
      const desired = next(this.desired);
      const route = renderHttpRoute(this.config, desired);
      const client = this.config.client;
      if (client !== null) {
        await client.patch(`${this.path}?fieldManager=${FIELD_MANAGER}&force=true`, JSON.stringify(route), APPLY_CONTENT_TYPE);
      }
      this.desired = desired;
      this.last = route;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`GatewayApiRouter for HTTPRoute ${this.config.namespace}/${this.config.httpRoute} is closed`);
  }
}
