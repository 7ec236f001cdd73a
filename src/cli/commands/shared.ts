import { Option } from 'commander';
import { kindFromNoun, KIND_NAMES, KINDS, type KindDefinition } from '../../core/resources/kinds.js';
import { CliError, EXIT_CODES, UsageError, type CliContext, type ExitCode } from '../context.js';
import { checkManifests, formatIssue, loadManifests, type ManifestDocument, type ManifestIssue } from '../manifests.js';
import { plural } from '../output.js';
import type { ValidDocument } from '../../core/resources/validate.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `-f, --filename` (repeatable). */
export const filenameOption = (description = 'manifest file (YAML or JSON), directory (recursive: *.yaml, *.yml) or - for stdin; repeatable') =>
  new Option('-f, --filename <path>', description).argParser(collect).default([] as string[], '');

/** Resolves a CLI noun (`services`, `svc`, `Service`) or fails with a usage error listing the kinds. */
export function resolveKind(noun: string): KindDefinition {
  const def = kindFromNoun(noun);
  if (def) return def;
  const known = KIND_NAMES.map((kind) => `${KINDS[kind].plural} (${[KINDS[kind].kind, ...KINDS[kind].aliases].join(', ')})`).join('; ');
  throw new UsageError(`unknown kind "${noun}"; known kinds: ${known}`);
}

/** Loads `-f` inputs and fails with every `file:line:col` issue when any file cannot be read or parsed. */
export async function loadDocuments(ctx: CliContext, files: string[]): Promise<ManifestDocument[]> {
  if (files.length === 0) throw new UsageError('give at least one manifest with -f FILE|DIR|-');
  const loaded = await loadManifests(files, { cwd: ctx.io.cwd, stdin: ctx.io.stdin });
  if (loaded.issues.length > 0) throw manifestError(loaded.issues);
  if (loaded.documents.length === 0) throw new CliError(`no documents found in ${files.join(', ')}`);
  return loaded.documents;
}

/** Loads and validates: every document against its schema, no (kind, name) twice. */
export async function loadValidDocuments(ctx: CliContext, files: string[]): Promise<{ documents: ManifestDocument[]; valid: ValidDocument[] }> {
  const documents = await loadDocuments(ctx, files);
  const checked = checkManifests(documents);
  if (checked.issues.length > 0) throw manifestError(checked.issues, documents.length);
  return { documents, valid: checked.valid };
}

/** Issues as a CliError: each `file:line:col` line, then a summary. */
export function manifestError(issues: ManifestIssue[], documentCount?: number, exitCode: ExitCode = EXIT_CODES.failure): CliError {
  const summary =
    documentCount === undefined
      ? `${plural(issues.length, 'error')} in the manifests`
      : `${plural(issues.length, 'error')} in ${plural(documentCount, 'document')}`;
  return new CliError(summary, exitCode, issues.map(formatIssue), issues, { type: 'about:blank', title: 'Invalid manifests', detail: summary });
}

/** `kind/name` as kubectl prints it: `service/checkout`. */
export const objectRef = (kind: string, name: string): string => `${kind.toLowerCase()}/${name}`;

