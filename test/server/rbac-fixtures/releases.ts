import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the releases routes. */
export const RELEASES_FIXTURES: RbacFixture[] = [];
