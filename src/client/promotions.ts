/** Client calls for the promotion API (see src/server/promotions/routes.ts). */
import { API_PREFIX } from '../core/api.js';
import {
  driftOverviewSchema,
  environmentDriftSchema,
  gateResultsSchema,
  promotionResultSchema,
  type DriftOverview,
  type EnvironmentDrift,
  type PromotionRequest,
  type PromotionResult,
} from '../core/governance/promotion.js';
import type { GateResult } from '../core/governance/records.js';
import type { Call } from './call.js';
import { ApiError } from './errors.js';

export type { DriftOverview, EnvironmentDrift, PromotionRequest, PromotionResult } from '../core/governance/promotion.js';

const segment = encodeURIComponent;

/**
 * The gates of a refused promotion or Deployment (409 `gate-refused`), read from the problem body;
 * null for any other error.
 */
export function refusedGates(error: unknown): GateResult[] | null {
  if (!(error instanceof ApiError) || error.status !== 409 || !error.problem.type.endsWith('/gate-refused')) return null;
  const parsed = gateResultsSchema.safeParse(error.problem.gates ?? []);
  return parsed.success ? parsed.data : null;
}

export function promotionsApi(call: Call) {
  /** The drift report of one environment, or of every environment when none is given. */
  function drift(): Promise<DriftOverview>;
  function drift(environment: string): Promise<EnvironmentDrift>;
  function drift(environment?: string): Promise<DriftOverview | EnvironmentDrift>;
  function drift(environment?: string): Promise<DriftOverview | EnvironmentDrift> {
    return environment === undefined
      ? call('GET', `${API_PREFIX}/drift`, driftOverviewSchema)
      : call('GET', `${API_PREFIX}/environments/${segment(environment)}/drift`, environmentDriftSchema);
  }

  return {
    /**
     * Promotes `release` into `input.environment`. A gate that denies or is pending makes it throw
     * ApiError 409 whose problem carries every gate (`refusedGates(error)`).
     */
    async promote(release: string, input: PromotionRequest): Promise<PromotionResult> {
      return call('POST', `${API_PREFIX}/releases/${segment(release)}/promotions`, promotionResultSchema, { body: input });
    },
    drift,
  };
}
export type PromotionsApi = ReturnType<typeof promotionsApi>;
