/**
 * `rollgate change create|list|show|edit|transition|close|review`, `rollgate approve|reject CHANGE`
 * and `rollgate cab` (see docs/cli.md). The server enforces every rule (state machine, separation
 * of duties, approval expiry); these commands only shape requests and show the answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { ApiObject } from '../../client/index.js';
import type { ChangeCreateInput, ChangePatch } from '../../client/changes.js';
import { approvalProgress } from '../../core/governance/approvals.js';
import { changeRecordStatusSchema } from '../../core/governance/records.js';
import { CHANGE_STATES, CHANGE_TYPES, CLOSE_CODES, type ChangeState, type CloseCode } from '../../core/resources/change.js';
import { CliError, UsageError, type CliContext } from '../context.js';
import { renderCab, renderChange, renderChangeList, riskCell } from '../change-view.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Fields `--set` splits on commas. */
const LIST_FIELDS = new Set(['services', 'businessServices']);
/** Fields `--set` reads as JSON. */
const JSON_FIELDS = new Set(['evidence']);

/** `field=value` pairs as a patch: lists split on commas, evidence as JSON, an empty value clears the field. */
export function parseSetOptions(pairs: readonly string[]): ChangePatch {
  if (pairs.length === 0) throw new UsageError('give at least one --set field=value');
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--set "${pair}": expected field=value, e.g. --set plannedStart=2026-03-04T09:00:00Z`);
    const field = pair.slice(0, at);
    const value = pair.slice(at + 1);
    if (LIST_FIELDS.has(field)) patch[field] = value === '' ? [] : value.split(',').map((item) => item.trim()).filter(Boolean);
    else if (JSON_FIELDS.has(field)) {
      try {
        patch[field] = value === '' ? [] : JSON.parse(value);
      } catch {
        throw new UsageError(`--set ${field}: expected JSON, e.g. ${field}='[{"title":"tests","link":"https://ci/1","kind":"test-report"}]'`);
      }
    } else patch[field] = value === '' ? null : value;
  }
  return patch as ChangePatch;
}

/** A change file: a Change document (`kind: Change`, its `spec`) or the request body itself. */
function readChangeFile(ctx: CliContext, file: string): Record<string, unknown> {
  const full = path.resolve(ctx.io.cwd, file);
  let textContent: string;
  try {
    textContent = readFileSync(full, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = parseYaml(textContent);
  } catch (error) {
    throw new CliError(`${file}: not valid YAML (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${file}: expected a mapping (a change's fields, or a Change document)`);
  const document = value as Record<string, unknown>;
  if (document['kind'] === 'Change') {
    if (typeof document['spec'] !== 'object' || document['spec'] === null) throw new CliError(`${file}: a Change document needs a spec`);
    return { ...(document['spec'] as Record<string, unknown>) };
  }
  return document;
}

const statusOf = (object: ApiObject) => {
  const parsed = changeRecordStatusSchema.safeParse(object.status ?? {});
  return parsed.success ? parsed.data : null;
};

/** `chg-00001: Authorize, 1 more from cab (has 1 of 2: bob)`. */
function summary(object: ApiObject): string {
  const status = statusOf(object);
  if (!status) return `${object.metadata.name}: ${String(object.status?.['state'] ?? 'unknown state')}`;
  const progress = approvalProgress(status.requiredApprovals, status.approvals);
  const waiting = status.state === 'Authorize' && !progress.satisfied ? `; waiting for ${progress.rejected ? `a decision after the rejection by ${progress.rejected.user}` : progress.missing.join(', ')}` : '';
  return `${object.metadata.name}: ${status.state}, risk ${riskCell(status.risk)}${waiting}`;
}

/** Prints the object for `-o json|yaml`, else `line`. */
function report(ctx: CliContext, command: Command, object: ApiObject, line: string): void {
  const format = ctx.outputFormat(command);
  if (format === 'table') ctx.out(line);
  else ctx.printData(format, object);
}

const stateArg = (value: string): ChangeState => {
  const match = CHANGE_STATES.find((state) => state.toLowerCase() === value.toLowerCase());
  if (!match) throw new UsageError(`unknown state "${value}"; states: ${CHANGE_STATES.join(', ')}`);
  return match;
};

export function registerChangeCommands(program: Command, ctx: CliContext): void {
  const change = program.command('change').description('change records: create, list, show, edit, move through their states, close');

  change
    .command('create')
    .description('create a change record (state New, requested by your token\'s user); prints its name')
    .option('-f, --filename <file>', 'YAML or JSON: the change\'s fields (plus environment, release, irreversibleMigration) or a Change document')
    .option('--title <title>', 'one line saying what changes')
    .addOption(new Option('--type <type>', 'standard (pre-approved), normal or emergency (default normal)').choices([...CHANGE_TYPES]))
    .option('--service <name>', 'a Service the change touches (repeatable)', collect, [] as string[])
    .option('--business-service <name>', 'a business service affected (repeatable)', collect, [] as string[])
    .option('--planned-start <time>', 'ISO 8601 with offset, e.g. 2026-03-04T09:00:00Z')
    .option('--planned-end <time>', 'ISO 8601 with offset')
    .option('--env <environment>', 'the Environment the change is for (its approval rules apply)')
    .option('--release <name>', 'the Release it deploys')
    .option('--description <text>')
    .option('--justification <text>')
    .option('--implementation-plan <text>')
    .option('--backout-plan <text>')
    .option('--test-plan <text>')
    .option('--irreversible-migration', 'it carries a data migration that cannot be rolled back (a risk factor)')
    .action(
      ctx.run(async (command) => {
        const options = command.opts<Record<string, unknown>>();
        const body: Record<string, unknown> = options['filename'] ? readChangeFile(ctx, options['filename'] as string) : {};
        const flags: Array<[string, string]> = [
          ['title', 'title'], ['type', 'type'], ['plannedStart', 'plannedStart'], ['plannedEnd', 'plannedEnd'], ['env', 'environment'], ['release', 'release'],
          ['description', 'description'], ['justification', 'justification'], ['implementationPlan', 'implementationPlan'], ['backoutPlan', 'backoutPlan'], ['testPlan', 'testPlan'],
        ];
        for (const [flag, field] of flags) if (options[flag] !== undefined) body[field] = options[flag];
        if ((options['service'] as string[]).length > 0) body['services'] = options['service'];
        if ((options['businessService'] as string[]).length > 0) body['businessServices'] = options['businessService'];
        if (options['irreversibleMigration']) body['irreversibleMigration'] = true;
        if (body['title'] === undefined) throw new UsageError('give --title (or a file with -f)');
        body['type'] ??= 'normal';
        const created = await ctx.client(command).changes.create(body as ChangeCreateInput);
        const format = ctx.outputFormat(command);
        if (format !== 'table') return ctx.printData(format, created);
        ctx.out(created.metadata.name);
        const status = statusOf(created);
        const needs = status?.requiredApprovals.map((r) => `${r.count} from ${r.group}`).join(', ') || 'no approvals';
        ctx.err(`change/${created.metadata.name} created: New, risk ${riskCell(status?.risk)}, needs ${needs}`);
      }),
    );

  change
    .command('list')
    .description('list change records')
    .option('--state <state>', `only this state (${CHANGE_STATES.join(', ')})`, stateArg)
    .action(
      ctx.run(async (command) => {
        const { state } = command.opts<{ state?: ChangeState }>();
        const items = await ctx.client(command).changes.list(state ? { state } : {});
        const format = ctx.outputFormat(command);
        if (format !== 'table') return ctx.printData(format, items, { list: true });
        ctx.out(items.length === 0 ? `no changes${state ? ` in state ${state}` : ''}` : renderChangeList(items));
      }),
    );

  change
    .command('show')
    .description('a change with its risk factors, approvals, history and audit trail (-o json: the object plus `audit`)')
    .argument('<name>', 'change name, e.g. chg-00042')
    .action(
      ctx.run(async (command, name: string) => {
        const client = ctx.client(command);
        const object = await client.changes.get(name);
        if (!object) throw new CliError(`change "${name}" not found`);
        const audit = await client.changes.audit(name);
        const format = ctx.outputFormat(command);
        if (format !== 'table') return ctx.printData(format, { ...object, audit });
        ctx.out(renderChange(object, audit));
      }),
    );

  change
    .command('edit')
    .description('change fields (lists comma-separated, evidence as JSON, empty value clears); approval-relevant edits expire approvals')
    .argument('<name>')
    .option('--set <field=value>', 'a field to set (repeatable)', collect, [] as string[])
    .action(
      ctx.run(async (command, name: string) => {
        const patch = parseSetOptions(command.opts<{ set: string[] }>().set);
        const client = ctx.client(command);
        const before = await client.changes.get(name);
        if (!before) throw new CliError(`change "${name}" not found`);
        const updated = await client.changes.edit(name, patch);
        const validBefore = statusOf(before)?.approvals.filter((a) => a.valid).length ?? 0;
        const validAfter = statusOf(updated)?.approvals.filter((a) => a.valid).length ?? 0;
        const expired = validBefore - validAfter;
        report(ctx, command, updated, `${summary(updated)}${expired > 0 ? `; ${expired} approval${expired === 1 ? '' : 's'} expired by the edit` : ''}`);
      }),
    );

  change
    .command('transition')
    .description('move a change to another state (Canceled and back to New need --reason)')
    .argument('<name>')
    .requiredOption('--to <state>', `target state (${CHANGE_STATES.join(', ')})`, stateArg)
    .option('--reason <text>', 'why (kept in the history and the audit log)')
    .action(
      ctx.run(async (command, name: string) => {
        const { to, reason } = command.opts<{ to: ChangeState; reason?: string }>();
        const updated = await ctx.client(command).changes.transition(name, to, reason ? { reason } : {});
        report(ctx, command, updated, summary(updated));
      }),
    );

  change
    .command('close')
    .description('close a change in Review with a close code (notes required unless successful)')
    .argument('<name>')
    .addOption(new Option('--code <code>', 'how it went').choices([...CLOSE_CODES]).makeOptionMandatory())
    .option('--notes <text>', 'what happened')
    .action(
      ctx.run(async (command, name: string) => {
        const { code, notes } = command.opts<{ code: CloseCode; notes?: string }>();
        const updated = await ctx.client(command).changes.transition(name, 'Closed', { closeCode: code, ...(notes ? { closeNotes: notes } : {}) });
        report(ctx, command, updated, `${updated.metadata.name}: Closed (${code})`);
      }),
    );

  change
    .command('review')
    .description('record the post-release review of a change in Implement or Review')
    .argument('<name>')
    .requiredOption('--notes <text>', 'what the review found')
    .action(
      ctx.run(async (command, name: string) => {
        const { notes } = command.opts<{ notes: string }>();
        const updated = await ctx.client(command).changes.review(name, notes);
        report(ctx, command, updated, `${updated.metadata.name}: post-release review recorded`);
      }),
    );

  const decide = (decision: 'approve' | 'reject') =>
    ctx.run(async (command, name: string) => {
      const { comment } = command.opts<{ comment?: string }>();
      const updated = await ctx.client(command).changes.decide(name, decision, comment ?? '');
      report(ctx, command, updated, `${decision === 'approve' ? 'approved' : 'rejected'}: ${summary(updated)}`);
    });

  program
    .command('approve')
    .description('approve a change awaiting authorization (you must be in a required group, and neither its requester nor an author); exit 3 when refused')
    .argument('<change>', 'change name')
    .option('--comment <text>', 'why')
    .action(decide('approve'));

  program
    .command('reject')
    .description('reject a change awaiting authorization: it goes back to New; exit 3 when refused')
    .argument('<change>', 'change name')
    .requiredOption('--comment <text>', 'why (required)')
    .action(decide('reject'));

  program
    .command('cab')
    .description('changes awaiting a board decision, soonest first: risk, what each group still has to give, requester, planned start, conflicts')
    .action(
      ctx.run(async (command) => {
        const entries = await ctx.client(command).changes.cab();
        const format = ctx.outputFormat(command);
        if (format !== 'table') return ctx.printData(format, entries, { list: true });
        ctx.out(renderCab(entries));
      }),
    );
}
