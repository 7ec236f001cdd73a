/** Canary analysis: CEL threshold conditions, judges and analysis runs (pure). */
export * from './types.js';
export { checkCelExpression, compileCondition, latencyQuantile, measurementBindings, sampleToCel, SAMPLE_FIELDS, type CelReferences, type CompiledCondition } from './cel.js';
export {
  checkAnalysisTemplate,
  DEFAULT_JUDGE,
  judgeFor,
  metricJudgeConfigs,
  JUDGES,
  thresholdJudge,
  type AnalysisJudge,
  type FieldProblem,
  type JudgeInput,
  type JudgeVerdict,
} from './judge.js';
export {
  acknowledgeRun,
  ANALYSIS_DEFAULTS,
  createRun,
  dueMetrics,
  evaluateMetric,
  evaluateRun,
  MAX_MEASUREMENTS_KEPT,
  metricKey,
  metricSettings,
  nextDueAt,
  recordMeasurement,
  runWaitsOnNoData,
  stopRun,
  type CreateRunInput,
  type MeasurementResult,
} from './run.js';
export * from './histogram.js';
