import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the calendar routes. */
export const CALENDAR_FIXTURES: RbacFixture[] = [];
