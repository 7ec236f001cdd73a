/**
 * The facts a Policy's CEL expression sees, built from plain data (no I/O, no clock: `nowMs` is an
 * argument). src/engine/governance/policy-gate.ts loads the objects; this file decides what they
 * mean, so the promotion gate (server), the start gate (engine) and `rollgate policy test` see the
 * same values. One set of facts per component (service) being promoted or deployed.
 *
 * Variables (top-level CEL identifiers; the names are an API: policies in the wild use them):
 *
 * | variable      | shape |
 * |---------------|-------|
 * | `environment` | `{name, production, dataSensitivity}` |
 * | `service`     | `{name, tier, businessServices}` (`tier` '' when the Service is gone) |
 * | `artifact`    | `{known, service, version, digest, signed, signatures, attestations {provenance, sbom, sarif, coverage}, author, metadata}` |
 * | `release`     | `{name, version, scope [{title, classification, value, contractual, jurisdictions}], jurisdictions, counts {netNew, enhancement, defectFix}}` |
 * | `results`     | map result name → `{type, passed, value, findings {critical, high, medium, low}}` |
 * | `coverage`    | double: the latest coverage result's value, -1 when there is none |
 * | `findings`    | `{critical, high, medium, low}`: summed over the static-analysis and security-scan results in `results` |
 * | `risk`        | `{level, score}` (`''` and 0 when unknown) |
 * | `change`      | `{name, type, state}` (`''` without a change record) |
 * | `approvals`   | map group → distinct users whose latest valid decision approves (0 for every known group) |
 * | `approvers`   | distinct approving users |
 * | `now`         | `{hour, weekday ('MO'..'SU'), iso}` in UTC |
 *
 * Every number is a CEL `double` (as in analysis conditions and risk rules): comparisons with int
 * literals work (`coverage >= 80`, `approvals.cab >= 2`), arithmetic needs `.0`
 * (`findings.high + findings.medium < 10.0`).
 *
 * Missing data never means "absent variable": without an Artifact record `artifact.known` is false
 * and every attestation false; without a release its strings are '' and lists empty; without a
 * change record `change.*` is '' and `approvals` only holds zeros. So an expression fails closed
 * (false → the policy's severity) instead of erroring. Maps keyed by user data (`results`,
 * `artifact.metadata`) only hold what exists: test with `has(results.e2e)` or `'e2e' in results`.
 */
import { z } from 'zod';
import type { ArtifactSpec } from '../resources/artifact.js';
import type { ChangeSpec } from '../resources/change.js';
import type { EnvironmentSpec } from '../resources/environment.js';
import type { ReleaseSpec } from '../resources/release.js';
import type { ServiceSpec } from '../resources/service.js';
import type { ChangeRecordStatus, ReleaseRecordStatus, ReleaseResult } from './records.js';
import { RISK_LEVELS } from './risk-levels.js';

const findingsSchema = z.object({ critical: z.number(), high: z.number(), medium: z.number(), low: z.number() });
export type FindingCounts = z.infer<typeof findingsSchema>;

export const ATTESTATION_TYPES = ['provenance', 'sbom', 'sarif', 'coverage'] as const;

/** Wire and type of the facts; the route returns them and the client parses them with this. */
export const policyFactsSchema = z.object({
  environment: z.object({ name: z.string(), production: z.boolean(), dataSensitivity: z.string() }),
  service: z.object({ name: z.string(), tier: z.string(), businessServices: z.array(z.string()) }),
  artifact: z.object({
    /** false: no Artifact record has this digest (nothing is known about its signatures). */
    known: z.boolean(),
    service: z.string(),
    version: z.string(),
    digest: z.string(),
    /** At least one signature is recorded. */
    signed: z.boolean(),
    /** The key ids of the recorded signatures. */
    signatures: z.array(z.string()),
    attestations: z.object({ provenance: z.boolean(), sbom: z.boolean(), sarif: z.boolean(), coverage: z.boolean() }),
    author: z.string(),
    metadata: z.record(z.string(), z.string()),
  }),
  release: z.object({
    name: z.string(),
    version: z.string(),
    scope: z.array(
      z.object({
        title: z.string(),
        classification: z.string(),
        value: z.number(),
        contractual: z.boolean(),
        jurisdictions: z.array(z.string()),
      }),
    ),
    jurisdictions: z.array(z.string()),
    counts: z.object({ netNew: z.number(), enhancement: z.number(), defectFix: z.number() }),
  }),
  results: z.record(z.string(), z.object({ type: z.string(), passed: z.boolean(), value: z.number(), findings: findingsSchema })),
  coverage: z.number(),
  findings: findingsSchema,
  risk: z.object({ level: z.string(), score: z.number() }),
  change: z.object({ name: z.string(), type: z.string(), state: z.string() }),
  approvals: z.record(z.string(), z.number()),
  approvers: z.number(),
  now: z.object({ hour: z.number(), weekday: z.string(), iso: z.string() }),
});
export type PolicyFacts = z.infer<typeof policyFactsSchema>;

/** The CEL variables, in documentation order. */
export const POLICY_FACT_NAMES = Object.keys(policyFactsSchema.shape) as Array<keyof PolicyFacts>;

export interface PolicyFactsInput {
  environment: { name: string; spec: EnvironmentSpec };
  /** The component being promoted or deployed. */
  component: { service: string; version: string; digest: string | null; businessServices?: string[] | undefined };
  /** null when the Service object no longer exists. */
  service: ServiceSpec | null;
  /** The Artifact record whose digest is the component's; null when there is none. */
  artifact: ArtifactSpec | null;
  release: { name: string; spec: ReleaseSpec; status: ReleaseRecordStatus } | null;
  change: { name: string; spec: ChangeSpec; status: ChangeRecordStatus | null } | null;
  /** Every group a User belongs to: prefilled with 0 in `approvals`, so `approvals.cab >= 2` never errors. */
  groups?: readonly string[];
  nowMs: number;
}

const WEEKDAYS = ['SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;

const zeroFindings = (): FindingCounts => ({ critical: 0, high: 0, medium: 0, low: 0 });

const finite = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** Newest first; results without a parseable time sort last (oldest). */
const byNewest = (a: ReleaseResult, b: ReleaseResult) => (Date.parse(b.at) || 0) - (Date.parse(a.at) || 0);

/**
 * The results that concern `service`: the whole release's (no `service`) and the service's own.
 * Per name the service's own wins over the release-wide one, then the newest wins (the same name
 * may be posted for several environments).
 */
function relevantResults(results: readonly ReleaseResult[], service: string): ReleaseResult[] {
  const chosen = new Map<string, ReleaseResult>();
  const specificity = (result: ReleaseResult) => (result.service === service ? 1 : 0);
  for (const result of [...results].sort(byNewest)) {
    if (result.service !== undefined && result.service !== service) continue;
    const current = chosen.get(result.name);
    if (!current || specificity(result) > specificity(current)) chosen.set(result.name, result);
  }
  return [...chosen.values()];
}

function findingsOf(result: ReleaseResult): FindingCounts {
  const found = result.findings ?? {};
  return {
    critical: finite(found.critical) ? found.critical : 0,
    high: finite(found.high) ? found.high : 0,
    medium: finite(found.medium) ? found.medium : 0,
    low: finite(found.low) ? found.low : 0,
  };
}

/** The service's own latest coverage value, else the release-wide latest; -1 when none has a value. */
function coverageOf(results: readonly ReleaseResult[], service: string): number {
  const withValue = results.filter((result) => result.type === 'coverage' && finite(result.value)).sort(byNewest);
  const own = withValue.find((result) => result.service === service);
  const wide = withValue.find((result) => result.service === undefined);
  return (own ?? wide)?.value ?? -1;
}

/** Distinct users whose latest valid decision is `approve`, per group, and their number. */
function approvalsOf(status: ChangeRecordStatus | null, groups: readonly string[]): { approvals: Record<string, number>; approvers: number } {
  const approvals: Record<string, number> = {};
  for (const group of groups) approvals[group] = 0;
  for (const requirement of status?.requiredApprovals ?? []) approvals[requirement.group] ??= 0;
  // A user who approved and then rejected (both still valid) does not count: their latest word wins.
  const latest = new Map<string, ChangeRecordStatus['approvals'][number]>();
  for (const record of status?.approvals ?? []) {
    if (!record.valid) continue;
    const current = latest.get(record.user);
    if (!current || (Date.parse(record.at) || 0) >= (Date.parse(current.at) || 0)) latest.set(record.user, record);
  }
  let approvers = 0;
  for (const record of latest.values()) {
    if (record.decision !== 'approve') continue;
    approvers += 1;
    for (const group of new Set(record.groups)) approvals[group] = (approvals[group] ?? 0) + 1;
  }
  return { approvals, approvers };
}

/**
 * The higher of the assessed risk (change status) and the level written on the change (spec): a
 * requester who declares `high` is not overruled by a lower computed score.
 */
function riskOf(change: PolicyFactsInput['change']): { level: string; score: number } {
  if (!change) return { level: '', score: 0 };
  const assessed = change.status?.risk ?? null;
  const declared = change.spec.risk;
  const rank = (level: string | undefined) => (level ? RISK_LEVELS.indexOf(level as (typeof RISK_LEVELS)[number]) : -1);
  const level = rank(declared) > rank(assessed?.level) ? declared! : (assessed?.level ?? '');
  return { level, score: assessed?.score ?? 0 };
}

export function buildPolicyFacts(input: PolicyFactsInput): PolicyFacts {
  const { environment, component, service, artifact, release, change } = input;
  const results = relevantResults(release?.status.results ?? [], component.service);
  const resultFacts: PolicyFacts['results'] = {};
  const findings = zeroFindings();
  for (const result of results) {
    const counts = findingsOf(result);
    resultFacts[result.name] = { type: result.type, passed: result.passed, value: finite(result.value) ? result.value : 0, findings: counts };
    if (result.type === 'static-analysis' || result.type === 'security-scan') {
      for (const severity of ['critical', 'high', 'medium', 'low'] as const) findings[severity] += counts[severity];
    }
  }

  const scope = (release?.spec.scope ?? []).map((item) => ({
    title: item.title,
    classification: item.classification,
    value: item.value ?? 0,
    contractual: item.contractual ?? false,
    jurisdictions: [...(item.jurisdictions ?? [])],
  }));
  const attestationTypes = new Set((artifact?.attestations ?? []).map((attestation) => attestation.type));
  const signatures = (artifact?.signatures ?? []).map((signature) => signature.keyId);
  const now = new Date(input.nowMs);

  return {
    environment: { name: environment.name, production: environment.spec.production, dataSensitivity: environment.spec.dataSensitivity },
    service: {
      name: component.service,
      tier: service?.tier ?? '',
      // What the service touches in general plus what this release says this component touches.
      businessServices: [...new Set([...(service?.businessServices ?? []), ...(component.businessServices ?? [])])].sort(),
    },
    artifact: {
      known: artifact !== null,
      service: artifact?.service ?? component.service,
      version: artifact?.version ?? component.version,
      digest: artifact?.digest ?? component.digest ?? '',
      signed: signatures.length > 0,
      signatures,
      attestations: {
        provenance: attestationTypes.has('provenance'),
        sbom: attestationTypes.has('sbom'),
        sarif: attestationTypes.has('sarif'),
        coverage: attestationTypes.has('coverage'),
      },
      author: artifact?.author ?? '',
      metadata: { ...(artifact?.metadata ?? {}) },
    },
    release: {
      name: release?.name ?? '',
      version: release?.spec.version ?? '',
      scope,
      jurisdictions: [...new Set(scope.flatMap((item) => item.jurisdictions))].sort(),
      counts: {
        netNew: scope.filter((item) => item.classification === 'net-new').length,
        enhancement: scope.filter((item) => item.classification === 'enhancement').length,
        defectFix: scope.filter((item) => item.classification === 'defect-fix').length,
      },
    },
    results: resultFacts,
    coverage: coverageOf(results, component.service),
    findings,
    risk: riskOf(change),
    change: { name: change?.name ?? '', type: change?.spec.type ?? '', state: change?.status?.state ?? '' },
    ...approvalsOf(change?.status ?? null, input.groups ?? []),
    now: { hour: now.getUTCHours(), weekday: WEEKDAYS[now.getUTCDay()]!, iso: now.toISOString() },
  };
}
