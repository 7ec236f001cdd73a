/**
 * Release scope proposals from Conventional Commits 1.0 (https://www.conventionalcommits.org/en/v1.0.0/).
 * Pure: give it commits (e.g. from `parseGitLog`), get proposed Release scope items.
 *
 * Classification rule (no guessing from prose):
 * 1. A footer `Rollgate-Classification: net-new | enhancement | defect-fix | ignore` decides, for any type.
 * 2. Otherwise the type decides, from DEFAULT_TYPE_CLASSIFICATION merged with `options.types`:
 *    feat → enhancement; fix, perf, revert → defect-fix;
 *    docs, chore, ci, build, test, style, refactor → ignore.
 *    Types that are in neither map are ignored with reason `type "x" has no classification`.
 * 3. A subject that is not `type(scope)!: description` is ignored with reason "not a Conventional Commit".
 * Breaking changes (`!` or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer) are flagged with
 * `breaking: true` but do not change the classification.
 */

export type ScopeClassification = 'net-new' | 'enhancement' | 'defect-fix';
export type TypeClassification = ScopeClassification | 'ignore';

export interface CommitInput {
  sha: string;
  subject: string;
  body?: string;
  author?: string;
}

export interface ProposeScopeOptions {
  /** Per-type classification, merged over DEFAULT_TYPE_CLASSIFICATION (keys are case-insensitive). */
  types?: Record<string, TypeClassification>;
  /** Link for each item; `{sha}` is replaced by the commit sha. Default: the sha itself. */
  linkTemplate?: string;
}

export interface ProposedScopeItem {
  title: string;
  classification: ScopeClassification;
  link?: string;
  breaking: boolean;
  commit: string;
  type: string;
  scope?: string;
  author?: string;
}

export interface IgnoredCommit {
  commit: string;
  subject: string;
  reason: string;
  type?: string;
  breaking?: boolean;
}

export interface ScopeProposal {
  items: ProposedScopeItem[];
  ignored: IgnoredCommit[];
}

export const CLASSIFICATION_FOOTER = 'Rollgate-Classification';

export const DEFAULT_TYPE_CLASSIFICATION: Readonly<Record<string, TypeClassification>> = {
  feat: 'enhancement',
  fix: 'defect-fix',
  perf: 'defect-fix',
  revert: 'defect-fix',
  docs: 'ignore',
  chore: 'ignore',
  ci: 'ignore',
  build: 'ignore',
  test: 'ignore',
  style: 'ignore',
  refactor: 'ignore',
};

const TYPE_CLASSIFICATIONS: readonly TypeClassification[] = ['net-new', 'enhancement', 'defect-fix', 'ignore'];

export interface ConventionalCommit {
  type: string;
  scope?: string;
  breaking: boolean;
  description: string;
  footers: Array<{ token: string; value: string }>;
}

const HEADER = /^([A-Za-z][A-Za-z0-9_-]*)(?:\(([^()\r\n]+)\))?(!)?: (\S.*)$/;
const FOOTER = /^(BREAKING CHANGE|BREAKING-CHANGE|[A-Za-z][A-Za-z0-9-]*)(?:: | #)(.*)$/;

/** Footers: the last paragraph of the body when its first line is `token: value` or `token #value`. */
function parseFooters(body: string): Array<{ token: string; value: string }> {
  const paragraphs = body.replace(/\r\n/g, '\n').trim().split(/\n[ \t]*\n/);
  const last = paragraphs[paragraphs.length - 1];
  if (last === undefined) return [];
  const lines = last.split('\n');
  if (!FOOTER.test(lines[0] ?? '')) return [];
  const footers: Array<{ token: string; value: string }> = [];
  for (const line of lines) {
    const match = FOOTER.exec(line);
    if (match) footers.push({ token: match[1]!, value: match[2]!.trim() });
    else if (footers.length > 0) footers[footers.length - 1]!.value += `\n${line}`;
  }
  return footers;
}

/** Parse a commit subject (+ body) per Conventional Commits 1.0; null when the subject does not follow it. */
export function parseConventionalCommit(subject: string, body = ''): ConventionalCommit | null {
  const match = HEADER.exec(subject.trim());
  if (!match) return null;
  const footers = parseFooters(body);
  // BREAKING CHANGE must be uppercase; every other token is case-insensitive.
  const breakingFooter = footers.some((footer) => footer.token === 'BREAKING CHANGE' || footer.token === 'BREAKING-CHANGE');
  const commit: ConventionalCommit = {
    type: match[1]!.toLowerCase(),
    breaking: match[3] === '!' || breakingFooter,
    description: match[4]!.trim(),
    footers,
  };
  if (match[2] !== undefined) commit.scope = match[2].trim();
  return commit;
}

/** Propose Release scope items from commits, in input order; every commit ends up in `items` or `ignored`. */
export function proposeScope(commits: readonly CommitInput[], options: ProposeScopeOptions = {}): ScopeProposal {
  const types: Record<string, TypeClassification> = { ...DEFAULT_TYPE_CLASSIFICATION };
  for (const [type, classification] of Object.entries(options.types ?? {})) types[type.toLowerCase()] = classification;

  const items: ProposedScopeItem[] = [];
  const ignored: IgnoredCommit[] = [];
  for (const commit of commits) {
    const parsed = parseConventionalCommit(commit.subject, commit.body ?? '');
    if (!parsed) {
      ignored.push({ commit: commit.sha, subject: commit.subject, reason: 'not a Conventional Commit' });
      continue;
    }
    const ignore = (reason: string) =>
      ignored.push({ commit: commit.sha, subject: commit.subject, reason, type: parsed.type, breaking: parsed.breaking });

    const footer = parsed.footers.find((candidate) => candidate.token.toLowerCase() === CLASSIFICATION_FOOTER.toLowerCase());
    let classification: TypeClassification | undefined;
    if (footer) {
      const value = footer.value.trim().toLowerCase();
      if (!(TYPE_CLASSIFICATIONS as readonly string[]).includes(value)) {
        ignore(`invalid ${CLASSIFICATION_FOOTER} "${footer.value.trim()}" (expected ${TYPE_CLASSIFICATIONS.join(', ')})`);
        continue;
      }
      classification = value as TypeClassification;
      if (classification === 'ignore') {
        ignore(`${CLASSIFICATION_FOOTER}: ignore`);
        continue;
      }
    } else {
      classification = Object.hasOwn(types, parsed.type) ? types[parsed.type] : undefined;
      if (classification === undefined) {
        ignore(`type "${parsed.type}" has no classification`);
        continue;
      }
      if (classification === 'ignore') {
        ignore(`type "${parsed.type}" is ignored`);
        continue;
      }
    }
    const item: ProposedScopeItem = {
      title: parsed.description,
      classification,
      link: options.linkTemplate === undefined ? commit.sha : options.linkTemplate.replaceAll('{sha}', commit.sha),
      breaking: parsed.breaking,
      commit: commit.sha,
      type: parsed.type,
    };
    if (parsed.scope !== undefined) item.scope = parsed.scope;
    if (commit.author !== undefined) item.author = commit.author;
    items.push(item);
  }
  return { items, ignored };
}

/** The Release spec's scope entries for proposed items (title, link, classification). */
export function toReleaseScope(items: readonly ProposedScopeItem[]): Array<{ title: string; link?: string; classification: ScopeClassification }> {
  return items.map((item) => (item.link === undefined ? { title: item.title, classification: item.classification } : { title: item.title, link: item.link, classification: item.classification }));
}

/**
 * `git log` format that `parseGitLog` reads: sha, author name, subject, body separated by US (0x1f),
 * each commit terminated by RS (0x1e). Run: git log --format='%H%x1f%an%x1f%s%x1f%b%x1e' <range>
 */
export const GIT_LOG_FORMAT = '%H%x1f%an%x1f%s%x1f%b%x1e';

/** Arguments for `git` (spawned without a shell) producing what `parseGitLog` reads. */
export const gitLogArgs = (range: string): string[] => ['log', `--format=${GIT_LOG_FORMAT}`, range];

/** Parse the output of `git log --format=GIT_LOG_FORMAT`. Throws on a record that is not sha/author/subject/body. */
export function parseGitLog(text: string): CommitInput[] {
  const commits: CommitInput[] = [];
  const records = text.split('\x1e');
  records.forEach((raw, index) => {
    const record = raw.replace(/^[\r\n]+/, '');
    if (record.trim() === '') return;
    const fields = record.split('\x1f');
    if (fields.length !== 4) throw new Error(`git log record ${index + 1}: expected 4 fields separated by 0x1f, got ${fields.length}`);
    const [sha, author, subject, body] = fields as [string, string, string, string];
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) throw new Error(`git log record ${index + 1}: "${sha}" is not a commit sha`);
    const commit: CommitInput = { sha, subject };
    if (author !== '') commit.author = author;
    const trimmedBody = body.replace(/\s+$/, '');
    if (trimmedBody !== '') commit.body = trimmedBody;
    commits.push(commit);
  });
  return commits;
}
