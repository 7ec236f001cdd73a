/**
 * Promotion gates and drift, pure (ADR 0004, "Two kinds of gate", item 1). An artifact moves along
 * its Pipeline by digest only: it may enter a stage when the same digest succeeded (rollout
 * `Healthy`) in the previous stage, so nothing is rebuilt between stages. The server loads the
 * facts (Pipelines, Environments, Deployments, the Release and its status) and records what these
 * functions decide; no clock, no I/O here, and every check is reported as a GateResult so a
 * refusal explains itself.
 *
 * Gates of a promotion, in order: `path` (the environment is a stage of the release's pipeline),
 * `digest` (per component), `analysis` (per component: the previous stage's analysis gates passed),
 * `freeze` (no scope exception waiting for a decision after the freeze), `goNoGo` (a recorded `go`
 * where one is needed), `active` (per component: no rollout of it already running there). The
 * server adds the `promote` Policies after these.
 */
import { z } from 'zod';
import { CHANGE_TYPES } from '../resources/change.js';
import { nameSchema } from '../resources/common.js';
import type { EnvironmentSpec } from '../resources/environment.js';
import type { GoNoGoCriterionSpec } from '../resources/go-no-go.js';
import type { PipelineSpec, PipelineStage } from '../resources/pipeline.js';
import type { ReleaseSpec } from '../resources/release.js';
import type { RolloutPhase } from '../rollout/types.js';
import { gateResultSchema, promotionSchema, type GateResult, type ReleaseRecordStatus } from './records.js';

// ---------------------------------------------------------------------------------------------
// Facts

/** A Deployment's phase: its rollout's, or `Pending` before the engine's first pass. */
export type DeploymentPhase = RolloutPhase | 'Pending';

/** What the gates need to know about one Deployment. */
export interface DeploymentFact {
  name: string;
  service: string;
  version: string;
  /** `spec.artifact.digest`; null when the Deployment names no artifact. */
  digest: string | null;
  phase: DeploymentPhase;
  createdAt: string;
  /** Analysis templates with a Successful run in the rollout's current attempt. */
  passedTemplates?: readonly string[];
}

/** Per environment, per service: the Deployments there (any order). */
export type DeploymentsByEnv = Readonly<Record<string, Readonly<Record<string, readonly DeploymentFact[] | undefined>> | undefined>>;

export interface NamedPipeline {
  name: string;
  spec: PipelineSpec;
}

export interface ReleaseFacts {
  name: string;
  spec: ReleaseSpec;
}

export type Component = { service: string; version: string; digest: string };

export interface ApprovalRequirement {
  group: string;
  count: number;
  reason: string;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** `sha256:3f1c2a9b0d4e…`: enough to tell digests apart in a sentence. */
export function shortDigest(digest: string | null | undefined): string {
  if (!digest) return 'no digest';
  const [algorithm, hex] = digest.includes(':') ? (digest.split(':', 2) as [string, string]) : ['', digest];
  const short = hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
  return algorithm ? `${algorithm}:${short}` : short;
}

const newestFirst = (a: DeploymentFact, b: DeploymentFact): number =>
  a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : a.name > b.name ? -1 : 0;

/** The Deployments of `service` in `environment`, newest first. */
export function deploymentsOf(byEnv: DeploymentsByEnv, environment: string, service: string): DeploymentFact[] {
  return [...(byEnv[environment]?.[service] ?? [])].sort(newestFirst);
}

/** Not started yet, or started and not finished: the environment already has a rollout of the service under way. */
export const isActivePhase = (phase: DeploymentPhase): boolean => phase === 'Pending' || phase === 'Progressing' || phase === 'Paused';

const pathText = (pipeline: PipelineSpec): string => pipeline.stages.map((stage) => stage.environment).join(' → ');
const list = (items: readonly string[]): string => items.join(', ');
const includesAll = (pipeline: PipelineSpec, services: readonly string[]): boolean => services.every((service) => pipeline.services?.includes(service) ?? false);

/** Whether deployments to this environment need a change record: `changeRequired`, default `production`. */
export const environmentRequiresChange = (environment: Pick<EnvironmentSpec, 'changeRequired' | 'production'> | undefined): boolean =>
  environment?.changeRequired ?? environment?.production ?? false;

// ---------------------------------------------------------------------------------------------
// The release's pipeline

export type PipelineResolution = { pipeline: NamedPipeline; reason: string } | { pipeline: null; reason: string };

/**
 * The promotion path of a release: `spec.pipeline`, else the only Pipeline whose `services` list
 * every component (a Pipeline without `services` lists none: it never applies implicitly, so
 * adding a Pipeline cannot silently change where existing releases go). `reason` explains either way.
 */
export function resolveReleasePipeline(release: { name: string; spec: Pick<ReleaseSpec, 'pipeline' | 'components'> }, pipelines: readonly NamedPipeline[]): PipelineResolution {
  if (release.spec.pipeline !== undefined) {
    const named = pipelines.find((pipeline) => pipeline.name === release.spec.pipeline);
    return named
      ? { pipeline: named, reason: `spec.pipeline of release "${release.name}"` }
      : { pipeline: null, reason: `release "${release.name}" names pipeline "${release.spec.pipeline}", which does not exist` };
  }
  const services = [...new Set(release.spec.components.map((component) => component.service))].sort();
  const matching = pipelines.filter((pipeline) => includesAll(pipeline.spec, services)).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (matching.length === 1) return { pipeline: matching[0]!, reason: `the only pipeline listing every component (${list(services)})` };
  if (matching.length > 1) {
    return {
      pipeline: null,
      reason: `several pipelines list every component (${list(services)}): ${list(matching.map((p) => `"${p.name}"`))}; set spec.pipeline of release "${release.name}"`,
    };
  }
  // Candidates: pipelines listing some of the components, which a `services` edit or spec.pipeline would make the path.
  const partial = pipelines.filter((pipeline) => services.some((service) => pipeline.spec.services?.includes(service))).map((p) => `"${p.name}"`);
  const hint = partial.length > 0 ? `candidates listing some of them: ${list(partial)}` : `pipelines: ${pipelines.length > 0 ? list(pipelines.map((p) => `"${p.name}"`)) : 'none'}`;
  return { pipeline: null, reason: `no pipeline lists every component (${list(services)}) in spec.services (${hint}); set spec.pipeline of release "${release.name}"` };
}

// ---------------------------------------------------------------------------------------------
// What a stage asks for

/** The stage's gates folded together (a stage may list several gate entries). */
export interface StageRequirements {
  /** Templates that must have passed in this stage before promotion out of it. */
  analysisTemplates: string[];
  approvals: ApprovalRequirement[];
  /** A `go` is needed before promotion into this stage (`goNoGo: true` or criteria). */
  goNoGo: boolean;
  goNoGoCriteria: GoNoGoCriterionSpec[];
  /** Only these policies apply; null: every applicable one. */
  policies: string[] | null;
}

export function stageRequirements(pipeline: string, stage: PipelineStage | null | undefined): StageRequirements {
  const gates = stage?.gates ?? [];
  const policies = gates.flatMap((gate) => gate.policies ?? []);
  return {
    analysisTemplates: [...new Set(gates.flatMap((gate) => gate.analysis?.templates ?? []))],
    approvals: gates.flatMap((gate) =>
      gate.approval ? [{ group: gate.approval.group, count: gate.approval.count, reason: `pipeline "${pipeline}" stage "${stage!.environment}": approval gate` }] : [],
    ),
    goNoGo: gates.some((gate) => gate.goNoGo !== undefined && gate.goNoGo !== false),
    goNoGoCriteria: gates.flatMap((gate) => (typeof gate.goNoGo === 'object' ? gate.goNoGo.criteria : [])),
    policies: gates.some((gate) => gate.policies !== undefined) ? [...new Set(policies)] : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Individual gates

/**
 * `digest`: the component's digest succeeded (a Healthy Deployment of it) in the previous stage.
 * Any Healthy Deployment of the digest counts, even one replaced since: it did succeed there.
 */
export function digestGate(component: { service: string; digest: string | null }, previousEnvironment: string, byEnv: DeploymentsByEnv): { result: GateResult; succeeded: DeploymentFact | null } {
  const there = deploymentsOf(byEnv, previousEnvironment, component.service);
  const base = { gate: 'digest', name: previousEnvironment, service: component.service };
  if (!component.digest) {
    return {
      result: { ...base, outcome: 'deny', message: `no artifact digest: only a digest that succeeded in ${previousEnvironment} may enter the next stage (set spec.artifact.digest)` },
      succeeded: null,
    };
  }
  const succeeded = there.find((deployment) => deployment.digest === component.digest && deployment.phase === 'Healthy') ?? null;
  if (succeeded) {
    return { result: { ...base, outcome: 'pass', message: `${shortDigest(component.digest)} succeeded in ${previousEnvironment} (Deployment ${succeeded.name}, ${succeeded.version})` }, succeeded };
  }
  const latest = there[0];
  const latestText = latest ? `latest there: ${latest.version} ${shortDigest(latest.digest)}, ${latest.phase}` : 'nothing deployed there';
  return { result: { ...base, outcome: 'deny', message: `${shortDigest(component.digest)} has not succeeded in ${previousEnvironment} (${latestText})` }, succeeded: null };
}

/** `analysis`: every template the previous stage's gates name passed in the rollout that succeeded there. */
export function analysisGate(service: string, previousEnvironment: string, templates: readonly string[], succeeded: DeploymentFact): GateResult {
  const passed = new Set(succeeded.passedTemplates ?? []);
  const missing = templates.filter((template) => !passed.has(template));
  const base = { gate: 'analysis', name: previousEnvironment, service };
  return missing.length === 0
    ? { ...base, outcome: 'pass', message: `analysis ${list(templates)} passed in ${previousEnvironment} (Deployment ${succeeded.name})` }
    : { ...base, outcome: 'deny', message: `analysis ${list(missing)} has not passed in ${previousEnvironment} for ${service} (Deployment ${succeeded.name} has no successful run of it)` };
}

/**
 * `freeze`: after the release's freeze date a scope change needs an approved exception; a
 * promotion waits while an exception is still undecided, so what ships is the scope that was decided.
 */
export function freezeGate(release: ReleaseFacts, status: Pick<ReleaseRecordStatus, 'scopeExceptions'>, now: Date): GateResult | null {
  if (release.spec.freezeDate === undefined) return null;
  const base = { gate: 'freeze', name: release.name };
  if (now.getTime() < Date.parse(release.spec.freezeDate)) return { ...base, outcome: 'pass', message: `scope not frozen yet (freezes at ${release.spec.freezeDate})` };
  const pending = status.scopeExceptions.filter((exception) => exception.state === 'pending');
  if (pending.length === 0) return { ...base, outcome: 'pass', message: `scope frozen since ${release.spec.freezeDate}; no exception waiting for a decision` };
  return {
    ...base,
    outcome: 'pending',
    message: `scope frozen since ${release.spec.freezeDate} and ${pending.length === 1 ? 'a scope exception is' : `${pending.length} scope exceptions are`} waiting for a decision: ${list(pending.map((e) => `${e.id} (${e.reason})`))}`,
  };
}

/**
 * Whether promotion into `environment` needs a recorded `go`: the stage asks for one, the release
 * names this environment (`goNoGo.environment`), or the environment is production and there are
 * criteria (the release's, the stage's, or the implicit compliance sign-off of jurisdiction-tagged
 * scope, see go-no-go.ts).
 */
export function goNoGoRequired(release: ReleaseFacts, environment: string, environmentSpec: EnvironmentSpec | undefined, stage: StageRequirements): { required: boolean; why: string } {
  if (stage.goNoGo) return { required: true, why: 'the pipeline stage has a goNoGo gate' };
  const releaseGoNoGo = release.spec.goNoGo;
  if (releaseGoNoGo?.environment !== undefined) {
    return releaseGoNoGo.environment === environment
      ? { required: true, why: `release "${release.name}" asks for a go/no-go in ${environment}` }
      : { required: false, why: `release "${release.name}" asks for its go/no-go in ${releaseGoNoGo.environment}` };
  }
  const production = environmentSpec?.production ?? false;
  const hasCriteria = (releaseGoNoGo?.criteria.length ?? 0) > 0 || stage.goNoGoCriteria.length > 0 || release.spec.scope.some((item) => (item.jurisdictions?.length ?? 0) > 0);
  if (production && hasCriteria) return { required: true, why: `${environment} is production and the release has go/no-go criteria` };
  return { required: false, why: production ? 'no go/no-go criteria' : `${environment} is not production and its stage has no goNoGo gate` };
}

/** `goNoGo`: the latest decision for the environment is `go` when one is needed. */
export function goNoGoGate(release: ReleaseFacts, status: Pick<ReleaseRecordStatus, 'goNoGo'>, environment: string, environmentSpec: EnvironmentSpec | undefined, stage: StageRequirements): GateResult {
  const base = { gate: 'goNoGo', name: environment };
  const { required, why } = goNoGoRequired(release, environment, environmentSpec, stage);
  if (!required) return { ...base, outcome: 'pass', message: `no go/no-go decision needed (${why})` };
  const decision = status.goNoGo
    .filter((candidate) => candidate.environment === environment)
    .reduce<ReleaseRecordStatus['goNoGo'][number] | null>((latest, candidate) => (latest === null || candidate.at >= latest.at ? candidate : latest), null);
  if (!decision) return { ...base, outcome: 'pending', message: `a go/no-go decision for ${environment} is needed (${why}); none recorded yet` };
  const by = `${decision.decidedBy} at ${decision.at}${decision.comment ? `: ${decision.comment}` : ''}`;
  return decision.decision === 'go'
    ? { ...base, outcome: 'pass', message: `go for ${environment} by ${by}` }
    : { ...base, outcome: 'deny', message: `no-go for ${environment} by ${by}` };
}

/** `active`: no rollout of the service under way in the environment (one active rollout per service and environment). */
export function activeGate(service: string, environment: string, byEnv: DeploymentsByEnv): GateResult {
  const active = deploymentsOf(byEnv, environment, service).find((deployment) => isActivePhase(deployment.phase));
  const base = { gate: 'active', name: environment, service };
  if (!active) return { ...base, outcome: 'pass', message: `no active rollout of ${service} in ${environment}` };
  const state = active.phase === 'Pending' ? 'not started yet' : active.phase;
  return { ...base, outcome: 'deny', message: `${service} already has an active rollout in ${environment}: Deployment ${active.name} (${active.version}, ${state}); abort it or wait for it to finish` };
}

// ---------------------------------------------------------------------------------------------
// Promotion of a release

export interface PromotionInput {
  release: ReleaseFacts;
  releaseStatus: Pick<ReleaseRecordStatus, 'goNoGo' | 'scopeExceptions'>;
  /** Every Pipeline (the release's is resolved among them). */
  pipelines: readonly NamedPipeline[];
  targetEnvironment: string;
  /** Environment specs by name (at least the target's). */
  environments: Readonly<Record<string, EnvironmentSpec | undefined>>;
  /** At least the previous stage's and the target's Deployments of every component service. */
  deploymentsByEnv: DeploymentsByEnv;
  now: Date;
}

/** A previous stage's Deployment that let a component through: evidence for the change record. */
export interface PromotionEvidence {
  service: string;
  environment: string;
  deployment: string;
  version: string;
  passedTemplates: string[];
}

export interface PromotionPlan {
  /** The release's pipeline; null when none resolves. */
  pipeline: string | null;
  /** Index of the target in the pipeline's stages; -1 when it is not a stage. */
  stageIndex: number;
  previousEnvironment: string | null;
  stage: PipelineStage | null;
  requirements: StageRequirements;
  components: Component[];
  /** In order: path, digest…, analysis…, freeze, goNoGo, active…. */
  gates: GateResult[];
  /** The promotion creates a change record: the environment requires one, or the stage has an approval gate. */
  changeRequired: boolean;
  evidence: PromotionEvidence[];
}

/** Deny or pending: the request does not go through. */
export const isRefusing = (gate: GateResult): boolean => gate.outcome === 'deny' || gate.outcome === 'pending';

export function planPromotion(input: PromotionInput): PromotionPlan {
  const { release, targetEnvironment: target, deploymentsByEnv: byEnv } = input;
  const components: Component[] = release.spec.components.map(({ service, version, digest }) => ({ service, version, digest }));
  const environmentSpec = input.environments[target];
  const gates: GateResult[] = [];
  const evidence: PromotionEvidence[] = [];

  const resolution = resolveReleasePipeline(release, input.pipelines);
  const pipeline = resolution.pipeline;
  const stageIndex = pipeline ? pipeline.spec.stages.findIndex((stage) => stage.environment === target) : -1;
  const stage = pipeline && stageIndex >= 0 ? pipeline.spec.stages[stageIndex]! : null;
  const previousEnvironment = pipeline && stageIndex > 0 ? pipeline.spec.stages[stageIndex - 1]!.environment : null;
  const requirements = stageRequirements(pipeline?.name ?? '', stage);

  // path
  const pathName = pipeline?.name ?? release.name;
  if (components.length === 0) {
    gates.push({ gate: 'path', name: pathName, outcome: 'deny', message: `release "${release.name}" has no components: nothing to promote` });
  } else if (!pipeline) {
    gates.push({ gate: 'path', name: pathName, outcome: 'deny', message: `release "${release.name}" has no promotion path: ${resolution.reason}` });
  } else if (!stage) {
    gates.push({ gate: 'path', name: pipeline.name, outcome: 'deny', message: `environment "${target}" is not a stage of pipeline "${pipeline.name}" (${pathText(pipeline.spec)})` });
  } else {
    gates.push({
      gate: 'path',
      name: pipeline.name,
      outcome: 'pass',
      message: `${target} is stage ${stageIndex + 1} of ${pipeline.spec.stages.length} of pipeline "${pipeline.name}" (${pathText(pipeline.spec)}; ${resolution.reason})`,
    });
  }

  // digest and analysis, per component (only along a valid path: otherwise there is no previous stage to ask about)
  if (pipeline && stage) {
    const previousStage = previousEnvironment ? stageRequirements(pipeline.name, pipeline.spec.stages[stageIndex - 1]) : null;
    for (const component of components) {
      if (!previousEnvironment) {
        gates.push({ gate: 'digest', name: target, service: component.service, outcome: 'pass', message: `${target} is the first stage of pipeline "${pipeline.name}": nothing had to succeed before` });
        continue;
      }
      const { result, succeeded } = digestGate(component, previousEnvironment, byEnv);
      gates.push(result);
      if (!succeeded) continue;
      evidence.push({ service: component.service, environment: previousEnvironment, deployment: succeeded.name, version: succeeded.version, passedTemplates: [...(succeeded.passedTemplates ?? [])] });
      if (previousStage && previousStage.analysisTemplates.length > 0) gates.push(analysisGate(component.service, previousEnvironment, previousStage.analysisTemplates, succeeded));
    }
  }

  const freeze = freezeGate(release, input.releaseStatus, input.now);
  if (freeze) gates.push(freeze);
  gates.push(goNoGoGate(release, input.releaseStatus, target, environmentSpec, requirements));
  for (const component of components) gates.push(activeGate(component.service, target, byEnv));

  return {
    pipeline: pipeline?.name ?? null,
    stageIndex,
    previousEnvironment,
    stage,
    requirements,
    components,
    gates,
    changeRequired: environmentRequiresChange(environmentSpec) || requirements.approvals.length > 0,
    evidence,
  };
}

// ---------------------------------------------------------------------------------------------
// A Deployment created directly (not by a promotion)

export interface DirectDeploymentInput {
  deployment: { service: string; environment: string; version: string; digest: string | null };
  /** The Release the Deployment names, with its status; null when it names none. */
  release: (ReleaseFacts & { status: Pick<ReleaseRecordStatus, 'goNoGo' | 'scopeExceptions'> }) | null;
  pipelines: readonly NamedPipeline[];
  environmentSpec: EnvironmentSpec | undefined;
  /** At least the previous stages' Deployments of the service. */
  deploymentsByEnv: DeploymentsByEnv;
  now: Date;
}

export interface DirectDeploymentPlan {
  gates: GateResult[];
  /** The pipeline stages the environment is in for this service: `pipeline` and the stage's index. */
  stages: Array<{ pipeline: string; stageIndex: number; previousEnvironment: string | null }>;
  requirements: StageRequirements;
  changeRequired: boolean;
}

/**
 * The pipelines a direct Deployment travels: the release's when it names one that has the
 * environment as a stage; else every Pipeline listing the service that has the environment as a stage.
 */
function pipelinesForDeployment(input: DirectDeploymentInput): NamedPipeline[] {
  const hasStage = (pipeline: NamedPipeline) => pipeline.spec.stages.some((stage) => stage.environment === input.deployment.environment);
  if (input.release) {
    const resolved = resolveReleasePipeline(input.release, input.pipelines).pipeline;
    if (resolved && hasStage(resolved)) return [resolved];
  }
  return input.pipelines.filter((pipeline) => (pipeline.spec.services?.includes(input.deployment.service) ?? false) && hasStage(pipeline));
}

/** Folds several stages' requirements (a service in several pipelines): every approval, policies restricted only when every stage restricts. */
function mergeRequirements(all: StageRequirements[]): StageRequirements {
  return {
    analysisTemplates: [...new Set(all.flatMap((r) => r.analysisTemplates))],
    approvals: all.flatMap((r) => r.approvals),
    goNoGo: all.some((r) => r.goNoGo),
    goNoGoCriteria: all.flatMap((r) => r.goNoGoCriteria),
    policies: all.length > 0 && all.every((r) => r.policies !== null) ? [...new Set(all.flatMap((r) => r.policies ?? []))] : null,
  };
}

/**
 * The promotion gates of a Deployment created directly: it must carry the digest that succeeded
 * in the previous stage of every pipeline it travels (stage > 0), the digest its release promotes
 * for the service, and (with a release) a `go` where one is needed. Deployments outside every
 * pipeline and without a release get no gate here (the server still applies policies).
 */
export function planDirectDeployment(input: DirectDeploymentInput): DirectDeploymentPlan {
  const { deployment, release } = input;
  const gates: GateResult[] = [];
  const pipelines = pipelinesForDeployment(input);
  const stages = pipelines.map((pipeline) => {
    const stageIndex = pipeline.spec.stages.findIndex((stage) => stage.environment === deployment.environment);
    return { pipeline, stageIndex, previousEnvironment: stageIndex > 0 ? pipeline.spec.stages[stageIndex - 1]!.environment : null };
  });
  const requirements = mergeRequirements(stages.map(({ pipeline, stageIndex }) => stageRequirements(pipeline.name, pipeline.spec.stages[stageIndex])));

  for (const { pipeline, stageIndex, previousEnvironment } of stages) {
    if (!previousEnvironment) continue;
    const { result, succeeded } = digestGate(deployment, previousEnvironment, input.deploymentsByEnv);
    gates.push({ ...result, message: `${result.message} (stage ${stageIndex + 1} of pipeline "${pipeline.name}")` });
    const previous = stageRequirements(pipeline.name, pipeline.spec.stages[stageIndex - 1]);
    if (succeeded && previous.analysisTemplates.length > 0) gates.push(analysisGate(deployment.service, previousEnvironment, previous.analysisTemplates, succeeded));
  }

  if (release) {
    const component = release.spec.components.find((candidate) => candidate.service === deployment.service);
    if (!component) {
      gates.push({ gate: 'release', name: release.name, service: deployment.service, outcome: 'deny', message: `release "${release.name}" has no component for service ${deployment.service}` });
    } else if (component.digest !== deployment.digest) {
      gates.push({
        gate: 'digest',
        name: release.name,
        service: deployment.service,
        outcome: 'deny',
        message: `${shortDigest(deployment.digest)} is not what release "${release.name}" promotes for ${deployment.service} (${component.version} ${shortDigest(component.digest)})`,
      });
    } else {
      gates.push({ gate: 'digest', name: release.name, service: deployment.service, outcome: 'pass', message: `${shortDigest(component.digest)} is release "${release.name}"'s ${deployment.service} ${component.version}` });
    }
    const freeze = freezeGate(release, release.status, input.now);
    if (freeze) gates.push(freeze);
    gates.push(goNoGoGate(release, release.status, deployment.environment, input.environmentSpec, requirements));
  }

  return {
    gates,
    stages: stages.map(({ pipeline, stageIndex, previousEnvironment }) => ({ pipeline: pipeline.name, stageIndex, previousEnvironment })),
    requirements,
    changeRequired: environmentRequiresChange(input.environmentSpec) || requirements.approvals.length > 0,
  };
}

/** Keeps the policy results a stage allows (`policies` restriction); every result when it does not restrict. */
export function restrictPolicies(results: readonly GateResult[], allowed: readonly string[] | null): GateResult[] {
  if (allowed === null) return [...results];
  const names = new Set(allowed);
  return results.filter((result) => result.gate !== 'policy' || names.has(result.name));
}

/** One line naming every refusing gate, for the problem's `detail`. */
export function refusalSummary(gates: readonly GateResult[]): string {
  return gates
    .filter(isRefusing)
    .map((gate) => `${gate.gate}${gate.service ? ` ${gate.service}` : ''}: ${gate.message}`)
    .join('; ');
}

// ---------------------------------------------------------------------------------------------
// Drift

export const DRIFT_STATES = ['in-sync', 'drift', 'not-promoted', 'not-running'] as const;
export type DriftState = (typeof DRIFT_STATES)[number];

/** One entry of a Release's `status.promotions`, with the release it belongs to. */
export interface PromotionRecord {
  release: string;
  environment: string;
  at: string;
  deployments: ReadonlyArray<{ service: string; version: string; digest: string; deployment: string }>;
}

export interface DriftInput {
  environment: string;
  /** Services to report on; those with neither a promotion nor a running version here are left out. */
  services: readonly string[];
  /** Promotions of every release (other environments are ignored). */
  promotions: readonly PromotionRecord[];
  /** Per service, what the engine records as stable here (Service `status.environments[environment]`). */
  stableByService: Readonly<Record<string, { stableVersion: string; deployment: string } | null | undefined>>;
  /** Deployments by name: at least the stable and the promoted ones. */
  deployments: Readonly<Record<string, { version: string; digest: string | null; phase: DeploymentPhase } | undefined>>;
}

export interface DriftEntry {
  service: string;
  promoted: { release: string; version: string; digest: string; at: string; deployment: string } | null;
  running: { version: string; digest: string | null; deployment: string } | null;
  /**
   * `in-sync`: the promoted digest runs. `drift`: something else runs and the promoted rollout is
   * over. `not-promoted`: something runs that no promotion brought here. `not-running`: promoted
   * but not running (its rollout is under way, or ended without becoming stable).
   */
  state: DriftState;
  message: string;
}

/** What runs in an environment against what was promoted into it, per service (sorted by service). */
export function driftReport(input: DriftInput): DriftEntry[] {
  const { environment } = input;
  const latestPromotion = new Map<string, DriftEntry['promoted'] & {}>();
  for (const promotion of input.promotions) {
    if (promotion.environment !== environment) continue;
    for (const deployment of promotion.deployments) {
      const current = latestPromotion.get(deployment.service);
      // Later in the list wins a tie: promotions are appended in order.
      if (!current || promotion.at >= current.at) {
        latestPromotion.set(deployment.service, { release: promotion.release, version: deployment.version, digest: deployment.digest, at: promotion.at, deployment: deployment.deployment });
      }
    }
  }

  const services = [...new Set([...input.services, ...latestPromotion.keys()])].sort();
  const entries: DriftEntry[] = [];
  for (const service of services) {
    const promoted = latestPromotion.get(service) ?? null;
    const stable = input.stableByService[service] ?? null;
    const running = stable ? { version: stable.stableVersion, digest: input.deployments[stable.deployment]?.digest ?? null, deployment: stable.deployment } : null;
    if (!promoted && !running) continue;
    const runningText = running ? `${running.version} ${shortDigest(running.digest)} runs (Deployment ${running.deployment})` : '';
    if (!promoted) {
      entries.push({ service, promoted, running, state: 'not-promoted', message: `${runningText}; nothing was promoted to ${environment}` });
      continue;
    }
    const promotedText = `${promoted.version} ${shortDigest(promoted.digest)} promoted by release "${promoted.release}" at ${promoted.at}`;
    const promotedDeployment = input.deployments[promoted.deployment];
    const rollingOut = promotedDeployment !== undefined && isActivePhase(promotedDeployment.phase);
    if (running && (running.deployment === promoted.deployment || (running.digest !== null && running.digest === promoted.digest))) {
      entries.push({ service, promoted, running, state: 'in-sync', message: `${runningText}: ${promotedText}` });
    } else if (rollingOut) {
      const still = running ? `; ${running.version} still stable` : '';
      entries.push({ service, promoted, running, state: 'not-running', message: `${promotedText} is rolling out (Deployment ${promoted.deployment}, ${promotedDeployment.phase})${still}` });
    } else if (!running) {
      const why = promotedDeployment ? `its rollout ended ${promotedDeployment.phase}` : `Deployment ${promoted.deployment} no longer exists`;
      entries.push({ service, promoted, running, state: 'not-running', message: `${promotedText} is not running: ${why}` });
    } else {
      const why = promotedDeployment && promotedDeployment.phase !== 'Healthy' ? ` (its rollout ended ${promotedDeployment.phase})` : '';
      entries.push({ service, promoted, running, state: 'drift', message: `${runningText}, but ${promotedText}${why}` });
    }
  }
  return entries;
}

/** The drifting services with both digests: what an `environment.drift` audit event records, compared to the last one. */
export function driftSet(entries: readonly DriftEntry[]): Array<{ service: string; promoted: string | null; running: string | null; runningVersion: string | null }> {
  return entries
    .filter((entry) => entry.state === 'drift')
    .map((entry) => ({ service: entry.service, promoted: entry.promoted?.digest ?? null, running: entry.running?.digest ?? null, runningVersion: entry.running?.version ?? null }));
}

// ---------------------------------------------------------------------------------------------
// Wire shapes of the promotion API (src/server/promotions/routes.ts), shared with the client

const isoDateTime = z.iso.datetime({ offset: true });

/** `POST /api/v1/releases/{name}/promotions`. The change fields are used when the promotion creates a change record. */
export const promotionRequestSchema = z.strictObject({
  environment: nameSchema,
  plannedStart: isoDateTime.optional(),
  plannedEnd: isoDateTime.optional(),
  changeType: z.enum(CHANGE_TYPES).optional(),
  justification: z.string().min(1).max(2000).optional(),
});
export type PromotionRequest = z.infer<typeof promotionRequestSchema>;

/** An object as the API returns it, read loosely (the client checks only what it uses). */
const apiObjectWireSchema = z.looseObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.looseObject({ name: z.string(), version: z.number().int(), createdAt: z.string() }),
  spec: z.record(z.string(), z.unknown()),
  status: z.record(z.string(), z.unknown()).nullable(),
});

export const promotionResultSchema = z.object({
  /** The entry appended to the release's `status.promotions` (every gate's result included). */
  promotion: promotionSchema,
  deployments: z.array(apiObjectWireSchema),
  /** The change record created for the promotion; null when the environment needs none. */
  change: apiObjectWireSchema.nullable(),
});
export type PromotionResult = z.infer<typeof promotionResultSchema>;

export const driftEntrySchema = z.object({
  service: z.string(),
  promoted: z.object({ release: z.string(), version: z.string(), digest: z.string(), at: z.string(), deployment: z.string() }).nullable(),
  running: z.object({ version: z.string(), digest: z.string().nullable(), deployment: z.string() }).nullable(),
  state: z.enum(DRIFT_STATES),
  message: z.string(),
});

/** `GET /api/v1/environments/{name}/drift`. */
export const environmentDriftSchema = z.object({
  environment: z.string(),
  services: z.array(driftEntrySchema),
  /** How many services are in state `drift`. */
  drift: z.number().int(),
  /** An `environment.drift` audit event was written by this request (the drift set changed since the last one). */
  reported: z.boolean(),
});
export type EnvironmentDrift = z.infer<typeof environmentDriftSchema>;

/** `GET /api/v1/drift`: every environment. */
export const driftOverviewSchema = z.object({
  environments: z.array(environmentDriftSchema),
  drift: z.number().int(),
});
export type DriftOverview = z.infer<typeof driftOverviewSchema>;

/** A refused promotion's problem body carries every gate; the client reads them with this. */
export const gateResultsSchema = z.array(gateResultSchema);
