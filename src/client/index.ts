/**
 * Typed client for the Rollgate HTTP API, shared by the CLI and the web UI. It speaks only the wire
 * shapes of src/core (never the server's code), and turns every failure into one of three errors:
 * `ApiError` (the server said no), `ConnectionError` (no answer), `UnexpectedResponseError`
 * (an answer that is not the API's shape).
 */
import { z } from 'zod';
import {
  API_PREFIX,
  applyResultSchema,
  auditPageSchema,
  auditVerifySchema,
  changeEventSchema,
  problemSchema,
  tokenCreatedSchema,
  tokenListSchema,
  type ApplyResult,
  type AuditEventWire,
  type AuditListQuery,
  type AuditVerifyResult,
  type ChangeEvent,
  type Problem,
  type TokenCreated,
  type TokenInfo,
} from '../core/api.js';
// Not kinds.ts: it imports every spec schema (semver, CEL, luxon), which the web UI's bundle must not carry.
import { KIND_PLURALS, type KindName, type Role } from '../core/resources/kind-names.js';
import type { OperationType } from '../core/rollout/types.js';
import type { StoredMetadata } from '../core/resources/common.js';
import { ApiError, ConnectionError, UnexpectedResponseError, networkReason } from './errors.js';
import { SseParser } from './sse.js';
import { apiObjectSchema, objectPageSchema } from './object-schema.js';
import { calendarApi, type CalendarApi } from './calendar.js';
import { changesApi, type ChangesApi } from './changes.js';
import { policiesApi, type PoliciesApi } from './policies.js';
import { promotionsApi, type PromotionsApi } from './promotions.js';
import { releasesApi, type ReleasesApi } from './releases.js';
import { secretsApi, type SecretsApi } from './secrets.js';
import { usersApi, type UsersApi } from './users.js';

export { ApiError, ConnectionError, UnexpectedResponseError } from './errors.js';
export { SseParser, type SseMessage } from './sse.js';
export type { ApplyResult, AuditEventWire, AuditListQuery, AuditOrder, AuditVerifyResult, ChangeEvent, Problem, TokenCreated, TokenInfo } from '../core/api.js';

export interface ClientConfig {
  /** Base URL of the server, e.g. `http://127.0.0.1:7070` (a path prefix is kept). */
  server: string;
  /** Bearer token; requests go without `Authorization` when absent. */
  token?: string;
  /** Defaults to the global `fetch`; tests and the web UI may pass their own. */
  fetch?: typeof fetch;
}

/** An object as the API returns it. */
export interface ApiObject {
  apiVersion: string;
  kind: KindName;
  metadata: StoredMetadata;
  spec: Record<string, unknown>;
  /** Owned by the control plane; null until it writes one. */
  status: Record<string, unknown> | null;
}

/** A document as a user writes it (what `create`, `update` and `apply` send). */
export interface ObjectDocument {
  apiVersion: string;
  kind: KindName;
  metadata: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string>; version?: number };
  spec: Record<string, unknown>;
}

export interface ObjectListQuery {
  /** Every label must match: `{app: 'checkout'}` or the selector text `app=checkout,tier=high`. */
  labels?: Record<string, string> | string;
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** null on the last page. */
  nextCursor: string | null;
}

export interface EventsOptions {
  /** Aborting ends the iteration (the pending `next()` rejects with the abort reason). */
  signal?: AbortSignal;
  /** Resume after this event id (sent as `Last-Event-ID`). */
  lastEventId?: string;
}

/** What `rollouts.operate` returns: the queued operation's id and the Deployment with it pending. */
export interface QueuedOperation {
  /** Look for it in `status.operationResults` to learn whether the engine accepted it. */
  operationId: string;
  deployment: ApiObject;
}

export interface RollgateClient {
  readonly server: string;
  list(kind: KindName, query?: ObjectListQuery): Promise<Page<ApiObject>>;
  /** Every object matching the query, following `nextCursor` to the last page. */
  listAll(kind: KindName, query?: Omit<ObjectListQuery, 'cursor'>): Promise<ApiObject[]>;
  /** null: no such object. */
  get(kind: KindName, name: string): Promise<ApiObject | null>;
  create(document: ObjectDocument): Promise<ApiObject>;
  /** `metadata.version`, when given, makes the write fail with 409 if the stored version differs. */
  update(document: ObjectDocument): Promise<ApiObject>;
  /** true: deleted; false: there was no such object. `version` makes it conditional (409 if stale). */
  delete(kind: KindName, name: string, version?: number): Promise<boolean>;
  apply(documents: Record<string, unknown>[], options?: { dryRun?: boolean }): Promise<ApplyResult>;
  audit: {
    /**
     * One page, ascending by seq (newest first with `order: 'desc'`); `nextCursor` is the
     * `afterSeq` of the next page (its `beforeSeq` with `order: 'desc'`).
     */
    list(query?: AuditListQuery): Promise<Page<AuditEventWire>>;
    verify(): Promise<AuditVerifyResult>;
  };
  rollouts: {
    /**
     * Queues an operation on a Deployment's rollout (`POST /deployments/{name}/operations`). The
     * engine applies it later and records the outcome in `status.operationResults`.
     */
    operate(deployment: string, type: OperationType, reason?: string): Promise<QueuedOperation>;
    /** The latest Deployment of the service (in `environment`, or any); throws ApiError 404 when there is none. */
    current(service: string, environment?: string): Promise<ApiObject>;
    /** The service's Deployments, newest first (the server's default limit is 20). */
    history(service: string, environment?: string, limit?: number): Promise<ApiObject[]>;
  };
  tokens: {
    /**
     * The secret is in the answer's `token`, and nowhere else ever again. `user` binds the token
     * to an existing User (ApiError 422 naming `user` otherwise).
     */
    create(input: { name: string; role: Role; user?: string }): Promise<TokenCreated>;
    list(): Promise<TokenInfo[]>;
    revoke(name: string): Promise<void>;
  };
  changes: ChangesApi;
  releases: ReleasesApi;
  promotions: PromotionsApi;
  users: UsersApi;
  secrets: SecretsApi;
  policies: PoliciesApi;
  calendar: CalendarApi;
  /** `GET /healthz`; throws unless the server answers 2xx. */
  health(): Promise<unknown>;
  /** `GET /readyz`; throws unless the server answers 2xx. */
  ready(): Promise<unknown>;
  /** `change` events from `GET /api/v1/events`, as they happen, until the stream ends or is aborted. */
  events(options?: EventsOptions): AsyncGenerator<ChangeEvent, void, undefined>;
}

const queuedOperationSchema = z.object({ operationId: z.string(), deployment: apiObjectSchema });
const deploymentListSchema = z.object({ items: z.array(apiObjectSchema) });

type Query = Record<string, string | number | undefined>;

interface RequestOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** `{app: 'checkout', tier: 'high'}` → `app=checkout,tier=high`. */
export function formatLabelSelector(labels: Record<string, string> | string): string {
  if (typeof labels === 'string') return labels;
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

export function createClient(config: ClientConfig): RollgateClient {
  const base = normalizeServer(config.server);
  const doFetch = config.fetch ?? globalThis.fetch;

  const describe = (method: string, path: string) => `${method} ${path}`;

  async function send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(base + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...options.headers };
    if (config.token) headers.authorization = `Bearer ${config.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    try {
      return await doFetch(url, { method, headers, body, signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ConnectionError(base, networkReason(error), { cause: error });
    }
  }

  async function failure(response: Response, request: string): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let problem: Problem | null = null;
    try {
      const parsed = problemSchema.safeParse(JSON.parse(text));
      if (parsed.success) problem = parsed.data;
    } catch {
      // Not JSON: a proxy's HTML page, or an empty body.
    }
    problem ??= {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      ...(text.trim() && !text.trimStart().startsWith('<') ? { detail: text.trim().slice(0, 500) } : {}),
    };
    return new ApiError(response.status, problem, request);
  }

  async function readJson<S extends z.ZodType>(response: Response, schema: S, request: string): Promise<z.output<S>> {
    const text = await response.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(request, `body is not JSON (${response.headers.get('content-type') ?? 'no content-type'})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UnexpectedResponseError(request, `${issue.path.join('.') || '(body)'}: ${issue.message}`);
    }
    return parsed.data;
  }

  /** Sends, throws ApiError on a non-2xx status, and parses the body with `schema`. */
  async function call<S extends z.ZodType>(method: string, path: string, schema: S, options?: RequestOptions): Promise<z.output<S>> {
    const request = describe(method, path);
    const response = await send(method, path, options);
    if (!response.ok) throw await failure(response, request);
    return readJson(response, schema, request);
  }

  const objectPath = (kind: KindName, name?: string) =>
    `${API_PREFIX}/${KIND_PLURALS[kind]}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

  const listQuery = (query: ObjectListQuery = {}): Query => ({
    labelSelector: query.labels === undefined ? undefined : formatLabelSelector(query.labels),
    limit: query.limit,
    cursor: query.cursor,
  });

  async function list(kind: KindName, query?: ObjectListQuery): Promise<Page<ApiObject>> {
    return (await call('GET', objectPath(kind), objectPageSchema, { query: listQuery(query) })) as Page<ApiObject>;
  }

  async function health(path: string): Promise<unknown> {
    const response = await send('GET', path);
    if (!response.ok) throw await failure(response, describe('GET', path));
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }

  async function* events(options: EventsOptions = {}): AsyncGenerator<ChangeEvent, void, undefined> {
    const path = `${API_PREFIX}/events`;
    const request = describe('GET', path);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
    const response = await send('GET', path, { headers, signal: options.signal });
    if (!response.ok) throw await failure(response, request);
    if (!response.body) throw new UnexpectedResponseError(request, 'the event stream has no body');
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        const messages = done ? parser.push(decoder.decode()) : parser.push(decoder.decode(value, { stream: true }));
        for (const message of messages) {
          if (message.event !== 'change') continue;
          let data: unknown;
          try {
            data = JSON.parse(message.data);
          } catch {
            throw new UnexpectedResponseError(request, `change event data is not JSON: ${message.data.slice(0, 200)}`);
          }
          const parsed = changeEventSchema.safeParse(data);
          if (!parsed.success) {
            const issue = parsed.error.issues[0]!;
            throw new UnexpectedResponseError(request, `change event ${issue.path.join('.') || '(data)'}: ${issue.message}`);
          }
          yield parsed.data;
        }
        if (done) break;
      }
      parser.end();
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  return {
    server: base,
    list,
    changes: changesApi(call),
    releases: releasesApi(call),
    promotions: promotionsApi(call),
    users: usersApi(call),
    secrets: secretsApi(call),
    policies: policiesApi(call),
    calendar: calendarApi(call),
    async listAll(kind, query = {}) {
      const items: ApiObject[] = [];
      const seen = new Set<string>();
      let cursor: string | undefined;
      for (;;) {
        const page = await list(kind, { ...query, cursor });
        items.push(...page.items);
        if (page.nextCursor === null || page.nextCursor === '') return items;
        if (seen.has(page.nextCursor)) {
          throw new UnexpectedResponseError(describe('GET', objectPath(kind)), `the server returned cursor "${page.nextCursor}" twice`);
        }
        seen.add(page.nextCursor);
        cursor = page.nextCursor;
      }
    },
    async get(kind, name) {
      const path = objectPath(kind, name);
      const response = await send('GET', path);
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) throw await failure(response, describe('GET', path));
      return (await readJson(response, apiObjectSchema, describe('GET', path))) as ApiObject;
    },
    async create(document) {
      return (await call('POST', objectPath(document.kind), apiObjectSchema, { body: document })) as ApiObject;
    },
    async update(document) {
      const name = document.metadata.name;
      if (!name) throw new TypeError('update needs metadata.name');
      return (await call('PUT', objectPath(document.kind, name), apiObjectSchema, { body: document })) as ApiObject;
    },
    async delete(kind, name, version) {
      const path = objectPath(kind, name);
      const response = await send('DELETE', path, { query: { version } });
      if (response.status === 404) {
        await response.body?.cancel();
        return false;
      }
      if (!response.ok) throw await failure(response, describe('DELETE', path));
      await response.body?.cancel();
      return true;
    },
    async apply(documents, options = {}) {
      return call('POST', `${API_PREFIX}/apply`, applyResultSchema, { body: { documents, dryRun: options.dryRun ?? false } });
    },
    audit: {
      async list(query = {}) {
        return call('GET', `${API_PREFIX}/audit`, auditPageSchema, { query: { ...query } });
      },
      async verify() {
        return call('GET', `${API_PREFIX}/audit/verify`, auditVerifySchema);
      },
    },
    rollouts: {
      async operate(deployment, type, reason) {
        const body = { type, ...(reason ? { reason } : {}) };
        return (await call('POST', `${objectPath('Deployment', deployment)}/operations`, queuedOperationSchema, { body })) as QueuedOperation;
      },
      async current(service, environment) {
        return (await call('GET', `${objectPath('Service', service)}/rollout`, apiObjectSchema, { query: { environment } })) as ApiObject;
      },
      async history(service, environment, limit) {
        return ((await call('GET', `${objectPath('Service', service)}/rollouts`, deploymentListSchema, { query: { environment, limit } })).items) as ApiObject[];
      },
    },
    tokens: {
      async create(input) {
        return call('POST', `${API_PREFIX}/tokens`, tokenCreatedSchema, { body: input });
      },
      async list() {
        return (await call('GET', `${API_PREFIX}/tokens`, tokenListSchema)).items;
      },
      async revoke(name) {
        const path = `${API_PREFIX}/tokens/${encodeURIComponent(name)}`;
        const response = await send('DELETE', path);
        if (!response.ok) throw await failure(response, describe('DELETE', path));
        await response.body?.cancel();
      },
    },
    health: () => health('/healthz'),
    ready: () => health('/readyz'),
    events,
  };
}

/** `http://host:7070/` → `http://host:7070`; rejects what is not an http(s) URL. */
export function normalizeServer(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new TypeError(`invalid server URL "${server}" (expected e.g. http://127.0.0.1:7070)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`invalid server URL "${server}": only http and https are supported`);
  }
  if (url.search || url.hash) throw new TypeError(`invalid server URL "${server}": no query or fragment allowed`);
  return url.href.replace(/\/+$/, '');
}
