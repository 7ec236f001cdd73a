import { z } from 'zod';
import { analysisTemplateSpecSchema } from './analysis-template.js';
import { artifactSpecSchema } from './artifact.js';
import { API_VERSION, metadataInputSchema, recordMetadataInputSchema, storedMetadataSchema } from './common.js';
import { deploymentSpecSchema } from './deployment.js';
import { environmentSpecSchema } from './environment.js';
import { pipelineSpecSchema } from './pipeline.js';
import { releaseSpecSchema } from './release.js';
import { rolloutStrategySpecSchema, strategyTemplateRefs, type RolloutStrategySpec } from './rollout-strategy.js';
import { serviceSpecSchema, type ServiceSpec } from './service.js';
import type { PipelineSpec } from './pipeline.js';
import type { DeploymentSpec } from './deployment.js';
import type { ReleaseSpec } from './release.js';
import type { ArtifactSpec } from './artifact.js';
import { windowSpecSchema, type WindowSpec } from './window.js';
import { changeSpecSchema, type ChangeSpec } from './change.js';
import { policySpecSchema, type PolicySpec } from './policy.js';
import { riskModelSpecSchema } from './risk-model.js';
import { userSpecSchema } from './user.js';
import { KIND_NAMES, KIND_PLURALS, type KindName, type Role } from './kind-names.js';

// Names, plurals and roles live in kind-names.ts (no spec imports, so the browser can load them).
export { KIND_NAMES, KIND_PLURALS, ROLES, roleAtLeast, type KindName, type Role } from './kind-names.js';

/** A reference from one object to another, with the field path that holds it (for error messages). */
export interface Reference {
  kind: KindName;
  name: string;
  path: (string | number)[];
}

export interface KindDefinition {
  kind: KindName;
  /** URL segment and CLI noun: `/api/v1/services`, `rollgate get services`. */
  plural: string;
  /** Other accepted CLI spellings. */
  aliases: string[];
  /** `resource`: declarative, applied from YAML. `record`: created through the API by the workflow. */
  category: 'resource' | 'record';
  /** Role needed to create, update or delete objects of this kind. */
  writeRole: Role;
  spec: z.ZodType;
  /** Objects this spec refers to; each must exist when the spec is written. */
  references(spec: unknown): Reference[];
  /**
   * Set for kinds with their own workflow API (`/api/v1/<managedBy>`): the generic objects API and
   * `apply` only read them, so a write cannot bypass the workflow's rules (state machine, approvals).
   */
  managedBy?: string;
}

const noReferences = (): Reference[] => [];

/** Each kind's definition; `kind` and `plural` are added from kind-names.ts when KINDS is built. */
const definitions = {
  Service: {
    aliases: ['service', 'svc'], category: 'resource', writeRole: 'admin', spec: serviceSpecSchema,
    references: (spec: unknown) => {
      const s = spec as ServiceSpec;
      const refs: Reference[] = (s.dependsOn ?? []).map((name, index) => ({ kind: 'Service', name, path: ['spec', 'dependsOn', index] }));
      if (s.strategy) refs.push({ kind: 'RolloutStrategy', name: s.strategy, path: ['spec', 'strategy'] });
      return refs;
    },
  },
  Environment: { aliases: ['environment', 'env'], category: 'resource', writeRole: 'admin', spec: environmentSpecSchema, references: noReferences },
  Pipeline: {
    aliases: ['pipeline'], category: 'resource', writeRole: 'admin', spec: pipelineSpecSchema,
    references: (spec: unknown) => {
      const p = spec as PipelineSpec;
      const refs: Reference[] = [];
      p.services?.forEach((name, index) => refs.push({ kind: 'Service', name, path: ['spec', 'services', index] }));
      p.stages.forEach((stage, index) => {
        refs.push({ kind: 'Environment', name: stage.environment, path: ['spec', 'stages', index, 'environment'] });
        if (stage.strategy) refs.push({ kind: 'RolloutStrategy', name: stage.strategy, path: ['spec', 'stages', index, 'strategy'] });
        stage.gates?.forEach((gate, gateIndex) => {
          const at = ['spec', 'stages', index, 'gates', gateIndex];
          gate.analysis?.templates.forEach((name, templateIndex) => refs.push({ kind: 'AnalysisTemplate', name, path: [...at, 'analysis', 'templates', templateIndex] }));
          gate.policies?.forEach((name, policyIndex) => refs.push({ kind: 'Policy', name, path: [...at, 'policies', policyIndex] }));
          if (typeof gate.goNoGo === 'object') {
            gate.goNoGo.criteria.forEach((criterion, criterionIndex) => {
              if (criterion.analysis) refs.push({ kind: 'Environment', name: criterion.analysis.environment, path: [...at, 'goNoGo', 'criteria', criterionIndex, 'analysis', 'environment'] });
            });
          }
        });
      });
      return refs;
    },
  },
  RolloutStrategy: {
    aliases: ['rolloutstrategy', 'strategy', 'strategies'], category: 'resource', writeRole: 'admin', spec: rolloutStrategySpecSchema,
    references: (spec: unknown) =>
      strategyTemplateRefs(spec as RolloutStrategySpec).map((ref) => ({ kind: 'AnalysisTemplate' as const, name: ref.name, path: ['spec', ...ref.path] })),
  },
  AnalysisTemplate: { aliases: ['analysistemplate', 'template'], category: 'resource', writeRole: 'admin', spec: analysisTemplateSpecSchema, references: noReferences },
  Window: {
    aliases: ['window'], category: 'resource', writeRole: 'admin', spec: windowSpecSchema,
    references: (spec: unknown) => {
      const scope = (spec as WindowSpec).scope;
      return [
        ...(scope?.environments ?? []).map((name, index) => ({ kind: 'Environment' as const, name, path: ['spec', 'scope', 'environments', index] })),
        ...(scope?.services ?? []).map((name, index) => ({ kind: 'Service' as const, name, path: ['spec', 'scope', 'services', index] })),
      ];
    },
  },
  Policy: {
    aliases: ['policy'], category: 'resource', writeRole: 'admin', spec: policySpecSchema,
    references: (spec: unknown) => {
      const scope = (spec as PolicySpec).scope;
      return [
        ...(scope?.environments ?? []).map((name, index) => ({ kind: 'Environment' as const, name, path: ['spec', 'scope', 'environments', index] })),
        ...(scope?.services ?? []).map((name, index) => ({ kind: 'Service' as const, name, path: ['spec', 'scope', 'services', index] })),
      ];
    },
  },
  RiskModel: { aliases: ['riskmodel'], category: 'resource', writeRole: 'admin', spec: riskModelSpecSchema, references: noReferences },
  User: { aliases: ['user'], category: 'resource', writeRole: 'admin', spec: userSpecSchema, references: noReferences },
  Change: {
    aliases: ['change', 'chg'], category: 'record', writeRole: 'deployer', spec: changeSpecSchema, managedBy: 'changes',
    references: (spec: unknown) =>
      ((spec as ChangeSpec).services ?? []).map((name, index) => ({ kind: 'Service' as const, name, path: ['spec', 'services', index] })),
  },
  Release: {
    aliases: ['release', 'rel'], category: 'record', writeRole: 'deployer', spec: releaseSpecSchema,
    references: (spec: unknown) => {
      const release = spec as ReleaseSpec;
      const refs: Reference[] = release.components.map((component, index) => ({ kind: 'Service' as const, name: component.service, path: ['spec', 'components', index, 'service'] }));
      if (release.pipeline) refs.push({ kind: 'Pipeline', name: release.pipeline, path: ['spec', 'pipeline'] });
      return refs;
    },
  },
  Artifact: {
    aliases: ['artifact'], category: 'record', writeRole: 'deployer', spec: artifactSpecSchema,
    references: (spec: unknown) => [{ kind: 'Service' as const, name: (spec as ArtifactSpec).service, path: ['spec', 'service'] }],
  },
  Deployment: {
    aliases: ['deployment', 'deploy'], category: 'record', writeRole: 'deployer', spec: deploymentSpecSchema,
    references: (spec: unknown) => {
      const d = spec as DeploymentSpec;
      const refs: Reference[] = [{ kind: 'Service', name: d.service, path: ['spec', 'service'] }];
      if (d.environment) refs.push({ kind: 'Environment', name: d.environment, path: ['spec', 'environment'] });
      if (d.release) refs.push({ kind: 'Release', name: d.release, path: ['spec', 'release'] });
      if (d.strategy) refs.push({ kind: 'RolloutStrategy', name: d.strategy, path: ['spec', 'strategy'] });
      if (d.change) refs.push({ kind: 'Change', name: d.change, path: ['spec', 'change'] });
      return refs;
    },
  },
} satisfies Record<KindName, Omit<KindDefinition, 'kind' | 'plural'>>;

export const KINDS: Readonly<Record<KindName, KindDefinition>> = Object.freeze(
  Object.fromEntries(
    KIND_NAMES.map((kind): [KindName, KindDefinition] => [kind, Object.freeze({ kind, plural: KIND_PLURALS[kind], ...definitions[kind] })]),
  ) as Record<KindName, KindDefinition>,
);

export const isKindName = (value: string): value is KindName => Object.hasOwn(KINDS, value);

/** Resolves a CLI noun or URL segment ("services", "svc", "Service") to its kind. */
export function kindFromNoun(noun: string): KindDefinition | null {
  const lower = noun.toLowerCase();
  for (const def of Object.values(KINDS)) {
    if (def.kind.toLowerCase() === lower || def.plural === lower || def.aliases.includes(lower)) return def;
  }
  return null;
}

/** The document a user writes (YAML or API body) for one kind. */
export function documentSchema(kind: KindName) {
  const def = KINDS[kind];
  return z.strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: def.category === 'record' ? recordMetadataInputSchema : metadataInputSchema,
    spec: def.spec,
  });
}

/** The object as the API returns it. Status is owned by the control plane. */
export function storedObjectSchema(kind: KindName) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: storedMetadataSchema,
    spec: KINDS[kind].spec,
    status: z.record(z.string(), z.unknown()).nullable(),
  });
}

/** Any document: checks `apiVersion` and `kind` first so errors point at the right field. */
export const documentHeaderSchema = z.object({
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be "${API_VERSION}"` }),
  kind: z.enum(KIND_NAMES as [KindName, ...KindName[]], { error: `kind must be one of ${KIND_NAMES.join(', ')}` }),
});
