/**
 * An in-memory stand-in for the HTTP API, as a `fetch`, for component tests: the real typed client
 * talks to it, so the UI is tested through the same parsing it uses against a server.
 */
import type { ApiObject } from '../../../src/client/index.js';

export const TEST_SERVER = 'http://rollgate.test';

export interface FakeUser {
  user: string;
  role: 'viewer' | 'deployer' | 'approver' | 'admin';
  groups?: string[];
}

/** What a route's `respond` gets: the request, already authenticated. */
export interface FakeRequest {
  method: string;
  url: URL;
  /** The path's RegExp groups, URI-decoded (empty for a string path). */
  params: string[];
  /** The JSON body, parsed (undefined without one). */
  body: unknown;
  /** Who the bearer token belongs to. */
  who: FakeUser;
}

/**
 * A route a test adds to the fake API. Routes are tried in order, after the token check (an
 * unknown token is still a 401) and before the built-in ones, so they may also replace those.
 */
export interface FakeRoute {
  /** Default GET. */
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The exact path, or a RegExp the whole path must match (anchor it). */
  path: string | RegExp;
  respond(request: FakeRequest): Response | Promise<Response>;
}

export interface FakeApiOptions {
  /** token → whoami answer. */
  users?: Record<string, FakeUser>;
  objects?: Partial<Record<string, ApiObject[]>>;
  routes?: readonly FakeRoute[];
}

export interface FakeApi {
  fetch: typeof fetch;
  /** Every request as `METHOD /path`. */
  requests: string[];
  /** Sends a change event to every open event stream. */
  emit(event: { kind: string; name: string; action?: string }): void;
  objects: Partial<Record<string, ApiObject[]>>;
}

/** A JSON answer (for routes). */
export const json = (body: unknown, status = 200, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
/** A problem+json answer, as the server refuses (for routes). */
export const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  json({ type: `https://rollgate.dev/problems/${title.toLowerCase().replace(/ /g, '-')}`, title, status, detail, ...extra }, status, 'application/problem+json');

export function fakeApi(options: FakeApiOptions = {}): FakeApi {
  const users = options.users ?? {};
  const objects = options.objects ?? {};
  const routes = options.routes ?? [];
  const requests: string[] = [];
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let seq = 0;

  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init.method ?? 'GET').toUpperCase();
    requests.push(`${method} ${url.pathname}`);
    const auth = new Headers(init.headers).get('authorization') ?? '';
    const who = users[auth.replace(/^Bearer /, '')];
    if (!who) return problem(401, 'Unauthorized', 'unknown or revoked token');

    for (const route of routes) {
      if ((route.method ?? 'GET') !== method) continue;
      const match = typeof route.path === 'string' ? (route.path === url.pathname ? [url.pathname] : null) : route.path.exec(url.pathname);
      if (!match || match[0] !== url.pathname) continue;
      const params = match.slice(1).map((group) => (group === undefined ? '' : decodeURIComponent(group)));
      const body = typeof init.body === 'string' && init.body !== '' ? (JSON.parse(init.body) as unknown) : undefined;
      return route.respond({ method, url, params, body, who });
    }

    if (url.pathname === '/api/v1/whoami') return json({ user: who.user, groups: who.groups ?? [], role: who.role, token: 't', actor: `user:${who.user}` });
    if (url.pathname === '/api/v1/events') {
      const encoder = new TextEncoder();
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          streams.add(controller);
          controller.enqueue(encoder.encode(': connected\n\n'));
        },
        cancel() {
          streams.delete(self);
        },
      });
      init.signal?.addEventListener('abort', () => {
        streams.delete(self);
        try {
          self.close();
        } catch {
          // already closed
        }
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    // GET /api/v1/<kind> lists; GET /api/v1/<kind>/<name> is one object (404 without it).
    const object = /^\/api\/v1\/([a-z]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const kind = object && Object.keys(objects).find((name) => plural(name) === object[1]);
    if (object && method === 'GET' && !object[2]) return json({ items: kind ? objects[kind] : [], nextCursor: null });
    if (object?.[2] && kind && method === 'GET') {
      const name = decodeURIComponent(object[2]);
      const found = (objects[kind] ?? []).find((item) => item.metadata.name === name);
      return found ? json(found) : problem(404, 'Not Found', `no ${kind} named "${name}"`);
    }
    return problem(404, 'Not Found', `no route for ${method} ${url.pathname}`);
  };

  return {
    fetch: fetchImpl as typeof fetch,
    requests,
    objects,
    emit(event) {
      const data = JSON.stringify({ seq: ++seq, action: event.action ?? 'update', kind: event.kind, name: event.name, version: 1, actor: 'user:test', time: new Date().toISOString() });
      const chunk = new TextEncoder().encode(`event: change\nid: ${seq}\ndata: ${data}\n\n`);
      for (const stream of streams) stream.enqueue(chunk);
    },
  };
}

const PLURALS: Record<string, string> = { Service: 'services', Environment: 'environments', Pipeline: 'pipelines', Deployment: 'deployments' };
const plural = (kind: string) => PLURALS[kind] ?? `${kind.toLowerCase()}s`;

let created = 0;
/** An API object as the server returns it. */
export function apiObject(kind: string, name: string, spec: Record<string, unknown> = {}, status: Record<string, unknown> | null = null, at?: string): ApiObject {
  const time = at ?? new Date(Date.UTC(2026, 0, 1, 0, 0, created++)).toISOString();
  return {
    apiVersion: 'rollgate.dev/v1alpha1',
    kind: kind as ApiObject['kind'],
    metadata: { name, labels: {}, annotations: {}, version: 1, createdAt: time, updatedAt: time } as ApiObject['metadata'],
    spec,
    status,
  };
}

/** sessionStorage's interface over a Map, one per test. */
export function memoryStorage(initial: Record<string, string> = {}): Storage {
  const map = new Map(Object.entries(initial));
  return {
    get length() {
      return map.size;
    },
    clear: () => map.clear(),
    getItem: (key) => map.get(key) ?? null,
    key: (index) => [...map.keys()][index] ?? null,
    removeItem: (key) => void map.delete(key),
    setItem: (key, value) => void map.set(key, String(value)),
  };
}

/**
 * jsdom lays nothing out, so the virtualized list would see a 0-pixel viewport and render no row:
 * give elements a laptop-sized box.
 */
export function fakeLayout(height = 800, width = 1200): void {
  for (const [property, value] of [['clientHeight', height], ['clientWidth', width]] as const) {
    Object.defineProperty(HTMLElement.prototype, property, { configurable: true, get: () => value });
  }
  // Each row measures 44 px (the virtualizer measures rendered rows with offsetHeight).
  Object.defineProperty(HTMLElement.prototype, 'offsetHeight', { configurable: true, get: () => 44 });
  Object.defineProperty(HTMLElement.prototype, 'offsetWidth', { configurable: true, get: () => width });
}
