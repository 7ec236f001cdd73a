import { describe, expect, it } from 'vitest';
import { describeDeployTargetContract, httpGet } from '../contract/deploy-target-contract.js';
import { FakeDeployTarget } from '../fakes/fake-deploy-target.js';

describeDeployTargetContract('FakeDeployTarget', async () => {
  const target = new FakeDeployTarget();
  return {
    target,
    healthyVersion: '1.0.0',
    failingVersion: '9.9.9-bad',
    failingEnv: { UNHEALTHY: '1' },
    teardown: async () => undefined,
  };
});

describeDeployTargetContract('FakeDeployTarget (no replicas, no logs)', async () => ({
  target: new FakeDeployTarget({ capabilities: { replicas: false, logs: false } }),
  healthyVersion: 'blue',
  otherVersion: 'green',
  teardown: async () => undefined,
}));

describe('FakeDeployTarget test hooks', () => {
  it('records calls, simulates health changes, crashes and ensure failures', async () => {
    const target = new FakeDeployTarget();
    try {
      const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { A: 'b' } });
      expect(target.lastRequest('1.0.0')?.env).toEqual({ A: 'b' });
      target.setHealth('1.0.0', false, 'p99 too high');
      expect(await target.observe()).toMatchObject([{ phase: 'unhealthy', healthy: false, message: 'p99 too high' }]);
      expect((await httpGet(state.endpoints[0]!, '/healthz')).status).toBe(503);
      target.setHealth('1.0.0', true);
      target.crash('1.0.0');
      expect(await target.observe()).toMatchObject([{ phase: 'running', healthy: true, restarts: 1 }]);
      target.failNextEnsure();
      await expect(target.ensure({ version: '2.0.0', replicas: 1 })).rejects.toThrow(/unavailable/);
      expect(target.calls.filter((call) => call.method === 'ensure').map((call) => call.version)).toEqual(['1.0.0', '2.0.0']);
    } finally {
      await target.close();
    }
  });
});
