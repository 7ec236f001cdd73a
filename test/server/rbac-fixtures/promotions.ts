import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the promotion routes. */
export const PROMOTIONS_FIXTURES: RbacFixture[] = [];
