/**
 * How secrets reach the processes and commands that need them, and nowhere else.
 *
 * - `envFor` builds the environment of one version at the moment the engine asks its target to run
 *   it: the secretRefs of the Service target's env (its environment's target, literal entries stay
 *   in the target's own config) overlaid with the Deployment's env, resolved through the provider.
 *   Nothing resolved is stored: the Deployment's spec and status keep the references, the values
 *   live in the EnsureRequest (and so in the started process's environment) only.
 * - Every resolved value is added to the engine's redactor, which the composition root also hands
 *   to the logger (see `createLogger({ redactor })`), so a value that comes back in a target's
 *   message, a captured log line, a status message, an audit event or a log line is blanked out.
 * - `redactingTarget` puts that redactor between a target and the engine: version messages (which
 *   become rollout status messages and audit event details) and `logs()` pass through it.
 */
import type { ServiceSpec } from '../core/resources/service.js';
import { isSecretValue, resolveEnv, SecretResolutionError, secretRefsOf, type EnvSpec, type ResolvedEnv } from '../core/secrets/env.js';
import { SecretRedactor } from '../core/secrets/redact.js';
import type { DeployTarget, VersionState } from '../ports/deploy-target.js';
import type { SecretProvider } from '../ports/secret-provider.js';
import { specForEnvironment } from './runtime.js';

export { SecretRedactor } from '../core/secrets/redact.js';
export { SecretResolutionError } from '../core/secrets/env.js';

export interface EngineSecretsConfig {
  /** Where secretRefs resolve; without one, a spec that refers to a secret fails to start. */
  provider?: SecretProvider;
  /** Shared with the logger; a private one otherwise. */
  redactor?: SecretRedactor;
}

export interface EngineSecrets {
  readonly redactor: SecretRedactor;
  /**
   * The env a version's instances get beyond the target's literal env: the secretRefs of the
   * service target's env in `environment`, then the Deployment's env (literals and secretRefs).
   * undefined when there is nothing to add. Every secret value is added to the redactor before this
   * returns. Throws SecretResolutionError (naming variables and references, never values).
   */
  envFor(service: ServiceSpec, environment: string, deploymentEnv: EnvSpec | Readonly<Record<string, unknown>> | undefined): Promise<ResolvedEnv | undefined>;
}

/** The env of the service's target in `environment` (its `environments[env].target` replaces the service's), if the target type has one. */
export function targetEnvOf(service: ServiceSpec, environment: string): EnvSpec | undefined {
  const target = specForEnvironment(service, environment).target as { env?: EnvSpec };
  return target.env;
}

/** Only the secretRefs of an env (its literal entries go to the target's config instead). */
function secretEntriesOf(env: EnvSpec | undefined): EnvSpec | undefined {
  if (!env) return undefined;
  const entries = Object.entries(env).filter(([, value]) => isSecretValue(value));
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
}

export function createEngineSecrets(config: EngineSecretsConfig = {}): EngineSecrets {
  const redactor = config.redactor ?? new SecretRedactor();
  const provider = config.provider;
  return {
    redactor,
    async envFor(service, environment, deploymentEnv) {
      const layers = [secretEntriesOf(targetEnvOf(service, environment)), deploymentEnv as EnvSpec | undefined];
      if (layers.every((layer) => layer === undefined || Object.keys(layer).length === 0)) return undefined;
      if (!provider) {
        const refs = layers.flatMap((layer) => secretRefsOf(layer));
        if (refs.length > 0) throw new SecretResolutionError(refs.map(({ variable, ref }) => ({ variable, ref, reason: 'cannot be resolved: no secret provider is configured' })));
      }
      const resolved = await resolveEnv(layers, (ref) => (provider ? provider.resolve(ref) : Promise.resolve(null)));
      redactor.add(resolved.secrets);
      return resolved;
    },
  };
}

const redactState = (state: VersionState, redactor: SecretRedactor): VersionState =>
  state.message === undefined ? state : { ...state, message: redactor.redact(state.message) };

/**
 * `target` with every message and log line it returns passed through `redactor`. Writes nothing
 * itself; a target that writes output to disk must redact it there (EnsureRequest env values).
 */
export function redactingTarget(target: DeployTarget, redactor: SecretRedactor): DeployTarget {
  return {
    capabilities: target.capabilities,
    ensure: async (request) => redactState(await target.ensure(request), redactor),
    observe: async () => (await target.observe()).map((state) => redactState(state, redactor)),
    retire: (version) => target.retire(version),
    logs: async (version, lines) => (await target.logs(version, lines))?.map((line) => redactor.redact(line)) ?? null,
    close: () => target.close(),
  };
}
