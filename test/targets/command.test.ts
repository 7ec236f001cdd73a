import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CommandTargetConfig, CommandTarget } from '../../src/adapters/targets/command.js';
import { describeDeployTargetContract, httpGet, refusesConnections } from '../contract/deploy-target-contract.js';
import {
  DEMO_DEPLOY,
  DEMO_HEALTH,
  DEMO_RETIRE,
  SCALED_DEPLOY,
  SCALED_HEALTH,
  SCALED_RETIRE,
  demoEnv,
  killLeftovers,
  pidOf,
  running,
  scaledPids,
} from './command-helpers.js';

function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `rollgate-${prefix}-`));
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

const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

// ------------------------------------------------------------------------------- contract

describeDeployTargetContract(
  'CommandTarget (demo app started by shell commands)',
  async () => {
    const logDir = tempDir('command-logs');
    const runDir = tempDir('command-run');
    const target = new CommandTarget({
      service: 'web',
      deploy: DEMO_DEPLOY,
      health: DEMO_HEALTH,
      retire: DEMO_RETIRE,
      env: demoEnv(runDir),
      logDir,
      timeoutMs: 10_000,
      startTimeoutMs: 3000,
      healthIntervalMs: 500,
      healthTimeoutMs: 2000,
      retireOnClose: true,
    });
    return {
      target,
      healthyVersion: '1.0.0',
      otherVersion: '1.1.0',
      failingVersion: '9.9.9-bad',
      failingEnv: { UNHEALTHY: '1' },
      instanceIdentity: async (version) => pidOf(runDir, version),
      teardown: async () => {
        killLeftovers(runDir);
        rmSync(logDir, { recursive: true, force: true });
        rmSync(runDir, { recursive: true, force: true });
      },
    };
  },
  { testTimeoutMs: 20_000 },
);

describeDeployTargetContract(
  'CommandTarget (scales: one demo app per ROLLGATE_REPLICAS)',
  async () => {
    const logDir = tempDir('command-logs');
    const runDir = tempDir('command-run');
    const target = new CommandTarget({
      service: 'web',
      deploy: SCALED_DEPLOY,
      health: SCALED_HEALTH,
      retire: SCALED_RETIRE,
      env: demoEnv(runDir),
      logDir,
      scales: true,
      timeoutMs: 15_000,
      startTimeoutMs: 3000,
      healthIntervalMs: 500,
      retireOnClose: true,
    });
    return {
      target,
      healthyVersion: '1.0.0',
      otherVersion: '1.1.0',
      failingVersion: '9.9.9-bad',
      failingEnv: { UNHEALTHY: '1' },
      instanceIdentity: async (version) => scaledPids(runDir, version),
      teardown: async () => {
        killLeftovers(runDir);
        rmSync(logDir, { recursive: true, force: true });
        rmSync(runDir, { recursive: true, force: true });
      },
    };
  },
  { testTimeoutMs: 25_000 },
);

// ------------------------------------------------------------------------------- behaviour

describe('CommandTarget', () => {
  let logDir: string;
  let runDir: string;
  const targets: CommandTarget[] = [];
  const make = (overrides: Partial<CommandTargetConfig> = {}) => {
    const target = new CommandTarget({
      service: 'web',
      deploy: DEMO_DEPLOY,
      health: DEMO_HEALTH,
      retire: DEMO_RETIRE,
      env: demoEnv(runDir),
      logDir,
      timeoutMs: 10_000,
      startTimeoutMs: 3000,
      healthIntervalMs: 0,
      healthTimeoutMs: 2000,
      killGraceMs: 500,
      ...overrides,
    });
    targets.push(target);
    return target;
  };

  beforeEach(() => {
    logDir = tempDir('command-logs');
    runDir = tempDir('command-run');
  });

  afterEach(async () => {
    for (const target of targets.splice(0)) await target.close();
    killLeftovers(runDir);
    rmSync(logDir, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
    delete process.env.ROLLGATE_LEAK_CHECK;
  });

  it('passes version, digest, environment, replicas, weight, port, config env and request env to every step; never an inherited ROLLGATE_*', async () => {
    process.env.ROLLGATE_LEAK_CHECK = 'control-plane-secret';
    const dump = (action: string) => `env | grep -E '^(ROLLGATE_|EXTRA|TOKEN)' | sort > "$RUN_DIR/${action}.env"`;
    const target = make({
      environment: 'staging',
      env: { ...demoEnv(runDir), EXTRA: 'from-config' },
      deploy: `${dump('deploy')}; echo ROLLGATE_ENDPOINT=127.0.0.1:8080`,
      health: dump('health'),
      retire: dump('retire'),
    });
    const state = await target.ensure({
      version: '2.0.0',
      replicas: 3,
      artifactDigest: 'sha256:abc',
      env: { TOKEN: 's3cr3t-value-123' },
      canaryWeight: 25,
      role: 'canary',
    });
    expect(state).toMatchObject({ phase: 'running', healthy: true, endpoints: ['127.0.0.1:8080'] });
    const read = (action: string) => Object.fromEntries(lines(path.join(runDir, `${action}.env`)).map((line) => line.split(/=(.*)/s).slice(0, 2)));
    const deploy = read('deploy');
    expect(deploy).toMatchObject({
      ROLLGATE_SERVICE: 'web',
      ROLLGATE_VERSION: '2.0.0',
      ROLLGATE_ACTION: 'deploy',
      ROLLGATE_ARTIFACT_DIGEST: 'sha256:abc',
      ROLLGATE_ENVIRONMENT: 'staging',
      ROLLGATE_REPLICAS: '3',
      ROLLGATE_CANARY_WEIGHT: '25',
      ROLLGATE_ROLE: 'canary',
      EXTRA: 'from-config',
      TOKEN: 's3cr3t-value-123',
    });
    expect(deploy.ROLLGATE_PORT).toMatch(/^\d+$/);
    expect(deploy.ROLLGATE_LEAK_CHECK).toBeUndefined();
    expect(deploy.ROLLGATE_ENDPOINTS).toBeUndefined();
    expect(read('health')).toMatchObject({ ROLLGATE_ACTION: 'health', ROLLGATE_ENDPOINTS: '127.0.0.1:8080', ROLLGATE_PORT: deploy.ROLLGATE_PORT });
    await target.retire('2.0.0');
    expect(read('retire')).toMatchObject({ ROLLGATE_ACTION: 'retire', ROLLGATE_VERSION: '2.0.0', ROLLGATE_ENDPOINTS: '127.0.0.1:8080', TOKEN: 's3cr3t-value-123' });
  });

  it('runs the real demo app: its endpoint answers with the version; retire stops it', async () => {
    const target = make();
    const state = await target.ensure({ version: '3.1.0', replicas: 1 });
    expect(state).toMatchObject({ phase: 'running', healthy: true, restarts: 0 });
    const body = JSON.parse((await httpGet(state.endpoints[0]!)).body) as { version: string };
    expect(body.version).toBe('3.1.0');
    await target.retire('3.1.0');
    expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
    expect(await target.observe()).toEqual([]);
  });

  it('a step that runs over its timeout is stopped with its whole process group and fails the version', async () => {
    const target = make({
      timeoutMs: 700,
      deploy: 'sleep 30 & echo $! > "$RUN_DIR/background.pid"; echo started; sleep 30',
    });
    const started = Date.now();
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(state.phase).toBe('failed');
    expect(state.message).toMatch(/^deploy timed out after 700 ms \(its process group was stopped\); last output:\nstarted$/);
    const background = Number(readFileSync(path.join(runDir, 'background.pid'), 'utf8'));
    expect(await waitFor('the background sleep to be gone', () => !running(background), 3000)).toBe(true);
  });

  it('a step that ignores SIGTERM is killed after the grace period', async () => {
    const target = make({ timeoutMs: 300, killGraceMs: 300, deploy: `trap '' TERM; echo stubborn; sleep 30 & wait` });
    const started = Date.now();
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state.phase).toBe('failed');
    expect(state.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('a non-zero exit fails the version with the last lines (at most 10, at most 2 KB) in the message', async () => {
    const target = make({ deploy: 'for i in $(seq 1 15); do echo "line $i"; done; echo "boom" >&2; exit 3' });
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state.phase).toBe('failed');
    expect(state.healthy).toBe(false);
    expect(state.endpoints).toEqual([]);
    const [head, ...rest] = state.message!.split('\n');
    expect(head).toMatch(/^deploy exited with code 3 after \d+ ms; last output:$/);
    expect(rest).toEqual(['line 7', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12', 'line 13', 'line 14', 'line 15', 'boom']);

    const wide = make({ service: 'wide', deploy: `for i in $(seq 1 5); do printf 'w%.0s' $(seq 1 900); echo " end $i"; done; exit 1` });
    const failed = await wide.ensure({ version: '1.0.0', replicas: 1 });
    const output = failed.message!.split('\n').slice(1);
    expect(Buffer.byteLength(output.join('\n'))).toBeLessThanOrEqual(2048);
    expect(output.at(-1)).toMatch(/ end 5$/);
    expect(output.length).toBeLessThan(5);
  });

  it('captures the output of every step into the version log with step headers; logs() returns its last lines', async () => {
    const target = make({
      deploy: `echo "deploying $ROLLGATE_VERSION"; echo "a warning" >&2; ${DEMO_DEPLOY}`,
      retire: `echo "retiring $ROLLGATE_VERSION"; ${DEMO_RETIRE}`,
    });
    await target.ensure({ version: '1.2.0', replicas: 1 });
    await target.retire('1.2.0');
    const log = readFileSync(target.logFile('1.2.0'), 'utf8');
    expect(target.logFile('1.2.0')).toBe(path.join(logDir, 'web', '1.2.0.log'));
    const order = [
      /\] ==> deploy 1\.2\.0 \(timeout 10 s\)/,
      /\] \$ \/bin\/sh -c "echo \\"deploying/,
      /^deploying 1\.2\.0$/m,
      /^started 1\.2\.0: pid \d+, port \d+$/m,
      /\] <== deploy succeeded: exited with code 0 after/,
      /\] health passed \(attempt \d+/,
      /\] 1\.2\.0 is running at 127\.0\.0\.1:\d+/,
      /\] ==> retire 1\.2\.0/,
      /^retiring 1\.2\.0$/m,
      /^stopped 1\.2\.0 \(pid \d+\)$/m,
      /\] <== retire succeeded/,
      /\] 1\.2\.0 retired/,
    ];
    let at = 0;
    for (const pattern of order) {
      const match = pattern.exec(log.slice(at));
      expect(match, `${pattern} after offset ${at} in\n${log}`).not.toBeNull();
      at += match!.index + match![0].length;
    }
    expect(log).toMatch(/^a warning$/m); // stderr: in the deploy section, in no fixed order with stdout
    const last = await target.logs('1.2.0', 2);
    expect(last).toHaveLength(2);
    expect(last![1]).toMatch(/1\.2\.0 retired/);
    expect(await target.logs('never-deployed', 10)).toBeNull();
  });

  it('blanks request env values out of the log, logs() and the failure message', async () => {
    const secret = 'hunter2-but-longer';
    const target = make({ deploy: 'echo "the token is $TOKEN"; exit 1' });
    const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { TOKEN: secret } });
    expect(state.message).toContain('the token is ***');
    expect(state.message).not.toContain(secret);
    expect(readFileSync(target.logFile('1.0.0'), 'utf8')).not.toContain(secret);
    expect((await target.logs('1.0.0', 50))!.join('\n')).toContain('the token is ***');
    expect(readFileSync(target.stateFile, 'utf8')).not.toContain(secret);
  });

  it('applies the configured redactor (the engine\'s secret redactor) to captured lines, messages and logs()', async () => {
    const target = make({ deploy: 'echo "pin is 4321"; exit 1', redact: (text) => text.split('4321').join('[redacted]') });
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state.message).toContain('pin is [redacted]');
    expect(readFileSync(target.logFile('1.0.0'), 'utf8')).not.toContain('4321');
    expect((await target.logs('1.0.0', 50))!.join('\n')).toContain('pin is [redacted]');
  });

  it('ensure is idempotent: a deployed, healthy version is not deployed again (also under concurrent calls)', async () => {
    const counted = `echo x >> "$RUN_DIR/deploys"; ${DEMO_DEPLOY}`;
    const target = make({ deploy: counted });
    const [a, b] = await Promise.all([target.ensure({ version: '1.0.0', replicas: 1 }), target.ensure({ version: '1.0.0', replicas: 1 })]);
    const c = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect(lines(path.join(runDir, 'deploys'))).toHaveLength(1);
  });

  it('keeps its state in a JSON file: a new instance knows what runs, does not redeploy it, and can retire it', async () => {
    const counted = `echo x >> "$RUN_DIR/deploys"; ${DEMO_DEPLOY}`;
    const first = make({ deploy: counted, environment: 'prod', service: 'shop' });
    const state = await first.ensure({ version: '4.0.0', replicas: 1, artifactDigest: 'sha256:feed' });
    const pid = pidOf(runDir, '4.0.0')!;
    await first.close(); // retireOnClose is off: the version keeps running
    expect(running(pid)).toBe(true);
    expect(first.stateFile).toBe(path.join(logDir, 'shop.prod', 'command-state.json'));
    const saved = JSON.parse(readFileSync(first.stateFile, 'utf8')) as { versions: Array<Record<string, unknown>> };
    expect(saved.versions).toEqual([
      expect.objectContaining({ version: '4.0.0', phase: 'running', endpoints: state.endpoints, artifactDigest: 'sha256:feed', environment: 'prod' }),
    ]);

    const second = make({ deploy: counted, environment: 'prod', service: 'shop' });
    expect(await second.observe()).toEqual([state]);
    expect(await second.ensure({ version: '4.0.0', replicas: 1 })).toEqual(state);
    expect(lines(path.join(runDir, 'deploys'))).toHaveLength(1);
    expect(pidOf(runDir, '4.0.0')).toBe(pid);
    await second.retire('4.0.0');
    expect(running(pid)).toBe(false);
    expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
    expect(await make({ deploy: counted, environment: 'prod', service: 'shop' }).observe()).toEqual([]);
  });

  it('a new instance repairs a recorded version that stopped answering: one health check, then deploy again (a restart)', async () => {
    const counted = `echo x >> "$RUN_DIR/deploys"; ${DEMO_DEPLOY}`;
    const first = make({ deploy: counted });
    const before = await first.ensure({ version: '5.0.0', replicas: 1 });
    await first.close();
    process.kill(pidOf(runDir, '5.0.0')!, 'SIGKILL');
    await waitFor('the app to die', () => refusesConnections(before.endpoints[0]!));

    const second = make({ deploy: counted });
    const after = await second.ensure({ version: '5.0.0', replicas: 1 });
    expect(after).toMatchObject({ phase: 'running', healthy: true, restarts: 1, endpoints: before.endpoints });
    expect(lines(path.join(runDir, 'deploys'))).toHaveLength(2);
    expect(JSON.parse((await httpGet(after.endpoints[0]!)).body)).toMatchObject({ version: '5.0.0' });
  });

  it('a record left "starting" by a control plane that died mid-deploy reads as failed, and ensure deploys it', async () => {
    const target = make();
    await target.close();
    writeFileSync(
      target.stateFile,
      JSON.stringify({
        kind: 'command',
        service: 'web',
        environment: null,
        versions: [{ version: '6.0.0', phase: 'starting', healthy: false, endpoints: [], replicas: 1, port: null, updatedAt: new Date().toISOString(), restarts: 0 }],
      }),
    );
    const next = make();
    expect(await next.observe()).toEqual([expect.objectContaining({ version: '6.0.0', phase: 'failed', message: expect.stringMatching(/stopped while this version was being deployed/) })]);
    expect(await next.ensure({ version: '6.0.0', replicas: 1 })).toMatchObject({ phase: 'running', healthy: true });
  });

  it('an unreadable state file is moved aside, not fatal', async () => {
    const target = make();
    await target.close();
    writeFileSync(target.stateFile, '{not json');
    const next = make();
    expect(next.startupWarnings).toEqual([expect.stringMatching(/was unreadable and was moved to .*command-state\.json\.unreadable-/)]);
    expect(await next.observe()).toEqual([]);
  });

  it('polls the health command after deploy and fails the version when it never passes', async () => {
    const target = make({ startTimeoutMs: 1500 });
    const state = await target.ensure({ version: '7.0.0', replicas: 1, env: { UNHEALTHY: '1' } });
    expect(state.phase).toBe('failed');
    expect(state.message).toMatch(/^health did not pass within 1\.5 s after the deploy step \(\d+ attempts\); last attempt: health exited with code 1 after \d+ ms; last output:\nhealthz: HTTP 503$/);
    const log = readFileSync(target.logFile('7.0.0'), 'utf8');
    expect(log).toMatch(/health attempt 2 failed: exited with code 1/);
    await target.retire('7.0.0');
  });

  it('checks running versions periodically: unhealthy when the check fails, running again when it passes', async () => {
    const target = make({ healthIntervalMs: 150 });
    const state = await target.ensure({ version: '8.0.0', replicas: 1 });
    const pid = pidOf(runDir, '8.0.0')!;
    process.kill(pid, 'SIGSTOP'); // still there, no longer answering: the check times out
    try {
      const unhealthy = await waitFor('unhealthy', async () => (await target.observe()).find((s) => s.phase === 'unhealthy'), 8000);
      expect(unhealthy).toMatchObject({ healthy: false, endpoints: state.endpoints });
      expect(unhealthy.message).toMatch(/^health (timed out|exited with code 1)/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await waitFor('running again', async () => (await target.observe()).find((s) => s.phase === 'running' && s.healthy), 8000);
    const log = readFileSync(target.logFile('8.0.0'), 'utf8');
    expect(log).toMatch(/health passes again/);
  }, 20_000);

  it('without a health command a version is healthy once deploy exits 0; endpoints come from templates when none is printed', async () => {
    const target = make({ deploy: 'echo deployed', health: undefined, endpoints: ['127.0.0.1:{{port}}', '{{version}}.{{service}}.{{environment}}.internal:80'], environment: 'qa' });
    const state = await target.ensure({ version: 'v9', replicas: 1 });
    expect(state.phase).toBe('running');
    expect(state.endpoints).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/), 'v9.web.qa.internal:80']);
  });

  it('a printed endpoint that is not host:port fails the deploy', async () => {
    const target = make({ deploy: 'echo ROLLGATE_ENDPOINT=not-an-endpoint', health: undefined });
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(state).toMatchObject({ phase: 'failed', message: expect.stringMatching(/reported the endpoint "not-an-endpoint"/) });
    expect(() => make({ endpoints: ['{{host}}:80'] })).toThrow(/only \{\{port\}\}/);
  });

  it('a failing retire throws with its last lines and keeps the version', async () => {
    const target = make({ retire: 'echo "cannot stop it" >&2; exit 4' });
    await target.ensure({ version: '1.0.0', replicas: 1 });
    await expect(target.retire('1.0.0')).rejects.toThrow(/retire of web 1\.0\.0 failed: retire exited with code 4 .*\ncannot stop it/s);
    expect((await target.observe()).map((s) => s.version)).toEqual(['1.0.0']);
  });

  it('warns in the log when a step leaves a background process holding its output', async () => {
    const target = make({ deploy: 'sleep 3 & echo $! > "$RUN_DIR/holder.pid"; echo done', health: undefined });
    const started = Date.now();
    const state = await target.ensure({ version: '1.0.0', replicas: 1 });
    expect(Date.now() - started).toBeLessThan(2500);
    expect(state.phase).toBe('running');
    expect(readFileSync(target.logFile('1.0.0'), 'utf8')).toMatch(/warning: a process started by the deploy step kept its stdout\/stderr open/);
  });

  it('close() stops a step in flight; with retireOnClose it retires what it deployed', async () => {
    const slow = make({ deploy: 'echo waiting; sleep 30', health: undefined, service: 'slow' });
    const pending = slow.ensure({ version: '1.0.0', replicas: 1 });
    await waitFor('the step to start', () => existsSync(slow.logFile('1.0.0')) && readFileSync(slow.logFile('1.0.0'), 'utf8').includes('waiting'));
    await slow.close();
    expect(await pending).toMatchObject({ phase: 'failed', message: expect.stringMatching(/stopped because the target is closing/) });
    await expect(slow.ensure({ version: '1.0.0', replicas: 1 })).rejects.toThrow(/closed/);

    const tidy = make({ retireOnClose: true });
    const state = await tidy.ensure({ version: '2.0.0', replicas: 1 });
    await tidy.close();
    expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
    expect(await tidy.observe()).toEqual([]);
  });

  it('rejects bad configuration', () => {
    expect(() => make({ deploy: '' })).toThrow(/deploy is required/);
    expect(() => make({ retire: ' ' })).toThrow(/retire must be a non-empty command/);
    expect(() => make({ timeoutMs: 0 })).toThrow(/timeoutMs must be a positive number/);
    expect(() => make({ portRange: [10, 5] })).toThrow(/portRange/);
  });
});
