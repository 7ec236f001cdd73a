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
    .addHelpText('after', '\nExample:\n  export ROLLGATE_TOKEN=$(rollgate token create --name ci --role deployer)')
    .action(
      ctx.run(async (command) => {
        const { name, role } = command.opts<{ name: string; role: Role }>();
        const created = await ctx.client(command).tokens.create({ name, role });
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, created);
          return;
        }
        // The secret alone on stdout (for `$(...)`), the explanation on stderr.
        ctx.err(`token "${created.name}" created with role ${created.role}; save it now, it is not shown again:`);
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
              ['NAME', 'ROLE', 'STATUS', 'AGE', 'REVOKED'],
              tokens.map((info) => [info.name, info.role, info.revokedAt ? 'revoked' : 'active', formatAge(info.createdAt, now), info.revokedAt ?? '-']),
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
