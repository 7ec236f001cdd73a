/**
 * The router and target examples do what their READMEs say: each suite runs the script that performs
 * the README's "Run it" steps (examples/haproxy/run.sh, examples/nginx/run.sh,
 * examples/ansible/run.sh) against a real `rollgate serve` and the real HAProxy / NGINX /
 * ansible-playbook, and reads its output: 1.0.0 deployed and answering through the router, a 2.0.0
 * canary that became Healthy and answers, a 3.0.0 canary that answered some requests and was
 * aborted, and every request afterwards answered by 2.0.0. The scripts check each of these
 * themselves (and exit non-zero otherwise); the assertions here make sure the check ran and saw it.
 *
 * Which binaries: test/helpers/system-binary.ts (ROLLGATE_TEST_HAPROXY / _NGINX / _ANSIBLE, PATH,
 * the Debian package's path); without one a suite skips with the reason, except where it must run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWithHaproxy } from '../routers/haproxy-helpers.js';
import { describeWithNginx } from '../routers/nginx-helpers.js';
import { describeWithAnsible } from '../targets/ansible-helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSX = `${process.execPath} --import ${pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href}`;
const RG = `${TSX} ${path.join(ROOT, 'src/cli/main.ts')}`;
/** Pauses of the canary strategies: long enough that the 3.0.0 canary is still running when the script aborts it. */
const STEP_PAUSE = '5s';
const TIMEOUT_MS = 300_000;

const scratch = mkdtempSync(path.join(tmpdir(), 'rollgate-router-examples-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Whether anything accepts connections on 127.0.0.1:port (after a run: nothing must). */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

function run(script: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(ROOT, script)], { cwd: ROOT, env: { ...process.env, RG, TSX, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

/** The output from the step headed `======== <from>` up to the next step. */
function section(output: string, from: string): string {
  const start = output.indexOf(`======== ${from}`);
  expect(start, `no step "${from}" in the output`).toBeGreaterThanOrEqual(0);
  const end = output.indexOf('\n======== ', start + 1);
  return output.slice(start, end === -1 ? undefined : end);
}

/** What every script shows for the 2.0.0 canary and the aborted 3.0.0 one (`router` as it prints it). */
function expectCanaryThenAbort(canary: string, aborted: string, router: string): void {
  for (const weight of [5, 25, 50]) expect(canary).toContain(`canary ${weight}% · stable ${100 - weight}%`);
  expect(canary).toMatch(/Phase: +Healthy — 2\.0\.0 is stable at 100%/);
  expect(canary).toContain(`through ${router}: 20 requests answered by: 20 x 2.0.0`);

  // The canary took traffic through the router before the abort; afterwards 2.0.0 answers everything.
  const [before, after] = aborted.split(/\$ rollgate rollout abort /);
  expect(before).toMatch(/Traffic: +\[[█░]+\] canary [1-9]\d*% · stable \d+%/);
  expect(before).toMatch(new RegExp(`through ${router}: 3\\.0\\.0 answered request \\d+`));
  expect(after).toContain('aborted: all traffic back to the stable version (phase Aborted)');
  expect(after).toMatch(/Phase: +Aborted — aborted by token:admin/);
  expect(after).toMatch(/Traffic: +\[░+\] canary 0% · stable 100%/);
  expect(after).toContain(`through ${router}: 40 requests answered by: 40 x 2.0.0`);
  expect(after).toContain('OK: all 40 requests answered by 2.0.0');
}

describeWithHaproxy('examples/haproxy/run.sh (real HAProxy)', (bin) => {
  it('renders, starts HAProxy, deploys 1.0.0, promotes a 2.0.0 canary and aborts a 3.0.0 one, as the README says', async () => {
    const port = await freePort();
    const dir = path.join(scratch, 'haproxy');
    const { code, output } = await run('examples/haproxy/run.sh', { HAPROXY: bin, HAPROXY_DIR: dir, PORT: String(port), STEP_PAUSE });
    expect(code, output).toBe(0);

    expect(section(output, '2.')).toMatch(new RegExp(`HAProxy \\(pid \\d+\\) answers on http://127\\.0\\.0\\.1:${port}/: 503 \\(no server yet\\)`));
    const first = section(output, '5.');
    expect(first).toMatch(/Phase: +Healthy — 1\.0\.0 is stable at 100%/);
    expect(first).toContain('x-demo-version: 1.0.0');
    expect(first).toContain('through HAProxy: 20 requests answered by: 20 x 1.0.0');

    const aborted = section(output, '7.');
    expectCanaryThenAbort(section(output, '6.'), aborted, 'HAProxy');
    // HAProxy's own state during the canary: the weight recorded in the state map is the one on the
    // servers (one instance per version: the weights are the percentages).
    const weight = Number(/canary-weight (\d+)/.exec(aborted)?.[1]);
    expect(weight).toBeGreaterThan(0);
    expect(aborted).toMatch(new RegExp(`demo-haproxy \\d+ stable1 127\\.0\\.0\\.1 2 \\d+ ${100 - weight} `));
    expect(aborted).toMatch(new RegExp(`demo-haproxy \\d+ canary1 127\\.0\\.0\\.1 2 \\d+ ${weight} `));
    expect(aborted).toMatch(/version@127\.0\.0\.1:\d+ 3\.0\.0/);

    expect(output).toContain('======== Done');
    // Cleaned up: HAProxy stopped, and the directory the run created is gone.
    expect(await listening(port)).toBe(false);
  }, TIMEOUT_MS);
});

describeWithNginx('examples/nginx/run.sh (real NGINX)', (bin) => {
  it('sets up a private NGINX, deploys 1.0.0, promotes a 2.0.0 canary and aborts a 3.0.0 one, as the README says', async () => {
    const port = await freePort();
    const dir = path.join(scratch, 'nginx');
    const { code, output } = await run('examples/nginx/run.sh', { NGINX: bin, NGINX_DIR: dir, PORT: String(port), STEP_PAUSE });
    expect(code, output).toBe(0);

    expect(section(output, '2.')).toMatch(new RegExp(`NGINX \\(pid \\d+\\) answers on http://127\\.0\\.0\\.1:${port}/: 502`));
    expect(section(output, '4.')).toContain('ok: 2 documents valid');
    const first = section(output, '5.');
    expect(first).toMatch(/Phase: +Healthy — 1\.0\.0 is stable at 100%/);
    expect(first).toContain('{"service":"demo-nginx","version":"1.0.0","path":"/"}');
    expect(first).toContain('through NGINX: 20 requests answered by: 20 x 1.0.0');

    const canary = section(output, '6.');
    expect(canary).toContain('{"service":"demo-nginx","version":"2.0.0","path":"/"}');
    // The background traffic saw both versions while the canary moved.
    expect(canary).toMatch(/the traffic during the canary: .*1\.0\.0 answered \d+.*2\.0\.0 answered \d+/);
    const aborted = section(output, '7.');
    expectCanaryThenAbort(canary, aborted, 'NGINX');
    // What NGINX was told during the canary: the weighted upstream holds both versions.
    expect(aborted).toMatch(/server 127\.0\.0\.1:\d+ weight=\d+; +# stable 2\.0\.0/);
    expect(aborted).toMatch(/server 127\.0\.0\.1:\d+(?: weight=\d+)?; +# canary 3\.0\.0/);

    expect(output).toContain('======== Done');
    expect(await listening(port)).toBe(false);
  }, TIMEOUT_MS);
});

describeWithAnsible('examples/ansible/run.sh (real ansible-playbook)', (bin) => {
  it('runs the playbook alone, then deploys 1.0.0, promotes a 2.0.0 canary and aborts a 3.0.0 one under Rollgate, as the README says', async () => {
    const [routerPort, playbookPort] = [await freePort(), await freePort()];
    const { code, output } = await run('examples/ansible/run.sh', {
      // The Ansible target runs the ansible-playbook on PATH, as the script does.
      PATH: `${path.dirname(bin)}${path.delimiter}${process.env.PATH ?? ''}`,
      ROUTER_PORT: String(routerPort),
      PLAYBOOK_PORT: String(playbookPort),
      DEMO_RUN_DIR: path.join(scratch, 'ansible-run'),
    });
    expect(code, output).toBe(0);

    const alone = section(output, '1.');
    expect(alone).toContain(`ROLLGATE_ENDPOINT=127.0.0.1:${playbookPort}`);
    expect(alone).toContain('{"service":"demo-ansible","version":"1.0.0","path":"/"}');
    expect(alone).toContain(`OK: nothing answers on port ${playbookPort} any more`);
    // The second retire run has nothing to do.
    expect(alone).toMatch(/rollgate_action=retire\nlocalhost +: ok=\d+ +changed=1 [\s\S]*rollgate_action=retire\nlocalhost +: ok=\d+ +changed=0 /);

    const first = section(output, '4.');
    expect(first).toMatch(/Phase: +Healthy — 1\.0\.0 is stable at 100%/);
    expect(first).toContain('through the router: 20 requests answered by: 20 x 1.0.0');

    const canary = section(output, '5.');
    // Judged by analysis on the load, each of the three steps.
    expect(canary.match(/✓ \d\. analysis demo-golden-signals/g)?.length).toBeGreaterThanOrEqual(3);
    expect(canary).toContain('{"service":"demo-ansible","version":"2.0.0","path":"/"}');
    expect(canary).toMatch(/\$ ansible-playbook examples\/ansible\/playbooks\/demo-app\.playbook -i examples\/ansible\/inventory\.ini -e @vars\.json +# vars\.json: \{.*"rollgate_action":"deploy"/);
    expectCanaryThenAbort(canary, section(output, '6.'), 'the router');

    const retired = section(output, '7.');
    expect(retired).toMatch(/1\.0\.0: <== retire succeeded/);
    expect(retired).toMatch(/3\.0\.0: <== retire succeeded/);
    // The version the control plane left running is retired by the playbook.
    expect(section(output, '8.')).toMatch(/rollgate_version=2\.0\.0 .*rollgate_action=retire\nlocalhost +: ok=\d+ +changed=1 /);

    expect(output).toContain('======== Done');
    expect(await listening(routerPort)).toBe(false);
    expect(await listening(playbookPort)).toBe(false);
  }, TIMEOUT_MS);
});
