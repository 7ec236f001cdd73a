/**
 * The engine's side of the runtime governance gate (ADR 0004, "Two kinds of gate", item 2): loads
 * what the pure `evaluateRuntimeGate` needs for one Deployment — its change record, its
 * Environment, every Window, the Service's business services, the `start` policies' results — and
 * evaluates it. Called on every pass of an unfinished rollout, before decide().
 */
import { evaluateRuntimeGate, type RuntimeGate } from '../../core/governance/gate.js';
import { changeRecordStatusSchema, type GateResult } from '../../core/governance/records.js';
import type { DeploymentScope, Window } from '../../core/governance/windows.js';
import { changeSpecSchema } from '../../core/resources/change.js';
import type { DeploymentSpec } from '../../core/resources/deployment.js';
import type { EnvironmentSpec } from '../../core/resources/environment.js';
import type { ServiceSpec } from '../../core/resources/service.js';
import type { WindowSpec } from '../../core/resources/window.js';
import type { RolloutSpec } from '../../core/rollout/index.js';
import type { StoredObject, Stores } from '../../ports/store.js';
import { DEFAULT_ENVIRONMENT } from '../resolve.js';
import { evaluatePolicyGate } from './policy-gate.js';

export interface ObservedGate {
  gate: RuntimeGate;
  /** The change the Deployment names, as read this pass (null: it names none, or it does not exist). */
  change: StoredObject | null;
  /** The service the gate was evaluated for (gate results are kept per service on the change). */
  service: string;
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Whether deployments into this environment need a change record: `changeRequired`, default `production`. */
export function changeRequiredIn(environment: StoredObject | null): boolean {
  const spec = (environment?.spec ?? {}) as Partial<EnvironmentSpec>;
  return spec.changeRequired ?? spec.production ?? false;
}

async function listAll(read: Pick<Stores, 'objects'>, kind: 'Window'): Promise<StoredObject[]> {
  const items: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await read.objects.list(kind, { limit: 1000, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

const closedGate = (name: string, message: string): RuntimeGate => ({
  open: false,
  message,
  until: null,
  results: [{ gate: 'change', name, outcome: 'deny', message }],
  override: null,
});

/**
 * The runtime gate for `deployment` at `now`, or null when no gate applies: the environment does
 * not require a change record and the Deployment names none. Never throws for bad data (a change
 * that cannot be read, a policy evaluation that fails: the gate closes and says why); store errors
 * propagate (the pass is retried).
 */
export async function observeGate(
  read: Pick<Stores, 'objects'>,
  deployment: StoredObject,
  resolved: RolloutSpec,
  now: number,
  service?: StoredObject | null,
): Promise<ObservedGate | null> {
  const spec = deployment.spec as unknown as DeploymentSpec;
  const environmentName = resolved.environment ?? spec.environment ?? DEFAULT_ENVIRONMENT;
  const environment = await read.objects.get('Environment', environmentName);
  const changeRequired = changeRequiredIn(environment);
  const changeName = spec.change ?? null;
  if (!changeRequired && changeName === null) return null;

  const [changeObject, serviceObject, windowObjects, release] = await Promise.all([
    changeName ? read.objects.get('Change', changeName) : Promise.resolve(null),
    service !== undefined && service !== null ? Promise.resolve(service) : read.objects.get('Service', resolved.service),
    listAll(read, 'Window'),
    spec.release ? read.objects.get('Release', spec.release) : Promise.resolve(null),
  ]);
  const observed = (gate: RuntimeGate): ObservedGate => ({ gate, change: changeObject, service: resolved.service });

  let change: Parameters<typeof evaluateRuntimeGate>[0]['change'] = null;
  if (changeObject) {
    const changeSpec = changeSpecSchema.safeParse(changeObject.spec);
    const changeStatus = changeRecordStatusSchema.safeParse(changeObject.status ?? {});
    if (!changeSpec.success || !changeStatus.success) {
      const issue = (changeSpec.success ? changeStatus.error : changeSpec.error)?.issues[0];
      const where = changeSpec.success ? 'status' : 'spec';
      return observed(closedGate(changeObject.name, `change ${changeObject.name} cannot be read (${where}${issue ? ` ${issue.path.join('.')}: ${issue.message}` : ''})`));
    }
    change = { name: changeObject.name, spec: changeSpec.data, status: changeStatus.data };
  }

  const serviceSpec = (serviceObject?.spec ?? {}) as Partial<ServiceSpec>;
  const businessServices = [...new Set([...(serviceSpec.businessServices ?? []), ...(change?.spec.businessServices ?? [])])];
  const scope: DeploymentScope = { environment: environmentName, services: [resolved.service], businessServices };
  const windows: Window[] = windowObjects.map((object) => ({ name: object.name, spec: object.spec as unknown as WindowSpec }));

  let policyResults: GateResult[];
  try {
    policyResults = await evaluatePolicyGate(
      read,
      {
        environment: environmentName,
        release,
        components: [{ service: resolved.service, version: resolved.canaryVersion, digest: spec.artifact?.digest ?? null }],
        change: changeObject,
      },
      'start',
      new Date(now),
    );
  } catch (error) {
    // Fail closed: a policy that cannot be evaluated holds the rollout, visibly.
    policyResults = [{ gate: 'policy', name: 'start-policies', outcome: 'deny', message: `the start policies could not be evaluated: ${text(error)}` }];
  }

  const emergencyApprovals = (environment?.spec as Partial<EnvironmentSpec> | undefined)?.emergencyApprovals;
  return observed(
    evaluateRuntimeGate({
      change,
      changeRef: changeName,
      changeRequired,
      environment: environmentName,
      windows,
      scope,
      policyResults,
      ...(emergencyApprovals !== undefined ? { emergencyApprovals } : {}),
      now,
    }),
  );
}
