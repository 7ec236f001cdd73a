import type { Command } from 'commander';
import { kindFromNoun, type KindName } from '../../core/resources/kinds.js';
import { CliError, EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { documentIdentity, issueAt, type ManifestIssue } from '../manifests.js';
import { filenameOption, loadDocuments, manifestError, objectRef, resolveKind } from './shared.js';

interface Target {
  kind: KindName;
  name: string;
  version?: number;
}

export function registerDeleteCommand(program: Command, ctx: CliContext): void {
  program
    .command('delete')
    .description('delete one object (KIND NAME) or the objects named by manifests (-f)')
    .argument('[kind]', 'kind, e.g. services, svc, Service')
    .argument('[name]', 'object name')
    .addOption(filenameOption('delete the objects these manifests name (in reverse order); repeatable'))
    .option('--ignore-not-found', 'succeed when an object does not exist')
    .addHelpText('after', '\nExamples:\n  rollgate delete service checkout\n  rollgate delete -f examples/checkout.yaml')
    .action(
      ctx.run(async (command, noun: string | undefined, name: string | undefined) => {
        const { filename, ignoreNotFound = false } = command.opts<{ filename: string[]; ignoreNotFound?: boolean }>();
        let targets: Target[];
        if (filename.length > 0) {
          if (noun !== undefined) throw new UsageError('give either KIND NAME or -f FILE, not both');
          targets = await targetsFromFiles(ctx, filename);
        } else {
          if (noun === undefined || name === undefined) throw new UsageError('delete needs KIND NAME or -f FILE');
          targets = [{ kind: resolveKind(noun).kind, name }];
        }

        const client = ctx.client(command);
        const format = ctx.outputFormat(command);
        const results: Array<{ kind: KindName; name: string; deleted: boolean }> = [];
        let missing = 0;
        for (const target of targets) {
          const deleted = await client.delete(target.kind, target.name, target.version);
          results.push({ kind: target.kind, name: target.name, deleted });
          if (format !== 'table') continue;
          if (deleted) ctx.out(`${objectRef(target.kind, target.name)} deleted`);
          else if (ignoreNotFound) ctx.out(`${objectRef(target.kind, target.name)} not found (ignored)`);
          else ctx.err(`${objectRef(target.kind, target.name)} not found`);
          if (!deleted) missing++;
        }
        if (format !== 'table') {
          ctx.printData(format, results);
          missing = results.filter((result) => !result.deleted).length;
        }
        if (missing > 0 && !ignoreNotFound) {
          if (targets.length === 1) throw new CliError(`${targets[0]!.kind} "${targets[0]!.name}" not found`);
          return EXIT_CODES.failure;
        }
        return EXIT_CODES.ok;
      }),
    );
}

/** The (kind, name) of every document, last first so dependents go before what they depend on. */
async function targetsFromFiles(ctx: CliContext, files: string[]): Promise<Target[]> {
  const documents = await loadDocuments(ctx, files);
  const issues: ManifestIssue[] = [];
  const targets: Target[] = [];
  const seen = new Set<string>();
  for (const document of documents) {
    const identity = documentIdentity(document.value);
    const def = identity ? kindFromNoun(identity.kind) : null;
    if (!identity || !def || def.kind !== identity.kind) {
      issues.push(issueAt(document, identity ? ['kind'] : ['metadata', 'name'], identity ? `unknown kind "${identity.kind}"` : 'needs kind and metadata.name to be deleted'));
      continue;
    }
    const key = `${def.kind}/${identity.name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const version = (document.value as { metadata?: { version?: unknown } }).metadata?.version;
    targets.push({ kind: def.kind, name: identity.name, ...(typeof version === 'number' ? { version } : {}) });
  }
  if (issues.length > 0) throw manifestError(issues, documents.length);
  return targets.reverse();
}
