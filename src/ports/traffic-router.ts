/** Splits a service's traffic between its stable and canary versions: embedded proxy, HAProxy, NGINX, Gateway API. */

export interface RouterCapabilities {
  /** Can split by percentage. */
  readonly weights: boolean;
  /** Can send requests matching a header or cookie to the canary. */
  readonly headerRouting: boolean;
  /** Can keep a client on the version it first got. */
  readonly sticky: boolean;
  /** `verify()` reads back the live state (otherwise it returns null). */
  readonly verify: boolean;
}

export interface Backend {
  version: string;
  /** "host:port" of each instance. */
  endpoints: string[];
}

export interface Backends {
  stable: Backend;
  /** null: no canary; all traffic goes to stable. */
  canary: Backend | null;
}

export interface HeaderMatch {
  headerName: string;
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface HeaderRoute {
  name: string;
  /** All matches must hold (AND). A header named `cookie:NAME` matches the cookie NAME. */
  match: HeaderMatch[];
}

export interface RouterState {
  /** Percent of unmatched traffic going to the canary, 0..100. */
  canaryWeight: number;
  stableVersion: string | null;
  canaryVersion: string | null;
  headerRoute: string | null;
}

export interface TrafficRouter {
  readonly capabilities: RouterCapabilities;
  /** Declares which instances serve stable and canary. Safe to repeat. */
  setBackends(backends: Backends): Promise<void>;
  /** Sets the canary's share; stable gets the rest. Applies to the next request; no connection is dropped. Safe to repeat. */
  setWeights(weights: { canary: number }): Promise<void>;
  /** Sends requests matching `route` to the canary regardless of weight; null removes it. Safe to repeat. */
  setHeaderRoute(route: HeaderRoute | null): Promise<void>;
  /** The live state as the data plane reports it. null: this router cannot read it back. */
  verify(): Promise<RouterState | null>;
  /** All traffic to stable, no header route. Safe to repeat. */
  reset(): Promise<void>;
  /** Releases what the router holds (listeners, sockets). Safe to repeat. */
  close(): Promise<void>;
}
