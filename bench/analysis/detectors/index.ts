/** The detector families each scenario runs. */
import { HEADLINE, type Scenario } from '../scenarios.js';
import { argo } from './argo.js';
import { flagger } from './flagger.js';
import { kayenta } from './kayenta.js';
import { rollgateFamily } from './rollgate.js';
import type { DetectorFamily } from './types.js';

export const ROLLGATE_10S = rollgateFamily(10, 0.05);
export const ROLLGATE_10S_STRICT = rollgateFamily(10, 0.01);
export const ROLLGATE_1S = rollgateFamily(1, 0.05);
export const ROLLGATE_10S_NO_MARGIN = rollgateFamily(10, 0.05, 0);

/** A/A scenarios that also run the tolerance-0 variant (its false alarms, for the comparisons). */
export const NO_MARGIN_AA = ['A/A lognormal σ0.6', 'A/A all three nuisances'];
export const REPLICAS: DetectorFamily[] = [kayenta, flagger, argo];

/**
 * 10 s-tick scenarios: Rollgate at 10 s with α 0.05 (tolerance 0.1); at the headline setting
 * (100 req/s, 10%) α 0.01 too, and tolerance 0 on the regressions and two A/A scenarios.
 * 1 s-tick scenarios: Rollgate at 1 s, α 0.05. All with the replicas at 1 min.
 */
export function familiesForScenario(scenario: Scenario): DetectorFamily[] {
  if (scenario.tickSeconds === 1) return [ROLLGATE_1S, ...REPLICAS];
  const headline = scenario.rps === HEADLINE.rps && scenario.share === HEADLINE.share;
  const noMargin = headline && (!scenario.null || NO_MARGIN_AA.includes(scenario.id));
  return [ROLLGATE_10S, ...(headline ? [ROLLGATE_10S_STRICT] : []), ...(noMargin ? [ROLLGATE_10S_NO_MARGIN] : []), ...REPLICAS];
}

export const ALL_FAMILIES: DetectorFamily[] = [ROLLGATE_10S, ROLLGATE_10S_STRICT, ROLLGATE_10S_NO_MARGIN, ROLLGATE_1S, ...REPLICAS];
