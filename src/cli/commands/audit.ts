import type { Command } from 'commander';
import type { AuditEventWire } from '../../client/index.js';
import { kindFromNoun } from '../../core/resources/kinds.js';
import { EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { plural, renderTable } from '../output.js';

/** Largest page the server hands out (GET /api/v1/audit `limit`). */
const PAGE_SIZE = 1000;

const positiveInt = (flag: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UsageError(`${flag} must be a positive integer, got "${value}"`);
  return Number(value);
};
const nonNegativeInt = (flag: string) => (value: string): number => {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
};

export function registerAuditCommands(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('read and verify the tamper-evident audit log');

  audit
    .command('list')
    .description('list audit events, oldest first')
    .option('--kind <kind>', 'only events about this kind (e.g. services, Service)')
    .option('--name <name>', 'only events about objects with this name')
    .option('--actor <actor>', 'only events by this actor')
    .option('--after-seq <seq>', 'only events after this sequence number', nonNegativeInt('--after-seq'))
    .option('--limit <n>', 'at most this many events', positiveInt('--limit'), 100)
    .action(
      ctx.run(async (command) => {
        const options = command.opts<{ kind?: string; name?: string; actor?: string; afterSeq?: number; limit: number }>();
        const kind = options.kind === undefined ? undefined : (kindFromNoun(options.kind)?.kind ?? options.kind);
        const client = ctx.client(command);
        const events: AuditEventWire[] = [];
        let afterSeq = options.afterSeq;
        let more = false;
        for (;;) {
          const page = await client.audit.list({
            limit: Math.min(PAGE_SIZE, options.limit - events.length),
            ...(afterSeq !== undefined ? { afterSeq } : {}),
            ...(kind ? { kind } : {}),
            ...(options.name ? { name: options.name } : {}),
            ...(options.actor ? { actor: options.actor } : {}),
          });
          events.push(...page.items);
          more = page.nextCursor !== null;
          if (!more || events.length >= options.limit || page.items.length === 0) break;
          afterSeq = Number(page.nextCursor);
        }

        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, events, { list: true });
        } else if (events.length === 0) {
          ctx.err('No audit events found.');
        } else {
          ctx.out(
            renderTable(
              ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'OBJECT'],
              events.map((event) => [String(event.seq), event.time, event.actor, event.action, `${event.kind.toLowerCase()}/${event.name}`]),
            ),
          );
        }
        if (more && events.length > 0) ctx.err(`(more events: rollgate audit list --after-seq ${events[events.length - 1]!.seq})`);
      }),
    );

  audit
    .command('verify')
    .description('recompute the hash chain of the whole audit log; exit 1 naming the first broken event')
    .action(
      ctx.run(async (command) => {
        const verdict = await ctx.client(command).audit.verify();
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, verdict);
        if (verdict.ok) {
          if (format === 'table') ctx.out(`audit chain verified: ${plural(verdict.checked, 'event')}`);
          return EXIT_CODES.ok;
        }
        const where = verdict.brokenAt === undefined ? 'audit chain broken' : `audit chain broken at event ${verdict.brokenAt}`;
        ctx.err(`error: ${where}: ${verdict.reason ?? 'no reason given'} (${plural(verdict.checked, 'event')} checked)`);
        return EXIT_CODES.failure;
      }),
    );
}
