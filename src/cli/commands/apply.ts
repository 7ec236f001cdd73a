import type { Command } from 'commander';
import { ApiError } from '../../client/index.js';
import { CliError, exitCodeForStatus, type CliContext } from '../context.js';
import { formatIssue, mapServerErrors } from '../manifests.js';
import { plural } from '../output.js';
import { filenameOption, loadValidDocuments, objectRef } from './shared.js';

/** The most documents one `POST /api/v1/apply` takes (applyRequestSchema in src/core/api.ts). */
export const MAX_APPLY_DOCUMENTS = 500;

export function registerApplyCommand(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description('create or update the objects in manifests, all in one request (validated locally first: nothing is sent if a document is invalid)')
    .addOption(filenameOption())
    .option('--dry-run', 'let the server check everything and report what would change, without writing')
    .addHelpText('after', '\nExamples:\n  rollgate apply -f examples/\n  rollgate apply -f examples/checkout.yaml --dry-run')
    .action(
      ctx.run(async (command) => {
        const { filename, dryRun = false } = command.opts<{ filename: string[]; dryRun?: boolean }>();
        const { documents } = await loadValidDocuments(ctx, filename);
        if (documents.length > MAX_APPLY_DOCUMENTS) {
          throw new CliError(`${plural(documents.length, 'document')} given; one apply takes at most ${MAX_APPLY_DOCUMENTS}`);
        }
        const client = ctx.client(command);
        let result;
        try {
          result = await client.apply(
            documents.map((document) => document.value as Record<string, unknown>),
            { dryRun },
          );
        } catch (error) {
          if (error instanceof ApiError && error.problem.errors && error.problem.errors.length > 0) {
            const { located, unlocated } = mapServerErrors(documents, error.problem.errors);
            const title = error.problem.detail ? `${error.problem.title}: ${error.problem.detail}` : error.problem.title;
            throw new CliError(
              `the server rejected the apply (${error.status} ${title})`,
              exitCodeForStatus(error.status),
              [...located.map(formatIssue), ...unlocated],
              located,
              { ...error.problem },
            );
          }
          throw error;
        }
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, result);
          return;
        }
        const suffix = result.dryRun ? ' (dry run)' : '';
        for (const item of result.results) ctx.out(`${objectRef(item.kind, item.name)} ${item.action}${suffix}`);
      }),
    );
}
