/**
 * Issue 5's "done when": one release walked end to end through governance, by running the very
 * script the example documents (examples/governance/walkthrough.sh) against a real `rollgate
 * serve` with real processes behind real routers: scope from git commits, the freeze and an
 * exception, staging canaries, a bad artifact refused by policy and by digest, go / no-go, a
 * production change record with computed risk, CAB approvals with self-approval refused, a
 * blackout that holds the rollout until it ends, the production canary, the change closed.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const SCRIPT = path.join(ROOT, 'examples/governance/walkthrough.sh');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A base such that base+1..base+3 are free (the walk-through's dev, staging and prod routers). */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    if ((await Promise.all([1, 2, 3].map((offset) => portFree(base + offset)))).every(Boolean)) return base;
  }
  throw new Error('no three consecutive free ports found');
}

function runWalkthrough(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('governance walk-through (examples/governance/walkthrough.sh)', () => {
  it('walks release 1.1.0 from git commits to a closed production change, refusing what it must', async () => {
    const { code, output } = await runWalkthrough({
      RG: `${process.execPath} --import ${TSX_LOADER} ${path.join(ROOT, 'src/cli/main.ts')}`,
      PORT_BASE: String(await freePortBase()),
      // Long enough for the approvals to land while it is still active on a slow machine.
      BLACKOUT_SECONDS: '60',
    });
    expect(code, output).toBe(0);
    const section = (from: string, to: string) => output.slice(output.indexOf(from), output.indexOf(to));

    // Scope from Conventional Commits, the freeze, the exception and its separation of duties.
    expect(output).toContain('Proposed scope from 5 commits in v1.0.0..HEAD: 4 items, 1 ignored');
    expect(output).toMatch(/docs: explain the settlement batch\s+type "docs" is ignored/);
    expect(section('======== 4.', '======== 5.')).toMatch(/user "alice" requested scope exception ex-1 .* cannot decide it[\s\S]*scope exception ex-1 approved by dave/);

    // Staging passed as a judged canary (both analysis steps).
    expect(section('======== 5.', '======== 6.')).toMatch(/Healthy — 1\.1\.0 is stable at 100%[\s\S]*✓ 4\. analysis ledger-golden-signals/);

    // The laptop build: refused by policy in dev, and by digest (never succeeded in dev) for staging.
    const bad = section('======== 6.', '======== 7.');
    expect(bad).toMatch(/no-critical-findings\s+ledger\s+deny/);
    expect(bad).toContain('has not succeeded in dev');
    expect(bad.match(/\(refused, exit code 3\)/g)).toHaveLength(2);

    // Go / no-go: refused while criteria were unmet, recorded once they were.
    const goNoGo = section('======== 7.', '======== 8.');
    expect(goNoGo).toContain('cannot go to prod: 3 required criteria not met (load-test, migration-check, compliance-signoff)');
    expect(goNoGo).toMatch(/GO recorded for release\/ledger-1-1-0 in prod by dave/);

    // Production: change record with risk, held for approvals, then by the blackout, then rolled out.
    const production = section('======== 9.', '======== 12.');
    expect(production).toMatch(/change\/chg-00002 created \(Authorize\)/);
    expect(production).toContain('held by the governance gate: waiting for approval of change chg-00002: cab 0 of 2, release-managers 0 of 1');
    expect(production).toMatch(/chg-00002\s+Release ledger-1-1-0 1\.1\.0 to prod\s+high \(\d+\)/);
    expect(production).toContain('user "alice" requested change chg-00002 and cannot approve it (separation of duties)');
    expect(production).toContain('user "erin" authored an artifact change chg-00002 deploys and cannot approve it (separation of duties)');
    expect(production).toMatch(/approved: chg-00002: Scheduled/);
    expect(production).toContain('held by the governance gate: blocked by blackout window "payments-freeze"');
    expect(production).toMatch(/Phase:\s+Healthy — 1\.1\.0 is stable at 100%/);

    // The change went Implement → Review by itself and was closed; the records show all of it.
    const records = output.slice(output.indexOf('======== 12.'));
    expect(records).toMatch(/Scheduled\s+Implement\s+rollout \S+ passed the governance gate/);
    expect(records).toMatch(/Implement\s+Review\s+rollout \S+ Healthy/);
    expect(records).toContain('chg-00002: Closed (successful)');
    expect(records).toMatch(/serviceTier\s+critical\s+20\s+20/);
    expect(records).toContain('dev ✓ → staging ✓ → prod ✓');
    expect(records).toContain('ledger ← storefront (outside)');
    expect(records).toMatch(/blackout window\s+payments-freeze/);
    expect(records).toMatch(/ledger\s+1\.1\.0 sha256:110000000000… \(ledger-1-1-0\)\s+1\.1\.0 sha256:110000000000…\s+in-sync/);
    for (const file of ['release.json', 'change.json', 'calendar.json']) expect(records).toMatch(new RegExp(`${file}: valid JSON, \\d+ bytes`));
    expect(records).toMatch(/audit chain verified: \d+ events/);
  }, 360_000);
});
