/**
 * Resolves a RolloutSpec into the plan decide() walks: a flat list of steps (canary steps, the
 * Flagger forms expanded, or blue-green as steps), background analysis and the timing settings.
 */
import { checkAnalysisTemplate } from '../analysis/judge.js';
import { analysisTemplateSpecSchema, type AnalysisTemplateSpec } from '../resources/analysis-template.js';
import { durationToMs } from '../resources/common.js';
import { rolloutStrategySpecSchema, templateRefName, type CanaryStep, type RolloutStrategySpec, type TemplateRef } from '../resources/rollout-strategy.js';
import type { HeaderRoute, RolloutSpec, StrategyKind } from './types.js';

/** Defaults for strategy fields left out. */
export const ROLLOUT_DEFAULTS = {
  /** Argo Rollouts' default. */
  progressDeadlineSeconds: 600,
  /** Rollgate aborts by default (Argo only marks the rollout degraded). */
  progressDeadlineAbort: true,
  /** Argo Rollouts' default. */
  scaleDownDelaySeconds: 30,
  /** Flagger's `maxWeight` when only `stepWeight` is given. */
  maxWeight: 100,
  /** Argo Rollouts' default: promote as soon as the preview is ready and pre-promotion analysis passed. */
  autoPromotionEnabled: true,
} as const;

/** The header that reaches the blue-green preview. */
export const PREVIEW_HEADER_ROUTE: HeaderRoute = { name: 'rollgate-preview', match: [{ headerName: 'x-rollgate-preview', exact: 'true' }] };

type CanarySpec = NonNullable<RolloutStrategySpec['canary']>;
type AnalysisRef = { templates: TemplateRef[]; args?: Array<{ name: string; value: string }> };

export type PlanStep =
  | { kind: 'setWeight'; weight: number; label: string }
  | { kind: 'setHeaderRoute'; route: HeaderRoute | null; label: string }
  /** durationMs null: until `promote`. `gate`: the blue-green promotion gate. */
  | { kind: 'pause'; durationMs: number | null; gate: boolean; label: string }
  | {
      kind: 'analysis';
      runKind: 'step' | 'prePromotion' | 'postPromotion';
      templates: string[];
      args: Record<string, string>;
      /** Flagger `threshold` − 1, overriding the metrics' failureLimit. */
      failureLimit?: number;
      label: string;
    };

export interface Plan {
  kind: StrategyKind;
  steps: PlanStep[];
  /** Canary background analysis (explicit `steps` form only). */
  background: { templates: string[]; args: Record<string, string>; startingStep: number } | null;
  progressDeadlineMs: number;
  progressDeadlineAbort: boolean;
  scaleDownDelayMs: number;
  /** Instances of the new version at full traffic. */
  replicas: number;
  /** Instances of the new version before it takes full traffic (blue-green previewReplicaCount). */
  previewReplicas: number;
  /** The referenced AnalysisTemplates, validated (defaults applied), by name. */
  templates: Record<string, AnalysisTemplateSpec>;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; error: string };

/**
 * Flagger's forms as Argo steps: each weight of `stepWeights`, or `stepWeight`, 2×`stepWeight`, …
 * capped at `maxWeight` (default 100), becomes `setWeight` followed by an `analysis` step with the
 * templates of `canary.analysis` (when given). Explicit `steps` are returned as they are.
 * A `stepWeight` ≤ 0 yields no steps (validation rejects it).
 */
export function expandCanarySteps(canary: Pick<CanarySpec, 'steps' | 'stepWeights' | 'stepWeight' | 'maxWeight' | 'analysis'>): CanaryStep[] {
  if (canary.steps) return canary.steps;
  const weights: number[] = [];
  if (canary.stepWeights) {
    weights.push(...canary.stepWeights);
  } else if (canary.stepWeight !== undefined && canary.stepWeight > 0) {
    const max = Math.min(100, canary.maxWeight ?? ROLLOUT_DEFAULTS.maxWeight);
    for (let weight = canary.stepWeight; ; weight += canary.stepWeight) {
      if (weight >= max) {
        weights.push(max);
        break;
      }
      weights.push(weight);
    }
  }
  const analysis = canary.analysis
    ? { templates: canary.analysis.templates, ...(canary.analysis.args ? { args: canary.analysis.args } : {}) }
    : null;
  return weights.flatMap((weight): CanaryStep[] => (analysis ? [{ setWeight: weight }, { analysis }] : [{ setWeight: weight }]));
}

const issuePath = (path: ReadonlyArray<PropertyKey>): string => path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('').replace(/^\./, '');

/** Validates the spec and resolves the plan; never throws. */
export function buildPlan(spec: RolloutSpec): PlanResult {
  try {
    return buildPlanUnsafe(spec);
  } catch (error) {
    return { ok: false, error: `invalid rollout spec: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function buildPlanUnsafe(spec: RolloutSpec): PlanResult {
  const parsed = rolloutStrategySpecSchema.safeParse(spec.strategy);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: `strategy.${issue ? `${issuePath(issue.path)}: ${issue.message}` : 'invalid'}`.replace('strategy.:', 'strategy:') };
  }
  const strategy = parsed.data;
  const settings = strategy.canary ?? strategy.blueGreen ?? {};
  const replicas = positiveInt(spec.replicas, 1);
  const base = {
    progressDeadlineMs: (settings.progressDeadlineSeconds ?? ROLLOUT_DEFAULTS.progressDeadlineSeconds) * 1000,
    progressDeadlineAbort: settings.progressDeadlineAbort ?? ROLLOUT_DEFAULTS.progressDeadlineAbort,
    scaleDownDelayMs: (settings.scaleDownDelaySeconds ?? ROLLOUT_DEFAULTS.scaleDownDelaySeconds) * 1000,
    replicas,
  };
  if (spec.stableVersion === null || spec.stableVersion === spec.canaryVersion) {
    return { ok: true, plan: { kind: 'direct', steps: [], background: null, previewReplicas: replicas, templates: {}, ...base } };
  }

  const templates = spec.templates ?? {};
  const resolved: Record<string, AnalysisTemplateSpec> = {};
  const resolveRef = (ref: AnalysisRef, field: string): { ok: true; templates: string[]; args: Record<string, string> } | { ok: false; error: string } => {
    const names = ref.templates.map(templateRefName);
    const given: Record<string, string> = {};
    for (const arg of ref.args ?? []) given[arg.name] = arg.value;
    const args: Record<string, string> = {};
    for (const name of names) {
      const template = Object.prototype.hasOwnProperty.call(templates, name) ? templates[name] : undefined;
      if (!template) return { ok: false, error: `${field}: AnalysisTemplate "${name}" was not found` };
      const checked = analysisTemplateSpecSchema.safeParse(template);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        return { ok: false, error: `AnalysisTemplate "${name}" ${issue ? `${issuePath(issue.path)}: ${issue.message}` : 'is invalid'}` };
      }
      const problem = checkAnalysisTemplate(checked.data as AnalysisTemplateSpec)[0];
      if (problem) return { ok: false, error: `AnalysisTemplate "${name}" ${issuePath(problem.path)}: ${problem.message}` };
      resolved[name] = checked.data as AnalysisTemplateSpec;
      for (const arg of checked.data.args ?? []) {
        const value = given[arg.name] ?? arg.value;
        if (value === undefined) return { ok: false, error: `${field}: AnalysisTemplate "${name}" needs arg "${arg.name}"` };
        args[arg.name] = value;
      }
    }
    return { ok: true, templates: names, args };
  };

  if (strategy.canary) {
    const canary = strategy.canary;
    if (!canary.steps && !canary.stepWeights && (canary.stepWeight ?? 0) <= 0) return { ok: false, error: 'strategy.canary.stepWeight: must be greater than 0' };
    const flagger = !canary.steps;
    const failureLimit = flagger && canary.threshold !== undefined ? canary.threshold - 1 : undefined;
    const steps: PlanStep[] = [];
    const expanded = expandCanarySteps(canary);
    for (const [index, step] of expanded.entries()) {
      const field = flagger ? 'strategy.canary.analysis' : `strategy.canary.steps[${index}]`;
      if ('setWeight' in step) steps.push({ kind: 'setWeight', weight: step.setWeight, label: `setWeight ${step.setWeight}` });
      else if ('pause' in step) {
        const durationMs = step.pause.duration === undefined ? null : durationToMs(step.pause.duration);
        steps.push({ kind: 'pause', durationMs, gate: false, label: step.pause.duration ? `pause ${step.pause.duration}` : 'pause (until promoted)' });
      } else if ('analysis' in step) {
        const ref = resolveRef(step.analysis, field);
        if (!ref.ok) return ref;
        steps.push({ kind: 'analysis', runKind: 'step', templates: ref.templates, args: ref.args, ...(failureLimit !== undefined ? { failureLimit } : {}), label: `analysis ${ref.templates.join(', ')}` });
      } else if ('setHeaderRoute' in step) {
        const { name, match } = step.setHeaderRoute;
        const route: HeaderRoute | null =
          match.length === 0
            ? null
            : {
                name,
                match: match.map((entry) => ({
                  headerName: entry.headerName,
                  ...(entry.headerValue.exact !== undefined ? { exact: entry.headerValue.exact } : {}),
                  ...(entry.headerValue.prefix !== undefined ? { prefix: entry.headerValue.prefix } : {}),
                  ...(entry.headerValue.regex !== undefined ? { regex: entry.headerValue.regex } : {}),
                })),
              };
        steps.push({ kind: 'setHeaderRoute', route, label: route ? `setHeaderRoute ${name}` : `remove header route ${name}` });
      }
    }
    let background: Plan['background'] = null;
    if (canary.analysis && !flagger) {
      const ref = resolveRef(canary.analysis, 'strategy.canary.analysis');
      if (!ref.ok) return ref;
      background = { templates: ref.templates, args: ref.args, startingStep: canary.analysis.startingStep ?? 0 };
    }
    return { ok: true, plan: { kind: 'canary', steps, background, previewReplicas: replicas, templates: resolved, ...base } };
  }

  const blueGreen = strategy.blueGreen!;
  const steps: PlanStep[] = [{ kind: 'setHeaderRoute', route: PREVIEW_HEADER_ROUTE, label: 'preview (x-rollgate-preview: true)' }];
  if (blueGreen.prePromotionAnalysis) {
    const ref = resolveRef(blueGreen.prePromotionAnalysis, 'strategy.blueGreen.prePromotionAnalysis');
    if (!ref.ok) return ref;
    steps.push({ kind: 'analysis', runKind: 'prePromotion', templates: ref.templates, args: ref.args, label: 'pre-promotion analysis' });
  }
  const auto = blueGreen.autoPromotionEnabled ?? ROLLOUT_DEFAULTS.autoPromotionEnabled;
  const gateMs = auto ? (blueGreen.autoPromotionSeconds ?? 0) * 1000 : null;
  steps.push({ kind: 'pause', durationMs: gateMs, gate: true, label: gateMs === null ? 'await promotion' : `auto-promotion after ${gateMs / 1000}s` });
  steps.push({ kind: 'setWeight', weight: 100, label: 'switch 100% to the new version' });
  steps.push({ kind: 'setHeaderRoute', route: null, label: 'remove preview route' });
  if (blueGreen.postPromotionAnalysis) {
    const ref = resolveRef(blueGreen.postPromotionAnalysis, 'strategy.blueGreen.postPromotionAnalysis');
    if (!ref.ok) return ref;
    steps.push({ kind: 'analysis', runKind: 'postPromotion', templates: ref.templates, args: ref.args, label: 'post-promotion analysis' });
  }
  return {
    ok: true,
    plan: { kind: 'blueGreen', steps, background: null, previewReplicas: Math.min(replicas, blueGreen.previewReplicaCount ?? replicas), templates: resolved, ...base },
  };
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}
