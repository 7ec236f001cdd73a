/**
 * The scenario grid of the detector benchmark (issue: "seeded simulation of baseline vs canary
 * traffic"). A scenario fixes the traffic (req/s, canary share), the error rates and latency
 * distribution of both arms, the nuisances, the simulation tick and the number of runs.
 */
import type { LatencyChange, LatencyFamily } from './distributions.js';

export type Overdispersion = 'none' | 'shared' | 'per-arm';

export interface Scenario {
  id: string;
  /** aa: A/A at the headline setting (≥ 2,000 runs); aa-grid: A/A over share × req/s; regression; headline-1s: 1 s ticks. */
  group: 'aa' | 'aa-grid' | 'regression' | 'headline-1s';
  /** true when canary = baseline (a run that alarms is a false alarm). */
  null: boolean;
  family: LatencyFamily;
  change: LatencyChange;
  errorBaseline: number;
  errorCanary: number;
  /** Total requests per second to the service (both arms), before the diurnal swing. */
  rps: number;
  /** Canary's share of requests. */
  share: number;
  /** λ(t) = λ0·(1 + 0.5·sin(2πt/1h + φ)), φ uniform per run; the error rate follows the load. */
  diurnal: boolean;
  /** Error-rate multiplier Gamma(k = 4, 1/4) per minute: one for both arms, or one per arm. */
  overdispersion: Overdispersion;
  /** One 2-minute window (start minute uniform in 2..27) with both arms' error rate ×20 and latency ×2. */
  incident: boolean;
  /** Simulation tick in seconds: the shortest look interval a detector may use. */
  tickSeconds: 1 | 10;
  runs: number;
  horizonSeconds: number;
  /** What counts as a bad canary request before detection: errors, or requests slower than the baseline p99. */
  bad: 'errors' | 'slow' | null;
}

export const HORIZON_SECONDS = 30 * 60;
export const HEADLINE = { rps: 100, share: 0.1 } as const;
export const SHARES = [0.05, 0.1, 0.5] as const;
export const RATES = [10, 100, 1000] as const;
export const BASE_ERROR_RATE = 0.001;
/** Gamma shape of the over-dispersion factor (mean 1, CV 1/√k = 50%). */
export const OVERDISPERSION_SHAPE = 4;
export const INCIDENT = { minutes: 2, errorFactor: 20, latencyFactor: 2 } as const;
export const DIURNAL = { amplitude: 0.5, periodSeconds: 3600 } as const;

export interface Regression {
  key: string;
  family: LatencyFamily;
  change: LatencyChange;
  errorCanary: number;
  bad: 'errors' | 'slow';
}

/** Every regression of the grid. */
export const REGRESSIONS: readonly Regression[] = [
  { key: 'errors 0.1%→0.2%', family: 'lognormal-0.6', change: 'none', errorCanary: 0.002, bad: 'errors' },
  { key: 'errors 0.1%→0.5%', family: 'lognormal-0.6', change: 'none', errorCanary: 0.005, bad: 'errors' },
  ...(['lognormal-0.6', 'lognormal-1.0', 'pareto-tail'] as const).flatMap((family) =>
    (['x1.1', 'x1.5', 'tail1.5'] as const).map((change) => ({
      key: `${family} ${change === 'tail1.5' ? '×1.5 above p98' : change.replace('x', '×')}`,
      family,
      change,
      errorCanary: BASE_ERROR_RATE,
      bad: 'slow' as const,
    })),
  ),
];

const pct = (share: number): string => `${Math.round(share * 100)}%`;

function base(partial: Partial<Scenario> & Pick<Scenario, 'id' | 'group' | 'runs'>): Scenario {
  return {
    null: true,
    family: 'lognormal-0.6',
    change: 'none',
    errorBaseline: BASE_ERROR_RATE,
    errorCanary: BASE_ERROR_RATE,
    rps: HEADLINE.rps,
    share: HEADLINE.share,
    diurnal: false,
    overdispersion: 'none',
    incident: false,
    tickSeconds: 10,
    horizonSeconds: HORIZON_SECONDS,
    bad: null,
    ...partial,
  };
}

export interface GridOptions {
  /** Runs of each A/A scenario at the headline setting (issue: ≥ 2,000). */
  aaRuns: number;
  /** Runs of the combined-nuisance and per-arm over-dispersion A/A scenarios (extra cases). */
  aaExtraRuns: number;
  /** Runs of each regression scenario and of each A/A grid cell (≥ 200). */
  regressionRuns: number;
  /** Runs of the scenarios simulated with 1 s ticks (Rollgate at 1 s): the A/A one, and each regression. */
  headlineAaRuns: number;
  headlineRegressionRuns: number;
}

export function scenarioGrid(options: GridOptions): Scenario[] {
  const scenarios: Scenario[] = [];
  const aa = (id: string, partial: Partial<Scenario>) => scenarios.push(base({ id, group: 'aa', runs: options.aaRuns, ...partial }));
  // (a `runs` in `partial` overrides aaRuns)
  aa('A/A lognormal σ0.6', {});
  aa('A/A lognormal σ1.0', { family: 'lognormal-1.0' });
  aa('A/A Pareto tail', { family: 'pareto-tail' });
  aa('A/A diurnal swing', { diurnal: true });
  aa('A/A over-dispersion (shared)', { overdispersion: 'shared' });
  aa('A/A shared incident', { incident: true });
  aa('A/A all three nuisances', { diurnal: true, overdispersion: 'shared', incident: true, runs: options.aaExtraRuns });
  aa('A/A over-dispersion (per-arm, stress)', { overdispersion: 'per-arm', runs: options.aaExtraRuns });
  for (const share of SHARES) {
    for (const rps of RATES) {
      if (share === HEADLINE.share && rps === HEADLINE.rps) continue;
      scenarios.push(base({ id: `A/A σ0.6 ${pct(share)} @ ${rps}/s`, group: 'aa-grid', runs: options.regressionRuns, share, rps }));
    }
  }
  for (const regression of REGRESSIONS) {
    for (const share of SHARES) {
      for (const rps of RATES) {
        scenarios.push(
          base({
            id: `${regression.key} ${pct(share)} @ ${rps}/s`,
            group: 'regression',
            runs: options.regressionRuns,
            null: false,
            share,
            rps,
            family: regression.family,
            change: regression.change,
            errorCanary: regression.errorCanary,
            bad: regression.bad,
          }),
        );
      }
    }
  }
  if (options.headlineAaRuns > 0) {
    scenarios.push(base({ id: '1s: A/A lognormal σ0.6', group: 'headline-1s', runs: options.headlineAaRuns, tickSeconds: 1 }));
  }
  if (options.headlineRegressionRuns > 0) {
    for (const regression of REGRESSIONS) {
      scenarios.push(
        base({
          id: `1s: ${regression.key}`,
          group: 'headline-1s',
          runs: options.headlineRegressionRuns,
          tickSeconds: 1,
          null: false,
          family: regression.family,
          change: regression.change,
          errorCanary: regression.errorCanary,
          bad: regression.bad,
        }),
      );
    }
  }
  return scenarios;
}
