import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the users routes. */
export const USERS_FIXTURES: RbacFixture[] = [];
