/**
 * Walks every operation in the published OpenAPI document and checks it against the permission
 * its route declares (src/server/route.ts). A new route is walked automatically; if the walk
 * does not know how to build its path or body, the test fails and says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kindFromNoun, ROLES, roleAtLeast, type Role } from '../../src/core/resources/kinds.js';
import { PERMISSION_EXTENSION, routeTable, type DeclaredRoute } from '../../src/server/route.js';
import { doc, kindPlural, seed, startTestServer, type TestServer } from './helpers.js';
import { RBAC_FIXTURES } from './rbac-fixtures/index.js';

interface Operation {
  method: string;
  path: string;
  declared: DeclaredRoute;
  hasBody: boolean;
  permissionInDoc: unknown;
}

let server: TestServer;
let operations: Operation[];
const tokens = {} as Record<Role, string>;
let revoked: string;
let counter = 0;

beforeAll(async () => {
  server = await startTestServer();
  await seed(server);
  for (const role of ROLES) tokens[role] = role === 'admin' ? server.adminToken : await server.token(`as-${role}`, role);
  revoked = await server.token('revoked', 'admin');
  expect((await server.json('DELETE', '/api/v1/tokens/revoked')).status).toBe(200);

  const table = routeTable(server.app);
  const openapi = (await server.json('GET', '/api/openapi.json', { token: null })).body;
  operations = Object.entries(openapi.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => {
      const declared = table.find((route) => route.path === path && route.method === method.toUpperCase());
      if (!declared) throw new Error(`${method.toUpperCase()} ${path} is in the OpenAPI document but not in the route table`);
      return { method: method.toUpperCase(), path, declared, hasBody: operation.requestBody !== undefined, permissionInDoc: operation[PERMISSION_EXTENSION] };
    }),
  );
});

afterAll(() => server.close());

/**
 * A Deployment of its own new service: a service has at most one active rollout per environment,
 * so every Deployment the walk creates needs a service of its own.
 */
async function deploymentDoc(name: string) {
  const service = await server.json('POST', '/api/v1/services', { body: doc('Service', name) });
  expect(service.status, JSON.stringify(service.body)).toBe(201);
  return doc('Deployment', name, { service: name, version: '1.0.0' });
}

/** An object (or token) that exists and that nothing refers to, so the operation can succeed on it. */
async function prepareTarget(path: string): Promise<string> {
  const name = `t-${++counter}`;
  // `/{plural}/{name}`, or a sub-resource such as `/deployments/{name}/operations`.
  const match = /^\/api\/v1\/([a-z]+)\/\{name\}(?:\/([a-z]+))?$/.exec(path);
  if (!match) throw new Error(`the RBAC walk does not know how to fill the path parameters of ${path}`);
  if (match[1] === 'tokens') {
    await server.token(name, 'viewer');
    return name;
  }
  const kind = kindFromNoun(match[1]!);
  if (!kind) throw new Error(`no kind for ${path}`);
  const body = kind.kind === 'Deployment' ? await deploymentDoc(name) : doc(kind.kind, name);
  const created = await server.json('POST', `/api/v1/${kind.plural}`, { body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  // A service's rollout routes need a Deployment of it.
  if (kind.kind === 'Service' && (match[2] === 'rollout' || match[2] === 'rollouts')) {
    const deployment = await server.json('POST', '/api/v1/deployments', { body: doc('Deployment', name, { service: name, version: '1.0.0' }) });
    expect(deployment.status, JSON.stringify(deployment.body)).toBe(201);
  }
  return name;
}

/** A valid minimal body for the operation. */
async function bodyFor(operation: Operation, name: string): Promise<unknown> {
  const { method, path } = operation;
  const objects = /^\/api\/v1\/([a-z]+)(\/\{name\})?$/.exec(path);
  const kind = objects ? kindFromNoun(objects[1]!) : null;
  if (kind?.kind === 'Deployment' && method === 'POST') return deploymentDoc(`c-${++counter}`);
  // prepareTarget made a service of the same name for it.
  if (kind?.kind === 'Deployment' && method === 'PUT') return doc('Deployment', name, { service: name, version: '1.0.0' }, { labels: { touched: 'yes' } });
  if (kind && method === 'POST') return doc(kind.kind, `c-${++counter}`);
  if (kind && method === 'PUT') return doc(kind.kind, name, undefined, { labels: { touched: 'yes' } });
  if (path === '/api/v1/apply') return { documents: [doc('Release', `c-${++counter}`)] };
  if (path === '/api/v1/tokens' && method === 'POST') return { name: `c-${++counter}`, role: 'viewer' };
  if (path === '/api/v1/deployments/{name}/operations') return { type: 'pause', reason: 'rbac walk' };
  throw new Error(`the RBAC walk has no request body for ${method} ${path}; add one to bodyFor()`);
}

async function call(operation: Operation, token: string | null): Promise<number> {
  const fixture = RBAC_FIXTURES.find((candidate) => candidate.method === operation.method && candidate.path === operation.path);
  let path: string;
  let body: unknown;
  if (fixture) {
    ({ path, body } = await fixture.prepare(server, `f-${++counter}`));
  } else {
    const name = operation.path.includes('{name}') ? await prepareTarget(operation.path) : '';
    path = operation.path.replace('{name}', name);
    body = operation.hasBody ? await bodyFor(operation, name) : undefined;
  }
  const response = await server.request(operation.method, path, { token, body });
  // SSE never ends by itself; the status is all this walk needs.
  await response.body?.cancel();
  return response.status;
}

describe('RBAC walk over the OpenAPI document', () => {
  it('documents every declared route, with its permission', () => {
    const table = routeTable(server.app);
    expect(operations.length).toBe(table.length);
    expect(operations.length).toBeGreaterThan(40);
    for (const operation of operations) expect(operation.permissionInDoc, `${operation.method} ${operation.path}`).toBe(operation.declared.permission);
    // Sanity: the walk covers every kind's five routes plus the fixed ones.
    expect(operations.filter((operation) => operation.path === `/api/v1/${kindPlural('Service')}/{name}`).map((o) => o.method).sort()).toEqual(['DELETE', 'GET', 'PUT']);
  });

  it('answers each operation as its declared permission says', async () => {
    const failures: string[] = [];
    const expectStatus = (operation: Operation, who: string, status: number, expected: (status: number) => boolean, label: string) => {
      if (!expected(status)) failures.push(`${operation.method} ${operation.path} as ${who}: got ${status}, expected ${label}`);
    };
    for (const operation of operations) {
      const permission = operation.declared.permission;
      if (permission === 'public') {
        expectStatus(operation, 'anonymous', await call(operation, null), (s) => s >= 200 && s < 300, '2xx');
        continue;
      }
      expectStatus(operation, 'anonymous', await call(operation, null), (s) => s === 401, '401');
      expectStatus(operation, 'revoked admin', await call(operation, revoked), (s) => s === 401, '401');
      for (const role of ROLES) {
        const allowed = roleAtLeast(role, permission);
        const status = await call(operation, tokens[role]);
        expectStatus(operation, role, status, allowed ? (s) => s >= 200 && s < 300 : (s) => s === 403, allowed ? '2xx' : '403');
      }
    }
    expect(failures).toEqual([]);
  });

  it('refuses to build an app with a route registered without a permission', async () => {
    const { createApp } = await import('../../src/server/app.js');
    const { OpenAPIHono } = await import('@hono/zod-openapi');
    const { assertEveryRouteDeclared } = await import('../../src/server/route.js');
    const app = createApp({ store: server.store, logger: (await import('../../src/server/logger.js')).createLogger({ level: 'silent' }) });
    app.get('/api/v1/sneaky', (c) => c.text('hi'));
    expect(() => assertEveryRouteDeclared(app)).toThrow(/sneaky/);
    const bare = new OpenAPIHono();
    const { createRoute, z } = await import('@hono/zod-openapi');
    bare.openapi(createRoute({ method: 'get', path: '/x', responses: { 200: { description: 'x', content: { 'application/json': { schema: z.object({}) } } } } }), (c) => c.json({}, 200));
    expect(() => assertEveryRouteDeclared(bare as never)).toThrow(/without secureRoute/);
  });
});
