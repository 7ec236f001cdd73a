/**
 * `rollgate deploy SERVICE --version V`: creates a Deployment (the server names it, labels it and
 * refuses it while another rollout of the service is active there); the engine rolls it out.
 */
import type { Command } from 'commander';
import { API_VERSION, nameSchema, sha256DigestSchema } from '../../core/resources/common.js';
import { EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { watchDeployment } from './rollout.js';

/**
 * Commands with their own `--version` option (the application version). `main` leaves the
 * program's `-V, --version` out when one of them runs, or commander would print the CLI's version.
 */
export const COMMANDS_WITH_VERSION_OPTION: ReadonlySet<string> = new Set(['deploy', 'release']);

const checkName = (flag: string, value: string): string => {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid name'}`);
  return value;
};

export interface DeployOptions {
  version: string;
  artifact?: string;
  env?: string;
  strategy?: string;
  release?: string;
  watch?: boolean;
}

/** The Deployment document `deploy` sends (no name: the server generates one). */
export function deploymentDocument(service: string, options: DeployOptions) {
  checkName('SERVICE', service);
  if (options.version.trim() === '') throw new UsageError('--version must not be empty');
  if (options.artifact !== undefined && !sha256DigestSchema.safeParse(options.artifact).success) {
    throw new UsageError(`--artifact "${options.artifact}": must be "sha256:" followed by 64 lowercase hex digits`);
  }
  return {
    apiVersion: API_VERSION,
    kind: 'Deployment' as const,
    metadata: {},
    spec: {
      service,
      version: options.version,
      ...(options.env !== undefined ? { environment: checkName('--env', options.env) } : {}),
      ...(options.artifact !== undefined ? { artifact: { digest: options.artifact } } : {}),
      ...(options.release !== undefined ? { release: checkName('--release', options.release) } : {}),
      ...(options.strategy !== undefined ? { strategy: checkName('--strategy', options.strategy) } : {}),
    },
  };
}

export function registerDeployCommand(program: Command, ctx: CliContext): void {
  program
    .command('deploy')
    .description('start rolling out a version of a service (creates a Deployment; the engine does the rest)')
    .argument('<service>', 'service name')
    .requiredOption('--version <version>', 'the version to deploy')
    .option('--artifact <digest>', 'the artifact digest, sha256:...')
    .option('--env <environment>', 'target environment')
    .option('--strategy <name>', "RolloutStrategy to use instead of the service's")
    .option('--release <name>', 'the Release this deployment belongs to')
    .option('-w, --watch', 'then follow the rollout like `rollout status --watch` (exit 0 when Healthy, 1 when Aborted or Degraded)')
    .addHelpText(
      'after',
      `
Prints the new Deployment's name on stdout. Refused (exit 3) while another rollout of the
service is active in the environment: abort it or wait for it to finish.

Examples:
  rollgate deploy checkout --version 1.4.0 --env prod
  rollgate deploy checkout --version 1.4.0 --artifact sha256:3f1c... --env prod --watch`,
    )
    .action(
      ctx.run(async (command, service: string) => {
        const options = command.opts<DeployOptions>();
        const document = deploymentDocument(service, options);
        const created = await ctx.client(command).create(document);
        const name = created.metadata.name;
        const format = ctx.outputFormat(command);
        // The name alone on stdout, so `$(rollgate deploy ...)` captures it; the sentence on stderr.
        if (format !== 'table') ctx.printData(format, created);
        else ctx.out(name);
        ctx.err(`deployment/${name} created: ${service} ${options.version} → ${options.env ?? 'default'}`);
        if (!options.watch) return EXIT_CODES.ok;
        return watchDeployment(ctx, command, name);
      }),
    );
}
