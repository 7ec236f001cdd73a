/** Shared set-up for the server suites: a fresh SQLite store, the app, and request helpers. */
import { Writable } from 'node:stream';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import type { Role } from '../../src/core/resources/kinds.js';
import type { Store } from '../../src/ports/store.js';
import { BuiltinSecretProvider, ephemeralKeyring } from '../../src/adapters/secrets/index.js';
import { createApp, type AppDeps } from '../../src/server/app.js';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { createTokenService } from '../../src/server/tokens/service.js';

export const API_VERSION = 'rollgate.dev/v1alpha1';
export const DIGEST = `sha256:${'a'.repeat(64)}`;

/** The smallest valid spec per kind; references point at the objects `seedBase` creates (named "base"). */
export const MINIMAL_SPECS: Record<string, Record<string, unknown>> = {
  Service: { owner: 'team-a', target: { type: 'process', command: 'node app.js' } },
  Environment: {},
  Pipeline: { stages: [{ environment: 'base' }] },
  RolloutStrategy: { canary: { steps: [{ setWeight: 50 }] } },
  AnalysisTemplate: { metrics: [{ name: 'errors', provider: { builtin: { metric: 'errorRate' } } }] },
  Release: { version: '1.0.0' },
  Artifact: { service: 'base', version: '1.0.0', digest: DIGEST },
  Deployment: { service: 'base', environment: 'base', version: '1.0.0' },
  Policy: { severity: 'warn', expression: 'true', message: 'always holds' },
  RiskModel: {},
  User: { groups: ['cab'] },
  Change: { type: 'normal', title: 'minimal change' },
  Window: { type: 'blackout', timeZone: 'Europe/Berlin', from: '2026-12-24T00:00:00+01:00', to: '2026-12-27T00:00:00+01:00' },
};

export const doc = (kind: string, name: string | undefined, spec: Record<string, unknown> = MINIMAL_SPECS[kind]!, metadata: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind,
  metadata: { ...(name === undefined ? {} : { name }), ...metadata },
  spec,
});

/** Base objects in reference order, so every minimal spec's references resolve. */
export const SEED_ORDER = ['Environment', 'AnalysisTemplate', 'RolloutStrategy', 'Service', 'Pipeline', 'Release', 'Artifact', 'Deployment'];

/** Collects log lines in memory. */
export function memoryLog(): { logger: Logger; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), text: () => chunks.join('') };
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestServer {
  store: Store;
  app: ReturnType<typeof createApp>;
  adminToken: string;
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  json<T = any>(method: string, path: string, options?: RequestOptions): Promise<{ status: number; body: T; headers: Headers }>;
  /** Creates a token with `role` through the API and returns its secret. */
  token(name: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

export async function startTestServer(options: { file?: string; logger?: Logger; app?: Partial<AppDeps> } = {}): Promise<TestServer> {
  const store = await openSqliteStore({ file: options.file ?? ':memory:' });
  const logger = options.logger ?? createLogger({ level: 'silent' });
  const adminToken = (await store.transaction((stores) => createTokenService({ now: () => new Date() }).ensureAdminToken(stores)))!;
  const secrets = { kind: 'builtin', provider: new BuiltinSecretProvider({ store, keyring: ephemeralKeyring() }) };
  const app = createApp({ store, logger, secrets, ...options.app });

  const request = (method: string, path: string, { token = adminToken, body, rawBody, headers = {} }: RequestOptions = {}) => {
    const allHeaders: Record<string, string> = { ...headers };
    if (token) allHeaders['authorization'] = `Bearer ${token}`;
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined && !allHeaders['content-type']) allHeaders['content-type'] = 'application/json';
    return Promise.resolve(app.request(path, { method, headers: allHeaders, ...(payload !== undefined ? { body: payload } : {}) }));
  };
  const json = async (method: string, path: string, requestOptions?: RequestOptions) => {
    const response = await request(method, path, requestOptions);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
  };
  return {
    store,
    app,
    adminToken,
    request,
    json,
    async token(name, role) {
      const created = await json('POST', '/api/v1/tokens', { body: { name, role } });
      if (created.status !== 201) throw new Error(`token ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      return created.body.token as string;
    },
    close: () => store.close(),
  };
}

/** Creates one object named `name` of every kind, in reference order. */
export async function seed(server: TestServer, name = 'base'): Promise<void> {
  for (const kind of SEED_ORDER) {
    const plural = kindPlural(kind);
    const response = await server.json('POST', `/api/v1/${plural}`, { body: doc(kind, name) });
    if (response.status !== 201) throw new Error(`seed ${kind}: ${response.status} ${JSON.stringify(response.body)}`);
  }
}

const PLURALS: Record<string, string> = {
  Service: 'services',
  Environment: 'environments',
  Pipeline: 'pipelines',
  RolloutStrategy: 'rolloutstrategies',
  AnalysisTemplate: 'analysistemplates',
  Release: 'releases',
  Artifact: 'artifacts',
  Deployment: 'deployments',
  Window: 'windows',
  Policy: 'policies',
  RiskModel: 'riskmodels',
  User: 'users',
  Change: 'changes',
};
export const kindPlural = (kind: string): string => PLURALS[kind]!;
