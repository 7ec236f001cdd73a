import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the policies routes. */
export const POLICIES_FIXTURES: RbacFixture[] = [];
