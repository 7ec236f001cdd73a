/**
 * The kinds' names, URL plurals and the roles, without their spec schemas. kinds.ts imports every
 * spec (semver, CEL checks, luxon, ...); the typed client and the web UI only need these constants,
 * so they import this file and the browser's entry chunk stays free of those libraries.
 * kinds.ts re-exports everything here, so server code keeps importing from kinds.ts.
 */

/** URL segment and CLI noun of each kind (`/api/v1/services`, `rollgate get services`), in KIND_NAMES order. */
export const KIND_PLURALS = {
  Service: 'services',
  Environment: 'environments',
  Pipeline: 'pipelines',
  RolloutStrategy: 'rolloutstrategies',
  AnalysisTemplate: 'analysistemplates',
  Window: 'windows',
  Policy: 'policies',
  RiskModel: 'riskmodels',
  User: 'users',
  Change: 'changes',
  Release: 'releases',
  Artifact: 'artifacts',
  Deployment: 'deployments',
} as const;

export type KindName = keyof typeof KIND_PLURALS;
export const KIND_NAMES = Object.keys(KIND_PLURALS) as KindName[];

export type Role = 'viewer' | 'deployer' | 'approver' | 'admin';
/** Lowest to highest: each role may do what the ones before it may. */
export const ROLES: readonly Role[] = ['viewer', 'deployer', 'approver', 'admin'];
export const roleAtLeast = (role: Role, needed: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(needed);
