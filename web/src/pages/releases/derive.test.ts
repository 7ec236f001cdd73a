import { describe, expect, it } from 'vitest';
import { apiObject } from '../../test-support/fake-api.js';
import { deriveReleaseRows, filterReleases, findingsText, markOf, pathText, pipelineOf, shortDigest, signoffAction } from './derive.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const NOW = Date.parse('2026-06-01T00:00:00Z');

const pipeline = apiObject('Pipeline', 'ledger-path', { services: ['ledger'], stages: [{ environment: 'dev' }, { environment: 'staging' }, { environment: 'prod' }] });
const promotion = (environment: string, deployment: string, at: string) => ({ environment, at, actor: 'user:alice', deployments: [{ service: 'ledger', version: '1.1.0', digest: DIGEST, deployment }], gates: [] });
const deployment = (name: string, phase: string | null) => apiObject('Deployment', name, { service: 'ledger', environment: 'dev', version: '1.1.0' }, phase ? { rollout: { phase } } : null);

describe('release rows', () => {
  const release = apiObject(
    'Release',
    'ledger-1-1-0',
    { version: '1.1.0', description: 'Multi-currency', freezeDate: '2026-05-01T00:00:00Z', components: [{ service: 'ledger', version: '1.1.0', digest: DIGEST }], scope: [{ title: 'a', classification: 'net-new' }] },
    {
      promotions: [promotion('dev', 'd-dev', '2026-05-02T00:00:00Z'), promotion('staging', 'd-stg', '2026-05-03T00:00:00Z')],
      goNoGo: [
        { decision: 'no-go', environment: 'prod', decidedBy: 'dave', at: '2026-05-03T00:00:00Z', comment: 'wait', criteria: [] },
        { decision: 'go', environment: 'prod', decidedBy: 'dave', at: '2026-05-04T00:00:00Z', comment: 'ok', criteria: [] },
      ],
    },
  );

  it('derives version, freeze, components, the path with marks and the newest decision', () => {
    const [row] = deriveReleaseRows([release], [pipeline], [deployment('d-dev', 'Healthy'), deployment('d-stg', 'Progressing')], NOW);
    expect(row).toMatchObject({ name: 'ledger-1-1-0', version: '1.1.0', frozen: true, components: ['ledger'], scopeItems: 1, pipeline: 'ledger-path' });
    expect(pathText(row!.path)).toBe('dev ✓ → staging ◐ → prod ·');
    expect(row!.lastDecision).toMatchObject({ decision: 'go', decidedBy: 'dave', comment: 'ok' });
  });

  it('is not frozen before the freeze date, nor without one', () => {
    expect(deriveReleaseRows([release], [pipeline], [], Date.parse('2026-04-01T00:00:00Z'))[0]!.frozen).toBe(false);
    expect(deriveReleaseRows([apiObject('Release', 'r', { version: '1.0.0' })], [], [], NOW)[0]).toMatchObject({ frozen: false, freezeDate: null, path: [], lastDecision: null, pipeline: null });
  });

  it('without a pipeline, the path is the environments promoted to', () => {
    const [row] = deriveReleaseRows([release], [], [deployment('d-dev', 'Aborted')], NOW);
    expect(pathText(row!.path)).toBe('dev ✗ → staging ◐');
  });

  it('finds the pipeline named by the spec, else the only one covering every component', () => {
    const other = apiObject('Pipeline', 'other', { services: ['ledger', 'cart'], stages: [{ environment: 'prod' }] });
    expect(pipelineOf({ components: [{ service: 'ledger' }] }, [pipeline])?.metadata.name).toBe('ledger-path');
    expect(pipelineOf({ components: [{ service: 'ledger' }] }, [pipeline, other])).toBeNull();
    expect(pipelineOf({ pipeline: 'other', components: [{ service: 'ledger' }] }, [pipeline, other])?.metadata.name).toBe('other');
    expect(pipelineOf({ components: [{ service: 'cart' }] }, [pipeline, other])?.metadata.name).toBe('other');
    expect(pipelineOf({ components: [] }, [pipeline])).toBeNull();
  });

  it('searches name, version, description and components, every word', () => {
    const rows = deriveReleaseRows([release, apiObject('Release', 'cart-2', { version: '2.0.0', components: [{ service: 'cart', version: '2', digest: DIGEST }] })], [pipeline], [], NOW);
    expect(filterReleases(rows, 'MULTI').map((row) => row.name)).toEqual(['ledger-1-1-0']);
    expect(filterReleases(rows, 'cart 2.0').map((row) => row.name)).toEqual(['cart-2']);
    expect(filterReleases(rows, '  ')).toHaveLength(2);
  });
});

describe('labels', () => {
  it('shortens sha256 digests like the CLI and leaves others alone', () => {
    expect(shortDigest(DIGEST)).toBe('sha256:abababababab');
    expect(shortDigest('md5:x')).toBe('md5:x');
  });
  it('marks stages', () => {
    expect(markOf(false, [])).toBe('not-yet');
    expect(markOf(true, ['Healthy', 'Healthy'])).toBe('healthy');
    expect(markOf(true, ['Healthy', null])).toBe('rolling');
    expect(markOf(true, ['Healthy', 'Degraded'])).toBe('failed');
  });
  it('lists findings', () => {
    expect(findingsText({ critical: 0, high: 1 })).toBe('critical 0, high 1');
    expect(findingsText(undefined)).toBe('');
  });
});

describe('sign-off action', () => {
  const carol = { user: 'carol', groups: ['compliance', 'qa'], isApprover: true };
  const pending = { state: 'pending' as const, signoff: { group: 'compliance', count: 2 } };
  it('offers the group a pending manual criterion needs to its approver members, once per person', () => {
    expect(signoffAction(pending, carol, [])).toEqual({ group: 'compliance', signed: false });
    expect(signoffAction(pending, carol, [{ group: 'qa', user: 'carol' }, { group: 'compliance', user: 'bob' }])).toEqual({ group: 'compliance', signed: false });
    expect(signoffAction(pending, carol, [{ group: 'compliance', user: 'carol' }])).toEqual({ group: 'compliance', signed: true });
  });
  it('offers nothing outside the group, below approver, once met or waived, or without the group (automatic, older server)', () => {
    expect(signoffAction(pending, { ...carol, groups: ['qa'] }, [])).toBeNull();
    expect(signoffAction(pending, { ...carol, isApprover: false }, [])).toBeNull();
    expect(signoffAction({ ...pending, state: 'met' }, carol, [])).toBeNull();
    expect(signoffAction({ ...pending, state: 'waived' }, carol, [])).toBeNull();
    expect(signoffAction({ state: 'pending' }, carol, [])).toBeNull();
  });
});
