/**
 * A recording stand-in for the Kubernetes API server, on 127.0.0.1, serving HTTPRoutes
 * (gateway.networking.k8s.io/v1) only:
 * - records every request (method, path with query, content type, Authorization, body);
 * - requires `Authorization: Bearer <token>` (401 otherwise);
 * - `PATCH` with `application/apply-patch+yaml` is a server-side apply: the body is parsed as
 *   YAML, must name the object of the URL, and is merged with a simplified field ownership model
 *   (annotations and labels per key, each `spec` field as a whole, which is what the HTTPRoute
 *   CRD's atomic lists give): a field owned by another manager with a different value is a 409
 *   conflict unless `force=true`; fields the manager applied before and no longer applies are
 *   removed. The merged object is defaulted and validated against the shipped schema
 *   (./gateway-api-schema.ts) and refused with 422 when invalid, as the API server would;
 * - `GET` returns the stored object, 404 `Status` when there is none.
 * It stores the defaulted objects and serves them to the Gateway emulator (./gateway-api-gateway.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { validateHttpRoute } from './gateway-api-schema.js';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  authorization: string | null;
  body: string;
  status: number;
}

interface Stored {
  object: Record<string, any>;
  /** Field path (`spec.rules`, `metadata.annotations.KEY`) → manager. */
  owners: Map<string, string>;
  /** Manager → field paths of its last applied configuration. */
  applied: Map<string, Set<string>>;
}

export interface FakeApiServer {
  url: string;
  port: number;
  token: string;
  readonly requests: RecordedRequest[];
  /** The stored (defaulted) HTTPRoute, or null. */
  get(namespace: string, name: string): Record<string, any> | null;
  /** Field path → manager of a stored route. */
  owners(namespace: string, name: string): Record<string, string>;
  /** Server-side applies `object` as `manager` (force), as `kubectl apply --server-side` would. */
  seed(object: Record<string, any>, manager?: string): void;
  /** The next `count` requests get `status` with a Status body carrying `message`. */
  failNext(status: number, message: string, count?: number): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const ROUTE_PATH = /^\/apis\/gateway\.networking\.k8s\.io\/v1\/namespaces\/([^/]+)\/httproutes\/([^/]+)$/;

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function statusBody(status: number, reason: string, message: string) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code: status };
}

/** The field paths of an applied configuration and their values. */
function fieldsOf(config: Record<string, any>): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  for (const part of ['annotations', 'labels'] as const) {
    for (const [key, value] of Object.entries(config.metadata?.[part] ?? {})) fields.set(`metadata.${part}.${key}`, value);
  }
  for (const [key, value] of Object.entries(config.spec ?? {})) fields.set(`spec.${key}`, value);
  return fields;
}

function getField(object: Record<string, any>, field: string): unknown {
  const [top, second, ...rest] = field.split('.');
  if (top === 'metadata') return object.metadata?.[second!]?.[rest.join('.')];
  return object.spec?.[second!];
}

function setField(object: Record<string, any>, field: string, value: unknown): void {
  const [top, second, ...rest] = field.split('.');
  if (top === 'metadata') {
    object.metadata[second!] ??= {};
    object.metadata[second!][rest.join('.')] = value;
  } else {
    object.spec ??= {};
    object.spec[second!] = value;
  }
}

function deleteField(object: Record<string, any>, field: string): void {
  const [top, second, ...rest] = field.split('.');
  if (top === 'metadata') {
    delete object.metadata?.[second!]?.[rest.join('.')];
    if (object.metadata?.[second!] && Object.keys(object.metadata[second!]).length === 0) delete object.metadata[second!];
  } else delete object.spec?.[second!];
}

/** Value equality for conflict detection (the stored value is defaulted, so an applied value that omits a default differs: a conflict, as a stricter server would see it). */
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function startFakeApiServer(options: { token?: string } = {}): Promise<FakeApiServer> {
  const token = options.token ?? 'test-token-not-a-secret';
  const store = new Map<string, Stored>();
  const requests: RecordedRequest[] = [];
  const failures: Array<{ status: number; message: string }> = [];
  let resourceVersion = 1000;

  function apply(namespace: string, name: string, config: Record<string, any>, manager: string, force: boolean): { created: boolean; object: Record<string, any> } {
    if (config?.apiVersion !== 'gateway.networking.k8s.io/v1' || config.kind !== 'HTTPRoute') {
      throw new ApiError(400, 'BadRequest', `the applied object must be gateway.networking.k8s.io/v1 HTTPRoute, got ${config?.apiVersion} ${config?.kind}`);
    }
    if (config.metadata?.name !== name || (config.metadata?.namespace !== undefined && config.metadata.namespace !== namespace)) {
      throw new ApiError(400, 'BadRequest', `the name or namespace of the object (${config.metadata?.namespace}/${config.metadata?.name}) does not match the URL (${namespace}/${name})`);
    }
    const key = `${namespace}/${name}`;
    const existing = store.get(key);
    const created = existing === undefined;
    const stored: Stored = existing
      ? { object: structuredClone(existing.object), owners: new Map(existing.owners), applied: new Map(existing.applied) }
      : {
          object: { apiVersion: config.apiVersion, kind: config.kind, metadata: { name, namespace, uid: `uid-${key}`, creationTimestamp: '2030-01-01T12:00:00Z', generation: 0 }, spec: {} },
          owners: new Map(),
          applied: new Map(),
        };
    const fields = fieldsOf(config);
    const conflicts = [...fields].filter(([field, value]) => {
      const owner = stored.owners.get(field);
      return owner !== undefined && owner !== manager && !same(getField(stored.object, field), value);
    });
    if (conflicts.length > 0 && !force) {
      const list = conflicts.map(([field]) => `conflict with "${stored.owners.get(field)}": .${field}`).join('; ');
      throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${list}`);
    }
    const specBefore = JSON.stringify(stored.object.spec);
    for (const field of stored.applied.get(manager) ?? []) {
      if (!fields.has(field) && stored.owners.get(field) === manager) {
        deleteField(stored.object, field);
        stored.owners.delete(field);
      }
    }
    for (const [field, value] of fields) {
      setField(stored.object, field, structuredClone(value));
      stored.owners.set(field, manager);
    }
    stored.applied.set(manager, new Set(fields.keys()));
    const { ok, errors, defaulted } = validateHttpRoute(stored.object);
    if (!ok) throw new ApiError(422, 'Invalid', `HTTPRoute.gateway.networking.k8s.io "${name}" is invalid: ${errors.join('; ')}`);
    const metadata = defaulted.metadata as Record<string, any>;
    if (created || JSON.stringify(defaulted.spec) !== specBefore) metadata.generation = (metadata.generation ?? 0) + 1;
    metadata.resourceVersion = String(++resourceVersion);
    const managers = [...new Set(stored.owners.values())].sort();
    metadata.managedFields = managers.map((m) => ({
      manager: m,
      operation: 'Apply',
      apiVersion: 'gateway.networking.k8s.io/v1',
      fieldsType: 'FieldsV1',
      fields: [...stored.owners].filter(([, owner]) => owner === m).map(([field]) => field).sort(),
    }));
    stored.object = defaulted;
    store.set(key, stored);
    return { created, object: defaulted };
  }

  function handle(req: http.IncomingMessage, body: string): { status: number; body: unknown } {
    const url = new URL(req.url ?? '/', 'http://apiserver');
    if (failures.length > 0) {
      const failure = failures.shift()!;
      throw new ApiError(failure.status, failure.status >= 500 ? 'InternalError' : 'BadRequest', failure.message);
    }
    if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    const match = ROUTE_PATH.exec(url.pathname);
    if (!match) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const namespace = decodeURIComponent(match[1]!);
    const name = decodeURIComponent(match[2]!);
    if (req.method === 'GET') {
      const stored = store.get(`${namespace}/${name}`);
      if (!stored) throw new ApiError(404, 'NotFound', `httproutes.gateway.networking.k8s.io "${name}" not found`);
      return { status: 200, body: stored.object };
    }
    if (req.method === 'PATCH') {
      const contentType = req.headers['content-type'] ?? '';
      if (contentType !== 'application/apply-patch+yaml') {
        throw new ApiError(415, 'UnsupportedMediaType', `only server-side apply is served here, got Content-Type ${contentType}`);
      }
      const manager = url.searchParams.get('fieldManager');
      if (!manager) throw new ApiError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      const force = url.searchParams.get('force') === 'true';
      let config: Record<string, any>;
      try {
        config = parseYaml(body) as Record<string, any>;
      } catch (error) {
        throw new ApiError(400, 'BadRequest', `error decoding YAML: ${(error as Error).message}`);
      }
      const { created, object } = apply(namespace, name, config, manager, force);
      return { status: created ? 201 : 200, body: object };
    }
    throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let result: { status: number; body: unknown };
      try {
        result = handle(req, body);
      } catch (error) {
        const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', (error as Error).message);
        result = { status: e.status, body: statusBody(e.status, e.reason, e.message) };
      }
      const url = new URL(req.url ?? '/', 'http://apiserver');
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers['content-type'] ?? null,
        authorization: req.headers.authorization ?? null,
        body,
        status: result.status,
      });
      res.writeHead(result.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(result.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    requests,
    get: (namespace, name) => {
      const stored = store.get(`${namespace}/${name}`);
      return stored ? structuredClone(stored.object) : null;
    },
    owners: (namespace, name) => Object.fromEntries(store.get(`${namespace}/${name}`)?.owners ?? []),
    seed: (object, manager = 'kubectl') => {
      apply(object.metadata.namespace, object.metadata.name, object, manager, true);
    },
    failNext: (status, message, count = 1) => {
      for (let i = 0; i < count; i++) failures.push({ status, message });
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
