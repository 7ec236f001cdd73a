/**
 * `rollgate demo` as a user runs it: a child process started from an unrelated directory, with
 * nothing prepared. It must promote v2, stop v3 by analysis, leave all traffic on v2, exit 0, and
 * leave nothing behind: no demo-app process, no temporary directory. Ctrl-C must do the same
 * cleanup and exit 130.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../src/cli/demo/report.js';
import { ROOT } from './helpers.js';

const CLI_ENTRY = path.join(ROOT, 'src/cli/main.ts');
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const hasProc = existsSync('/proc/self/environ');

const cwd = mkdtempSync(path.join(tmpdir(), 'rollgate-demo-test-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts the demo with a unique marker in its environment; the demo app's processes inherit it, so
 * `processesWith(marker)` finds any of them that outlived the demo.
 */
function startDemo(args: string[], marker: string, onOutput?: (stdout: string, child: ReturnType<typeof spawn>) => void) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('ROLLGATE_')));
  const child = spawn(process.execPath, ['--import', TSX_LOADER, CLI_ENTRY, 'demo', ...args], {
    cwd,
    env: { ...env, DEMO_TEST_MARKER: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run: Run = { code: null, signal: null, stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => {
    run.stdout += chunk.toString();
    onOutput?.(run.stdout, child);
  });
  child.stderr!.on('data', (chunk: Buffer) => (run.stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) =>
    child.once('exit', (code, signal) => {
      run.code = code;
      run.signal = signal;
      resolve(run);
    }),
  );
  // Bounded: a demo that hangs is killed (its process group is not ours to kill; the marker check reports leftovers).
  const timer = setTimeout(() => child.kill('SIGKILL'), 115_000);
  return { child, done: done.finally(() => clearTimeout(timer)) };
}

/** Pids of live processes whose environment carries the marker (none on a system without /proc). */
function processesWith(marker: string): number[] {
  if (!hasProc) return [];
  const needle = `DEMO_TEST_MARKER=${marker}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

/** The demo has stopped its processes before exiting; allow the kernel a moment to reap them. */
async function expectNoneLeft(marker: string): Promise<void> {
  let left = processesWith(marker);
  for (let i = 0; i < 20 && left.length > 0; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = processesWith(marker);
  }
  expect(left, `processes left running: ${left.join(', ')}`).toEqual([]);
}

describe('rollgate demo', () => {
  it('promotes v2, rolls v3 back by analysis, ends with all traffic on v2, and leaves nothing running', async () => {
    const marker = randomUUID();
    const started = Date.now();
    const run = await startDemo(['--output', 'json'], marker).done;
    const elapsed = Date.now() - started;

    expect(run.code, `stderr:\n${run.stderr}\nstdout:\n${run.stdout}`).toBe(0);
    const summary = JSON.parse(run.stdout) as DemoSummary;
    expect(summary.ok, summary.reason ?? '').toBe(true);
    expect(summary.reason).toBeNull();

    const [v1, v2, v3] = summary.rollouts;
    expect(v1).toMatchObject({ version: '1.0.0', phase: 'Healthy', strategy: 'direct' });
    expect(v2).toMatchObject({ version: '2.0.0', phase: 'Healthy', strategy: 'canary' });
    expect(v2!.decisionMs).toBeGreaterThan(0);
    expect(v2!.measurements.total).toBeGreaterThan(0);
    expect(v2!.measurements.failed).toBe(0);
    expect(summary.promoted).toBe('2.0.0');

    expect(v3).toMatchObject({ version: '3.0.0', phase: 'Aborted', abort: { reason: 'AnalysisFailed' } });
    expect(summary.rolledBack).toBe('3.0.0');
    // Reaction time: from the canary taking traffic to weight 0.
    expect(v3!.reactionMs).toBeGreaterThan(0);
    expect(v3!.reactionMs!).toBeLessThan(30_000);
    expect(v3!.weightZeroAt! - v3!.canaryTrafficAt!).toBe(v3!.reactionMs);
    expect(v3!.failedMetrics.length).toBeGreaterThan(0);
    expect(v3!.failedMetrics[0]!.measurement?.canary?.requests).toBeGreaterThan(0);
    // The demo's template uses the sequential judge: the evidence is an e-value over its threshold.
    expect(v3!.failedMetrics[0]!.condition).toBeNull();
    expect(v3!.failedMetrics[0]!.evidence).toMatch(/^fail — \S+: e=\S+ ≥ \d+/);
    expect(v2!.evidence.map((entry) => entry.metric).sort()).toEqual(['errors', 'latency']);

    // Traffic: observed at each weight step, everything on 2.0.0 at the end.
    const during = summary.trafficShares.filter((share) => share.act === 'v2' && share.stage === null && share.weight > 0 && share.weight < 100);
    expect(during.map((share) => share.weight)).toEqual([5, 25, 50]);
    for (const share of during) expect(share.requests).toBeGreaterThan(0);
    expect(summary.finalBurst).toMatchObject({ errors: 0, byVersion: { '2.0.0': summary.finalBurst!.requests } });
    expect(summary.router).toMatchObject({ canaryWeight: 0, stableVersion: '2.0.0' });
    expect(summary.clients.byVersion['2.0.0']?.requests).toBeGreaterThan(0);
    expect(summary.router.byVersion['3.0.0']?.requests ?? 0).toBeGreaterThan(0);

    // The human-readable summary went to stderr.
    expect(run.stderr).toMatch(/rolled back\s+3\.0\.0: Aborted \(AnalysisFailed\)/);
    expect(run.stderr).toMatch(/evidence: fail — /);
    expect(run.stderr).toMatch(/Total time \d+\.\d s/);

    // Nothing left: no demo-app process, no temporary directory.
    await expectNoneLeft(marker);
    expect(existsSync(summary.controlPlane.dataDir)).toBe(false);
    expect(summary.totalMs).toBeLessThan(120_000);
    expect(elapsed).toBeLessThan(120_000);
  }, 120_000);

  it('Ctrl-C during a rollout stops everything and exits 130', async () => {
    const marker = randomUUID();
    let signalled = false;
    let runningBefore: number[] = [];
    const demo = startDemo([], marker, (stdout, child) => {
      // Interrupt once v2's canary takes traffic: processes, router and load are all running then.
      if (!signalled && /TrafficShifted\s+setWeight 5/.test(stdout)) {
        signalled = true;
        runningBefore = processesWith(marker);
        child.kill('SIGINT');
      }
    });
    const run = await demo.done;
    expect(signalled, run.stdout + run.stderr).toBe(true);
    // The marker check sees the demo's processes (v1 and v2, each a shell and node) while they run.
    if (hasProc) expect(runningBefore.length).toBeGreaterThanOrEqual(2);
    expect(run.code, run.stdout + run.stderr).toBe(130);
    expect(run.stderr).toMatch(/interrupted/);
    await expectNoneLeft(marker);
    const dataDir = /SQLite in (\S+)\)/.exec(run.stdout)?.[1];
    expect(dataDir).toBeDefined();
    expect(existsSync(dataDir!)).toBe(false);
  }, 120_000);
});
