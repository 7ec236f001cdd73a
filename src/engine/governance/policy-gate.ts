/**
 * Loads the facts policies see (release, artifacts with signatures and attestations, posted
 * results, risk, approvals, environment, time) and evaluates the Policies of one gate. Shared by
 * the server (gate `promote`, and the `POST /api/v1/policies/evaluate` dry run) and the engine
 * (gate `start`), so both decide on the same facts. What the facts mean is core's
 * (src/core/governance/facts.ts); this file only reads objects.
 */
import { buildPolicyFacts, type PolicyFacts } from '../../core/governance/facts.js';
import { evaluatePolicies, type NamedPolicy } from '../../core/governance/policy.js';
import { changeRecordStatusSchema, readReleaseStatus, type GateResult } from '../../core/governance/records.js';
import { artifactSpecSchema, type ArtifactSpec } from '../../core/resources/artifact.js';
import { changeSpecSchema } from '../../core/resources/change.js';
import { environmentSpecSchema, type EnvironmentSpec } from '../../core/resources/environment.js';
import type { KindName } from '../../core/resources/kinds.js';
import { policySpecShapeSchema, type PolicyGate } from '../../core/resources/policy.js';
import { releaseSpecSchema } from '../../core/resources/release.js';
import { serviceSpecSchema, type ServiceSpec } from '../../core/resources/service.js';
import { NotFoundError, type StoredObject, type Stores } from '../../ports/store.js';

export interface PolicySubject {
  environment: string;
  /** The Release being promoted or deployed; null for a Deployment without one. */
  release: StoredObject | null;
  /** What would run: one entry per component. */
  components: Array<{ service: string; version: string; digest: string | null }>;
  /** The change record that authorizes it, when there is one. */
  change: StoredObject | null;
}

type Read = Pick<Stores, 'objects'>;

/** A stored Policy: its spec, or why it cannot be read (then it fails closed, see `invalidPolicyResult`). */
export type LoadedPolicy = NamedPolicy | { name: string; invalid: string; severity: 'warn' | 'deny' };

export interface ComponentFacts {
  service: string;
  version: string;
  facts: PolicyFacts;
}

const PAGE = 500;

/** Every object of a kind, following cursors to the last page. */
async function listAll(read: Read, kind: KindName): Promise<StoredObject[]> {
  const items: StoredObject[] = [];
  let cursor: string | undefined;
  do {
    const page = await read.objects.list(kind, { limit: PAGE, ...(cursor ? { cursor } : {}) });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return items;
}

/**
 * Every Policy, ordered by name. Read with the schema's shape but without its CEL check, so a
 * policy that a later, stricter check would refuse still evaluates (and its errors count as its
 * severity) instead of silently disappearing.
 */
export async function loadPolicies(read: Read): Promise<LoadedPolicy[]> {
  return (await listAll(read, 'Policy')).map((object) => {
    const parsed = policySpecShapeSchema.safeParse(object.spec);
    if (parsed.success) return { name: object.name, spec: parsed.data };
    const severity = object.spec.severity === 'warn' ? 'warn' : 'deny';
    return { name: object.name, invalid: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'spec'}: ${issue.message}`).join('; '), severity };
  });
}

const isInvalid = (policy: LoadedPolicy): policy is Extract<LoadedPolicy, { invalid: string }> => 'invalid' in policy;

/** An unreadable Policy holds the gate (deny) or warns, at every gate: its scope cannot be trusted either. */
function invalidPolicyResult(policy: Extract<LoadedPolicy, { invalid: string }>): GateResult {
  return { gate: 'policy', name: policy.name, outcome: policy.severity, message: `could not evaluate: invalid policy: ${policy.invalid}`, inputs: {} };
}

async function readEnvironment(read: Read, name: string): Promise<EnvironmentSpec> {
  const object = await read.objects.get('Environment', name);
  if (!object) throw new NotFoundError(`Environment "${name}" does not exist`);
  const parsed = environmentSpecSchema.safeParse(object.spec);
  if (parsed.success) return parsed.data;
  // Stored before a schema change: keep what decides applicability (production) and fail safe on the rest.
  return { production: object.spec.production === true, dataSensitivity: 'restricted' };
}

/** Artifact records by digest; per digest, the one recorded for `service` when several exist. */
function artifactFor(artifacts: ArtifactSpec[], service: string, digest: string | null): ArtifactSpec | null {
  if (!digest) return null;
  const matching = artifacts.filter((artifact) => artifact.digest === digest);
  return matching.find((artifact) => artifact.service === service) ?? matching[0] ?? null;
}

/** The facts of each component of `subject` (environment must exist: NotFoundError otherwise). */
export async function loadPolicyFacts(read: Read, subject: PolicySubject, now: Date): Promise<ComponentFacts[]> {
  const environment = await readEnvironment(read, subject.environment);
  if (subject.components.length === 0) return [];

  const releaseSpec = subject.release ? releaseSpecSchema.safeParse(subject.release.spec) : null;
  const release =
    subject.release && releaseSpec?.success
      ? { name: subject.release.name, spec: releaseSpec.data, status: readReleaseStatus(subject.release.status) }
      : null;

  const changeSpec = subject.change ? changeSpecSchema.safeParse(subject.change.spec) : null;
  const changeStatus = subject.change ? changeRecordStatusSchema.safeParse(subject.change.status ?? {}) : null;
  const change =
    subject.change && changeSpec?.success
      ? { name: subject.change.name, spec: changeSpec.data, status: changeStatus?.success ? changeStatus.data : null }
      : null;

  const services = new Map<string, ServiceSpec | null>();
  for (const name of new Set(subject.components.map((component) => component.service))) {
    const object = await read.objects.get('Service', name);
    const parsed = object ? serviceSpecSchema.safeParse(object.spec) : null;
    services.set(name, parsed?.success ? parsed.data : null);
  }

  // Artifacts are not indexed by digest; listing them is fine at the scale of one control plane.
  const artifacts = subject.components.some((component) => component.digest)
    ? (await listAll(read, 'Artifact')).flatMap((object) => {
        const parsed = artifactSpecSchema.safeParse(object.spec);
        return parsed.success ? [parsed.data] : [];
      })
    : [];

  const groups = new Set<string>();
  for (const user of await listAll(read, 'User')) {
    const userGroups = user.spec.groups;
    if (Array.isArray(userGroups)) for (const group of userGroups) if (typeof group === 'string') groups.add(group);
  }
  for (const rule of environment.approvals ?? []) groups.add(rule.group);

  return subject.components.map((component) => {
    const inRelease = release?.spec.components.find((candidate) => candidate.service === component.service);
    return {
      service: component.service,
      version: component.version,
      facts: buildPolicyFacts({
        environment: { name: subject.environment, spec: environment },
        component: { ...component, businessServices: inRelease?.businessServices },
        service: services.get(component.service) ?? null,
        artifact: artifactFor(artifacts, component.service, component.digest),
        release,
        change,
        groups: [...groups].sort(),
        nowMs: now.getTime(),
      }),
    };
  });
}

/** The results of `policies` at `gate` for each component's facts: per component, policies in order. */
export function evaluateLoadedPolicies(policies: readonly LoadedPolicy[], components: readonly ComponentFacts[], gate: PolicyGate): GateResult[] {
  const valid = policies.filter((policy): policy is NamedPolicy => !isInvalid(policy));
  const results: GateResult[] = policies.filter(isInvalid).map(invalidPolicyResult);
  for (const component of components) {
    const { facts } = component;
    results.push(
      ...evaluatePolicies(valid, facts, { gate, environment: facts.environment.name, production: facts.environment.production, service: component.service }),
    );
  }
  return results;
}

/** One result per applicable policy and component (pass / warn / deny), with expression and inputs. */
export async function evaluatePolicyGate(read: Pick<Stores, 'objects'>, subject: PolicySubject, gate: PolicyGate, now: Date): Promise<GateResult[]> {
  const policies = await loadPolicies(read);
  // The engine asks on every pass: without a policy for this gate nothing else is read.
  const relevant = policies.filter((policy) => isInvalid(policy) || policy.spec.gates.includes(gate));
  if (relevant.length === 0) return [];
  const facts = await loadPolicyFacts(read, subject, now);
  return evaluateLoadedPolicies(relevant, facts, gate);
}
