/**
 * The DeployTarget contract (src/ports/deploy-target.ts): every implementation, fakes included,
 * runs this suite. Each case gets a fresh target from `makeTarget` and closes it afterwards.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeployTarget, VersionState } from '../../src/ports/deploy-target.js';

export interface DeployTargetContractSetup {
  target: DeployTarget;
  /** A version that becomes healthy. */
  healthyVersion: string;
  /** A second version that becomes healthy, for the side-by-side case; default `${healthyVersion}-b`. */
  otherVersion?: string;
  /** A version that never becomes healthy; omit when the implementation offers no way to make one fail. */
  failingVersion?: string;
  /** Environment that makes `failingVersion` fail (e.g. `{ UNHEALTHY: '1' }`). */
  failingEnv?: Record<string, string>;
  /**
   * Something that changes when the instances of `version` are restarted (pids, pod uids), used to
   * prove that a repeated `ensure` restarted nothing. Optional: endpoints and `restarts` are always checked.
   */
  instanceIdentity?(version: string): Promise<unknown>;
  /**
   * Where the test reaches the running instances of `version` ("host:port" each), for a target
   * whose endpoints are not its instances' addresses (Kubernetes: one Service per track, the
   * instances are pods — here the emulated API server's). The suite then checks the instances
   * (count, HTTP, refused once retired) through this, and the endpoints only for their form and
   * stability. Default: the endpoints, one per instance.
   */
  instances?(version: string): Promise<string[]>;
  /**
   * The reason `close()` leaves the instances running, for a target that does not own them
   * (Kubernetes: the cluster runs the Deployments, and a control plane that exits must not scale
   * production to zero). The close case then checks that they still answer after close.
   */
  closeLeavesInstances?: string;
  /** Releases whatever the setup created besides the target (the suite calls `target.close()` itself). */
  teardown(): Promise<void>;
}

export interface DeployTargetContractOptions {
  /** Per case; default 30 s. The failing case needs the target's start timeout plus a margin. */
  testTimeoutMs?: number;
}

/** GET http://endpoint/ without keep-alive; resolves with the status code (any status means it answers HTTP). */
export function httpGet(endpoint: string, path = '/', timeoutMs = 3000): Promise<{ status: number; body: string }> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host, port, path, method: 'GET', agent: false, headers: { connection: 'close' }, timeout: timeoutMs },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`GET ${endpoint}${path} timed out`)));
    request.on('error', reject);
    request.end();
  });
}

/** Resolves true when a TCP connection to `endpoint` is refused (nothing listens any more). */
export function refusesConnections(endpoint: string, timeoutMs = 2000): Promise<boolean> {
  const [host, port] = splitEndpoint(endpoint);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(error.code === 'ECONNREFUSED');
    });
  });
}

function splitEndpoint(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), Number(endpoint.slice(colon + 1))];
}

const ADDRESS = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

/** `instances`: the addresses from the setup's `instances()`; absent, the endpoints are the instances. */
function expectHealthy(state: VersionState, version: string, replicas = 1, instances?: string[]): void {
  expect(state.version).toBe(version);
  expect(state.phase).toBe('running');
  expect(state.healthy).toBe(true);
  expect(state.restarts).toBe(0);
  for (const endpoint of state.endpoints) expect(endpoint).toMatch(ADDRESS);
  const reached = instances ?? state.endpoints;
  expect(reached).toHaveLength(replicas);
  for (const address of reached) expect(address).toMatch(ADDRESS);
}

export function describeDeployTargetContract(
  label: string,
  makeTarget: () => Promise<DeployTargetContractSetup>,
  options: DeployTargetContractOptions = {},
): void {
  const timeout = options.testTimeoutMs ?? 30_000;

  describe(`DeployTarget contract: ${label}`, () => {
    let setup: DeployTargetContractSetup;
    let target: DeployTarget;
    const other = () => setup.otherVersion ?? `${setup.healthyVersion}-b`;
    /** The addresses of a version's running instances (see `instances` in the setup). */
    const instancesOf = async (state: VersionState): Promise<string[]> => (setup.instances ? setup.instances(state.version) : state.endpoints);
    const healthy = async (state: VersionState, version: string, replicas = 1) =>
      expectHealthy(state, version, replicas, setup.instances ? await setup.instances(version) : undefined);

    beforeEach(async () => {
      setup = await makeTarget();
      target = setup.target;
    });

    afterEach(async () => {
      try {
        await target.close();
      } finally {
        await setup.teardown();
      }
    });

    it('declares its capabilities', () => {
      expect(typeof target.capabilities.replicas).toBe('boolean');
      expect(typeof target.capabilities.logs).toBe('boolean');
    });

    it('ensure returns a healthy running version whose endpoints answer HTTP', { timeout }, async () => {
      const state = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      await healthy(state, setup.healthyVersion);
      for (const endpoint of await instancesOf(state)) {
        const response = await httpGet(endpoint);
        expect(response.status).toBeGreaterThanOrEqual(100);
      }
    });

    it('ensure again is idempotent: same endpoints, nothing restarted', { timeout }, async () => {
      const first = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      const identity = await setup.instanceIdentity?.(setup.healthyVersion);
      const instances = await instancesOf(first);
      const second = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      await healthy(second, setup.healthyVersion);
      expect(second.endpoints).toEqual(first.endpoints);
      expect(await instancesOf(second)).toEqual(instances);
      if (setup.instanceIdentity) {
        expect(identity).toBeDefined();
        expect(await setup.instanceIdentity(setup.healthyVersion)).toEqual(identity);
      }
      const observed = (await target.observe()).filter((state) => state.version === setup.healthyVersion);
      expect(observed).toHaveLength(1);
      expect(observed[0]?.restarts).toBe(0);
      expect(observed[0]?.endpoints).toEqual(first.endpoints);
    });

    it('concurrent ensure calls for one version start it once', { timeout }, async () => {
      const [a, b] = await Promise.all([
        target.ensure({ version: setup.healthyVersion, replicas: 1 }),
        target.ensure({ version: setup.healthyVersion, replicas: 1 }),
      ]);
      await healthy(a, setup.healthyVersion);
      expect(b.endpoints).toEqual(a.endpoints);
      expect((await target.observe()).filter((state) => state.version === setup.healthyVersion)).toHaveLength(1);
    });

    it('runs two versions side by side; observe lists both and has no side effects', { timeout }, async () => {
      const [a, b] = await Promise.all([
        target.ensure({ version: setup.healthyVersion, replicas: 1 }),
        target.ensure({ version: other(), replicas: 1 }),
      ]);
      await healthy(a, setup.healthyVersion);
      await healthy(b, other());
      expect(a.endpoints.filter((endpoint) => b.endpoints.includes(endpoint))).toEqual([]);
      const [aInstances, bInstances] = [await instancesOf(a), await instancesOf(b)];
      expect(aInstances.filter((address) => bInstances.includes(address))).toEqual([]);
      for (const endpoint of [...aInstances, ...bInstances]) expect((await httpGet(endpoint)).status).toBeGreaterThanOrEqual(100);
      const observed = await target.observe();
      const byVersion = new Map(observed.map((state) => [state.version, state]));
      expect(byVersion.get(setup.healthyVersion)?.endpoints).toEqual(a.endpoints);
      expect(byVersion.get(other())?.endpoints).toEqual(b.endpoints);
      expect(byVersion.get(setup.healthyVersion)?.healthy).toBe(true);
      expect(await target.observe()).toEqual(observed);
    });

    it('retire stops one version (its endpoint refuses connections), leaves the other, and is idempotent', { timeout }, async () => {
      const a = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      const b = await target.ensure({ version: other(), replicas: 1 });
      const [aInstances, bInstances] = [await instancesOf(a), await instancesOf(b)];
      expect(aInstances.length).toBeGreaterThan(0);
      await target.retire(setup.healthyVersion);
      for (const endpoint of aInstances) expect(await refusesConnections(endpoint)).toBe(true);
      for (const endpoint of bInstances) expect((await httpGet(endpoint)).status).toBeGreaterThanOrEqual(100);
      const observed = await target.observe();
      const retired = observed.find((state) => state.version === setup.healthyVersion);
      expect(retired === undefined || retired.phase === 'stopped').toBe(true);
      expect(observed.find((state) => state.version === other())?.phase).toBe('running');
      await target.retire(setup.healthyVersion);
      expect((await target.observe()).find((state) => state.version === other())?.healthy).toBe(true);
    });

    it('retire of an unknown version does nothing', { timeout }, async () => {
      await target.retire('never-deployed');
      const state = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      await target.retire('never-deployed');
      expect((await target.observe()).map((s) => s.version)).toEqual([setup.healthyVersion]);
      expect((await httpGet((await instancesOf(state))[0]!)).status).toBeGreaterThanOrEqual(100);
    });

    it('runs the requested number of replicas', { timeout }, async (ctx) => {
      if (!target.capabilities.replicas) ctx.skip('the target declares it cannot run replicas');
      const state = await target.ensure({ version: setup.healthyVersion, replicas: 2 });
      await healthy(state, setup.healthyVersion, 2);
      const instances = await instancesOf(state);
      expect(new Set(instances).size).toBe(2);
      for (const endpoint of instances) expect((await httpGet(endpoint)).status).toBeGreaterThanOrEqual(100);
      const again = await target.ensure({ version: setup.healthyVersion, replicas: 2 });
      expect(again.endpoints).toEqual(state.endpoints);
      expect(await instancesOf(again)).toEqual(instances);
    });

    it('a version that never becomes healthy ends failed with a message, without disturbing others', { timeout }, async (ctx) => {
      if (!setup.failingVersion) ctx.skip('the setup offers no way to make a version fail');
      const good = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      const state = await target.ensure({ version: setup.failingVersion!, replicas: 1, env: setup.failingEnv ?? {} });
      expect(state.version).toBe(setup.failingVersion);
      expect(state.phase).toBe('failed');
      expect(state.healthy).toBe(false);
      expect(state.message).toBeTruthy();
      const observed = await target.observe();
      const failed = observed.find((s) => s.version === setup.failingVersion);
      expect(failed === undefined || failed.phase === 'failed').toBe(true);
      expect(observed.find((s) => s.version === setup.healthyVersion)?.healthy).toBe(true);
      expect((await httpGet((await instancesOf(good))[0]!)).status).toBeGreaterThanOrEqual(100);
      await target.retire(setup.failingVersion!);
      expect((await target.observe()).find((s) => s.version === setup.failingVersion)).toBeUndefined();
    });

    it('logs: lines for a running version when the target keeps logs, null for an unknown version', { timeout }, async () => {
      await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      const lines = await target.logs(setup.healthyVersion, 50);
      if (target.capabilities.logs) {
        expect(Array.isArray(lines)).toBe(true);
        expect(lines!.length).toBeLessThanOrEqual(50);
      } else {
        expect(lines).toBeNull();
      }
      expect(await target.logs('never-deployed', 50)).toBeNull();
    });

    it('close stops every version it owns and is safe to repeat', { timeout }, async () => {
      const a = await target.ensure({ version: setup.healthyVersion, replicas: 1 });
      const b = await target.ensure({ version: other(), replicas: 1 });
      const instances = [...(await instancesOf(a)), ...(await instancesOf(b))];
      await target.close();
      if (setup.closeLeavesInstances) {
        for (const endpoint of instances) expect((await httpGet(endpoint)).status, setup.closeLeavesInstances).toBeGreaterThanOrEqual(100);
        expect((await target.observe()).filter((state) => state.healthy).map((state) => state.version).sort()).toEqual([setup.healthyVersion, other()].sort());
      } else {
        for (const endpoint of instances) expect(await refusesConnections(endpoint)).toBe(true);
        expect((await target.observe()).filter((state) => state.phase !== 'stopped')).toEqual([]);
      }
      await target.close();
    });
  });
}
