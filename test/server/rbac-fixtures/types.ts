import type { TestServer } from '../helpers.js';

/**
 * How the RBAC walk (test/server/rbac.test.ts) calls a workflow route whose success needs a
 * prepared state: `prepare` runs before each call (once per role) and returns the concrete path and
 * body. Every role the route allows must get a 2xx with it; the walk sends it with each role's token.
 * The walk's tokens are named `as-viewer`, `as-deployer`, `as-approver` and the admin token `admin`.
 */
export interface RbacFixture {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** OpenAPI form, e.g. `/api/v1/changes/{name}/approvals`. */
  path: string;
  prepare(server: TestServer, unique: string): Promise<{ path: string; body?: unknown }>;
}
