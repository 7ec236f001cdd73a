/**
 * An in-memory stand-in for the HTTP API, as a `fetch`, for component tests: the real typed client
 * talks to it, so the UI is tested through the same parsing it uses against a server.
 */
import type { ApiObject } from '../../../src/client/index.js';

export const TEST_SERVER = 'http://rollgate.test';

export interface FakeApiOptions {
  /** token → whoami answer. */
  users?: Record<string, { user: string; role: 'viewer' | 'deployer' | 'approver' | 'admin'; groups?: string[] }>;
  objects?: Partial<Record<string, ApiObject[]>>;
}

export interface FakeApi {
  fetch: typeof fetch;
  /** Every request as `METHOD /path`. */
  requests: string[];
  /** Sends a change event to every open event stream. */
  emit(event: { kind: string; name: string; action?: string }): void;
  objects: Partial<Record<string, ApiObject[]>>;
}

const json = (status: number, body: unknown, type = 'application/json') => new Response(JSON.stringify(body), { status, headers: { 'content-type': type } });
const problem = (status: number, title: string, detail: string) => json(status, { type: `https://rollgate.dev/problems/${title.toLowerCase()}`, title, status, detail }, 'application/problem+json');

export function fakeApi(options: FakeApiOptions = {}): FakeApi {
  const users = options.users ?? {};
  const objects = options.objects ?? {};
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

    if (url.pathname === '/api/v1/whoami') return json(200, { user: who.user, groups: who.groups ?? [], role: who.role, token: 't', actor: `user:${who.user}` });
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
    const list = /^\/api\/v1\/([a-z]+)$/.exec(url.pathname);
    if (list && method === 'GET') {
      const kind = Object.keys(objects).find((name) => plural(name) === list[1]);
      return json(200, { items: kind ? objects[kind] : [], nextCursor: null });
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
