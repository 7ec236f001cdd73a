/** Kayenta's NetflixACAJudge pieces, usable on plain number arrays (benchmarks, replays). */
export { normalCdf, normalQuantile, normalSf } from './normal.js';
export { mannWhitneyTest, wilcoxonAt, wilcoxonDiff, MannWhitneyError, type MannWhitneyResult, type WilcoxonAt } from './mann-whitney.js';
export {
  classifyMannWhitney,
  handleNaNs,
  meanRatio,
  NOISE_SEED,
  type Classification,
  type ClassifierConfig,
  type Direction,
  type MetricClassification,
  type NanStrategy,
} from './classifier.js';
export { scoreTemplate, NODATA_THRESHOLD, type ScoreEntry, type ScoreOptions, type TemplateScoreResult } from './score.js';
export { mannWhitneyJudge, pointOf, readState, latencyField, round4, MAX_POINTS, type MannWhitneyState } from './judge.js';
export { gaussian, mulberry32 } from './random.js';
