/**
 * `rollgate serve`: the one command that composes the process (store + HTTP server) instead of
 * talking to a server through the client. The server and store modules are loaded only here, on
 * demand, so other commands start fast and never touch them.
 */
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { CliError, CONFIG_FILE, readSavedConfig, UsageError, type CliContext } from '../context.js';

export const DEFAULT_LISTEN = '127.0.0.1:7070';
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const SECRET_PROVIDERS = ['builtin', 'env', 'file'] as const;
type SecretProviderName = (typeof SECRET_PROVIDERS)[number];
type LogLevel = (typeof LOG_LEVELS)[number];

/** `127.0.0.1:7070`, `[::1]:7070`, `:7070` (all interfaces) or `7070` (loopback). */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value) ?? (/^(\d{1,5})$/.test(value) ? [value, undefined, '127.0.0.1', value] : null);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`invalid --listen "${value}": expected host:port, e.g. 127.0.0.1:7070, [::1]:7070 or :7070`);
  const host = match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]!);
  return { host, port };
}

/** `--prometheus-url` / ROLLGATE_PROMETHEUS_URL: an http(s) URL (credentials allowed: sent as basic auth). */
export function parsePrometheusUrl(value: string, source = '--prometheus-url'): string {
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`invalid ${source} "${value}": expected the base URL of the Prometheus HTTP API, e.g. http://127.0.0.1:9090`);
  }
  return value;
}

/** The URL clients on this machine should use: a wildcard listen address becomes loopback. */
export function clientUrl(url: string): string {
  return url.replace('://0.0.0.0:', '://127.0.0.1:').replace('://[::]:', '://[::1]:');
}

/**
 * Writes `<data-dir>/config.json` (`{server, token}`, mode 0600), keeping a previously saved token
 * unless a new admin token was just minted. Atomic: a reader never sees half a file.
 */
export async function saveConfig(dataDir: string, server: string, adminToken: string | null): Promise<{ file: string; hasToken: boolean }> {
  const file = path.join(dataDir, CONFIG_FILE);
  let previous: { token?: string } = {};
  try {
    previous = readSavedConfig(file);
  } catch {
    // An unreadable old file is replaced.
  }
  const token = adminToken ?? previous.token;
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ server, ...(token ? { token } : {}) }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return { file, hasToken: token !== undefined };
}

export function registerServeCommand(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the Rollgate control plane (HTTP API) until SIGINT/SIGTERM')
    .option('--listen <host:port>', 'address to listen on', DEFAULT_LISTEN)
    .option('--database <url>', 'postgres://... to use PostgreSQL (env ROLLGATE_DATABASE_URL); default: SQLite in the data dir')
    .option('--prometheus-url <url>', 'Prometheus for analysis metrics whose prometheus provider sets no address, e.g. http://127.0.0.1:9090 (env ROLLGATE_PROMETHEUS_URL)')
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--secret-provider <kind>', 'where secretRefs resolve (env ROLLGATE_SECRET_PROVIDER; default builtin: encrypted in the database)').choices([...SECRET_PROVIDERS]))
    .option('--secret-dir <dir>', 'the file provider\'s directory of <name>/<key> files (env ROLLGATE_SECRET_DIR)')
    .addHelpText(
      'after',
      '\nOn first start an admin token is printed once and saved with the server URL to <data-dir>/config.json\n(mode 0600), where the other commands find it. Logs are human-readable in a terminal, JSON otherwise.',
    )
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ listen: string; database?: string; prometheusUrl?: string; logLevel: LogLevel; secretProvider?: SecretProviderName; secretDir?: string }>();
        const secretProvider = options.secretProvider ?? (ctx.io.env.ROLLGATE_SECRET_PROVIDER || 'builtin');
        if (!(SECRET_PROVIDERS as readonly string[]).includes(secretProvider)) throw new UsageError(`invalid ROLLGATE_SECRET_PROVIDER "${secretProvider}": expected one of ${SECRET_PROVIDERS.join(', ')}`);
        const secretDir = options.secretDir ?? (ctx.io.env.ROLLGATE_SECRET_DIR || undefined);
        const { host, port } = parseListen(options.listen);
        const dataDir = ctx.dataDir(command);
        const databaseUrl = options.database ?? (ctx.io.env.ROLLGATE_DATABASE_URL || undefined);
        const prometheusUrl =
          options.prometheusUrl !== undefined
            ? parsePrometheusUrl(options.prometheusUrl)
            : ctx.io.env.ROLLGATE_PROMETHEUS_URL
              ? parsePrometheusUrl(ctx.io.env.ROLLGATE_PROMETHEUS_URL, 'ROLLGATE_PROMETHEUS_URL')
              : undefined;

        const [{ openStore }, { startServer, installSignalHandlers }, { createLogger }, { createEngine, SecretRedactor }, { openSecretProvider }, { defaultWebRoot }] = await Promise.all([
          import('../../adapters/store/index.js'),
          import('../../server/serve.js'),
          import('../../server/logger.js'),
          import('../../engine/index.js'),
          import('../../adapters/secrets/index.js'),
          import('../../server/web/static.js'),
        ]);
        // Every secret value the engine resolves is added here, and blanked out of every log line.
        const redactor = new SecretRedactor();
        const logger = createLogger({ pretty: Boolean(ctx.io.stdout.isTTY), level: options.logLevel, redactor });

        await mkdir(dataDir, { recursive: true, mode: 0o700 });
        const store = await openStore({ dataDir, ...(databaseUrl ? { databaseUrl } : {}) });
        let secrets: ReturnType<typeof openSecretProvider>;
        try {
          secrets = openSecretProvider({
            kind: secretProvider as SecretProviderName,
            store,
            dataDir,
            env: ctx.io.env,
            ...(secretDir ? { dir: path.resolve(ctx.io.cwd, secretDir) } : {}),
            ...(ctx.io.env.ROLLGATE_SECRET_ENV_PREFIX ? { envPrefix: ctx.io.env.ROLLGATE_SECRET_ENV_PREFIX } : {}),
          });
        } catch (error) {
          await store.close().catch(() => undefined);
          throw new CliError((error as Error).message);
        }
        logger.info(secrets.describe, 'secret provider ready');
        // A master key rotation (ROLLGATE_MASTER_KEY_PREVIOUS set) finishes here: old values are re-sealed under the new key.
        const resealed = await secrets.reseal();
        if (resealed > 0) logger.info({ resealed }, 'secrets re-sealed under the current master key');
        let server: Awaited<ReturnType<typeof startServer>>;
        try {
          server = await startServer({
            store,
            host,
            port,
            logger,
            dataDir,
            secrets: { provider: secrets.provider, kind: secrets.kind },
            // The package's built UI (npm run build:web); without it / says how to build it.
            webRoot: defaultWebRoot(),
            engine: ({ commit }) =>
              createEngine({
                store,
                logger,
                dataDir: path.resolve(ctx.io.cwd, dataDir),
                workingDir: ctx.io.cwd,
                commit,
                secrets: { provider: secrets.provider, redactor },
                ...(prometheusUrl ? { prometheus: { address: prometheusUrl } } : {}),
              }),
          });
        } catch (error) {
          await store.close().catch(() => undefined);
          const code = (error as { code?: string }).code;
          if (code === 'EADDRINUSE') throw new CliError(`cannot listen on ${options.listen}: address already in use (is another \`rollgate serve\` running?)`);
          if (code === 'EACCES') throw new CliError(`cannot listen on ${options.listen}: permission denied`);
          throw error;
        }

        // Resolves once a signal's graceful shutdown is over; a second signal during it exits at once.
        let shutDown = false;
        let uninstall: () => void = () => undefined;
        const stopped = new Promise<number>((resolve) => {
          uninstall = installSignalHandlers(
            { close: () => server.close().finally(() => (shutDown = true)) },
            { logger, exit: (code) => (shutDown ? resolve(code) : process.exit(code)) },
          );
        });

        const url = clientUrl(server.url);
        ctx.err(`Rollgate is serving on ${url}  (web UI: ${url}/, API: ${url}/api/v1)`);
        let saved: { file: string; hasToken: boolean } | null = null;
        let saveError: unknown = null;
        try {
          saved = await saveConfig(dataDir, url, server.adminToken);
        } catch (error) {
          saveError = error;
        }
        const configPath = path.relative(ctx.io.cwd, path.join(dataDir, CONFIG_FILE)) || path.join(dataDir, CONFIG_FILE);
        if (server.adminToken) {
          ctx.err(
            [
              '',
              'Rollgate admin token (shown only this once):',
              '',
              `    ${server.adminToken}`,
              '',
              saved
                ? `Saved with the server URL to ${configPath} (mode 0600); rollgate commands run from here use it.`
                : `It could NOT be saved to ${configPath} (${(saveError as Error).message}); copy it now.`,
              'Elsewhere pass it with --token or ROLLGATE_TOKEN.',
              '',
            ].join('\n'),
          );
        } else if (saveError) {
          ctx.err(`warning: cannot write ${configPath}: ${(saveError as Error).message}`);
        } else if (saved && !saved.hasToken) {
          ctx.err(`note: the database already has tokens and ${configPath} holds none; pass a token with --token or ROLLGATE_TOKEN`);
        }

        const code = await stopped;
        uninstall();
        return code;
      }),
    );
}
