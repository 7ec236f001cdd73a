/**
 * `rollgate demo`: the first command after `npm install`. A composition root (ADR 0002): it builds
 * a whole control plane in this process — SQLite in a temporary directory, the HTTP API on
 * 127.0.0.1 with the rollout engine — then tells the story in ../demo/scenario.ts through the
 * typed client, prints a summary, and takes everything down again (load, API, engine, the demo
 * service's processes, the temporary directory), also on Ctrl-C.
 *
 * Exit codes: 0 when v2 was promoted, v3 was stopped by analysis and the router ends with all
 * traffic on v2; 1 otherwise (the reason is printed); 130 when interrupted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { createClient } from '../../client/index.js';
import { EXIT_CODES, type CliContext } from '../context.js';
import { summaryLines, type DemoSummary } from '../demo/report.js';
import { DEMO_SERVICE, DemoInterrupted, runScenario } from '../demo/scenario.js';
import { ChangeFeed, sleep } from '../demo/watch.js';

/** Exit code after Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;
/** The demo gives up after this long (and then exits 1). */
const DEMO_DEADLINE_MS = 100_000;

/** The package root (where examples/ lives), from src/cli/commands or dist/cli/commands alike. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!Number.isInteger(rate) || rate < 20 || rate > 500) throw new InvalidArgumentError('expected a whole number of requests per second, 20..500');
  return rate;
}

export function registerDemoCommand(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run a self-contained demo: a control plane, a demo service under load, a canary promoted and a bad one rolled back')
    .option('--keep', 'after the summary, keep the control plane and the service running until Ctrl-C (and keep the temporary directory)')
    .option('--rate <n>', 'requests per second the load generator sends', parseRate, 150)
    .option('--verbose', "show the control plane's own log lines (on stderr)")
    .addHelpText(
      'after',
      [
        '',
        'Everything runs on 127.0.0.1 in this process, with SQLite in a temporary directory; nothing else is needed.',
        'With --output json the live progress goes to stderr and the summary, as JSON, to stdout.',
        '',
        'Exit codes: 0 v2 promoted, v3 rolled back by analysis and 100% of traffic on v2; 1 otherwise; 130 interrupted.',
      ].join('\n'),
    )
    .action(ctx.run((command) => runDemo(ctx, command)));
}

async function runDemo(ctx: CliContext, command: Command): Promise<number> {
  const origin = Date.now();
  const options = command.opts<{ keep?: boolean; rate: number; verbose?: boolean }>();
  const format = ctx.outputFormat(command);
  // Progress is for people: on stdout in table mode, on stderr when stdout carries JSON / YAML.
  const say = format === 'table' ? (line: string) => ctx.out(line) : (line: string) => ctx.err(line);
  const root = packageRoot();

  const [{ openStore }, { startServer }, { createLogger }, { createEngine }, { killAllProcessTargetsSync }, { defaultWebRoot }] = await Promise.all([
    import('../../adapters/store/index.js'),
    import('../../server/serve.js'),
    import('../../server/logger.js'),
    import('../../engine/index.js'),
    import('../../adapters/targets/process.js'),
    import('../../server/web/static.js'),
  ]);

  const dataDir = mkdtempSync(path.join(tmpdir(), 'rollgate-demo-'));
  let removeDir = true;
  const interrupt = new AbortController();
  let signals = 0;
  // Last resort, for an exit that skips the cleanup below: no demo process may outlive us. (Every
  // process target of this process is the demo's: it is the only composition root that runs.)
  const onExit = () => {
    killAllProcessTargetsSync({ includeAdoptable: true });
    if (removeDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) {
      ctx.err(`\n${signal}: stopping everything the demo started (press again to force)…`);
      interrupt.abort(new DemoInterrupted(signal));
      return;
    }
    onExit();
    process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', onExit);

  const logger = createLogger({ level: options.verbose ? 'info' : 'error', destination: { write: (text: string) => void ctx.io.stderr.write(text) } });
  let store: Awaited<ReturnType<typeof openStore>> | null = null;
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  let engine: ReturnType<typeof createEngine> | null = null;
  let summary: DemoSummary | null = null;
  let feed: ChangeFeed | null = null;
  let interrupted = false;

  try {
    store = await openStore({ dataDir });
    const opened = store;
    server = await startServer({
      store: opened,
      host: '127.0.0.1',
      port: 0,
      logger,
      dataDir,
      shutdownGraceMs: 2000,
      webRoot: defaultWebRoot(),
      engine: ({ commit }) => (engine = createEngine({ store: opened, logger, dataDir, workingDir: root, commit, rescanMs: 1000 })),
    });
    if (!server.adminToken) throw new Error('the new database did not mint an admin token');
    const client = createClient({ server: server.url, token: server.adminToken, ...(ctx.io.fetch ? { fetch: ctx.io.fetch } : {}) });
    feed = new ChangeFeed(client);

    say(`Rollgate demo: a healthy canary promoted, a bad one stopped by analysis, all on 127.0.0.1.`);
    say(`control plane ${server.url} (SQLite in ${dataDir}); demo app: ${path.join(root, 'examples/demo-app/server.js')}`);

    summary = await runScenario({
      client,
      feed,
      packageRoot: root,
      say,
      signal: interrupt.signal,
      rate: options.rate,
      origin,
      deadline: origin + DEMO_DEADLINE_MS,
      controlPlane: { url: server.url, dataDir },
      dataPlane: {
        async routerAddress(service) {
          return (await engine?.runtimes.peek(service))?.address?.() ?? null;
        },
        async prometheus(service) {
          return (await engine?.runtimes.peek(service))?.renderPrometheus?.() ?? null;
        },
      },
    });
    summary.totalMs = Date.now() - origin;
    summary.controlPlane.kept = Boolean(options.keep);

    if (format === 'table') for (const line of summaryLines(summary, origin)) ctx.out(line);
    else {
      for (const line of summaryLines(summary, origin)) ctx.err(line);
      ctx.printData(format, summary);
    }

    if (options.keep && !interrupt.signal.aborted) {
      removeDir = false;
      const router = summary.routerUrl ?? '(not started)';
      say(
        [
          '',
          'The control plane keeps running (Ctrl-C to stop it):',
          `  web UI      ${server.url}/   (sign in with the admin token below)`,
          `  API         ${server.url}`,
          `  admin token ${server.adminToken}`,
          `  router      curl ${router}/            (answers with X-Rollgate-Version)`,
          `  data        ${dataDir} (kept after exit; remove it when done)`,
          '',
          'Try, in another terminal:',
          `  npx rollgate --server ${server.url} --token ${server.adminToken} rollout status ${DEMO_SERVICE}`,
          `  npx rollgate --server ${server.url} --token ${server.adminToken} get deployments`,
          `  npx rollgate --server ${server.url} --token ${server.adminToken} get deployment ${DEMO_SERVICE}-v3 -o yaml`,
          `  npx rollgate --server ${server.url} --token ${server.adminToken} audit verify`,
          `  curl -si ${router}/ | grep -i x-rollgate-version`,
        ].join('\n'),
      );
      // Bounded only by the user: wait for Ctrl-C, in slices so the process stays responsive.
      while (!interrupt.signal.aborted) await sleep(60_000, interrupt.signal);
      return summary.ok ? EXIT_CODES.ok : EXIT_CODES.failure;
    }
    if (interrupt.signal.aborted) throw new DemoInterrupted('interrupted');
    return summary.ok ? EXIT_CODES.ok : EXIT_CODES.failure;
  } catch (error) {
    if (error instanceof DemoInterrupted || interrupt.signal.aborted) {
      interrupted = true;
      return EXIT_INTERRUPTED;
    }
    throw error;
  } finally {
    const stopping = Date.now();
    if (server) await server.close().catch((error: unknown) => ctx.err(`warning: shutdown: ${(error as Error).message}`));
    else if (store) await store.close().catch(() => undefined);
    // The server ended the change stream while closing; this only settles the reader.
    await feed?.stop();
    // server.close() stopped the engine and with it every process of the service; this only
    // catches what an error on the way might have left.
    killAllProcessTargetsSync({ includeAdoptable: true });
    if (removeDir) rmSync(dataDir, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
    if (interrupted) ctx.err(`demo interrupted after ${((Date.now() - origin) / 1000).toFixed(1)} s; everything it started is stopped${removeDir ? ' and its temporary directory removed' : ''}.`);
    else if (summary && format === 'table') ctx.out(`(stopped everything in ${((Date.now() - stopping) / 1000).toFixed(1)} s${removeDir ? '' : `; data kept in ${dataDir}`})`);
  }
}
