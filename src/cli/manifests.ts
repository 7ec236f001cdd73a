/**
 * Loads manifests from `-f FILE|DIR|-` arguments, keeping every document's YAML source positions,
 * so that any field path — from local validation or from the server's answer to an apply — can be
 * reported as `file:line:column`.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import { formatPath, validateDocument, type FieldPath, type ValidDocument } from '../core/resources/validate.js';

/** The name `-f -` documents are reported under. */
export const STDIN_NAME = '<stdin>';

/** Directories contribute YAML only: a package.json or fixture next to manifests is not one. JSON files count when named. */
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml']);

export interface SourcePosition {
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

/** One problem, where it is. `line`/`col` are absent when there is no position (an unreadable file). */
export interface ManifestIssue {
  file: string;
  line?: number;
  col?: number;
  /** Field path as users read it, e.g. `spec.canary.steps[1].setWeight`. */
  path?: string;
  message: string;
}

/** One YAML document of a manifest file, with what is needed to find any of its fields again. */
export interface ManifestDocument {
  /** The file as the user named it (or found under a directory they named), or `<stdin>`. */
  file: string;
  /** 0-based position among the non-empty documents of its file. */
  indexInFile: number;
  /** The plain value of the document. */
  value: unknown;
  yaml: Document.Parsed;
  lineCounter: LineCounter;
}

export interface LoadResult {
  documents: ManifestDocument[];
  /** Unreadable paths and YAML syntax errors. Documents with syntax errors are not in `documents`. */
  issues: ManifestIssue[];
}

export interface LoadOptions {
  /** Relative paths are read from here; default `process.cwd()`. */
  cwd?: string;
  /** Read for `-`; default `process.stdin`. */
  stdin?: NodeJS.ReadableStream;
}

/** `file:line:col: path: message`, the one-line form every command prints. */
export function formatIssue(issue: ManifestIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.col ?? 1}`;
  return `${where}: ${issue.path ? `${issue.path}: ` : ''}${issue.message}`;
}

/** Reads every `-f` argument: files, directories (recursively, sorted by path) and `-` for stdin. */
export async function loadManifests(inputs: readonly string[], options: LoadOptions = {}): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const result: LoadResult = { documents: [], issues: [] };
  const seen = new Set<string>();
  let stdinRead = false;

  for (const input of inputs) {
    if (input === '-') {
      if (stdinRead) continue;
      stdinRead = true;
      const text = await readStream(options.stdin ?? process.stdin);
      append(result, parseManifests(text, STDIN_NAME));
      continue;
    }
    let files: string[];
    try {
      files = await manifestFiles(input, cwd);
    } catch (error) {
      result.issues.push({ file: input, message: `cannot read: ${errorReason(error)}` });
      continue;
    }
    for (const file of files) {
      const absolute = await realpath(path.resolve(cwd, file)).catch(() => path.resolve(cwd, file));
      if (seen.has(absolute)) continue;
      seen.add(absolute);
      let text: string;
      try {
        text = await readFile(absolute, 'utf8');
      } catch (error) {
        result.issues.push({ file, message: `cannot read: ${errorReason(error)}` });
        continue;
      }
      append(result, parseManifests(text, file));
    }
  }
  return result;
}

function append(into: LoadResult, from: LoadResult): void {
  into.documents.push(...from.documents);
  into.issues.push(...from.issues);
}

/** The files one `-f` argument names, in the order they are loaded, spelled relative to what the user typed. */
async function manifestFiles(input: string, cwd: string): Promise<string[]> {
  const info = await stat(path.resolve(cwd, input));
  if (!info.isDirectory()) return [input];
  const found: string[] = [];
  const visited = new Set<string>();
  async function walk(relative: string): Promise<void> {
    const absolute = path.resolve(cwd, input, relative);
    const real = await realpath(absolute);
    if (visited.has(real)) return;
    visited.add(real);
    for (const entry of await readdir(absolute, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await stat(path.resolve(absolute, entry.name)).catch(() => null);
        isDirectory = target?.isDirectory() ?? false;
        isFile = target?.isFile() ?? false;
      }
      if (isDirectory) await walk(child);
      else if (isFile && MANIFEST_EXTENSIONS.has(path.extname(entry.name).toLowerCase())) found.push(child);
    }
  }
  await walk('');
  found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (found.length === 0) throw new Error(`no *.yaml or *.yml files in directory`);
  return found.map((relative) => path.join(input, relative));
}

/** Parses one file's text into documents (empty ones skipped), reporting syntax errors as issues. */
export function parseManifests(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const result: LoadResult = { documents: [], issues: [] };
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  let indexInFile = 0;
  for (const yaml of parsed) {
    if (yaml.errors.length > 0) {
      for (const error of yaml.errors) {
        result.issues.push({ file, ...position(lineCounter, error.pos[0]), message: `YAML syntax error: ${error.message.split('\n')[0]}` });
      }
      indexInFile++;
      continue;
    }
    const contents = yaml.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) continue;
    let value: unknown;
    try {
      value = yaml.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      result.issues.push({ file, ...position(lineCounter, contents.range?.[0] ?? 0), message: `YAML error: ${errorReason(error)}` });
      indexInFile++;
      continue;
    }
    result.documents.push({ file, indexInFile, value, yaml, lineCounter });
    indexInFile++;
  }
  return result;
}

function position(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line: Math.max(line, 1), col: Math.max(col, 1) };
}

/**
 * Where a field path points in a document: the node at the path; for an unknown key (`key: true`)
 * the key itself; for a path that does not exist (a missing field) the closest existing ancestor,
 * shown at the key that holds it (`target:`) or, for list items and the root, where it starts.
 */
export function locate(document: ManifestDocument, fieldPath: FieldPath, options: { key?: boolean } = {}): SourcePosition {
  return resolvePath(document, fieldPath, options).position;
}

function resolvePath(document: ManifestDocument, fieldPath: FieldPath, options: { key?: boolean }): { position: SourcePosition; found: boolean } {
  const { yaml, lineCounter } = document;
  const start = (node: YamlNode | null | undefined): number | undefined => node?.range?.[0];
  const deref = (node: unknown): unknown => (isAlias(node) ? node.resolve(yaml) : node);

  let node: unknown = deref(yaml.contents);
  let key: YamlNode | null = null;
  let found = true;
  for (const segment of fieldPath) {
    if (isMap(node)) {
      const pair = node.items.find((item) => {
        const k = deref(item.key);
        return isScalar(k) ? String(k.value) === String(segment) : false;
      });
      if (!pair) {
        found = false;
        break;
      }
      key = isScalar(pair.key) || isAlias(pair.key) ? (pair.key as YamlNode) : null;
      node = deref(pair.value);
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      key = null;
      node = deref(node.items[segment]);
    } else {
      found = false;
      break;
    }
  }

  const valueNode = (node ?? null) as YamlNode | null;
  const range = valueNode?.range;
  const empty = !range || (isScalar(valueNode) && valueNode.value === null && range[0] === range[1]);
  const blockCollection = (isMap(valueNode) || isSeq(valueNode)) && !valueNode.flow;
  let offset: number | undefined;
  if (found && !options.key && !empty && !(blockCollection && key)) {
    // A wrong value: point at it (a block collection is better shown at the key that holds it).
    offset = start(valueNode);
  } else {
    offset = start(key) ?? start(valueNode);
  }
  return { position: position(lineCounter, offset ?? start(yaml.contents as YamlNode | null) ?? 0), found };
}

export interface CheckResult {
  /** In the order of `documents`; only when there are no issues at all. */
  valid: ValidDocument[];
  issues: ManifestIssue[];
}

/**
 * Validates every document against its kind's schema, and checks that no (kind, name) appears
 * twice in the batch. Issues are in document order, each at the closest source position.
 */
export function checkManifests(documents: readonly ManifestDocument[]): CheckResult {
  const issues: ManifestIssue[] = [];
  const valid: ValidDocument[] = [];
  const firstSeen = new Map<string, ManifestDocument>();
  for (const document of documents) {
    const result = validateDocument(document.value);
    if (result.ok) {
      valid.push(result.document);
    } else {
      for (const issue of result.issues) issues.push(issueAt(document, issue.path, issue.message));
    }
    const identity = documentIdentity(document.value);
    if (identity) {
      const key = `${identity.kind}/${identity.name}`;
      const first = firstSeen.get(key);
      if (first) {
        const there = locate(first, ['metadata', 'name']);
        issues.push(issueAt(document, ['metadata', 'name'], `${identity.kind} "${identity.name}" is also defined at ${first.file}:${there.line}:${there.col}`));
      } else {
        firstSeen.set(key, document);
      }
    }
  }
  return { valid: issues.length === 0 ? valid : [], issues };
}

/** An issue at `fieldPath` of a document; unknown-field issues point at the key. */
export function issueAt(document: ManifestDocument, fieldPath: FieldPath, message: string): ManifestIssue {
  const last = fieldPath[fieldPath.length - 1];
  const key = message === `unknown field "${String(last)}"`;
  const { position: where, found } = resolvePath(document, fieldPath, { key });
  const missing = found ? null : /^Invalid input: expected (.+), received undefined$/.exec(message);
  if (missing) message = `required field is missing (expected ${missing[1]})`;
  return { file: document.file, ...where, path: formatPath(fieldPath) || undefined, message };
}

/** `kind` and `metadata.name` of a raw document, when both are strings. */
export function documentIdentity(value: unknown): { kind: string; name: string } | null {
  if (typeof value !== 'object' || value === null) return null;
  const { kind, metadata } = value as { kind?: unknown; metadata?: { name?: unknown } };
  const name = typeof metadata === 'object' && metadata !== null ? metadata.name : undefined;
  return typeof kind === 'string' && typeof name === 'string' ? { kind, name } : null;
}

/** Field errors of a server answer (`problem.errors`), mapped back to the documents that were sent. */
export function mapServerErrors(
  documents: readonly ManifestDocument[],
  errors: ReadonlyArray<{ document?: number; path: (string | number)[]; message: string }>,
): { located: ManifestIssue[]; unlocated: string[] } {
  const located: ManifestIssue[] = [];
  const unlocated: string[] = [];
  const order: number[] = [];
  for (const error of errors) {
    const document = error.document === undefined ? undefined : documents[error.document];
    if (document) {
      located.push(issueAt(document, error.path, error.message));
      order.push(error.document!);
    } else {
      unlocated.push(error.path.length > 0 ? `${formatPath(error.path)}: ${error.message}` : error.message);
    }
  }
  // In the order of the documents, then of lines: the order a reader goes through the files.
  const sorted = located
    .map((issue, index) => ({ issue, document: order[index]! }))
    .sort((a, b) => a.document - b.document || (a.issue.line ?? 0) - (b.issue.line ?? 0) || (a.issue.col ?? 0) - (b.issue.col ?? 0))
    .map(({ issue }) => issue);
  return { located: sorted, unlocated };
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function errorReason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}
