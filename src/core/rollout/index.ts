/** The pure rollout state machine: decide(), its types, the plan resolver and measurement scheduling. */
export * from './types.js';
export { decide, HISTORY_LIMIT, MAX_RUNS_KEPT, POLL_MS, REASSERT_MS } from './decide.js';
export { dueMeasurements, type DueMeasurement } from './due.js';
export { buildPlan, expandCanarySteps, PREVIEW_HEADER_ROUTE, ROLLOUT_DEFAULTS, type Plan, type PlanResult, type PlanStep } from './plan.js';
export { parseRolloutStatus, rolloutStatusSchema } from './status-schema.js';
export * from './deployment-status.js';
