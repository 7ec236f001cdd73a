import { describe, expect, it } from 'vitest';
import {
  GIT_LOG_FORMAT,
  gitLogArgs,
  parseConventionalCommit,
  parseGitLog,
  proposeScope,
  toReleaseScope,
} from '../../../src/core/governance/conventional-commits.js';
import { releaseSpecSchema } from '../../../src/core/resources/release.js';

const sha = (n: number) => n.toString(16).padStart(40, 'a');

describe('parseConventionalCommit', () => {
  it.each([
    ['feat: add login', { type: 'feat', breaking: false, description: 'add login' }],
    ['feat(api): add login', { type: 'feat', scope: 'api', breaking: false, description: 'add login' }],
    ['feat(api)!: drop v1', { type: 'feat', scope: 'api', breaking: true, description: 'drop v1' }],
    ['fix!: stop crashing', { type: 'fix', breaking: true, description: 'stop crashing' }],
    ['FEAT: upper-case type', { type: 'feat', breaking: false, description: 'upper-case type' }],
  ])('parses %j', (subject, expected) => {
    expect(parseConventionalCommit(subject)).toMatchObject(expected);
  });

  it.each(['Merge pull request #12 from x/y', 'feat:no space', 'feat(): empty scope', 'Revert "feat: x"', ': nothing', 'feat : space before colon'])(
    'rejects %j',
    (subject) => {
      expect(parseConventionalCommit(subject)).toBeNull();
    },
  );

  it('reads footers from the last paragraph and the BREAKING CHANGE footer (upper-case only)', () => {
    const parsed = parseConventionalCommit('feat: x', 'Some text.\n\nBREAKING CHANGE: a is gone\n  continued\nRefs #123');
    expect(parsed?.breaking).toBe(true);
    expect(parsed?.footers).toEqual([
      { token: 'BREAKING CHANGE', value: 'a is gone\n  continued' },
      { token: 'Refs', value: '123' },
    ]);
    expect(parseConventionalCommit('feat: x', 'BREAKING-CHANGE: y')?.breaking).toBe(true);
    expect(parseConventionalCommit('feat: x', 'breaking change: y')?.breaking).toBe(false);
    // A footer-looking line in a body paragraph that is not the last one is not a footer.
    expect(parseConventionalCommit('feat: x', 'BREAKING CHANGE: y\n\nJust prose.')?.breaking).toBe(false);
  });
});

describe('proposeScope', () => {
  it('classifies by the documented default rule and reports ignored commits with a reason', () => {
    const commits = [
      { sha: sha(1), subject: 'feat(checkout): one-click pay', author: 'Ann' },
      { sha: sha(2), subject: 'fix: rounding of totals' },
      { sha: sha(3), subject: 'perf: faster cart' },
      { sha: sha(4), subject: 'revert: feat(checkout): one-click pay' },
      { sha: sha(5), subject: 'docs: readme' },
      { sha: sha(6), subject: 'chore(deps): bump' },
      { sha: sha(7), subject: 'Merge branch main' },
      { sha: sha(8), subject: 'wip: unknown type' },
      { sha: sha(9), subject: 'feat!: new billing engine', body: 'BREAKING CHANGE: old API removed' },
    ];
    const { items, ignored } = proposeScope(commits);
    expect(items.map((item) => [item.commit, item.classification, item.breaking])).toEqual([
      [sha(1), 'enhancement', false],
      [sha(2), 'defect-fix', false],
      [sha(3), 'defect-fix', false],
      [sha(4), 'defect-fix', false],
      [sha(9), 'enhancement', true], // breaking does not imply net-new
    ]);
    expect(items[0]).toEqual({
      title: 'one-click pay',
      classification: 'enhancement',
      link: sha(1),
      breaking: false,
      commit: sha(1),
      type: 'feat',
      scope: 'checkout',
      author: 'Ann',
    });
    expect(ignored).toEqual([
      { commit: sha(5), subject: 'docs: readme', reason: 'type "docs" is ignored', type: 'docs', breaking: false },
      { commit: sha(6), subject: 'chore(deps): bump', reason: 'type "chore" is ignored', type: 'chore', breaking: false },
      { commit: sha(7), subject: 'Merge branch main', reason: 'not a Conventional Commit' },
      { commit: sha(8), subject: 'wip: unknown type', reason: 'type "wip" has no classification', type: 'wip', breaking: false },
    ]);
  });

  it('uses the Rollgate-Classification footer over the type, case-insensitively', () => {
    const { items, ignored } = proposeScope([
      { sha: sha(1), subject: 'feat: brand-new reports', body: 'Why.\n\nRollgate-Classification: net-new' },
      { sha: sha(2), subject: 'chore: actually a fix', body: 'rollgate-classification: Defect-Fix' },
      { sha: sha(3), subject: 'fix: internal only', body: 'Rollgate-Classification: ignore' },
      { sha: sha(4), subject: 'feat: typo', body: 'Rollgate-Classification: netnew' },
    ]);
    expect(items.map((item) => [item.commit, item.classification])).toEqual([
      [sha(1), 'net-new'],
      [sha(2), 'defect-fix'],
    ]);
    expect(ignored.map((entry) => [entry.commit, entry.reason])).toEqual([
      [sha(3), 'Rollgate-Classification: ignore'],
      [sha(4), 'invalid Rollgate-Classification "netnew" (expected net-new, enhancement, defect-fix, ignore)'],
    ]);
  });

  it('lets options.types override and extend the defaults, and builds links from a template', () => {
    const { items, ignored } = proposeScope(
      [
        { sha: sha(1), subject: 'feat: x' },
        { sha: sha(2), subject: 'Security: patch CVE' },
        { sha: sha(3), subject: 'perf: y' },
      ],
      { types: { feat: 'net-new', security: 'defect-fix', perf: 'ignore' }, linkTemplate: 'https://git.example/c/{sha}' },
    );
    expect(items.map((item) => [item.type, item.classification, item.link])).toEqual([
      ['feat', 'net-new', `https://git.example/c/${sha(1)}`],
      ['security', 'defect-fix', `https://git.example/c/${sha(2)}`],
    ]);
    expect(ignored.map((entry) => entry.reason)).toEqual(['type "perf" is ignored']);
  });

  it('yields scope entries the Release spec accepts', () => {
    const { items } = proposeScope([{ sha: sha(1), subject: 'feat: a' }, { sha: sha(2), subject: 'fix: b' }]);
    const spec = releaseSpecSchema.parse({ version: '1.2.0', scope: toReleaseScope(items) });
    expect(spec.scope).toEqual([
      { title: 'a', link: sha(1), classification: 'enhancement' },
      { title: 'b', link: sha(2), classification: 'defect-fix' },
    ]);
  });
});

describe('parseGitLog', () => {
  it('documents the format and the git arguments', () => {
    expect(GIT_LOG_FORMAT).toBe('%H%x1f%an%x1f%s%x1f%b%x1e');
    expect(gitLogArgs('v1.0.0..HEAD')).toEqual(['log', '--format=%H%x1f%an%x1f%s%x1f%b%x1e', 'v1.0.0..HEAD']);
  });

  it('parses real git output (captured from git 2.x: empty body, multi-paragraph body with footers)', () => {
    const a = '16a55dac9a6f6d3ab7ac94c8af79a76f0ce135ab';
    const b = 'd465711f4681ac8f91dfcd3fd1be434be663ff7c';
    const text =
      `${a}\x1fBob\x1ffix: crash\x1f\x1e\n` +
      `${b}\x1fAnn Dev\x1ffeat(api)!: add widgets\x1fBody para.\n\nBREAKING CHANGE: widgets replace gadgets\nRollgate-Classification: net-new\n\x1e\n`;
    const commits = parseGitLog(text);
    expect(commits).toEqual([
      { sha: a, author: 'Bob', subject: 'fix: crash' },
      {
        sha: b,
        author: 'Ann Dev',
        subject: 'feat(api)!: add widgets',
        body: 'Body para.\n\nBREAKING CHANGE: widgets replace gadgets\nRollgate-Classification: net-new',
      },
    ]);
    const { items } = proposeScope(commits);
    expect(items.map((item) => [item.title, item.classification, item.breaking, item.scope])).toEqual([
      ['crash', 'defect-fix', false, undefined],
      ['add widgets', 'net-new', true, 'api'],
    ]);
  });

  it('returns nothing for empty output and throws on a malformed record', () => {
    expect(parseGitLog('')).toEqual([]);
    expect(parseGitLog('\n')).toEqual([]);
    expect(() => parseGitLog('oneline output\n')).toThrow(/record 1: expected 4 fields/);
    expect(() => parseGitLog('zz\x1fa\x1fs\x1fb\x1e')).toThrow(/"zz" is not a commit sha/);
  });
});
