/**
 * Client calls for identities (see src/server/users/routes.ts and docs/governance.md,
 * "Identities"). `whoami` and `groups` have routes of their own; users are ordinary `User`
 * objects, so create/list/get/setGroups go through the generic objects API (`/api/v1/users`).
 */
import { z } from 'zod';
import { API_PREFIX, roleSchema } from '../core/api.js';
import { API_VERSION } from '../core/resources/common.js';
import type { Call } from './call.js';
import { ApiError } from './errors.js';

const USERS = `${API_PREFIX}/users`;
const userPath = (name: string) => `${USERS}/${encodeURIComponent(name)}`;

/** Mirrors the server's response; parsed here because the client imports only core. */
const whoamiSchema = z.object({
  user: z.string(),
  groups: z.array(z.string()),
  role: roleSchema,
  token: z.string(),
  actor: z.string(),
});
export type Whoami = z.infer<typeof whoamiSchema>;

const groupSchema = z.object({ name: z.string(), members: z.array(z.string()) });
export type Group = z.infer<typeof groupSchema>;
const groupListSchema = z.object({ items: z.array(groupSchema) });

/** Loose so that fields a newer server adds survive a read-modify-write (setGroups). */
const userSpecWireSchema = z.looseObject({
  displayName: z.string().optional(),
  email: z.string().optional(),
  groups: z.array(z.string()).default([]),
});

const userObjectSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.literal('User'),
  metadata: z.looseObject({
    name: z.string(),
    labels: z.record(z.string(), z.string()).default({}),
    annotations: z.record(z.string(), z.string()).default({}),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  }),
  spec: userSpecWireSchema,
  status: z.record(z.string(), z.unknown()).nullable().default(null),
});
/** A `User` object as the API returns it. */
export type UserObject = z.infer<typeof userObjectSchema>;
const userPageSchema = z.object({ items: z.array(userObjectSchema), nextCursor: z.string().nullable().default(null) });

export interface NewUser {
  groups?: string[];
  displayName?: string;
  email?: string;
}

/** A new group list, or how to compute it from the current one (re-run if another writer got there first). */
export type GroupsUpdate = string[] | ((current: string[]) => string[]);

/** How often setGroups re-reads and retries after a concurrent write (409). */
const SET_GROUPS_ATTEMPTS = 3;
const USER_PAGE_SIZE = 500;

const unique = (groups: string[]): string[] => [...new Set(groups)];

export function usersApi(call: Call) {
  async function get(name: string): Promise<UserObject | null> {
    try {
      return await call('GET', userPath(name), userObjectSchema);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return null;
      throw error;
    }
  }

  return {
    /** Who the client's token acts for: user, groups, role, token name and audit actor. */
    whoami(): Promise<Whoami> {
      return call('GET', `${API_PREFIX}/whoami`, whoamiSchema);
    },

    /** Every group some User is in, with its members, sorted by name. */
    async groups(): Promise<Group[]> {
      return (await call('GET', `${API_PREFIX}/groups`, groupListSchema)).items;
    },

    /** Creates a User (admin). Not safe to repeat: a second call fails with ApiError 409. */
    create(name: string, user: NewUser = {}): Promise<UserObject> {
      const spec = {
        groups: unique(user.groups ?? []),
        ...(user.displayName !== undefined && { displayName: user.displayName }),
        ...(user.email !== undefined && { email: user.email }),
      };
      return call('POST', USERS, userObjectSchema, { body: { apiVersion: API_VERSION, kind: 'User', metadata: { name }, spec } });
    },

    /** Every User, by name, following the pages to the end. */
    async list(): Promise<UserObject[]> {
      const users: UserObject[] = [];
      let cursor: string | undefined;
      do {
        const page = await call('GET', USERS, userPageSchema, { query: { limit: USER_PAGE_SIZE, cursor } });
        users.push(...page.items);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return users;
    },

    /** null: no User of that name. */
    get,

    /**
     * Replaces the user's groups, keeping the rest of the User. Writes with the version it read,
     * so a concurrent edit is never overwritten: on 409 it reads again and (for a function)
     * recomputes. Throws ApiError 404 when there is no such User. Safe to repeat with a list.
     */
    async setGroups(name: string, groups: GroupsUpdate): Promise<UserObject> {
      for (let attempt = 1; ; attempt += 1) {
        const current = await get(name);
        if (!current) {
          throw new ApiError(404, { type: 'about:blank', title: 'Not Found', status: 404, detail: `User "${name}" not found` }, `GET ${userPath(name)}`);
        }
        const next = unique(typeof groups === 'function' ? groups(current.spec.groups) : groups);
        const { labels, annotations, version } = current.metadata;
        const body = { apiVersion: current.apiVersion, kind: 'User', metadata: { name, labels, annotations, version }, spec: { ...current.spec, groups: next } };
        try {
          return await call('PUT', userPath(name), userObjectSchema, { body });
        } catch (error) {
          const staleVersion = error instanceof ApiError && error.status === 409 && error.problem.type.endsWith('/conflict');
          if (!staleVersion || attempt >= SET_GROUPS_ATTEMPTS) throw error;
        }
      }
    },
  };
}
export type UsersApi = ReturnType<typeof usersApi>;
