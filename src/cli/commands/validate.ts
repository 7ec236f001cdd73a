import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { plural } from '../output.js';
import { filenameOption, loadValidDocuments } from './shared.js';

export function registerValidateCommand(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check manifests offline against the resource schemas; errors are reported as file:line:col')
    .addOption(filenameOption())
    .addHelpText('after', '\nExamples:\n  rollgate validate -f examples/\n  cat service.yaml | rollgate validate -f -')
    .action(
      ctx.run(async (command) => {
        const { filename } = command.opts<{ filename: string[] }>();
        const { valid } = await loadValidDocuments(ctx, filename);
        const format = ctx.outputFormat(command);
        if (format === 'table') {
          ctx.out(`ok: ${plural(valid.length, 'document')} valid`);
        } else {
          ctx.printData(format, { ok: true, count: valid.length, documents: valid.map((doc) => ({ kind: doc.kind, name: doc.metadata.name ?? null })) });
        }
      }),
    );
}
