import { describe, expect, it } from 'vitest';
import { durationToMs } from '../../src/core/resources/common.js';
import { kindFromNoun, KINDS } from '../../src/core/resources/kinds.js';
import { formatPath, validateDocument } from '../../src/core/resources/validate.js';

const doc = (kind: string, spec: unknown, metadata: Record<string, unknown> = { name: 'x' }) => ({ apiVersion: 'rollgate.dev/v1alpha1', kind, metadata, spec });
const issuesOf = (input: unknown) => {
  const result = validateDocument(input);
  return result.ok ? [] : result.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
};

describe('document validation', () => {
  it('accepts the canary strategy from the foundation issue and fills defaults', () => {
    const result = validateDocument(doc('RolloutStrategy', {
      canary: { steps: [{ setWeight: 5 }, { analysis: { templates: ['golden-signals'] } }, { setWeight: 25 }, { pause: { duration: '2m' } }, { setWeight: 100 }] },
    }));
    expect(result.ok).toBe(true);
    const service = validateDocument(doc('Service', { owner: 'payments', target: { type: 'process', command: 'node app.js' } }));
    expect(service.ok && service.document.spec.tier).toBe('standard');
  });

  it('names the field of a wrong value, an unknown key and a bad step', () => {
    expect(issuesOf(doc('RolloutStrategy', { canary: { steps: [{ setWeight: 5 }, { setWeight: 500 }] } }))).toEqual([
      'spec.canary.steps[1].setWeight: Too big: expected number to be <=100',
    ]);
    expect(issuesOf(doc('Service', { owner: 'a', target: { type: 'process', command: 'x', comand: 'y' } }))).toEqual([
      'spec.target.comand: unknown field "comand"',
    ]);
    expect(issuesOf(doc('RolloutStrategy', { canary: { steps: [{ pause: { duration: 'soon' } }] } }))[0]).toMatch(/^spec\.canary\.steps\[0\]\.pause\.duration: must be a duration/);
  });

  it('checks apiVersion, kind and names before anything else', () => {
    expect(issuesOf({ ...doc('Service', {}), apiVersion: 'v1' })[0]).toMatch(/^apiVersion: apiVersion must be "rollgate.dev\/v1alpha1"/);
    expect(issuesOf(doc('Servise', {}))[0]).toMatch(/^kind: kind must be one of Service, Environment/);
    expect(issuesOf(doc('Environment', {}, { name: 'Prod_1' }))[0]).toMatch(/^metadata\.name: must be lowercase/);
  });

  it('enforces cross-field rules with the path to fix', () => {
    expect(issuesOf(doc('RolloutStrategy', {}))).toEqual(['spec.canary: give exactly one of canary or blueGreen']);
    expect(issuesOf(doc('RolloutStrategy', { canary: { stepWeights: [10, 5] } }))).toEqual(['spec.canary.stepWeights[1]: step weights must increase']);
    expect(issuesOf(doc('Pipeline', { stages: [{ environment: 'dev' }, { environment: 'dev' }] }))).toEqual([
      'spec.stages[1].environment: environment "dev" appears twice in the promotion path',
    ]);
    expect(issuesOf(doc('Release', { version: '1.2' }))).toEqual(['spec.version: must be a semantic version such as 1.4.0']);
  });

  it('takes release scope with value, contractual obligations and jurisdictions, and components with business services', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const release = validateDocument(doc('Release', {
      version: '2.4.0',
      components: [{ service: 'checkout', version: '2.4.0', digest, businessServices: ['payments'] }],
      scope: [{ title: 'SEPA instant', classification: 'net-new', value: 80, contractual: true, jurisdictions: ['eu'] }],
    }));
    expect(release.ok).toBe(true);
    expect(issuesOf(doc('Release', { version: '2.4.0', scope: [{ title: 't', classification: 'defect-fix', value: 120, jurisdictions: ['EU'] }] }))).toEqual([
      'spec.scope[0].value: Too big: expected number to be <=100',
      'spec.scope[0].jurisdictions[0]: must be a lowercase tag such as "eu" or "us-ca"',
    ]);
  });

  it('lets records omit their name but not resources', () => {
    expect(validateDocument(doc('Deployment', { service: 'checkout', version: '2.0.0' }, {})).ok).toBe(true);
    expect(issuesOf(doc('Service', { owner: 'a', target: { type: 'process', command: 'x' } }, {}))).toEqual(['metadata.name: Invalid input: expected string, received undefined']);
  });
});

describe('kinds', () => {
  it('resolves CLI nouns', () => {
    expect(kindFromNoun('svc')?.kind).toBe('Service');
    expect(kindFromNoun('rolloutstrategies')?.kind).toBe('RolloutStrategy');
    expect(kindFromNoun('AnalysisTemplate')?.kind).toBe('AnalysisTemplate');
    expect(kindFromNoun('nope')).toBeNull();
  });

  it('lists every reference with the path that holds it', () => {
    const refs = KINDS.Pipeline.references({ stages: [{ environment: 'dev', strategy: 'fast', gates: [{ analysis: { templates: ['golden'] } }] }] });
    expect(refs).toEqual([
      { kind: 'Environment', name: 'dev', path: ['spec', 'stages', 0, 'environment'] },
      { kind: 'RolloutStrategy', name: 'fast', path: ['spec', 'stages', 0, 'strategy'] },
      { kind: 'AnalysisTemplate', name: 'golden', path: ['spec', 'stages', 0, 'gates', 0, 'analysis', 'templates', 0] },
    ]);
    expect(KINDS.RolloutStrategy.references({ canary: { steps: [{ analysis: { templates: [{ templateName: 'a' }] } }] } })).toEqual([
      { kind: 'AnalysisTemplate', name: 'a', path: ['spec', 'canary', 'steps', 0, 'analysis', 'templates', 0] },
    ]);
  });

  it('parses durations', () => {
    expect(durationToMs('1h30m')).toBe(5_400_000);
    expect(durationToMs('500ms')).toBe(500);
  });
});
