import type { RbacFixture } from './types.js';

/** RBAC walk fixtures for the policies routes. */
export const POLICIES_FIXTURES: RbacFixture[] = [
  {
    // A dry run over the seeded `base` environment and release: any role may ask.
    method: 'POST',
    path: '/api/v1/policies/evaluate',
    async prepare() {
      return { path: '/api/v1/policies/evaluate', body: { environment: 'base', release: 'base' } };
    },
  },
];
