/**
 * `rollgate policy test`: the dry run of a gate's policies (`POST /api/v1/policies/evaluate`) for a
 * release or deployment entering an environment. Exits 3 when the gate would refuse (a `deny`), so
 * CI can run it before asking for a promotion.
 */
import { Option, type Command } from 'commander';
import type { PolicyEvaluation, PolicyEvaluationRequest } from '../../client/policies.js';
import { EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { cell, renderTable } from '../output.js';

/** The table `policy test` prints: one row per result, denies first so they are seen. */
export function renderPolicyResults(evaluation: PolicyEvaluation): string {
  const order = { deny: 0, warn: 1, pending: 2, pass: 3 } as const;
  const rows = [...evaluation.results]
    .sort((a, b) => order[a.outcome] - order[b.outcome])
    .map((result) => [result.name, cell(result.service), cell(result.severity), result.outcome, result.message]);
  return renderTable(['POLICY', 'SERVICE', 'SEVERITY', 'OUTCOME', 'MESSAGE'], rows);
}

/** `rollgate policy ...` (see docs/cli.md and docs/governance.md, "Policies"). */
export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('work with governance policies');

  policy
    .command('test')
    .description('evaluate the policies of a gate on a release or deployment entering an environment (dry run, records nothing); exit 3 if any denies')
    .requiredOption('--env <environment>', 'environment the release or deployment would enter')
    .option('--release <release>', 'evaluate the components, results and latest change of this Release')
    .option('--deployment <deployment>', 'evaluate what this Deployment runs (with its release and change)')
    .option('--change <change>', 'show this change record\'s risk and approvals to the policies')
    .addOption(new Option('--gate <gate>', 'which gate\'s policies').choices(['promote', 'start']).default('promote'))
    .addHelpText(
      'after',
      '\nExamples:\n  rollgate policy test --env prod --release checkout-2026-11\n  rollgate policy test --env prod --deployment checkout-prod-42 --gate start -o json',
    )
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ env: string; release?: string; deployment?: string; change?: string; gate: 'promote' | 'start' }>();
        if (options.release && options.deployment) throw new UsageError('give --release or --deployment, not both');
        if (!options.release && !options.deployment) throw new UsageError('give --release RELEASE or --deployment DEPLOYMENT');
        const input: PolicyEvaluationRequest = {
          environment: options.env,
          gate: options.gate,
          ...(options.release ? { release: options.release } : {}),
          ...(options.deployment ? { deployment: options.deployment } : {}),
          ...(options.change ? { change: options.change } : {}),
        };
        const evaluation = await ctx.client(command).policies.evaluate(input);
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, evaluation);
        } else if (evaluation.results.length === 0) {
          ctx.err(`No policies apply at gate ${options.gate} in environment ${options.env}.`);
        } else {
          ctx.out(renderPolicyResults(evaluation));
          const denies = evaluation.results.filter((result) => result.outcome === 'deny').length;
          const warns = evaluation.results.filter((result) => result.outcome === 'warn').length;
          ctx.err(evaluation.denied ? `gate ${options.gate} would refuse: ${denies} denied, ${warns} warned` : `gate ${options.gate} would pass (${warns} warned)`);
        }
        return evaluation.denied ? EXIT_CODES.rejected : EXIT_CODES.ok;
      }),
    );
}
