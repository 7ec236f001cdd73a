import { CALENDAR_FIXTURES } from './calendar.js';
import { CHANGES_FIXTURES } from './changes.js';
import { POLICIES_FIXTURES } from './policies.js';
import { PROMOTIONS_FIXTURES } from './promotions.js';
import { RELEASES_FIXTURES } from './releases.js';
import { SECRETS_FIXTURES } from './secrets.js';
import type { RbacFixture } from './types.js';
import { USERS_FIXTURES } from './users.js';

export type { RbacFixture } from './types.js';
export const RBAC_FIXTURES: RbacFixture[] = [...CHANGES_FIXTURES, ...RELEASES_FIXTURES, ...USERS_FIXTURES, ...CALENDAR_FIXTURES, ...POLICIES_FIXTURES, ...PROMOTIONS_FIXTURES, ...SECRETS_FIXTURES];
