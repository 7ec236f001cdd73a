/**
 * Aggregated-window traffic simulation: per second and arm, requests ~ Poisson(λ(t)·share) and
 * errors ~ Binomial(requests, p(t)); per tick and arm, the latency histogram over
 * FINE_LATENCY_BOUNDS ~ Multinomial(requests of the tick, bucket probabilities). Latency is
 * independent of errors. No individual request is simulated, so a 30-minute run at 1,000 req/s
 * costs a few thousand draws.
 *
 * Nuisances (both arms alike unless said otherwise):
 * - diurnal: λ(t) = λ0·(1 + 0.5·sin(2πt/3600 + φ)), φ uniform per run; p(t) scales with the same
 *   factor (errors grow with load). The period is compressed to 1 h so the swing matters in 30 min.
 * - over-dispersion: p multiplied by a Gamma(4, 1/4) factor drawn per minute, one factor shared by
 *   both arms (`shared`) or one per arm (`per-arm`, a stress case: the arms then differ by chance
 *   more than Poisson noise, which no detector that compares the arms can tell from a regression).
 * - incident: both arms' error rate ×20 and latency ×2 during 2 minutes starting at a minute drawn
 *   uniformly from 2..27.
 */
import { AliasTable, Rng } from './rng.js';
import { BUCKETS, bucketProbabilities, changedCdf, scaled, slowBucketFrom, type Cdf } from './distributions.js';
import { DIURNAL, INCIDENT, OVERDISPERSION_SHAPE, type Scenario } from './scenarios.js';

// Local copies: imported bindings are getters under tsx, too slow for the inner loops.
const NB: number = BUCKETS;

export interface ArmWindow {
  requests: number;
  errors: number;
  /** Latency histogram over FINE_LATENCY_BOUNDS (BUCKETS entries, the last one the overflow). */
  counts: number[];
  /** Requests slower than the baseline's true p99 (bucket resolution). */
  slow: number;
}

export interface Window {
  /** Seconds since the canary started: [startSec, endSec). */
  startSec: number;
  endSec: number;
  baseline: ArmWindow;
  canary: ArmWindow;
}

/** A distribution ready to draw histograms from. */
export class BucketTable {
  readonly probabilities: Float64Array;
  readonly alias: AliasTable;
  /** Bucket indices by decreasing probability (buckets with probability 0 left out). */
  readonly order: Int32Array;
  /** probabilities[order[j]] + … + probabilities[order[last]]: the mass not yet assigned before j. */
  readonly remaining: Float64Array;

  constructor(cdf: Cdf) {
    this.probabilities = bucketProbabilities(cdf);
    this.alias = new AliasTable(this.probabilities);
    const indices = Array.from({ length: BUCKETS }, (_, i) => i).filter((i) => this.probabilities[i]! > 0);
    indices.sort((a, b) => this.probabilities[b]! - this.probabilities[a]!);
    this.order = Int32Array.from(indices);
    this.remaining = new Float64Array(indices.length);
    let tail = 0;
    for (let j = indices.length - 1; j >= 0; j--) {
      tail += this.probabilities[indices[j]!]!;
      this.remaining[j] = tail;
    }
  }

  /** Adds a Multinomial(n, probabilities) draw to `counts`: n alias draws when n is small, else conditional binomials. */
  drawInto(rng: Rng, n: number, counts: number[]): void {
    if (n <= 0) return;
    if (n <= 200) {
      for (let k = 0; k < n; k++) counts[this.alias.draw(rng)]! += 1;
      return;
    }
    let left = n;
    const last = this.order.length - 1;
    for (let j = 0; j < last && left > 0; j++) {
      const index = this.order[j]!;
      const p = Math.min(1, this.probabilities[index]! / this.remaining[j]!);
      const drawn = rng.binomial(left, p);
      counts[index]! += drawn;
      left -= drawn;
    }
    if (left > 0) counts[this.order[last]!]! += left;
  }
}

/** Everything a scenario's runs share: the four distributions (normal / incident, per arm). */
export interface PreparedScenario {
  scenario: Scenario;
  baseline: BucketTable;
  canary: BucketTable;
  baselineIncident: BucketTable;
  canaryIncident: BucketTable;
  slowFrom: number;
}

export function prepareScenario(scenario: Scenario): PreparedScenario {
  const baselineCdf = changedCdf(scenario.family, 'none');
  const canaryCdf = changedCdf(scenario.family, scenario.change);
  return {
    scenario,
    baseline: new BucketTable(baselineCdf),
    canary: new BucketTable(canaryCdf),
    baselineIncident: new BucketTable(scaled(baselineCdf, INCIDENT.latencyFactor)),
    canaryIncident: new BucketTable(scaled(canaryCdf, INCIDENT.latencyFactor)),
    slowFrom: slowBucketFrom(scenario.family),
  };
}

export const emptyArm = (): ArmWindow => ({ requests: 0, errors: 0, counts: new Array<number>(NB).fill(0), slow: 0 });

/** Adds `from` into `into` (window aggregation). */
export function addArm(into: ArmWindow, from: ArmWindow): void {
  into.requests += from.requests;
  into.errors += from.errors;
  into.slow += from.slow;
  const a = into.counts;
  const b = from.counts;
  for (let i = 0; i < NB; i++) a[i]! += b[i]!;
}

/** One run's traffic, tick by tick. */
export class TrafficRun {
  private readonly rng: Rng;
  private second = 0;
  private readonly phase: number;
  private readonly incidentStart: number;
  private minute = -1;
  private odBaseline = 1;
  private odCanary = 1;

  constructor(
    private readonly prepared: PreparedScenario,
    rng: Rng,
  ) {
    this.rng = rng;
    this.phase = prepared.scenario.diurnal ? 2 * Math.PI * rng.uniform() : 0;
    this.incidentStart = prepared.scenario.incident ? 60 * (2 + Math.floor(rng.uniform() * 26)) : -1;
  }

  get seconds(): number {
    return this.second;
  }

  private inIncident(second: number): boolean {
    return this.incidentStart >= 0 && second >= this.incidentStart && second < this.incidentStart + 60 * INCIDENT.minutes;
  }

  /** The next tick (scenario.tickSeconds long). Tick boundaries divide minutes, so the incident state is constant in a tick. */
  nextTick(): Window {
    const { scenario } = this.prepared;
    const rng = this.rng;
    const start = this.second;
    const baseline = emptyArm();
    const canary = emptyArm();
    for (let s = 0; s < scenario.tickSeconds; s++) {
      const t = start + s;
      const minute = Math.floor(t / 60);
      if (minute !== this.minute) {
        this.minute = minute;
        if (scenario.overdispersion === 'shared') {
          this.odBaseline = this.odCanary = rng.gamma(OVERDISPERSION_SHAPE, 1 / OVERDISPERSION_SHAPE);
        } else if (scenario.overdispersion === 'per-arm') {
          this.odBaseline = rng.gamma(OVERDISPERSION_SHAPE, 1 / OVERDISPERSION_SHAPE);
          this.odCanary = rng.gamma(OVERDISPERSION_SHAPE, 1 / OVERDISPERSION_SHAPE);
        }
      }
      const load = scenario.diurnal ? 1 + DIURNAL.amplitude * Math.sin((2 * Math.PI * (t + 0.5)) / DIURNAL.periodSeconds + this.phase) : 1;
      const incident = this.inIncident(t) ? INCIDENT.errorFactor : 1;
      const lambda = scenario.rps * load;
      const nb = rng.poisson(lambda * (1 - scenario.share));
      const nc = rng.poisson(lambda * scenario.share);
      baseline.requests += nb;
      canary.requests += nc;
      baseline.errors += rng.binomial(nb, Math.min(1, scenario.errorBaseline * load * this.odBaseline * incident));
      canary.errors += rng.binomial(nc, Math.min(1, scenario.errorCanary * load * this.odCanary * incident));
    }
    const incident = this.inIncident(start);
    const p = this.prepared;
    (incident ? p.baselineIncident : p.baseline).drawInto(rng, baseline.requests, baseline.counts);
    (incident ? p.canaryIncident : p.canary).drawInto(rng, canary.requests, canary.counts);
    for (let i = p.slowFrom; i < NB; i++) {
      baseline.slow += baseline.counts[i]!;
      canary.slow += canary.counts[i]!;
    }
    this.second = start + scenario.tickSeconds;
    return { startSec: start, endSec: this.second, baseline, canary };
  }
}
