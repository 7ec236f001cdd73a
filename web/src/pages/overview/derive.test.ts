import { describe, expect, it } from 'vitest';
import { apiObject } from '../../test-support/fake-api.js';
import { deriveOverview, filterRows, type OverviewRow } from './derive.js';

const service = (name: string) => apiObject('Service', name, { owner: 'team' });
const env = (name: string) => apiObject('Environment', name, {});
const rollout = (phase: string, stableVersion: string | null, canaryVersion: string, canaryWeight: number) => ({
  rollout: { phase, stableVersion, canaryVersion, canaryWeight, message: `${phase} ${canaryVersion}` },
  pendingOperations: [],
  operationResults: [],
});
const deployment = (name: string, svc: string, environment: string, version: string, status: Record<string, unknown> | null, at: string) =>
  apiObject('Deployment', name, { service: svc, environment, version }, status, at);

const pick = (rows: OverviewRow[], key: string) => rows.find((row) => row.key === key)!;

describe('deriveOverview', () => {
  const pipelines = [apiObject('Pipeline', 'path', { services: ['checkout'], stages: [{ environment: 'staging' }, { environment: 'prod' }] })];
  const environments = [env('prod'), env('staging'), env('dev')];

  it('gives a service the environments of its pipeline, in promotion order', () => {
    const rows = deriveOverview([service('checkout')], environments, pipelines, []);
    expect(rows.map((row) => row.key)).toEqual(['checkout/staging', 'checkout/prod']);
    expect(rows[0]).toMatchObject({ phase: 'Not deployed', running: null, rollingOut: null, deployment: null });
  });

  it('gives a service without pipeline or deployments every environment, and one row when there is none', () => {
    expect(deriveOverview([service('cart')], environments, pipelines, []).map((row) => row.environment)).toEqual(['staging', 'prod', 'dev']);
    expect(deriveOverview([service('cart')], [], [], []).map((row) => row.key)).toEqual(['cart/']);
  });

  it('takes running, rolling-out version, weight and phase from the newest deployment', () => {
    const deployments = [
      deployment('checkout-v1', 'checkout', 'prod', '1.0.0', rollout('Healthy', '1.0.0', '1.0.0', 100), '2026-01-01T00:00:00Z'),
      deployment('checkout-v2', 'checkout', 'prod', '2.0.0', rollout('Progressing', '1.0.0', '2.0.0', 25), '2026-01-02T00:00:00Z'),
      deployment('checkout-s2', 'checkout', 'staging', '2.0.0', rollout('Healthy', '2.0.0', '2.0.0', 100), '2026-01-01T12:00:00Z'),
    ];
    const rows = deriveOverview([service('checkout')], environments, pipelines, deployments);
    expect(pick(rows, 'checkout/prod')).toMatchObject({ running: '1.0.0', rollingOut: '2.0.0', canaryWeight: 25, phase: 'Progressing', deployment: 'checkout-v2', message: 'Progressing 2.0.0' });
    expect(pick(rows, 'checkout/staging')).toMatchObject({ running: '2.0.0', rollingOut: null, phase: 'Healthy', deployment: 'checkout-s2' });
  });

  it('shows a new deployment as Pending, rolling out its version, with what the previous one left running', () => {
    const deployments = [
      deployment('checkout-v1', 'checkout', 'prod', '1.0.0', rollout('Healthy', '1.0.0', '1.0.0', 100), '2026-01-01T00:00:00Z'),
      deployment('checkout-v2', 'checkout', 'prod', '2.0.0', { rollout: null, pendingOperations: [], operationResults: [] }, '2026-01-02T00:00:00Z'),
    ];
    expect(pick(deriveOverview([service('checkout')], environments, pipelines, deployments), 'checkout/prod')).toMatchObject({ phase: 'Pending', running: '1.0.0', rollingOut: '2.0.0', canaryWeight: null });
  });

  it('shows an aborted rollout as Aborted with the stable version still running and nothing rolling out', () => {
    const deployments = [deployment('checkout-v3', 'checkout', 'prod', '3.0.0', rollout('Aborted', '2.0.0', '3.0.0', 0), '2026-01-03T00:00:00Z')];
    expect(pick(deriveOverview([service('checkout')], environments, pipelines, deployments), 'checkout/prod')).toMatchObject({ phase: 'Aborted', running: '2.0.0', rollingOut: null });
  });

  it('shows a deployment that could not start as Failed with its reason', () => {
    const status = { rollout: null, pendingOperations: [], operationResults: [], failure: { message: 'strategy "x" not found', at: '2026-01-01T00:00:00Z' } };
    const rows = deriveOverview([service('checkout')], environments, pipelines, [deployment('checkout-v1', 'checkout', 'prod', '1.0.0', status, '2026-01-01T00:00:00Z')]);
    expect(pick(rows, 'checkout/prod')).toMatchObject({ phase: 'Failed', message: 'strategy "x" not found', rollingOut: null });
  });
});

describe('filterRows', () => {
  const rows = deriveOverview(
    [service('checkout'), service('cart'), service('search')],
    [env('prod'), env('staging')],
    [],
    [apiObject('Deployment', 'cart-v1', { service: 'cart', environment: 'prod', version: '1.0.0' }, rollout('Paused', '0.9.0', '1.0.0', 5))],
  );

  it('searches service names case-insensitively and filters by environment and phase, all together', () => {
    expect(filterRows(rows, { search: 'CAR', environment: '', phase: '' }).map((row) => row.key)).toEqual(['cart/prod']);
    expect(filterRows(rows, { search: '', environment: 'staging', phase: '' }).map((row) => row.service)).toEqual(['checkout', 'search']);
    expect(filterRows(rows, { search: '', environment: '', phase: 'Paused' }).map((row) => row.key)).toEqual(['cart/prod']);
    expect(filterRows(rows, { search: 'ch', environment: 'prod', phase: 'Not deployed' }).map((row) => row.key)).toEqual(['checkout/prod', 'search/prod']);
    expect(filterRows(rows, { search: 'zzz', environment: '', phase: '' })).toEqual([]);
  });
});
