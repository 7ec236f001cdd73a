/**
 * Applies decide()'s actions through the ports, in order. Every port method takes desired state
 * and is safe to repeat, so a pass replayed after a crash (same actions, same idempotency keys)
 * changes nothing that was already applied; notifications carry the key as their id so
 * receivers drop a repeat.
 */
import type { Action } from '../core/rollout/index.js';
import type { Notifier } from '../ports/notifier.js';
import type { Backend } from '../ports/traffic-router.js';
import type { ServiceRuntime } from './runtime.js';

export interface EffectContext {
  runtime: ServiceRuntime;
  deployment: string;
  environment: string;
  artifactDigest?: string;
  notifier?: Notifier;
  now: () => Date;
  /** Environment a version's instances get (a Deployment's `env`); none when unknown. */
  envFor(version: string): Promise<{ env: Record<string, string>; secrets: string[] } | undefined>;
}

export interface AppliedEffects {
  /** Versions that became stable in this pass (recorded on the Service in the status write). */
  promoted: Array<{ version: string; previous: string | null }>;
  /** Idempotency keys applied, in order. */
  keys: string[];
}

async function backendOf(runtime: ServiceRuntime, version: string): Promise<Backend> {
  const state = (await runtime.target.observe()).find((candidate) => candidate.version === version);
  return { version, endpoints: state?.endpoints ?? [] };
}

export async function applyActions(actions: Action[], context: EffectContext): Promise<AppliedEffects> {
  const { runtime } = context;
  const applied: AppliedEffects = { promoted: [], keys: [] };
  for (const action of actions) {
    switch (action.type) {
      case 'ensureVersion': {
        const env = await context.envFor(action.version);
        await runtime.target.ensure({
          version: action.version,
          replicas: action.replicas,
          role: action.role,
          canaryWeight: action.canaryWeight,
          environment: context.environment,
          ...(context.artifactDigest ? { artifactDigest: context.artifactDigest } : {}),
          ...(env ? { env: env.env, secrets: env.secrets } : {}),
        });
        break;
      }
      case 'setBackends':
        await runtime.router.setBackends({
          stable: await backendOf(runtime, action.stable),
          canary: action.canary === null ? null : await backendOf(runtime, action.canary),
        });
        break;
      case 'setWeight':
        await runtime.router.setWeights({ canary: action.canaryWeight });
        break;
      case 'setHeaderRoute':
        await runtime.router.setHeaderRoute(action.route);
        break;
      case 'markStable':
        await runtime.router.setBackends({ stable: await backendOf(runtime, action.version), canary: null });
        await runtime.router.setWeights({ canary: 0 });
        await runtime.router.setHeaderRoute(null);
        applied.promoted.push({ version: action.version, previous: action.previous });
        break;
      case 'retireVersion':
        await runtime.target.retire(action.version);
        break;
      case 'notify':
        await context.notifier?.notify({
          id: action.idempotencyKey,
          type: `rollout.${action.event}`,
          subject: { kind: 'Deployment', name: context.deployment },
          time: context.now().toISOString(),
          data: { phase: action.phase, message: action.message },
        });
        break;
    }
    applied.keys.push(action.idempotencyKey);
  }
  return applied;
}
