import { Option, type Command } from 'commander';
import { ROLES } from '../../core/resources/kinds.js';
import type { Role } from '../../core/resources/kinds.js';
import type { CliContext } from '../context.js';
import { formatAge, renderTable } from '../output.js';

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('manage API tokens (admin only)');

  token
    .command('create')
    .description('create a token; its secret is printed once and cannot be shown again')
    .requiredOption('--name <name>', 'token name (letters, digits, ".", "_", "-")')
    .addOption(new Option('--role <role>', 'what the token may do').choices([...ROLES]).makeOptionMandatory())
    .option('--user <user>', 'the user the token acts for (must exist: rollgate user create); its groups count for approvals')
    .addHelpText(
      'after',
      '\nExamples:\n  export ROLLGATE_TOKEN=$(rollgate token create --name ci --role deployer)\n  rollgate token create --name alice-laptop --role approver --user alice',
    )
    .action(
      ctx.run(async (command) => {
        const { name, role, user } = command.opts<{ name: string; role: Role; user?: string }>();
        const created = await ctx.client(command).tokens.create({ name, role, ...(user !== undefined && { user }) });
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, created);
          return;
        }
        // The secret alone on stdout (for `$(...)`), the explanation on stderr.
        const owner = created.user ? ` for user ${created.user}` : '';
        ctx.err(`token "${created.name}" created with role ${created.role}${owner}; save it now, it is not shown again:`);
        ctx.out(created.token);
      }),
    );

  token
    .command('list')
    .description('list tokens (never their secrets)')
    .action(
      ctx.run(async (command) => {
        const tokens = await ctx.client(command).tokens.list();
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, tokens, { list: true });
        } else if (tokens.length === 0) {
          ctx.err('No tokens found.');
        } else {
          const now = new Date();
          ctx.out(
            renderTable(
              ['NAME', 'ROLE', 'USER', 'STATUS', 'AGE', 'REVOKED'],
              tokens.map((info) => [info.name, info.role, info.user ?? '-', info.revokedAt ? 'revoked' : 'active', formatAge(info.createdAt, now), info.revokedAt ?? '-']),
            ),
          );
        }
      }),
    );

  token
    .command('revoke')
    .description('revoke a token (safe to repeat)')
    .argument('<name>', 'token name')
    .action(
      ctx.run(async (command, name: string) => {
        await ctx.client(command).tokens.revoke(name);
        const format = ctx.outputFormat(command);
        if (format === 'table') ctx.out(`token "${name}" revoked`);
        else ctx.printData(format, { name, revoked: true });
      }),
    );
}
