import { Option, type Command } from 'commander';
import type { UserObject } from '../../client/users.js';
import { nameSchema } from '../../core/resources/common.js';
import { userSpecSchema } from '../../core/resources/user.js';
import { CliError, EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { cell, formatAge, renderTable } from '../output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const repeatable = (flags: string, description: string) => new Option(flags, description).argParser(collect).default([] as string[], '');

/**
 * Checks what the user typed before sending it, so a mistake names the flag (`--group "CAB": ...`)
 * rather than the field of a document the user never wrote (`spec.groups[1]`).
 */
function checkUserInput(name: string | undefined, input: { groups?: string[]; displayName?: string; email?: string }): void {
  const problems: string[] = [];
  if (name !== undefined) {
    const checked = nameSchema.safeParse(name);
    if (!checked.success) problems.push(`NAME "${name}": ${checked.error.issues[0]!.message}`);
  }
  const checked = userSpecSchema.safeParse(input);
  if (!checked.success) {
    for (const issue of checked.error.issues) {
      const [field, index] = issue.path;
      if (field === 'groups') problems.push(`--group "${input.groups?.[index as number] ?? ''}": ${issue.message}`);
      else if (field === 'email') problems.push(`--email "${input.email ?? ''}": ${issue.message}`);
      else if (field === 'displayName') problems.push(`--display-name: ${issue.message}`);
      else problems.push(`${issue.path.join('.')}: ${issue.message}`);
    }
  }
  if (problems.length === 1) throw new UsageError(problems[0]!);
  if (problems.length > 1) throw new UsageError(`${problems.length} invalid arguments: ${problems.join('; ')}`);
}

const groupList = (groups: string[]): string => (groups.length === 0 ? '-' : groups.join(', '));

/** `Label:  value` lines with the values aligned, as `rollout status` prints its header. */
function keyValues(rows: Array<[label: string, value: string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 1;
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join('\n');
}

function showUser(user: UserObject): string {
  return keyValues([
    ['Name', user.metadata.name],
    ['Display name', cell(user.spec.displayName)],
    ['Email', cell(user.spec.email)],
    ['Groups', groupList(user.spec.groups)],
    ['Created', user.metadata.createdAt],
    ['Updated', `${user.metadata.updatedAt} (version ${user.metadata.version})`],
  ]);
}

/** `rollgate user ...` and `rollgate whoami` (see docs/cli.md, "Identities"). */
export function registerUserCommands(program: Command, ctx: CliContext): void {
  program
    .command('whoami')
    .description('who the token acts for: user, groups, role, token and audit actor')
    .action(
      ctx.run(async (command) => {
        const me = await ctx.client(command).users.whoami();
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, me);
          return;
        }
        ctx.out(keyValues([['User', me.user], ['Groups', groupList(me.groups)], ['Role', me.role], ['Token', me.token], ['Actor', me.actor]]));
      }),
    );

  const user = program.command('user').description('manage users and their groups (writes: admin only)');

  user
    .command('create')
    .description('create a user; bind tokens to it with `rollgate token create --user NAME`')
    .argument('<name>', 'user name (lowercase letters, digits and "-")')
    .addOption(repeatable('--group <group>', 'a group the user is in (e.g. cab, release-managers); repeatable'))
    .option('--display-name <text>', 'the name people know the user by')
    .option('--email <address>', 'contact address')
    .addHelpText('after', '\nExample:\n  rollgate user create alice --group cab --group release-managers --display-name "Alice Doe"')
    .action(
      ctx.run(async (command, name: string) => {
        const { group, displayName, email } = command.opts<{ group: string[]; displayName?: string; email?: string }>();
        const input = { groups: group, ...(displayName !== undefined && { displayName }), ...(email !== undefined && { email }) };
        checkUserInput(name, input);
        const created = await ctx.client(command).users.create(name, input);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, created);
        else ctx.out(`user/${created.metadata.name} created (groups: ${groupList(created.spec.groups)})`);
      }),
    );

  user
    .command('list')
    .description('list users with their groups')
    .action(
      ctx.run(async (command) => {
        const users = await ctx.client(command).users.list();
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, users, { list: true });
        } else if (users.length === 0) {
          ctx.err('No users found.');
        } else {
          const now = new Date();
          ctx.out(
            renderTable(
              ['NAME', 'DISPLAY-NAME', 'EMAIL', 'GROUPS', 'AGE'],
              users.map((u) => [u.metadata.name, cell(u.spec.displayName), cell(u.spec.email), cell(u.spec.groups), formatAge(u.metadata.createdAt, now)]),
            ),
          );
        }
      }),
    );

  user
    .command('show')
    .description('show one user')
    .argument('<name>', 'user name')
    .action(
      ctx.run(async (command, name: string) => {
        const found = await ctx.client(command).users.get(name);
        if (!found) throw new CliError(`user "${name}" not found`, EXIT_CODES.failure);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, found);
        else ctx.out(showUser(found));
      }),
    );

  user
    .command('groups')
    .description("change a user's groups (admin); without NAME, list every group with its members")
    .argument('[name]', 'user name')
    .addOption(repeatable('--add <group>', 'add the user to this group; repeatable'))
    .addOption(repeatable('--remove <group>', 'remove the user from this group; repeatable'))
    .addHelpText('after', '\nExamples:\n  rollgate user groups alice --add cab --remove qa\n  rollgate user groups            # every group and its members')
    .action(
      ctx.run(async (command, name: string | undefined) => {
        const { add, remove } = command.opts<{ add: string[]; remove: string[] }>();
        const client = ctx.client(command);
        const format = ctx.outputFormat(command);
        if (name === undefined) {
          if (add.length > 0 || remove.length > 0) throw new UsageError('--add and --remove need the user NAME');
          const groups = await client.users.groups();
          if (format !== 'table') ctx.printData(format, groups, { list: true });
          else if (groups.length === 0) ctx.err('No groups: no user is in any group.');
          else ctx.out(renderTable(['GROUP', 'MEMBERS'], groups.map((group) => [group.name, group.members.join(', ')])));
          return;
        }
        const both = add.filter((group) => remove.includes(group));
        if (both.length > 0) throw new UsageError(`--add and --remove both name ${both.map((group) => `"${group}"`).join(', ')}`);
        checkUserInput(name, { groups: [...add, ...remove] });

        let updated: UserObject;
        if (add.length === 0 && remove.length === 0) {
          const found = await client.users.get(name);
          if (!found) throw new CliError(`user "${name}" not found`, EXIT_CODES.failure);
          updated = found;
        } else {
          // A function, so a concurrent change to the user's groups is merged rather than overwritten.
          updated = await client.users.setGroups(name, (current) => [...current.filter((group) => !remove.includes(group)), ...add]);
        }
        if (format !== 'table') ctx.printData(format, updated);
        else ctx.out(`user/${name} groups: ${groupList(updated.spec.groups)}`);
      }),
    );
}
