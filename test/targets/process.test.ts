import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ProcessTargetConfig,
  ProcessTarget,
  killAllProcessTargetsSync,
  reapOrphans,
} from '../../src/adapters/targets/process.js';
import { isAlive, readEnviron } from '../../src/adapters/targets/process/procfs.js';
import { describeDeployTargetContract, httpGet, refusesConnections } from '../contract/deploy-target-contract.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtureApp = path.resolve(here, '../fixtures/apps/http-app.mjs');
const controlPlaneScript = path.resolve(here, '../fixtures/apps/control-plane.ts');
const demoApp = path.resolve(here, '../../examples/demo-app/server.js');
const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
const appCommand = (script: string) => `${quote(process.execPath)} ${quote(script)}`;

function tempLogDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'rollgate-process-'));
}

function config(logDir: string, overrides: Partial<ProcessTargetConfig> = {}): ProcessTargetConfig {
  return {
    service: 'web',
    command: appCommand(fixtureApp),
    logDir,
    startTimeoutMs: 3000,
    stopGraceMs: 2000,
    healthCheck: { path: '/healthz', intervalSeconds: 0.2, timeoutSeconds: 1 },
    restartBackoff: { initialMs: 200, maxMs: 2000 },
    ...overrides,
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const appInfo = async (endpoint: string) =>
  JSON.parse((await httpGet(endpoint)).body) as {
    version: string;
    pid: number;
    grandchildPid: number | null;
    service: string | null;
    environment: string | null;
    digest: string | null;
    extra: string | null;
  };

// ------------------------------------------------------------------------------- contract

describeDeployTargetContract(
  'ProcessTarget (fixture app)',
  async () => {
    const logDir = tempLogDir();
    const target = new ProcessTarget(config(logDir));
    return {
      target,
      healthyVersion: '1.0.0',
      otherVersion: '1.1.0',
      failingVersion: '9.9.9-bad',
      failingEnv: { UNHEALTHY: '1' },
      instanceIdentity: async (version) => target.instances(version)?.map((instance) => instance.pid),
      teardown: async () => rmSync(logDir, { recursive: true, force: true }),
    };
  },
  { testTimeoutMs: 20_000 },
);

if (existsSync(demoApp)) {
  describeDeployTargetContract(
    'ProcessTarget (examples/demo-app)',
    async () => {
      const logDir = tempLogDir();
      const target = new ProcessTarget(config(logDir, { command: appCommand(demoApp) }));
      return {
        target,
        healthyVersion: '1.0.0',
        otherVersion: '1.1.0',
        failingVersion: '9.9.9-bad',
        failingEnv: { UNHEALTHY: '1' },
        instanceIdentity: async (version) => target.instances(version)?.map((instance) => instance.pid),
        teardown: async () => rmSync(logDir, { recursive: true, force: true }),
      };
    },
    { testTimeoutMs: 20_000 },
  );
} else {
  describe('DeployTarget contract: ProcessTarget (examples/demo-app)', () => {
    it.skip('examples/demo-app/server.js does not exist yet; the fixture app covers the contract meanwhile', () => undefined);
  });
}

// ------------------------------------------------------------------------------- behaviour

describe('ProcessTarget', () => {
  let logDir: string;
  let target: ProcessTarget | undefined;
  const children: ChildProcess[] = [];
  const strayPids: number[] = [];

  beforeEach(() => {
    logDir = tempLogDir();
    target = undefined;
  });

  afterEach(async () => {
    await target?.close();
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await reapOrphans(logDir, { graceMs: 500 });
    for (const pid of strayPids.splice(0)) {
      // Only processes we started (they carry the instance marker) and that should be gone already.
      if (!isAlive(pid) || !readEnviron(pid)?.ROLLGATE_INSTANCE_ID) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
    rmSync(logDir, { recursive: true, force: true });
  });

  it('passes PORT, ROLLGATE_* variables, config env and request env to the instance', async () => {
    target = new ProcessTarget(config(logDir, { env: { EXTRA: 'from-config' } }));
    const state = await target.ensure({
      version: '2.0.0',
      replicas: 1,
      environment: 'staging',
      artifactDigest: 'sha256:abc',
      env: { EXTRA: 'from-request' },
    });
    expect(state.phase).toBe('running');
    const info = await appInfo(state.endpoints[0]!);
    expect(info).toMatchObject({ version: '2.0.0', service: 'web', environment: 'staging', digest: 'sha256:abc', extra: 'from-request' });
  });

  it('copies and freezes its config', async () => {
    const cfg = config(logDir, { env: { EXTRA: 'original' } });
    target = new ProcessTarget(cfg);
    cfg.env!.EXTRA = 'changed later';
    cfg.command = 'false';
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state.phase).toBe('running');
    expect((await appInfo(state.endpoints[0]!)).extra).toBe('original');
  });

  it('restarts an instance that dies, with backoff, on the same endpoint, counting restarts', async () => {
    target = new ProcessTarget(config(logDir));
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    const endpoint = state.endpoints[0]!;
    const before = await appInfo(endpoint);
    const leaderBefore = target.instances('1.0.0')![0]!.pid;

    process.kill(before.pid, 'SIGKILL');
    const restarted = await waitFor('the instance to come back', async () => {
      const [observed] = await target!.observe();
      return observed?.restarts === 1 && observed.healthy ? observed : undefined;
    });
    expect(restarted.endpoints).toEqual([endpoint]);
    expect(restarted.phase).toBe('running');
    const after = await appInfo(endpoint);
    expect(after.pid).not.toBe(before.pid);
    expect(target.instances('1.0.0')![0]!.pid).not.toBe(leaderBefore);

    // A second crash soon after waits twice as long.
    process.kill(after.pid, 'SIGKILL');
    await waitFor('the second restart', async () => {
      const [observed] = await target!.observe();
      return observed?.restarts === 2 && observed.healthy;
    });
    const lines = (await target.logs('1.0.0', 200))!.join('\n');
    expect(lines).toContain('restarts in 200 ms');
    expect(lines).toContain('restarts in 400 ms');
  });

  it('reports unhealthy while periodic health checks fail, and running again once they pass', async () => {
    const flag = path.join(logDir, 'unhealthy.flag');
    target = new ProcessTarget(config(logDir));
    await target.ensure({ version: '1.0.0', replicas: 1, env: { UNHEALTHY_FILE: flag } });
    writeFileSync(flag, '1');
    const unhealthy = await waitFor('phase unhealthy', async () => {
      const [observed] = await target!.observe();
      return observed?.phase === 'unhealthy' ? observed : undefined;
    });
    expect(unhealthy.healthy).toBe(false);
    expect(unhealthy.message).toContain('HTTP 503');
    expect(unhealthy.restarts).toBe(0);
    rmSync(flag);
    await waitFor('phase running', async () => (await target!.observe())[0]?.phase === 'running');
  });

  it('fails fast with the exit status and last output when the command exits at start, without leaking secrets', async () => {
    // PRINT comes from the config (not secret); the request env "may hold secrets" and is redacted.
    target = new ProcessTarget(config(logDir, { startTimeoutMs: 10_000, env: { PRINT: 'using token tok-s3cr3t-42' } }));
    const started = Date.now();
    const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { EXIT_AT_START: '3', API_TOKEN: 'tok-s3cr3t-42' } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(state.phase).toBe('failed');
    expect(state.endpoints).toEqual([]);
    expect(state.message).toContain('exited with code 3');
    expect(state.message).toContain('fatal: refusing to start version 1.0.0');
    expect(state.message).toContain('using token ***');
    expect(state.message).not.toContain('tok-s3cr3t-42');
    expect((await target.logs('1.0.0', 50))!.join('\n')).not.toContain('tok-s3cr3t-42');

    // A later ensure starts the version afresh.
    const again = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(again.phase).toBe('running');
  });

  it('captures output per version to ${logDir}/${service}/${version}.log and keeps the tail for logs()', async () => {
    target = new ProcessTarget(config(logDir));
    await target.ensure({ version: '1.0.0', replicas: 1 });
    await target.ensure({ version: '2.0.0', replicas: 1 });
    const listening = (version: string) => async () => (await target!.logs(version, 50))!.some((line) => line.startsWith('listening'));
    await waitFor('both apps to log', async () => (await listening('1.0.0')()) && (await listening('2.0.0')()));
    const one = readFileSync(path.join(logDir, 'web', '1.0.0.log'), 'utf8');
    const two = readFileSync(path.join(logDir, 'web', '2.0.0.log'), 'utf8');
    expect(one).toMatch(/listening on 127\.0\.0\.1:\d+ version 1\.0\.0/);
    expect(one).not.toContain('version 2.0.0');
    expect(two).toMatch(/listening on 127\.0\.0\.1:\d+ version 2\.0\.0/);
    const lines = (await target.logs('1.0.0', 50))!;
    expect(lines.some((line) => /^listening on 127\.0\.0\.1:\d+ version 1\.0\.0/.test(line))).toBe(true);
    expect(lines.some((line) => line.includes('instance 0 started'))).toBe(true);
    expect(await target.logs('1.0.0', 1)).toHaveLength(1);
    // Retiring and starting the version again appends to the same file.
    await target.retire('1.0.0');
    await target.ensure({ version: '1.0.0', replicas: 1, env: { PRINT: 'second' } });
    await waitFor('second run output', async () => (await target!.logs('1.0.0', 50))!.includes('second'));
    const both = readFileSync(path.join(logDir, 'web', '1.0.0.log'), 'utf8');
    expect(both.match(/listening on/g)?.length).toBe(2);
    expect(both).toContain('SIGTERM: shutting down');
    expect(both).toContain('retired 1.0.0');
  });

  it('retire kills the whole process group: shell, app and grandchildren', async () => {
    target = new ProcessTarget(config(logDir));
    const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { SPAWN_GRANDCHILD: '1' } });
    const info = await appInfo(state.endpoints[0]!);
    const leader = target.instances('1.0.0')![0]!.pid!;
    expect(info.grandchildPid).toBeGreaterThan(0);
    strayPids.push(info.grandchildPid!);
    expect(isAlive(info.grandchildPid!)).toBe(true);
    await target.retire('1.0.0');
    for (const pid of [leader, info.pid, info.grandchildPid!]) {
      await waitFor(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
    }
    expect(readdirSync(path.join(logDir, 'web', 'pids'))).toEqual([]);
  });

  it('SIGKILLs an instance that ignores SIGTERM after the grace period', async () => {
    target = new ProcessTarget(config(logDir, { stopGraceMs: 400 }));
    const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { IGNORE_SIGTERM: '1' } });
    const info = await appInfo(state.endpoints[0]!);
    const started = Date.now();
    await target.retire('1.0.0');
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(isAlive(info.pid)).toBe(false);
    expect((await target.observe()).length).toBe(0);
  });

  it('scales a running version up and down without touching the instances it keeps', async () => {
    target = new ProcessTarget(config(logDir));
    const one = await target.ensure({ version: '1.0.0', replicas: 1 });
    const pid = target.instances('1.0.0')![0]!.pid;
    const two = await target.ensure({ version: '1.0.0', replicas: 2 });
    expect(two.phase).toBe('running');
    expect(two.endpoints).toHaveLength(2);
    expect(two.endpoints[0]).toBe(one.endpoints[0]);
    expect(target.instances('1.0.0')![0]!.pid).toBe(pid);
    const back = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(back.endpoints).toEqual(one.endpoints);
    expect(await refusesConnections(two.endpoints[1]!)).toBe(true);
    expect(target.instances('1.0.0')![0]!.pid).toBe(pid);
  });

  it('takes ports from portRange when given', async () => {
    const low = 20_000 + Math.floor(Math.random() * 30_000);
    target = new ProcessTarget(config(logDir, { portRange: [low, low + 20] }));
    const state = await target.ensure({ version: '1.0.0', replicas: 2 });
    for (const endpoint of state.endpoints) {
      const port = Number(endpoint.split(':')[1]);
      expect(port).toBeGreaterThanOrEqual(low);
      expect(port).toBeLessThanOrEqual(low + 20);
    }
  });

  it('killAllProcessTargetsSync kills every instance at once and nothing is restarted', async () => {
    target = new ProcessTarget(config(logDir));
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    const info = await appInfo(state.endpoints[0]!);
    expect(killAllProcessTargetsSync()).toBeGreaterThanOrEqual(1);
    await waitFor('the app to die', () => !isAlive(info.pid), 3000);
    await new Promise((resolve) => setTimeout(resolve, 500)); // longer than the restart backoff
    expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
  });

  it('fails a version whose command cannot even be started, with the reason', async () => {
    target = new ProcessTarget(config(logDir, { workingDir: path.join(logDir, 'does-not-exist') }));
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state.phase).toBe('failed');
    expect(state.message).toMatch(/could not be started.*ENOENT|ENOENT/);
  });

  it('detach() lets go of running instances so another target can adopt them', async () => {
    const first = new ProcessTarget(config(logDir, { adopt: true }));
    const state = await first.ensure({ version: '1.0.0', replicas: 2 });
    const pids = first.instances('1.0.0')!.map((instance) => instance.pid);
    await first.detach();
    await expect(first.ensure({ version: '1.0.0', replicas: 2 })).rejects.toThrow(/closed/);
    target = new ProcessTarget(config(logDir, { adopt: true }));
    const adopted = await target.ensure({ version: '1.0.0', replicas: 2 });
    expect(adopted).toMatchObject({ phase: 'running', restarts: 0, endpoints: state.endpoints });
    expect(target.instances('1.0.0')!.map((instance) => instance.pid)).toEqual(pids);
  });

  it('validates its config and ensure requests', async () => {
    expect(() => new ProcessTarget(config(logDir, { command: ' ' }))).toThrow(/command/);
    expect(() => new ProcessTarget(config(logDir, { portRange: [10, 5] }))).toThrow(/portRange/);
    target = new ProcessTarget(config(logDir));
    await expect(target.ensure({ version: '1.0.0', replicas: 0 })).rejects.toThrow(/replicas/);
    await target.close();
    await expect(target.ensure({ version: '1.0.0', replicas: 1 })).rejects.toThrow(/closed/);
  });

  // ----------------------------------------------------------------------------- orphans

  /** Runs test/fixtures/apps/control-plane.ts; resolves with what it printed once it printed it. */
  function runControlPlane(mode: 'exit' | 'throw' | 'hang' | 'signal', adopt = false) {
    const child = spawn(process.execPath, ['--import', 'tsx', controlPlaneScript, mode, logDir, ...(adopt ? ['adopt'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const printed = waitFor(
      'the control plane to print its instance',
      () => {
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) return JSON.parse(line) as { instancePid: number; port: number; grandchildPid: number };
        if (child.exitCode !== null) throw new Error(`control plane exited early: ${stderr}`);
        return undefined;
      },
      15_000,
    ).then((info) => {
      strayPids.push(info.instancePid, info.grandchildPid);
      return info;
    });
    return { child, printed, exited, stderr: () => stderr };
  }

  it('leaves no process behind when the control plane exits normally', { timeout: 20_000 }, async () => {
    const run = runControlPlane('exit');
    const info = await run.printed;
    const { code } = await run.exited;
    expect(code).toBe(0);
    for (const pid of [info.instancePid, info.grandchildPid]) await waitFor(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
    expect(readdirSync(path.join(logDir, 'orphan-check', 'pids'))).toEqual([]);
  });

  it('leaves no process behind when the control plane dies of an uncaught exception', { timeout: 20_000 }, async () => {
    const run = runControlPlane('throw');
    const info = await run.printed;
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.stderr()).toContain('control plane crashed on purpose');
    for (const pid of [info.instancePid, info.grandchildPid]) await waitFor(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
  });

  it('installProcessTargetSignalHandlers: a SIGTERMed control plane kills its instances and still dies of SIGTERM', { timeout: 20_000 }, async () => {
    const run = runControlPlane('signal');
    const info = await run.printed;
    run.child.kill('SIGTERM');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGTERM' });
    for (const pid of [info.instancePid, info.grandchildPid]) await waitFor(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
  });

  it('reapOrphans kills what a SIGKILLed control plane left behind (and spares a live one)', { timeout: 20_000 }, async () => {
    const run = runControlPlane('hang');
    const info = await run.printed;
    const spared = await reapOrphans(logDir, { graceMs: 500 });
    expect(spared.reaped).toEqual([]);
    expect(spared.skipped[0]?.reason).toMatch(/owned by live control plane/);

    run.child.kill('SIGKILL');
    await run.exited;
    await new Promise((resolve) => setTimeout(resolve, 200));
    // No handler could run: the instance is still there.
    expect(isAlive(info.instancePid)).toBe(true);
    expect(isAlive(info.grandchildPid)).toBe(true);

    const report = await reapOrphans(logDir, { graceMs: 1000 });
    expect(report.reaped.map((record) => record.pid)).toEqual([info.instancePid]);
    expect(report.reaped[0]).toMatchObject({ version: 'v1', port: info.port, service: 'orphan-check' });
    for (const pid of [info.instancePid, info.grandchildPid]) await waitFor(`pid ${pid} to be gone`, () => !isAlive(pid), 3000);
    expect(readdirSync(path.join(logDir, 'orphan-check', 'pids'))).toEqual([]);
    expect((await reapOrphans(logDir)).reaped).toEqual([]);
  });

  it('adopt: true re-registers a live instance after a control-plane SIGKILL without restarting it', { timeout: 25_000 }, async () => {
    const run = runControlPlane('hang', true);
    const info = await run.printed;
    run.child.kill('SIGKILL');
    await run.exited;

    target = new ProcessTarget(
      config(logDir, { service: 'orphan-check', adopt: true, command: appCommand(fixtureApp), restartBackoff: { initialMs: 100 } }),
    );
    const state = await target.ensure({ version: 'v1', replicas: 1 });
    expect(state).toMatchObject({ version: 'v1', phase: 'running', healthy: true, restarts: 0, endpoints: [`127.0.0.1:${info.port}`] });
    expect(target.instances('v1')).toMatchObject([{ pid: info.instancePid, adopted: true, restarts: 0, port: info.port }]);
    expect(isAlive(info.instancePid)).toBe(true);
    const app = await appInfo(state.endpoints[0]!);
    expect(app.grandchildPid).toBe(info.grandchildPid);
    expect((await target.logs('v1', 200))!.some((line) => line.includes('listening on'))).toBe(true);

    // An adopted instance that dies is restarted with the environment it had.
    process.kill(app.pid, 'SIGKILL');
    const restarted = await waitFor('the adopted instance to be restarted', async () => {
      const [observed] = await target!.observe();
      return observed?.restarts === 1 && observed.healthy ? observed : undefined;
    });
    expect(restarted.endpoints).toEqual(state.endpoints);
    const again = await appInfo(state.endpoints[0]!);
    expect(again.version).toBe('v1');
    strayPids.push(again.pid, again.grandchildPid!);

    await target.close();
    expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
    expect(readdirSync(path.join(logDir, 'orphan-check', 'pids'))).toEqual([]);
  });

  it('adopt: true leaves instances running when the control plane exits, for the next one to adopt', { timeout: 25_000 }, async () => {
    const run = runControlPlane('exit', true);
    const info = await run.printed;
    expect((await run.exited).code).toBe(0);
    expect(isAlive(info.instancePid)).toBe(true);
    target = new ProcessTarget(config(logDir, { service: 'orphan-check', adopt: true }));
    const [observed] = await target.ensure({ version: 'v1', replicas: 1 }).then((state) => [state]);
    expect(observed).toMatchObject({ phase: 'running', restarts: 0, endpoints: [`127.0.0.1:${info.port}`] });
    expect(target.instances('v1')![0]!.pid).toBe(info.instancePid);
  });
});
