import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildPolicyFacts, POLICY_FACT_NAMES, type PolicyFacts, type PolicyFactsInput } from '../../../src/core/governance/facts.js';
import { anyDenied, checkPolicyExpression, evaluatePolicies, evaluatePolicy, policyApplies } from '../../../src/core/governance/policy.js';
import type { ApprovalRecord, ReleaseResult } from '../../../src/core/governance/records.js';
import { releaseRecordStatusSchema } from '../../../src/core/governance/records.js';
import { policySpecSchema, type PolicySpec } from '../../../src/core/resources/policy.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../../examples/policies');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const NOW = Date.UTC(2026, 10, 27, 14, 30); // Friday 2026-11-27 14:30 UTC

const result = (overrides: Partial<ReleaseResult> & Pick<ReleaseResult, 'name' | 'type'>): ReleaseResult => ({
  id: overrides.name,
  passed: true,
  postedBy: 'ci',
  at: '2026-11-20T10:00:00Z',
  ...overrides,
});

const approval = (user: string, groups: string[], overrides: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
  id: `${user}-${overrides.at ?? 'a'}`,
  user,
  groups,
  decision: 'approve',
  comment: '',
  at: '2026-11-21T10:00:00Z',
  valid: true,
  ...overrides,
});

/** A production promotion of `checkout` with a signed artifact, coverage 85 and a clean scan. */
function input(overrides: Partial<PolicyFactsInput> = {}): PolicyFactsInput {
  return {
    environment: { name: 'prod', spec: { production: true, dataSensitivity: 'confidential' } },
    component: { service: 'checkout', version: '2.1.0', digest: DIGEST, businessServices: ['payments'] },
    service: { owner: 'team-a', tier: 'critical', businessServices: ['orders'], target: { type: 'command', deploy: 'true' } },
    artifact: {
      service: 'checkout',
      version: '2.1.0',
      digest: DIGEST,
      author: 'alice',
      metadata: { commit: 'abc123' },
      signatures: [{ keyId: 'release-2026', signature: 'MEUC' }],
      attestations: [{ type: 'provenance' }, { type: 'sbom' }],
    },
    release: {
      name: 'r-2026-11',
      spec: {
        version: '2026.11.0',
        components: [],
        scope: [
          { title: 'new checkout', classification: 'net-new', value: 80, jurisdictions: ['eu'] },
          { title: 'fix rounding', classification: 'defect-fix', contractual: true, jurisdictions: ['us-ca', 'eu'] },
        ],
      },
      status: releaseRecordStatusSchema.parse({
        results: [
          result({ name: 'coverage', type: 'coverage', value: 85 }),
          result({ name: 'sast', type: 'static-analysis', findings: { critical: 0, high: 2 } }),
        ],
      }),
    },
    change: null,
    groups: ['cab', 'security'],
    nowMs: NOW,
    ...overrides,
  };
}

const facts = (overrides: Partial<PolicyFactsInput> = {}): PolicyFacts => buildPolicyFacts(input(overrides));
const withResults = (results: ReleaseResult[]) => facts({ release: { ...input().release!, status: releaseRecordStatusSchema.parse({ results }) } });
const withChange = (risk: 'low' | 'high' | 'critical' | undefined, approvals: ApprovalRecord[], type: 'normal' | 'standard' = 'normal') =>
  facts({
    change: {
      name: 'chg-1',
      spec: { type, title: 't', services: [], businessServices: [], evidence: [], ...(risk ? { risk } : {}) },
      status: { state: 'Scheduled', requestedBy: 'bob', authors: [], origin: 'automatic', deployments: [], risk: null, requiredApprovals: [], extraApprovals: [], approvals, gates: [], history: [] },
    },
  });

function loadExample(file: string): { name: string; spec: PolicySpec } {
  const document = parseYaml(readFileSync(path.join(EXAMPLES, file), 'utf8')) as { metadata: { name: string }; spec: unknown };
  return { name: document.metadata.name, spec: policySpecSchema.parse(document.spec) };
}

describe('example policies (examples/policies/)', () => {
  it('every example is a valid Policy spec', () => {
    const files = readdirSync(EXAMPLES).filter((file) => file.endsWith('.yaml'));
    expect(files.sort()).toEqual(['coverage-80.yaml', 'high-risk-needs-cab.yaml', 'no-critical-findings.yaml', 'signed-artifact-prod.yaml']);
    for (const file of files) expect(() => loadExample(file)).not.toThrow();
  });

  const cases: Array<{ file: string; label: string; facts: () => PolicyFacts; outcome: 'pass' | 'deny' }> = [
    { file: 'signed-artifact-prod.yaml', label: 'signed, known artifact', facts: () => facts(), outcome: 'pass' },
    { file: 'signed-artifact-prod.yaml', label: 'no Artifact record for the digest', facts: () => facts({ artifact: null }), outcome: 'deny' },
    {
      file: 'signed-artifact-prod.yaml',
      label: 'recorded but unsigned',
      facts: () => facts({ artifact: { ...input().artifact!, signatures: [] } }),
      outcome: 'deny',
    },
    { file: 'coverage-80.yaml', label: 'coverage 85', facts: () => facts(), outcome: 'pass' },
    { file: 'coverage-80.yaml', label: 'coverage exactly 80', facts: () => withResults([result({ name: 'cov', type: 'coverage', value: 80 })]), outcome: 'pass' },
    { file: 'coverage-80.yaml', label: 'coverage 79.9', facts: () => withResults([result({ name: 'cov', type: 'coverage', value: 79.9 })]), outcome: 'deny' },
    { file: 'coverage-80.yaml', label: 'no coverage posted (-1)', facts: () => withResults([]), outcome: 'deny' },
    { file: 'no-critical-findings.yaml', label: 'only high findings', facts: () => facts(), outcome: 'pass' },
    {
      file: 'no-critical-findings.yaml',
      label: 'one critical in a security scan',
      facts: () => withResults([result({ name: 'trivy', type: 'security-scan', findings: { critical: 1 } })]),
      outcome: 'deny',
    },
    { file: 'high-risk-needs-cab.yaml', label: 'no change record (risk unknown)', facts: () => facts(), outcome: 'pass' },
    { file: 'high-risk-needs-cab.yaml', label: 'low risk, no approvals', facts: () => withChange('low', []), outcome: 'pass' },
    { file: 'high-risk-needs-cab.yaml', label: 'high risk, one cab approval', facts: () => withChange('high', [approval('carol', ['cab'])]), outcome: 'deny' },
    { file: 'high-risk-needs-cab.yaml', label: 'high risk, standard (pre-approved) change', facts: () => withChange('high', [], 'standard'), outcome: 'pass' },
    {
      file: 'high-risk-needs-cab.yaml',
      label: 'critical risk, two cab approvals',
      facts: () => withChange('critical', [approval('carol', ['cab']), approval('dave', ['cab', 'security'])]),
      outcome: 'pass',
    },
    {
      file: 'high-risk-needs-cab.yaml',
      label: 'high risk, second cab approval invalidated by an edit',
      facts: () => withChange('high', [approval('carol', ['cab']), approval('dave', ['cab'], { valid: false })]),
      outcome: 'deny',
    },
  ];

  it.each(cases)('$file: $label → $outcome', ({ file, facts: build, outcome }) => {
    const policy = loadExample(file);
    const evaluated = evaluatePolicy(policy.name, policy.spec, build());
    expect(evaluated.outcome, evaluated.message).toBe(outcome);
    expect(evaluated.expression).toBe(policy.spec.expression);
    expect(evaluated.message).toBe(outcome === 'pass' ? 'holds' : policy.spec.message);
  });
});

describe('buildPolicyFacts', () => {
  it('exposes exactly the documented variables', () => {
    expect(Object.keys(facts()).sort()).toEqual([...POLICY_FACT_NAMES].sort());
    expect(POLICY_FACT_NAMES).toEqual(['environment', 'service', 'artifact', 'release', 'results', 'coverage', 'findings', 'risk', 'change', 'approvals', 'approvers', 'now']);
  });

  it('describes a known artifact: signatures by key id, attestations as bools', () => {
    const f = facts();
    expect(f.artifact).toEqual({
      known: true,
      service: 'checkout',
      version: '2.1.0',
      digest: DIGEST,
      signed: true,
      signatures: ['release-2026'],
      attestations: { provenance: true, sbom: true, sarif: false, coverage: false },
      author: 'alice',
      metadata: { commit: 'abc123' },
    });
  });

  it('without an Artifact record: known false, unsigned, no attestations, identity from the component', () => {
    expect(facts({ artifact: null }).artifact).toEqual({
      known: false,
      service: 'checkout',
      version: '2.1.0',
      digest: DIGEST,
      signed: false,
      signatures: [],
      attestations: { provenance: false, sbom: false, sarif: false, coverage: false },
      author: '',
      metadata: {},
    });
    expect(facts({ artifact: null, component: { service: 'checkout', version: '1', digest: null } }).artifact.digest).toBe('');
  });

  it('environment, service (business services merged), release scope, counts and jurisdictions', () => {
    const f = facts();
    expect(f.environment).toEqual({ name: 'prod', production: true, dataSensitivity: 'confidential' });
    expect(f.service).toEqual({ name: 'checkout', tier: 'critical', businessServices: ['orders', 'payments'] });
    expect(f.release.name).toBe('r-2026-11');
    expect(f.release.scope[1]).toEqual({ title: 'fix rounding', classification: 'defect-fix', value: 0, contractual: true, jurisdictions: ['us-ca', 'eu'] });
    expect(f.release.jurisdictions).toEqual(['eu', 'us-ca']);
    expect(f.release.counts).toEqual({ netNew: 1, enhancement: 0, defectFix: 1 });
    expect(facts({ service: null }).service.tier).toBe('');
  });

  it('without a release: empty strings, lists and zero counts; coverage -1', () => {
    const f = facts({ release: null });
    expect(f.release).toEqual({ name: '', version: '', scope: [], jurisdictions: [], counts: { netNew: 0, enhancement: 0, defectFix: 0 } });
    expect(f.results).toEqual({});
    expect(f.coverage).toBe(-1);
    expect(f.findings).toEqual({ critical: 0, high: 0, medium: 0, low: 0 });
  });

  it('results: release-wide plus this service\'s (its own wins), other services\' left out; values and findings default to 0', () => {
    const f = withResults([
      result({ name: 'unit', type: 'test', passed: false, at: '2026-11-20T10:00:00Z' }),
      result({ name: 'unit', type: 'test', passed: true, service: 'checkout', at: '2026-11-19T10:00:00Z' }),
      result({ name: 'e2e', type: 'test', passed: false, service: 'cart' }),
      result({ name: 'bench', type: 'benchmark', value: 12.5 }),
    ]);
    expect(Object.keys(f.results).sort()).toEqual(['bench', 'unit']);
    expect(f.results.unit).toEqual({ type: 'test', passed: true, value: 0, findings: { critical: 0, high: 0, medium: 0, low: 0 } });
    expect(f.results.bench!.value).toBe(12.5);
  });

  it('coverage: the service\'s own latest, else the release-wide latest', () => {
    const wide = [
      result({ name: 'cov-old', type: 'coverage', value: 90, at: '2026-11-01T00:00:00Z' }),
      result({ name: 'cov-new', type: 'coverage', value: 70, at: '2026-11-02T00:00:00Z' }),
    ];
    expect(withResults(wide).coverage).toBe(70);
    expect(withResults([...wide, result({ name: 'cov-checkout', type: 'coverage', value: 88, service: 'checkout', at: '2026-10-01T00:00:00Z' })]).coverage).toBe(88);
    expect(withResults([...wide, result({ name: 'cov-cart', type: 'coverage', value: 10, service: 'cart', at: '2026-12-01T00:00:00Z' })]).coverage).toBe(70);
  });

  it('findings: summed over static-analysis and security-scan results for this component or the release', () => {
    const f = withResults([
      result({ name: 'sast', type: 'static-analysis', findings: { critical: 1, high: 2 } }),
      result({ name: 'trivy', type: 'security-scan', service: 'checkout', findings: { high: 1, low: 4 } }),
      result({ name: 'trivy-cart', type: 'security-scan', service: 'cart', findings: { critical: 9 } }),
      result({ name: 'unit', type: 'test', findings: { critical: 5 } }),
    ]);
    expect(f.findings).toEqual({ critical: 1, high: 3, medium: 0, low: 4 });
  });

  it('approvals: distinct valid approvers per group, prefilled with 0; a later rejection cancels an approval', () => {
    const f = withChange('high', [
      approval('carol', ['cab']),
      approval('carol', ['cab']),
      approval('dave', ['cab', 'security']),
      approval('erin', ['cab'], { valid: false }),
      approval('frank', ['ops'], { at: '2026-11-21T10:00:00Z' }),
      approval('frank', ['ops'], { at: '2026-11-22T10:00:00Z', decision: 'reject' }),
      approval('gina', ['sre'], { decision: 'reject' }),
    ]);
    expect(f.approvals).toEqual({ cab: 2, security: 1 });
    expect(f.approvers).toBe(2);
    expect(f.change).toEqual({ name: 'chg-1', type: 'normal', state: 'Scheduled' });
    expect(facts().approvals).toEqual({ cab: 0, security: 0 });
    expect(facts().change).toEqual({ name: '', type: '', state: '' });
  });

  it('risk: the higher of the assessed and the declared level, the assessed score', () => {
    expect(facts().risk).toEqual({ level: '', score: 0 });
    expect(withChange('high', []).risk).toEqual({ level: 'high', score: 0 });
    const change = (declared: 'low' | 'critical' | undefined, level: 'medium' | 'high') =>
      facts({
        change: {
          name: 'c',
          spec: { type: 'normal', title: 't', services: [], businessServices: [], evidence: [], ...(declared ? { risk: declared } : {}) },
          status: {
            state: 'New', requestedBy: 'bob', authors: [], origin: 'manual', deployments: [], requiredApprovals: [], extraApprovals: [], approvals: [], gates: [], history: [],
            risk: { score: 62, level, levelBeforeFloor: level, factors: [], floor: null, skippedRules: [], assessedAt: '2026-11-20T00:00:00Z' },
          },
        },
      }).risk;
    expect(change(undefined, 'high')).toEqual({ level: 'high', score: 62 });
    expect(change('low', 'medium')).toEqual({ level: 'medium', score: 62 });
    expect(change('critical', 'medium')).toEqual({ level: 'critical', score: 62 });
  });

  it('now: hour, two-letter weekday and ISO time in UTC', () => {
    expect(facts().now).toEqual({ hour: 14, weekday: 'FR', iso: '2026-11-27T14:30:00.000Z' });
    expect(facts({ nowMs: Date.UTC(2026, 10, 29, 23, 59) }).now.weekday).toBe('SU');
  });
});

describe('evaluatePolicy', () => {
  const deny = (expression: string, message = 'refused'): Pick<PolicySpec, 'severity' | 'expression' | 'message'> => ({ severity: 'deny', expression, message });

  it('records the gate, name, service, expression and the referenced top-level facts as inputs', () => {
    const f = facts();
    const evaluated = evaluatePolicy('p', deny('artifact.signed && coverage >= 80 && release.scope.exists(s, s.contractual)'), f);
    expect(evaluated).toEqual({
      gate: 'policy',
      name: 'p',
      service: 'checkout',
      outcome: 'pass',
      message: 'holds',
      expression: 'artifact.signed && coverage >= 80 && release.scope.exists(s, s.contractual)',
      inputs: { artifact: f.artifact, coverage: 85, release: f.release },
    });
  });

  it('does not record comprehension variables or words inside string literals as inputs', () => {
    const evaluated = evaluatePolicy('p', deny('release.scope.all(coverage, coverage.title != "now findings")'), facts());
    expect(Object.keys(evaluated.inputs ?? {})).toEqual(['release']);
  });

  it('false → the severity with the policy message; warn stays warn', () => {
    expect(evaluatePolicy('p', deny('coverage >= 99', 'too low'), facts())).toMatchObject({ outcome: 'deny', message: 'too low' });
    expect(evaluatePolicy('p', { severity: 'warn', expression: 'coverage >= 99', message: 'low' }, facts())).toMatchObject({ outcome: 'warn', message: 'low' });
  });

  it.each([
    { label: 'missing result key', expression: 'results.e2e.passed', error: /could not evaluate: .*e2e/ },
    { label: 'missing metadata key', expression: 'artifact.metadata.builder == "gha"', error: /could not evaluate: / },
    { label: 'not a bool', expression: 'coverage', error: /could not evaluate: must evaluate to a bool, got double/ },
    { label: 'int arithmetic on doubles', expression: 'coverage + 1 > 2', error: /could not evaluate: .*overload/ },
    { label: 'syntax error', expression: 'coverage >=', error: /could not evaluate: invalid CEL/ },
    { label: 'unknown variable', expression: 'artefact.signed', error: /could not evaluate: / },
  ])('an expression that cannot be evaluated ($label) counts as the severity', ({ expression, error }) => {
    const denied = evaluatePolicy('p', deny(expression), facts());
    expect(denied.outcome).toBe('deny');
    expect(denied.message).toMatch(error);
    expect(evaluatePolicy('p', { severity: 'warn', expression, message: 'm' }, facts()).outcome).toBe('warn');
  });

  it('has() and `in` guard user-keyed maps', () => {
    expect(evaluatePolicy('p', deny('!has(results.e2e) || results.e2e.passed'), facts()).outcome).toBe('pass');
    expect(evaluatePolicy('p', deny('"e2e" in results && results.e2e.passed'), facts()).outcome).toBe('deny');
    expect(evaluatePolicy('p', deny('has(artifact.metadata.commit) && artifact.metadata.commit.startsWith("abc")'), facts()).outcome).toBe('pass');
  });

  it('approvals of a group nobody is in read as 0 (no error), and that 0 is in the inputs', () => {
    const evaluated = evaluatePolicy('p', deny('approvals.auditors >= 1 || approvals["release-managers"] >= 1'), facts());
    expect(evaluated.outcome).toBe('deny');
    expect(evaluated.message).toBe('refused');
    expect(evaluated.inputs).toEqual({ approvals: { cab: 0, security: 0, auditors: 0, 'release-managers': 0 } });
    expect(evaluatePolicy('p', deny('!has(approvals.auditors)'), facts()).outcome).toBe('pass');
  });

  it('string functions, lists, sizes and time', () => {
    const f = facts();
    expect(evaluatePolicy('p', deny('"eu" in release.jurisdictions && size(artifact.signatures) == 1'), f).outcome).toBe('pass');
    expect(evaluatePolicy('p', deny('service.tier in ["critical", "high"] && artifact.digest.startsWith("sha256:")'), f).outcome).toBe('pass');
    expect(evaluatePolicy('p', deny('!(now.weekday in ["FR", "SA", "SU"]) || now.hour < 12'), f).outcome).toBe('deny');
    expect(evaluatePolicy('p', deny('timestamp(now.iso) > timestamp("2026-01-01T00:00:00Z")'), f).outcome).toBe('pass');
  });
});

describe('policyApplies', () => {
  const spec = (scope?: PolicySpec['scope'], gates: PolicySpec['gates'] = ['promote']) => ({ gates, scope });
  const target = { gate: 'promote' as const, environment: 'prod', production: true, service: 'checkout' };
  it.each([
    { label: 'no scope', spec: spec(), target, applies: true },
    { label: 'other gate', spec: spec(undefined, ['start']), target, applies: false },
    { label: 'both gates', spec: spec(undefined, ['start', 'promote']), target, applies: true },
    { label: 'productionOnly in prod', spec: spec({ productionOnly: true }), target, applies: true },
    { label: 'productionOnly in staging', spec: spec({ productionOnly: true }), target: { ...target, environment: 'staging', production: false }, applies: false },
    { label: 'listed environment', spec: spec({ environments: ['prod', 'dr'] }), target, applies: true },
    { label: 'unlisted environment', spec: spec({ environments: ['staging'] }), target, applies: false },
    { label: 'empty environment list', spec: spec({ environments: [] }), target, applies: true },
    { label: 'listed service', spec: spec({ services: ['checkout'] }), target, applies: true },
    { label: 'unlisted service', spec: spec({ services: ['cart'] }), target, applies: false },
  ])('$label → $applies', ({ spec: s, target: t, applies }) => {
    expect(policyApplies(s, t)).toBe(applies);
  });

  it('evaluatePolicies evaluates only the applicable ones, in order; anyDenied sees a deny', () => {
    const policies = [
      { name: 'b-start', spec: policySpecSchema.parse({ severity: 'deny', expression: 'false', message: 'x', gates: ['start'] }) },
      { name: 'a-cov', spec: policySpecSchema.parse({ severity: 'warn', expression: 'coverage >= 90', message: 'cov' }) },
      { name: 'c-cart', spec: policySpecSchema.parse({ severity: 'deny', expression: 'false', message: 'x', scope: { services: ['cart'] } }) },
      { name: 'd-ok', spec: policySpecSchema.parse({ severity: 'deny', expression: 'true', message: 'x' }) },
    ];
    const results = evaluatePolicies(policies, facts(), target);
    expect(results.map((r) => [r.name, r.outcome])).toEqual([['a-cov', 'warn'], ['d-ok', 'pass']]);
    expect(anyDenied(results)).toBe(false);
    expect(anyDenied(evaluatePolicies(policies, facts(), { ...target, gate: 'start' }))).toBe(true);
  });
});

describe('Policy spec validation (apply time)', () => {
  it.each([
    { expression: 'artefact.signed', error: /unknown variable artefact; variables are environment, service, artifact/ },
    { expression: 'coverage >=', error: /invalid CEL/ },
    { expression: 'coverage', error: /must evaluate to a bool, got double/ },
    { expression: 'findings.high * 2 < 10', error: /overload.*write 2\.0/ },
  ])('refuses $expression at spec.expression', ({ expression, error }) => {
    const parsed = policySpecSchema.safeParse({ severity: 'deny', expression, message: 'm' });
    expect(parsed.success).toBe(false);
    const issue = parsed.error!.issues.find((candidate) => candidate.path.join('.') === 'expression');
    expect(issue?.message).toMatch(error);
  });

  it('accepts expressions whose errors depend on data (a result or metadata key that may not exist)', () => {
    for (const expression of ['results.e2e.passed', 'artifact.metadata.builder == "gha"', 'approvals.auditors >= 1', 'release.scope.all(s, s.value > 10)']) {
      expect(checkPolicyExpression(expression), expression).toBeNull();
    }
  });
});
