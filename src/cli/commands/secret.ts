/**
 * `rollgate secret set|unset|list|delete` (admin): manage the secrets specs refer to with
 * `secretRef: { name, key }` (docs/secrets.md). Values are sent to the server and never shown:
 * nothing here prints a value, and the server never returns one.
 *
 * Giving values without leaving them in shell history or the process list:
 *   rollgate secret set db password=-            # the value is read from stdin
 *   rollgate secret set tls --from-file key=./tls.key --from-file cert=./tls.crt
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { secretKeySchema, secretNameSchema } from '../../core/secrets/env.js';
import { UsageError, type CliContext } from '../context.js';
import { formatAge, renderTable } from '../output.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const repeatable = (flags: string, description: string) => new Option(flags, description).argParser(collect).default([] as string[], '');

/** Where a value comes from, before it is read. */
type Source = { kind: 'literal'; value: string } | { kind: 'stdin' } | { kind: 'file'; path: string };

function checkName(name: string): void {
  const parsed = secretNameSchema.safeParse(name);
  if (!parsed.success) throw new UsageError(`NAME "${name}": ${parsed.error.issues[0]!.message}`);
}

function checkKey(key: string, where: string): void {
  const parsed = secretKeySchema.safeParse(key);
  if (!parsed.success) throw new UsageError(`${where}: key "${key}" ${parsed.error.issues[0]!.message}`);
}

/** `KEY=VALUE` / `KEY=-` arguments and `--from-file KEY=PATH` options, checked; never echoes a value. */
export function parseSecretEntries(entries: string[], fromFiles: string[]): Map<string, Source> {
  const sources = new Map<string, Source>();
  const add = (key: string, source: Source, where: string) => {
    checkKey(key, where);
    if (sources.has(key)) throw new UsageError(`key "${key}" is given more than once`);
    sources.set(key, source);
  };
  entries.forEach((entry, index) => {
    const separator = entry.indexOf('=');
    // The argument is reported by position: it may hold a value.
    if (separator <= 0) throw new UsageError(`argument ${index + 2} is not KEY=VALUE (use KEY=- to read the value from stdin)`);
    const key = entry.slice(0, separator);
    const value = entry.slice(separator + 1);
    add(key, value === '-' ? { kind: 'stdin' } : { kind: 'literal', value }, `argument ${index + 2}`);
  });
  for (const option of fromFiles) {
    const separator = option.indexOf('=');
    if (separator <= 0 || separator === option.length - 1) throw new UsageError(`--from-file "${option}": expected KEY=PATH`);
    add(option.slice(0, separator), { kind: 'file', path: option.slice(separator + 1) }, `--from-file "${option}"`);
  }
  if ([...sources.values()].filter((source) => source.kind === 'stdin').length > 1) {
    throw new UsageError('only one key can be read from stdin (KEY=-); use --from-file for the others');
  }
  return sources;
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}

/** The values, read. stdin drops one trailing newline (`echo pw |` adds it); files are taken byte for byte. */
async function readSources(ctx: CliContext, sources: Map<string, Source>): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  for (const [key, source] of sources) {
    if (source.kind === 'literal') data[key] = source.value;
    else if (source.kind === 'stdin') {
      if ((ctx.io.stdin as { isTTY?: boolean }).isTTY) ctx.err(`reading the value of "${key}" from stdin (end with Ctrl-D)`);
      data[key] = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, '');
    } else {
      const file = path.resolve(ctx.io.cwd, source.path);
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new UsageError(`--from-file ${key}=${source.path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : 'cannot read it'}`);
      }
      const text = bytes.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(bytes)) throw new UsageError(`--from-file ${key}=${source.path}: not UTF-8 text (base64-encode binary values first)`);
      data[key] = text;
    }
  }
  return data;
}

const keyList = (keys: string[]): string => (keys.length === 0 ? '-' : keys.join(', '));

export function registerSecretCommands(program: Command, ctx: CliContext): void {
  const secret = program.command('secret').description('manage secrets that specs refer to with secretRef (admin only; values are never shown)');

  secret
    .command('set')
    .description('create or replace a secret (with --merge: set only the given keys, keep the others)')
    .argument('<name>', 'secret name')
    .argument('[entries...]', 'KEY=VALUE, or KEY=- to read the value from stdin (keeps it out of shell history)')
    .addOption(repeatable('--from-file <key=path>', 'read the value of KEY from a file, byte for byte (repeatable)'))
    .option('--merge', 'keep the keys not given instead of removing them')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  rollgate secret set db user=app password=-        # password read from stdin',
        '  rollgate secret set tls --from-file key=./tls.key --from-file cert=./tls.crt',
        '  rollgate secret set db --merge password=-         # rotate one key, keep "user"',
        '',
        'Refer to a key from a spec:  env: { DB_PASSWORD: { secretRef: { name: db, key: password } } }',
      ].join('\n'),
    )
    .action(
      ctx.run(async (command, name: string, entries: string[]) => {
        const options = command.opts<{ fromFile: string[]; merge?: boolean }>();
        checkName(name);
        const sources = parseSecretEntries(entries, options.fromFile);
        if (sources.size === 0) throw new UsageError('give at least one KEY=VALUE, KEY=- or --from-file KEY=PATH');
        const data = await readSources(ctx, sources);
        const client = ctx.client(command);
        const info = options.merge ? await client.secrets.merge(name, data) : await client.secrets.set(name, data);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, info);
        else ctx.out(`secret/${info.name} ${options.merge ? 'updated' : 'set'} (keys: ${keyList(info.keys)})`);
      }),
    );

  secret
    .command('unset')
    .description('remove keys from a secret (the secret goes when its last key does)')
    .argument('<name>', 'secret name')
    .argument('<keys...>', 'keys to remove')
    .action(
      ctx.run(async (command, name: string, keys: string[]) => {
        checkName(name);
        keys.forEach((key, index) => checkKey(key, `argument ${index + 2}`));
        const info = await ctx.client(command).secrets.merge(name, Object.fromEntries(keys.map((key) => [key, null])));
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, info);
        else ctx.out(info.keys.length === 0 ? `secret/${info.name} has no keys left and no longer exists` : `secret/${info.name} updated (keys: ${keyList(info.keys)})`);
      }),
    );

  secret
    .command('list')
    .description('list secrets: names, keys and last update (never values)')
    .action(
      ctx.run(async (command) => {
        const list = await ctx.client(command).secrets.list();
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, list.items, { list: true });
        } else if (!list.listable) {
          ctx.err(`The server's "${list.provider}" secret provider cannot list its secrets.`);
        } else if (list.items.length === 0) {
          ctx.err(`No secrets found (provider: ${list.provider}).`);
        } else {
          const now = new Date();
          ctx.out(renderTable(['NAME', 'KEYS', 'UPDATED'], list.items.map((info) => [info.name, keyList(info.keys), info.updatedAt ? formatAge(info.updatedAt, now) : '-'])));
        }
      }),
    );

  secret
    .command('delete')
    .description('delete a secret and all its keys')
    .argument('<name>', 'secret name')
    .action(
      ctx.run(async (command, name: string) => {
        checkName(name);
        const info = await ctx.client(command).secrets.delete(name);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, { ...info, deleted: true });
        else ctx.out(`secret/${info.name} deleted (keys: ${keyList(info.keys)})`);
      }),
    );
}
