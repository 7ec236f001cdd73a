/**
 * The `ansible` target against real ansible-playbook runs (Debian package `ansible`) on localhost
 * through the local connection: the contract and an end-to-end run of the example playbook
 * (examples/ansible/) that starts the demo app, checks it, repairs it and retires it; and a probe
 * playbook (test/fixtures/ansible/) for what Rollgate passes and how failures read.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnsibleTargetConfig, AnsibleTarget, splitExtraVars } from '../../src/adapters/targets/ansible.js';
import type { SecretRef } from '../../src/core/secrets/env.js';
import { describeDeployTargetContract, httpGet, refusesConnections } from '../contract/deploy-target-contract.js';
import { describeWithAnsible } from './ansible-helpers.js';
import { killLeftovers, pidOf, running } from './command-helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EXAMPLE_PLAYBOOK = 'examples/ansible/playbooks/demo-app.playbook';
const EXAMPLE_INVENTORY = 'examples/ansible/inventory.ini';
const PROBE = 'test/fixtures/ansible/probe.yml';
const BROKEN = 'test/fixtures/ansible/broken.yml';
const SECRET_VAR = 'test/fixtures/ansible/secret-var.yml';

const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), `rollgate-${prefix}-`));

describeWithAnsible('AnsibleTarget (real ansible-playbook, local connection)', (bin) => {
  describeDeployTargetContract(
    'AnsibleTarget (examples/ansible playbook starting the demo app)',
    async () => {
      const logDir = tempDir('ansible-logs');
      const runDir = tempDir('ansible-run');
      const target = new AnsibleTarget({
        service: 'web',
        playbook: EXAMPLE_PLAYBOOK,
        inventory: EXAMPLE_INVENTORY,
        extraVars: { demo_run_dir: runDir, demo_start_retries: 2 },
        ansiblePlaybook: bin,
        workingDir: repoRoot,
        logDir,
        timeoutMs: 60_000,
        startTimeoutMs: 30_000,
        healthIntervalMs: 0,
        retireOnClose: true,
      });
      return {
        target,
        healthyVersion: '1.0.0',
        otherVersion: '1.1.0',
        failingVersion: '9.9.9-bad',
        failingEnv: { UNHEALTHY: '1' },
        instanceIdentity: async (version) => pidOf(path.join(runDir, 'web'), version),
        teardown: async () => {
          killLeftovers(path.join(runDir, 'web'));
          rmSync(logDir, { recursive: true, force: true });
          rmSync(runDir, { recursive: true, force: true });
        },
      };
    },
    { testTimeoutMs: 120_000 },
  );

  describe('AnsibleTarget', () => {
    let logDir: string;
    let runDir: string;
    const targets: AnsibleTarget[] = [];
    const make = (overrides: Partial<AnsibleTargetConfig>) => {
      const target = new AnsibleTarget({
        service: 'shop',
        playbook: EXAMPLE_PLAYBOOK,
        inventory: EXAMPLE_INVENTORY,
        ansiblePlaybook: bin,
        workingDir: repoRoot,
        logDir,
        timeoutMs: 60_000,
        startTimeoutMs: 30_000,
        healthIntervalMs: 0,
        ...overrides,
      });
      targets.push(target);
      return target;
    };

    beforeEach(() => {
      logDir = tempDir('ansible-logs');
      runDir = tempDir('ansible-run');
    });

    afterEach(async () => {
      for (const target of targets.splice(0)) await target.close();
      killLeftovers(path.join(runDir, 'shop'));
      rmSync(logDir, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    });

    it(
      'the example playbook starts the demo app version, checks it, redeploys it when it died, and retires it',
      async () => {
        const target = make({ extraVars: { demo_run_dir: runDir }, environment: 'staging' });
        const state = await target.ensure({ version: '2.0.0', replicas: 1, artifactDigest: 'sha256:0123', env: { LATENCY_MS: '1' } });
        expect(state).toMatchObject({ phase: 'running', healthy: true, restarts: 0 });
        expect(state.endpoints).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
        const answer = JSON.parse((await httpGet(state.endpoints[0]!)).body) as { version: string; service: string };
        expect(answer).toMatchObject({ version: '2.0.0', service: 'shop' });

        const log = readFileSync(target.logFile('2.0.0'), 'utf8');
        expect(log).toMatch(/==> deploy 2\.0\.0/);
        expect(log).toMatch(/\$ \S*ansible-playbook examples\/ansible\/playbooks\/demo-app\.playbook -i examples\/ansible\/inventory\.ini -e @vars\.json/);
        expect(log).toMatch(/"rollgate_action":"deploy"/);
        expect(log).toMatch(/"rollgate_environment":"staging"/);
        expect(log).toMatch(/"rollgate_artifact_digest":"sha256:0123"/);
        expect(log).toMatch(/^TASK \[Start the version unless it already runs\]/m);
        expect(log).toMatch(/ROLLGATE_ENDPOINT=127\.0\.0\.1:\d+/);
        expect(log).toMatch(/<== deploy succeeded: exited with code 0/);
        expect(log).toMatch(/health passed \(attempt 1/);

        // The health action passes while it runs...
        expect(await target.checkNow()).toEqual([state]);
        // ...and fails, naming the task, once the app is gone.
        const pid = pidOf(path.join(runDir, 'shop'), '2.0.0')!;
        process.kill(pid, 'SIGKILL');
        const [unhealthy] = await target.checkNow();
        expect(unhealthy).toMatchObject({ phase: 'unhealthy', healthy: false, endpoints: state.endpoints });
        expect(unhealthy!.message).toMatch(/^health exited with code 2 after .*: task "Check health" on localhost failed: Status code was -1/);

        // ensure repairs it: the deploy runs again (the playbook starts what is not running).
        const repaired = await target.ensure({ version: '2.0.0', replicas: 1 });
        expect(repaired).toMatchObject({ phase: 'running', healthy: true, restarts: 1, endpoints: state.endpoints });
        expect(pidOf(path.join(runDir, 'shop'), '2.0.0')).not.toBe(pid);
        expect(JSON.parse((await httpGet(state.endpoints[0]!)).body)).toMatchObject({ version: '2.0.0' });

        const newPid = pidOf(path.join(runDir, 'shop'), '2.0.0')!;
        await target.retire('2.0.0');
        expect(await refusesConnections(state.endpoints[0]!)).toBe(true);
        expect(running(newPid)).toBe(false);
        expect(existsSync(path.join(runDir, 'shop', '2.0.0.pid'))).toBe(false);
        expect(await target.observe()).toEqual([]);
        expect(readFileSync(target.logFile('2.0.0'), 'utf8')).toMatch(/==> retire 2\.0\.0[\s\S]*TASK \[Stop the version\] \*+\nchanged: \[localhost\][\s\S]*<== retire succeeded/);
      },
      120_000,
    );

    it(
      'passes the rollgate_* extra vars, the spec extra vars and the request env (env only, redacted from the log); reads the printed endpoint',
      async () => {
        const outDir = runDir;
        const secret = 'very-secret-token-1';
        const target = make({
          playbook: PROBE,
          inventory: 'localhost,',
          extraArgs: ['-c', 'local'],
          extraVars: { out_dir: outDir, custom_answer: 42, custom_list: ['a', 'b'] },
          health: false,
          environment: 'prod',
        });
        const state = await target.ensure({
          version: '1.0.0',
          replicas: 2,
          artifactDigest: 'sha256:beef',
          env: { SECRET_TOKEN: secret },
          canaryWeight: 10,
          role: 'canary',
        });
        expect(state).toMatchObject({ phase: 'running', healthy: true });
        const recorded = JSON.parse(readFileSync(path.join(outDir, 'deploy-1.0.0.json'), 'utf8')) as { vars: Record<string, unknown>; env: Record<string, string> };
        const port = recorded.vars.rollgate_port as number;
        expect(state.endpoints).toEqual([`127.0.0.1:${port}`]);
        expect(recorded.vars).toEqual({
          rollgate_action: 'deploy',
          rollgate_service: 'shop',
          rollgate_version: '1.0.0',
          rollgate_replicas: 2,
          rollgate_endpoints: [],
          rollgate_environment: 'prod',
          rollgate_artifact_digest: 'sha256:beef',
          rollgate_port: port,
          rollgate_canary_weight: 10,
          rollgate_role: 'canary',
          custom_answer: 42,
          custom_list: ['a', 'b'],
        });
        expect(recorded.env).toEqual({ ROLLGATE_VERSION: '1.0.0', ROLLGATE_ACTION: 'deploy', SECRET_TOKEN: secret, ANSIBLE_STDOUT_CALLBACK: 'default' });
        const log = readFileSync(target.logFile('1.0.0'), 'utf8');
        expect(log).toContain('token is ***');
        expect(log).not.toContain(secret);
        expect((await target.logs('1.0.0', 500))!.join('\n')).not.toContain(secret);

        await target.retire('1.0.0');
        const retired = JSON.parse(readFileSync(path.join(outDir, 'retire-1.0.0.json'), 'utf8')) as { vars: Record<string, unknown> };
        expect(retired.vars).toMatchObject({ rollgate_action: 'retire', rollgate_endpoints: [`127.0.0.1:${port}`], rollgate_port: port });
      },
      120_000,
    );

    it(
      'a failing task fails the version with that task, its host and its message (an ignored failure before it does not count)',
      async () => {
        const target = make({ playbook: PROBE, inventory: 'localhost,', extraArgs: ['-c', 'local'], extraVars: { out_dir: runDir }, health: false });
        const state = await target.ensure({ version: '1.0.0', replicas: 1, env: { PROBE_FAIL: '1' } });
        expect(state).toMatchObject({ phase: 'failed', healthy: false, endpoints: [] });
        expect(state.message).toMatch(/^deploy exited with code 2 after [^:]+: task "Break the deploy" on localhost failed: non-zero return code \(rc 3\)\ndisk on fire$/);
        expect(state.message).not.toContain('not this one');
      },
      120_000,
    );

    it(
      'an extra var from a secretRef reaches the playbook through the 0600 vars file only: not argv, not the log line, and redacted from what the playbook prints',
      async () => {
        // A quote and a backslash: Ansible's JSON output escapes them, and that form must go too.
        const password = 'Tr0ub4dor"&3\\x';
        const pin = 'pin7';
        const asked: SecretRef[] = [];
        const resolveSecret = async (ref: SecretRef) => {
          asked.push(ref);
          return ({ 'db/password': password, 'db/pin': pin } as Record<string, string>)[`${ref.name}/${ref.key}`] ?? null;
        };
        // ansible-playbook through a wrapper that records its argv, and the mode and path of the vars file it was given.
        const wrapper = path.join(runDir, 'ansible-playbook-wrapper');
        const record = (file: string) => `'${path.join(runDir, file)}'`;
        writeFileSync(
          wrapper,
          [
            '#!/bin/sh',
            `printf '%s\\n' "$@" >>${record('argv.txt')}`,
            `for arg in "$@"; do case "$arg" in @*) stat -c %a "\${arg#@}" >>${record('vars-mode.txt')}; echo "\${arg#@}" >>${record('vars-files.txt')};; esac; done`,
            `exec '${bin}' "$@"`,
            '',
          ].join('\n'),
        );
        chmodSync(wrapper, 0o755);
        const target = make({
          playbook: SECRET_VAR,
          inventory: 'localhost,',
          extraArgs: ['-c', 'local'],
          ansiblePlaybook: wrapper,
          extraVars: { out_dir: runDir, db_password: { secretRef: { name: 'db', key: 'password' } }, api_pin: { secretRef: { name: 'db', key: 'pin' } } },
          resolveSecret,
          health: false,
        });
        const state = await target.ensure({ version: '1.0.0', replicas: 1 });
        expect(state, state.message).toMatchObject({ phase: 'running', healthy: true });
        expect(asked).toEqual(expect.arrayContaining([{ name: 'db', key: 'password' }, { name: 'db', key: 'pin' }]));

        // It arrived, exactly.
        expect(readFileSync(path.join(runDir, 'deploy-db_password.txt'), 'utf8')).toBe(password);
        // Through a private 0600 file that is gone after the run, never through argv.
        const argv = readFileSync(path.join(runDir, 'argv.txt'), 'utf8');
        expect(argv).not.toContain(password);
        expect(argv).not.toContain(pin);
        expect(readFileSync(path.join(runDir, 'vars-mode.txt'), 'utf8').trim()).toBe('600');
        const varsFile = readFileSync(path.join(runDir, 'vars-files.txt'), 'utf8').trim();
        expect(varsFile).toMatch(/\/vars\.json$/);
        expect(existsSync(path.dirname(varsFile))).toBe(false);

        // The log shows the references, and what the playbook printed, redacted.
        const log = readFileSync(target.logFile('1.0.0'), 'utf8');
        expect(log).toContain('"db_password":{"secretRef":{"name":"db","key":"password"}}');
        expect(log).toMatch(/TASK \[Say the secret out loud\][\s\S]*"msg": "password is \[redacted\], pin is \[redacted\]"/);
        for (const form of [password, JSON.stringify(password).slice(1, -1), pin]) {
          expect(log).not.toContain(form);
          expect((await target.logs('1.0.0', 500))!.join('\n')).not.toContain(form);
        }
        await target.retire('1.0.0');
        expect(readFileSync(target.logFile('1.0.0'), 'utf8')).not.toContain(pin);
      },
      120_000,
    );

    it(
      "a playbook Ansible cannot load fails with Ansible's error; a missing one before ansible-playbook runs",
      async () => {
        const broken = make({ playbook: BROKEN, inventory: 'localhost,', health: false });
        const state = await broken.ensure({ version: '1.0.0', replicas: 1 });
        expect(state.phase).toBe('failed');
        expect(state.message).toMatch(/^deploy exited with code \d+ after [^:]+: .*(YAML|JSON)/s);

        const missing = make({ service: 'other', playbook: 'no/such.playbook', health: false });
        expect(await missing.ensure({ version: '1.0.0', replicas: 1 })).toMatchObject({
          phase: 'failed',
          message: expect.stringMatching(/^deploy could not be started: playbook no\/such\.playbook not found \(relative paths resolve against /),
        });
      },
      120_000,
    );
  });
});

describe('AnsibleTarget without ansible-playbook', () => {
  let logDir: string;
  beforeEach(() => {
    logDir = tempDir('ansible-logs');
  });
  afterEach(() => rmSync(logDir, { recursive: true, force: true }));

  it('fails the deploy with a clear reason when the executable is missing', async () => {
    const target = new AnsibleTarget({
      service: 'shop',
      playbook: PROBE,
      workingDir: repoRoot,
      ansiblePlaybook: '/nonexistent/ansible-playbook',
      logDir,
    });
    try {
      const state = await target.ensure({ version: '1.0.0', replicas: 1 });
      expect(state).toMatchObject({ phase: 'failed', message: expect.stringMatching(/^deploy could not be started: \/nonexistent\/ansible-playbook: not found/) });
    } finally {
      await target.close();
    }
  });

  it('fails a step, naming the variables and references (never a value), when an extra var secret cannot be resolved', async () => {
    const extraVars = { out_dir: logDir, db_password: { secretRef: { name: 'db', key: 'password' } }, api_key: { secretRef: { name: 'api', key: 'key' } } };
    const withoutResolver = new AnsibleTarget({ service: 'shop', playbook: PROBE, workingDir: repoRoot, ansiblePlaybook: '/nonexistent/ansible-playbook', logDir, extraVars });
    const resolving = new AnsibleTarget({
      service: 'other',
      playbook: PROBE,
      workingDir: repoRoot,
      ansiblePlaybook: '/nonexistent/ansible-playbook',
      logDir,
      extraVars,
      resolveSecret: async (ref) => {
        if (ref.name === 'api') throw new Error('provider unreachable');
        return null;
      },
    });
    try {
      expect(await withoutResolver.ensure({ version: '1.0.0', replicas: 1 })).toMatchObject({
        phase: 'failed',
        message:
          'deploy could not be started: extraVars api_key: secret api/key cannot be resolved: no secret provider is configured; extraVars db_password: secret db/password cannot be resolved: no secret provider is configured',
      });
      // ...before ansible-playbook would run (it does not exist here: that would be another message).
      expect(await resolving.ensure({ version: '1.0.0', replicas: 1 })).toMatchObject({
        phase: 'failed',
        message: 'deploy could not be started: extraVars api_key: secret api/key could not be read: provider unreachable; extraVars db_password: secret db/password does not exist',
      });
    } finally {
      await withoutResolver.close();
      await resolving.close();
    }
  });

  it('refuses an extra var that has a secretRef key but is not { secretRef: { name, key } }', () => {
    const make = (value: unknown) => () => new AnsibleTarget({ service: 'shop', playbook: PROBE, logDir, extraVars: { db_password: value } });
    expect(make({ secretRef: { name: 'db' } })).toThrow(/extraVars db_password: a secret reference is \{ secretRef: \{ name, key \} \} \(secretRef\.key: /);
    expect(make({ secretRef: { name: 'db', key: 'password' }, default: 'x' })).toThrow(/extraVars db_password: a secret reference is/);
    expect(make({ secretRef: { name: 'Not_A_Name', key: 'password' } })).toThrow(/secretRef\.name/);
    // Other maps and lists are literal extra vars.
    expect(splitExtraVars({ a: { name: 'db', key: 'password' }, b: [{ secretRef: 1 }], c: { secretRef: { name: 'db', key: 'password' } } })).toEqual({
      literal: { a: { name: 'db', key: 'password' }, b: [{ secretRef: 1 }] },
      secret: [{ name: 'c', ref: { name: 'db', key: 'password' } }],
    });
  });

  it('reserves the rollgate_ prefix of extra vars', () => {
    expect(() => new AnsibleTarget({ service: 'shop', playbook: PROBE, logDir, extraVars: { rollgate_version: 'x' } })).toThrow(/rollgate_version: the rollgate_ prefix is reserved/);
  });
});
