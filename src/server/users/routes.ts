/**
 * Identity routes (docs/governance.md, "Identities"). Users themselves are written through the
 * generic objects API (`/api/v1/users`, admin); these routes answer who the caller is and which
 * groups exist, for the CLI and for the approval UI to show who can approve.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { API_PREFIX, roleSchema } from '../../core/api.js';
import type { Stores } from '../../ports/store.js';
import { groupsOf } from '../auth/principal.js';
import type { AppEnv } from '../context.js';
import type { GovernanceRouteDeps } from '../governance-deps.js';
import { secureRoute } from '../route.js';

const tags = ['Users'];

export const whoamiSchema = z.object({
  /** The user the token acts for (the token's own name when it belongs to no User). */
  user: z.string(),
  /** The user's groups; empty for a token that belongs to no User. */
  groups: z.array(z.string()),
  role: roleSchema,
  /** The token's name. */
  token: z.string(),
  /** How audit events name the caller: `user:<user>` or `token:<token>`. */
  actor: z.string(),
});

export const groupListSchema = z.object({
  /** Every group some User is in, by name; members by user name. */
  items: z.array(z.object({ name: z.string(), members: z.array(z.string()) })),
});
export type GroupList = z.infer<typeof groupListSchema>;

export const whoamiRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/whoami`,
  operationId: 'whoami',
  tags,
  summary: 'The caller: user, groups, role, token and audit actor',
  responses: { 200: { description: 'Who the bearer token identifies', content: { 'application/json': { schema: whoamiSchema } } } },
});

export const listGroupsRoute = secureRoute({
  permission: 'viewer',
  method: 'get',
  path: `${API_PREFIX}/groups`,
  operationId: 'listGroups',
  tags,
  summary: 'Every group with its members (from the User objects)',
  responses: { 200: { description: 'Groups by name', content: { 'application/json': { schema: groupListSchema } } } },
});

/** Users are few; a page this size keeps the walk to one query in practice. */
const USER_PAGE_SIZE = 1000;

/** Groups and their members from every User, both sorted by name (code point, like the store). */
export async function listGroups(stores: Pick<Stores, 'objects'>): Promise<GroupList['items']> {
  const members = new Map<string, string[]>();
  let cursor: string | undefined;
  do {
    const page = await stores.objects.list('User', { limit: USER_PAGE_SIZE, ...(cursor ? { cursor } : {}) });
    for (const user of page.items) {
      for (const group of groupsOf(user.spec)) members.set(group, [...(members.get(group) ?? []), user.name]);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return [...members.keys()].sort().map((name) => ({ name, members: members.get(name)! }));
}

export function registerUsersRoutes(app: OpenAPIHono<AppEnv>, deps: GovernanceRouteDeps): void {
  app.openapi(whoamiRoute, (c) => {
    const { user, groups, role, tokenName, actor } = c.var.principal;
    return c.json({ user, groups, role, token: tokenName, actor }, 200);
  });
  app.openapi(listGroupsRoute, async (c) => c.json({ items: await listGroups(deps.store.read) }, 200));
}
