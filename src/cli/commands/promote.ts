/**
 * `rollgate promote RELEASE --to ENV`: promotes a release by digest into the next stage of its
 * pipeline and shows every gate's result; `rollgate drift [--env ENV]`: what runs against what was
 * promoted. See docs/cli.md ("Promotion and drift").
 */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { refusedGates } from '../../client/promotions.js';
import type { DriftOverview, EnvironmentDrift } from '../../core/governance/promotion.js';
import { shortDigest } from '../../core/governance/promotion.js';
import type { GateResult } from '../../core/governance/records.js';
import { CHANGE_TYPES, type ChangeType } from '../../core/resources/change.js';
import { nameSchema } from '../../core/resources/common.js';
import { EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { renderTable } from '../output.js';
import { watchDeployment } from './rollout.js';

interface PromoteOptions {
  to: string;
  plannedStart?: string;
  plannedEnd?: string;
  type?: ChangeType;
  justification?: string;
  watch?: boolean;
}

const checkName = (flag: string, value: string): string => {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid name'}`);
  return value;
};

const isoDateTime = z.iso.datetime({ offset: true });
const checkInstant = (flag: string, value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  if (!isoDateTime.safeParse(value).success) throw new UsageError(`${flag} "${value}": must be an ISO 8601 date-time with an offset, e.g. 2026-12-01T09:00:00+01:00`);
  return value;
};

/** GATE / NAME / SERVICE / OUTCOME / MESSAGE, in the order the server checked them. */
export function renderGates(gates: readonly GateResult[]): string {
  return renderTable(
    ['GATE', 'NAME', 'SERVICE', 'OUTCOME', 'MESSAGE'],
    gates.map((gate) => [gate.gate, gate.name, gate.service ?? '-', gate.outcome, gate.message]),
  );
}

const versionCell = (entry: { version: string; digest: string | null } | null): string => (entry ? `${entry.version} ${shortDigest(entry.digest)}` : '-');

/** SERVICE / PROMOTED / RUNNING / STATE (with ENVIRONMENT first for several environments), then why each drifting service drifts. */
export function renderDrift(reports: readonly EnvironmentDrift[], options: { environmentColumn: boolean }): string {
  const rows = reports.flatMap((report) =>
    report.services.map((entry) => [
      ...(options.environmentColumn ? [report.environment] : []),
      entry.service,
      entry.promoted ? `${versionCell(entry.promoted)} (${entry.promoted.release})` : '-',
      versionCell(entry.running),
      entry.state,
    ]),
  );
  const headers = [...(options.environmentColumn ? ['ENVIRONMENT'] : []), 'SERVICE', 'PROMOTED', 'RUNNING', 'STATE'];
  const explanations = reports.flatMap((report) =>
    report.services.filter((entry) => entry.state !== 'in-sync').map((entry) => `${report.environment}/${entry.service}: ${entry.message}`),
  );
  return [renderTable(headers, rows), ...(explanations.length > 0 ? ['', ...explanations] : [])].join('\n');
}

export function registerPromoteCommands(program: Command, ctx: CliContext): void {
  program
    .command('promote')
    .description('promote a release by digest into an environment of its pipeline (gates checked by the server; creates the change record and Deployments)')
    .argument('<release>', 'release name')
    .requiredOption('--to <environment>', 'the environment to promote into (a stage of the release\'s pipeline)')
    .option('--planned-start <instant>', 'planned start of the change record, ISO 8601 (production)')
    .option('--planned-end <instant>', 'planned end of the change record, ISO 8601')
    .addOption(new Option('--type <type>', 'change type of the change record').choices([...CHANGE_TYPES]))
    .option('--justification <text>', 'why the change is needed (default: "Release R to ENV")')
    .option('-w, --watch', 'then follow each created Deployment\'s rollout (exit 0 when all are Healthy)')
    .addHelpText(
      'after',
      `
Prints every gate's result (path, digest, analysis, freeze, goNoGo, active, policy), then the
change record and the Deployments created. Refused (exit 3) when a gate denies or is pending; the
gates are printed and the refusal is recorded on the release and in the audit log.

Examples:
  rollgate promote storefront-2026-12 --to staging
  rollgate promote storefront-2026-12 --to prod --planned-start 2026-12-01T09:00:00+01:00
  rollgate promote hotfix-7 --to prod --type emergency --justification "payments outage"`,
    )
    .action(
      ctx.run(async (command, release: string) => {
        const options = command.opts<PromoteOptions>();
        checkName('RELEASE', release);
        const request = {
          environment: checkName('--to', options.to),
          ...(options.plannedStart !== undefined ? { plannedStart: checkInstant('--planned-start', options.plannedStart)! } : {}),
          ...(options.plannedEnd !== undefined ? { plannedEnd: checkInstant('--planned-end', options.plannedEnd)! } : {}),
          ...(options.type !== undefined ? { changeType: options.type } : {}),
          ...(options.justification !== undefined ? { justification: options.justification } : {}),
        };
        if (request.justification !== undefined && request.justification.trim() === '') throw new UsageError('--justification must not be empty');
        const format = ctx.outputFormat(command);
        let result;
        try {
          result = await ctx.client(command).promotions.promote(release, request);
        } catch (error) {
          const gates = refusedGates(error);
          // The table first (stdout), then the error with each refusing gate (stderr, exit 3).
          if (gates && format === 'table') ctx.out(renderGates(gates));
          throw error;
        }
        if (format !== 'table') {
          ctx.printData(format, result);
        } else {
          ctx.out(renderGates(result.promotion.gates));
          ctx.out('');
          if (result.change) {
            const state = (result.change.status?.['state'] as string | undefined) ?? 'New';
            ctx.out(`change/${result.change.metadata.name} created (${state})`);
          }
          for (const deployment of result.promotion.deployments) {
            ctx.out(`deployment/${deployment.deployment} created: ${deployment.service} ${deployment.version} ${shortDigest(deployment.digest)} → ${result.promotion.environment}`);
          }
        }
        ctx.err(`release ${release} promoted to ${result.promotion.environment}`);
        if (!options.watch) return EXIT_CODES.ok;
        let exit: number = EXIT_CODES.ok;
        for (const deployment of result.promotion.deployments) {
          const code = await watchDeployment(ctx, command, deployment.deployment);
          if (exit === EXIT_CODES.ok) exit = code;
        }
        return exit;
      }),
    );

  program
    .command('drift')
    .description('what runs in each environment against what was promoted into it (exit 3 when anything drifts)')
    .option('--env <environment>', 'one environment (default: every environment)')
    .addHelpText(
      'after',
      `
STATE is in-sync (the promoted digest runs), drift (something else runs and the promoted rollout
is over), not-promoted (something runs that no promotion brought) or not-running (promoted, not
stable: still rolling out, or its rollout ended without becoming stable). The server records a
changed drift set in the audit log (environment.drift).

Examples:
  rollgate drift
  rollgate drift --env prod -o json`,
    )
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ env?: string }>();
        const client = ctx.client(command);
        const format = ctx.outputFormat(command);
        let reports: EnvironmentDrift[];
        let data: EnvironmentDrift | DriftOverview;
        if (options.env !== undefined) {
          const report = await client.promotions.drift(checkName('--env', options.env));
          reports = [report];
          data = report;
        } else {
          const overview = await client.promotions.drift();
          reports = overview.environments;
          data = overview;
        }
        const drifting = reports.reduce((sum, report) => sum + report.drift, 0);
        if (format !== 'table') ctx.printData(format, data);
        else if (reports.every((report) => report.services.length === 0)) ctx.err(`nothing runs and nothing was promoted${options.env ? ` in ${options.env}` : ''}`);
        else ctx.out(renderDrift(reports, { environmentColumn: options.env === undefined }));
        if (drifting === 0) return EXIT_CODES.ok;
        ctx.err(`${drifting === 1 ? '1 service drifts' : `${drifting} services drift`} from what was promoted`);
        return EXIT_CODES.rejected;
      }),
    );
}
