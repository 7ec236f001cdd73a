/**
 * The `rollgate` command line. `main` parses argv, runs one command and returns its exit code;
 * nothing in here calls process.exit (bin/rollgate.js sets process.exitCode from the result).
 */
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { CliContext, DEFAULT_DATA_DIR, DEFAULT_SERVER, EXIT_CODES, OUTPUT_FORMATS, processIO, type CliIO } from './context.js';
import { registerAnalysisCommands } from './commands/analysis.js';
import { registerApplyCommand } from './commands/apply.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDeleteCommand } from './commands/delete.js';
import { COMMANDS_WITH_VERSION_OPTION, registerDeployCommand } from './commands/deploy.js';
import { registerGetCommand } from './commands/get.js';
import { registerRolloutCommands } from './commands/rollout.js';
import { registerSecretCommands } from './commands/secret.js';
import { registerServeCommand } from './commands/serve.js';
import { registerTokenCommands } from './commands/token.js';
import { registerValidateCommand } from './commands/validate.js';
import { registerCalendarCommands } from './commands/calendar.js';
import { registerChangeCommands } from './commands/change.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerPromoteCommands } from './commands/promote.js';
import { registerReleaseCommands } from './commands/release.js';
import { registerUserCommands } from './commands/user.js';

export { EXIT_CODES, type CliIO } from './context.js';

const EPILOGUE = `
Connection (every command that talks to a server):
  server: --server, else ROLLGATE_SERVER, else "server" in <data-dir>/config.json, else ${DEFAULT_SERVER}
  token:  --token, else ROLLGATE_TOKEN, else "token" in <data-dir>/config.json (only sent to the server saved with it)
  <data-dir> is --data-dir, else ROLLGATE_DATA_DIR, else ./${DEFAULT_DATA_DIR}; \`rollgate serve\` writes config.json there.

Exit codes:
  ${EXIT_CODES.ok}  success
  ${EXIT_CODES.failure}  failure (invalid manifests, server unreachable, not found, other errors)
  ${EXIT_CODES.usage}  usage error (unknown command or option, unknown KIND, missing argument)
  ${EXIT_CODES.rejected}  conflict or rejected by the server (HTTP 409, 403, 422)

Examples:
  rollgate serve
  rollgate validate -f examples/
  rollgate apply -f examples/ --dry-run
  rollgate get services -o yaml
  rollgate deploy checkout --version 1.4.0 --env prod --watch
  rollgate rollout status checkout --env prod
  rollgate audit verify`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Global options that take a value (skipped when looking for the command name in argv). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--server', '--token', '--data-dir', '-o', '--output']);

/** The command name in `args` (argv without node and script): the first operand. */
export function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (!arg.startsWith('-')) return arg;
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i += 1;
  }
  return undefined;
}

/**
 * The program; one per `main` call (commander keeps parse state on it). `versionOption: false`
 * leaves out `-V, --version` for a command that has its own `--version` (commander would
 * otherwise take `deploy checkout --version 1.2.0` as a request for the CLI's version).
 */
export function createProgram(ctx: CliContext, options: { versionOption?: boolean } = {}): Command {
  const program = new Command('rollgate');
  program.description('Rollgate release control plane: environments, governance gates, progressive rollouts, tamper-evident audit.');
  if (options.versionOption ?? true) program.version(packageVersion(), '-V, --version', 'print the version');
  program
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void ctx.io.stdout.write(text),
      writeErr: (text) => void ctx.io.stderr.write(text),
    })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true)
    .option('--server <url>', `Rollgate server URL (env ROLLGATE_SERVER; default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'API token (env ROLLGATE_TOKEN)')
    .option('--data-dir <dir>', `where serve keeps its data and config.json (env ROLLGATE_DATA_DIR; default ./${DEFAULT_DATA_DIR})`)
    .addOption(new Option('-o, --output <format>', 'output format').choices([...OUTPUT_FORMATS]).default('table'))
    .addHelpText('after', EPILOGUE);

  registerServeCommand(program, ctx);
  registerDemoCommand(program, ctx);
  registerValidateCommand(program, ctx);
  registerApplyCommand(program, ctx);
  registerGetCommand(program, ctx);
  registerDeleteCommand(program, ctx);
  registerDeployCommand(program, ctx);
  registerRolloutCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerSecretCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerAnalysisCommands(program, ctx);
  registerReleaseCommands(program, ctx);
  registerPromoteCommands(program, ctx);
  registerChangeCommands(program, ctx);
  registerCalendarCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerUserCommands(program, ctx);
  return program;
}

/**
 * Runs the CLI. `argv` is in `process.argv` form (node, script, ...arguments). Returns the exit code.
 * `io` replaces the process's streams, environment and working directory (tests).
 */
export async function main(argv: string[], io: Partial<CliIO> = {}): Promise<number> {
  const ctx = new CliContext({ ...processIO(), ...io });
  const name = commandName(argv.slice(2));
  const program = createProgram(ctx, { versionOption: !(name !== undefined && COMMANDS_WITH_VERSION_OPTION.has(name)) });
  try {
    await program.parseAsync(argv, { from: 'node' });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error (already printed).
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage;
    }
    return ctx.report(error, ctx.outputFormat(program));
  }
}

/** `tsx src/cli/main.ts ...` runs the CLI directly (the package's bin uses dist/cli/main.js). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv);
}
