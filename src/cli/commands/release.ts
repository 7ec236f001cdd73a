/**
 * `rollgate release ...`: create a release (with scope proposed from Conventional Commits in a git
 * range), show it, post results, request and decide scope exceptions, sign off, and decide go /
 * no-go. See docs/cli.md ("Releases").
 */
import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import type { ReleaseSpecInput } from '../../client/releases.js';
import { gitLogArgs, parseGitLog, proposeScope, toReleaseScope, type ScopeProposal, type TypeClassification } from '../../core/governance/conventional-commits.js';
import { scopeItemSchema, type ScopeItem } from '../../core/governance/release.js';
import { RESULT_TYPES, type ResultType } from '../../core/governance/records.js';
import { nameSchema, sha256DigestSchema } from '../../core/resources/common.js';
import { semverSchema } from '../../core/resources/release.js';
import { CliError, EXIT_CODES, UsageError, type CliContext } from '../context.js';
import { cell, formatAge, plural, renderTable } from '../output.js';
import { renderGoNoGo, renderReleaseOverview } from '../release-view.js';

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const repeatable = (flags: string, description: string) => new Option(flags, description).argParser(collect).default([] as string[], '');

const checkName = (flag: string, value: string): string => {
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw new UsageError(`${flag} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid name'}`);
  return value;
};

const requireComment = (comment: string | undefined): string => {
  if (comment === undefined || comment.trim() === '') throw new UsageError('--comment is required and must not be empty: decisions are recorded with why');
  return comment;
};

// ---------------------------------------------------------------------------------------------
// Parsing what the user typed

const TYPE_CLASSIFICATIONS = ['net-new', 'enhancement', 'defect-fix', 'ignore'] as const;

/** `chore=ignore,docs=enhancement` → `{chore: 'ignore', docs: 'enhancement'}`. */
export function parseTypeMap(text: string): Record<string, TypeClassification> {
  const map: Record<string, TypeClassification> = {};
  for (const pair of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    const match = /^([A-Za-z][A-Za-z0-9_-]*)=([a-z-]+)$/.exec(pair);
    if (!match) throw new UsageError(`--type-map "${pair}": expected TYPE=CLASSIFICATION, e.g. chore=ignore`);
    if (!(TYPE_CLASSIFICATIONS as readonly string[]).includes(match[2]!)) {
      throw new UsageError(`--type-map "${pair}": "${match[2]}" is not one of ${TYPE_CLASSIFICATIONS.join(', ')}`);
    }
    map[match[1]!.toLowerCase()] = match[2] as TypeClassification;
  }
  return map;
}

/** `checkout=1.4.0@sha256:...` → a Release component. */
export function parseComponent(text: string): { service: string; version: string; digest: string } {
  const match = /^([^=@]+)=([^@]+)@(.+)$/.exec(text);
  if (!match) throw new UsageError(`--component "${text}": expected SERVICE=VERSION@sha256:DIGEST`);
  const [, service, version, digest] = match as unknown as [string, string, string, string];
  checkName('--component service', service);
  if (!sha256DigestSchema.safeParse(digest).success) throw new UsageError(`--component "${text}": the digest must be "sha256:" followed by 64 lowercase hex digits`);
  return { service, version, digest };
}

/** `net-new:Title of the item` → a scope item. */
export function parseScopeShorthand(text: string): ScopeItem {
  const colon = text.indexOf(':');
  const classification = colon < 0 ? '' : text.slice(0, colon).trim();
  const title = colon < 0 ? '' : text.slice(colon + 1).trim();
  const parsed = scopeItemSchema.safeParse({ classification, title });
  if (!parsed.success) throw new UsageError(`--add "${text}": expected CLASSIFICATION:TITLE with CLASSIFICATION one of net-new, enhancement, defect-fix`);
  return parsed.data;
}

/** `--add-json '{"title": ..., ...}'` (an item or a list of items), checked with the release scope item schema. */
export function parseScopeJson(text: string): ScopeItem[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--add-json: not JSON (${(error as Error).message})`);
  }
  const items = Array.isArray(value) ? value : [value];
  return items.map((item, index) => {
    const parsed = scopeItemSchema.safeParse(item);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(`--add-json item ${index}: ${[...issue.path].join('.') || '(item)'}: ${issue.message}`);
    }
    return parsed.data;
  });
}

// ---------------------------------------------------------------------------------------------
// git

/** Runs git without a shell; the error carries git's stderr. */
function git(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr ?? '') }));
      else resolve(String(stdout));
    });
  });
}

const firstLine = (text: string): string => text.split('\n').map((line) => line.trim()).find(Boolean) ?? '';

/** Proposed scope from the Conventional Commits in `range` of the repository at `repo`; clear errors for a missing repo or a bad range. */
export async function scopeFromGit(range: string, repo: string, types: Record<string, TypeClassification>): Promise<ScopeProposal & { commits: number }> {
  // A range starting with "-" would reach git as an option (e.g. --output=FILE).
  if (range.startsWith('-')) throw new UsageError(`--from-git "${range}": a range cannot start with "-"`);
  if (!existsSync(repo) || !statSync(repo).isDirectory()) throw new CliError(`--repo "${repo}": no such directory`);
  let output: string;
  try {
    output = await git(gitLogArgs(range), repo);
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    const stderr = failure.stderr ?? '';
    if (failure.code === 'ENOENT') throw new CliError('cannot run git: it is not installed or not on PATH');
    if (/not a git repository/i.test(stderr)) throw new CliError(`${repo} is not a git repository (give the repository with --repo DIR)`);
    if (/unknown revision|bad revision|ambiguous argument|invalid revision|bad default revision|does not have any commits/i.test(stderr)) {
      throw new CliError(`bad git range "${range}" in ${repo}: ${firstLine(stderr)}`);
    }
    throw new CliError(`git log ${range} failed in ${repo}: ${firstLine(stderr) || failure.message}`);
  }
  const commits = parseGitLog(output);
  return { ...proposeScope(commits, { types }), commits: commits.length };
}

function printProposal(ctx: CliContext, range: string, proposal: ScopeProposal & { commits: number }): void {
  ctx.out(`Proposed scope from ${proposal.commits} ${proposal.commits === 1 ? 'commit' : 'commits'} in ${range}: ${proposal.items.length} ${proposal.items.length === 1 ? 'item' : 'items'}, ${proposal.ignored.length} ignored`);
  if (proposal.items.length > 0) {
    const table = renderTable(
      ['CLASSIFICATION', 'TITLE', 'COMMIT', 'TYPE', 'BREAKING'],
      proposal.items.map((item) => [item.classification, item.title, item.commit.slice(0, 7), item.scope ? `${item.type}(${item.scope})` : item.type, item.breaking ? 'yes' : '']),
    );
    ctx.out(table.split('\n').map((line) => `  ${line}`).join('\n'));
  }
  if (proposal.ignored.length > 0) {
    ctx.out('Ignored commits:');
    ctx.out(renderTable(['COMMIT', 'SUBJECT', 'REASON'], proposal.ignored.map((ignored) => [ignored.commit.slice(0, 7), ignored.subject, ignored.reason])).split('\n').map((line) => `  ${line}`).join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------

interface CreateOptions {
  version: string;
  fromGit?: string;
  repo?: string;
  component: string[];
  freeze?: string;
  pipeline?: string;
  typeMap?: string;
  description?: string;
  dryRun?: boolean;
}

export function registerReleaseCommands(program: Command, ctx: CliContext): void {
  const release = program.command('release').description('releases: scope and freeze, components, results, sign-offs, go / no-go');

  release
    .command('create')
    .description('create a Release; with --from-git, its scope is proposed from the Conventional Commits in a git range')
    .argument('<name>', 'release name')
    .requiredOption('--version <semver>', 'the release version, e.g. 2.4.0')
    .option('--from-git <range>', 'propose scope from the commits in this git range, e.g. v2.3.0..HEAD')
    .option('--repo <dir>', 'the git repository (default: the current directory)')
    .addOption(repeatable('--component <service=version@digest>', 'a component, e.g. checkout=2.4.0@sha256:...; repeatable'))
    .option('--freeze <iso>', 'scope freeze date (ISO 8601 with offset); after it, scope changes need an approved exception')
    .option('--pipeline <name>', 'the promotion path (default: the one Pipeline listing every component)')
    .option('--description <text>', 'what the release is')
    .option('--type-map <map>', 'commit type classifications on top of the defaults, e.g. chore=ignore,docs=enhancement')
    .option('--dry-run', 'print the proposal and the Release without creating it')
    .addHelpText(
      'after',
      `
Commit types: feat → enhancement; fix, perf, revert → defect-fix; docs, chore, ci, build, test,
style, refactor → ignored. A "Rollgate-Classification: net-new" footer overrides the type.

Examples:
  rollgate release create spring --version 2.4.0 --from-git v2.3.0..HEAD --component checkout=2.4.0@sha256:3f1c...
  rollgate release create spring --version 2.4.0 --from-git v2.3.0..HEAD --type-map docs=enhancement --dry-run`,
    )
    .action(
      ctx.run(async (command, name: string) => {
        const options = command.opts<CreateOptions>();
        checkName('NAME', name);
        if (!semverSchema.safeParse(options.version).success) throw new UsageError(`--version "${options.version}": must be a semantic version such as 1.4.0`);
        if (options.freeze !== undefined && !z.iso.datetime({ offset: true }).safeParse(options.freeze).success) {
          throw new UsageError(`--freeze "${options.freeze}": must be an ISO 8601 date-time with an offset, e.g. 2026-03-10T00:00:00Z`);
        }
        if (options.pipeline !== undefined) checkName('--pipeline', options.pipeline);
        const components = options.component.map(parseComponent);
        const types = options.typeMap !== undefined ? parseTypeMap(options.typeMap) : {};
        if (options.repo !== undefined && options.fromGit === undefined) throw new UsageError('--repo needs --from-git RANGE');

        const format = ctx.outputFormat(command);
        let proposal: (ScopeProposal & { commits: number }) | null = null;
        if (options.fromGit !== undefined) {
          proposal = await scopeFromGit(options.fromGit, path.resolve(ctx.io.cwd, options.repo ?? '.'), types);
          if (format === 'table') printProposal(ctx, options.fromGit, proposal);
        }
        const spec: ReleaseSpecInput = {
          version: options.version,
          ...(options.description !== undefined ? { description: options.description } : {}),
          components,
          scope: proposal ? toReleaseScope(proposal.items) : [],
          ...(options.freeze !== undefined ? { freezeDate: options.freeze } : {}),
          ...(options.pipeline !== undefined ? { pipeline: options.pipeline } : {}),
        };
        if (options.dryRun) {
          if (format !== 'table') ctx.printData(format, { dryRun: true, proposal, spec });
          else ctx.out(`dry run: release/${name} not created (version ${spec.version}, ${plural(spec.scope?.length ?? 0, 'scope item')}, ${plural(components.length, 'component')})`);
          return EXIT_CODES.ok;
        }
        const created = await ctx.client(command).releases.create(spec, { name });
        if (format !== 'table') ctx.printData(format, { dryRun: false, proposal, release: created });
        else ctx.out(`release/${created.metadata.name} created (version ${spec.version}, ${plural(spec.scope?.length ?? 0, 'scope item')}, ${plural(components.length, 'component')})`);
        return EXIT_CODES.ok;
      }),
    );

  release
    .command('list')
    .description('list releases')
    .action(
      ctx.run(async (command) => {
        const releases = await ctx.client(command).listAll('Release');
        const format = ctx.outputFormat(command);
        if (format !== 'table') {
          ctx.printData(format, releases, { list: true });
          return;
        }
        if (releases.length === 0) {
          ctx.err('No releases found.');
          return;
        }
        const now = new Date();
        ctx.out(
          renderTable(
            ['NAME', 'VERSION', 'PIPELINE', 'COMPONENTS', 'SCOPE', 'FREEZE', 'GO/NO-GO', 'AGE'],
            releases.map((object) => {
              const spec = object.spec as { version?: string; pipeline?: string; components?: unknown[]; scope?: unknown[]; freezeDate?: string };
              const decisions = ((object.status ?? {})['goNoGo'] as Array<{ environment: string; decision: string }> | undefined) ?? [];
              const frozen = spec.freezeDate ? (Date.parse(spec.freezeDate) <= now.getTime() ? `frozen ${spec.freezeDate}` : spec.freezeDate) : '-';
              return [
                object.metadata.name,
                cell(spec.version),
                cell(spec.pipeline),
                String(spec.components?.length ?? 0),
                String(spec.scope?.length ?? 0),
                frozen,
                cell(decisions.map((decision) => `${decision.environment}:${decision.decision}`)),
                formatAge(object.metadata.createdAt, now),
              ];
            }),
          ),
        );
      }),
    );

  release
    .command('show')
    .description('everything about a release: scope, components, integration points, freeze, results, go / no-go, promotion path, changes')
    .argument('<name>', 'release name')
    .action(
      ctx.run(async (command, name: string) => {
        const overview = await ctx.client(command).releases.overview(name);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, overview);
        else ctx.out(renderReleaseOverview(overview));
      }),
    );

  release
    .command('result')
    .description('post a result (tests, coverage, benchmark, migration check, scan) for the release or one component')
    .argument('<name>', 'release name')
    .requiredOption('--name <result>', 'the result name, e.g. e2e (a later post with the same name and service replaces it)')
    .addOption(new Option('--type <type>', 'what kind of result').choices([...RESULT_TYPES]).makeOptionMandatory())
    .option('--passed', 'the result passed')
    .option('--failed', 'the result failed')
    .option('--value <number>', 'a measured value (coverage %, p99 ms, ...)')
    .option('--service <service>', 'the component the result is about (default: the whole release)')
    .option('--env <environment>', 'where it ran')
    .option('--summary <text>', 'one line for humans')
    .option('--url <url>', 'link to the report')
    .option('--critical <n>', 'findings of severity critical')
    .option('--high <n>', 'findings of severity high')
    .option('--medium <n>', 'findings of severity medium')
    .option('--low <n>', 'findings of severity low')
    .addHelpText('after', '\nExample:\n  rollgate release result spring --name db-migration --type migration --passed --service checkout')
    .action(
      ctx.run(async (command, name: string) => {
        const options = command.opts<{
          name: string;
          type: ResultType;
          passed?: boolean;
          failed?: boolean;
          value?: string;
          service?: string;
          env?: string;
          summary?: string;
          url?: string;
          critical?: string;
          high?: string;
          medium?: string;
          low?: string;
        }>();
        if (options.passed === options.failed) throw new UsageError('give exactly one of --passed and --failed');
        const number = (flag: string, text: string, integer = false): number => {
          const value = Number(text);
          if (text.trim() === '' || !Number.isFinite(value) || (integer && (!Number.isInteger(value) || value < 0))) {
            throw new UsageError(`${flag} "${text}": must be ${integer ? 'a whole number ≥ 0' : 'a number'}`);
          }
          return value;
        };
        const findings: Record<string, number> = {};
        for (const severity of ['critical', 'high', 'medium', 'low'] as const) {
          const given = options[severity];
          if (given !== undefined) findings[severity] = number(`--${severity}`, given, true);
        }
        const body = {
          name: options.name,
          type: options.type,
          passed: options.passed === true,
          ...(options.value !== undefined ? { value: number('--value', options.value) } : {}),
          ...(Object.keys(findings).length > 0 ? { findings } : {}),
          ...(options.service !== undefined ? { service: checkName('--service', options.service) } : {}),
          ...(options.env !== undefined ? { environment: checkName('--env', options.env) } : {}),
          ...(options.summary !== undefined ? { summary: options.summary } : {}),
          ...(options.url !== undefined ? { url: options.url } : {}),
        };
        const { result } = await ctx.client(command).releases.postResult(name, body);
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, result);
        else ctx.out(`result "${result.name}" recorded for release/${name}${result.service ? ` (${result.service})` : ''}: ${result.passed ? 'passed' : 'FAILED'}`);
      }),
    );

  const exception = release.command('exception').description('scope exceptions: change a frozen scope with a release manager\'s approval');

  exception
    .command('request')
    .description('ask to add or remove scope after the freeze')
    .argument('<name>', 'release name')
    .requiredOption('--reason <text>', 'why the scope must change')
    .addOption(repeatable('--add <classification:title>', 'a scope item to add, e.g. "defect-fix:Fix VAT rounding"; repeatable'))
    .addOption(repeatable('--add-json <json>', 'a scope item (or a list) to add as JSON with every field (value, contractual, jurisdictions, link); repeatable'))
    .addOption(repeatable('--remove <title>', 'the title of a scope item to remove; repeatable'))
    .addHelpText('after', '\nExample:\n  rollgate release exception request spring --reason "contract with ACME" --add "net-new:CSV export" --remove "Dark mode"')
    .action(
      ctx.run(async (command, name: string) => {
        const options = command.opts<{ reason: string; add: string[]; addJson: string[]; remove: string[] }>();
        const add = [...options.add.map(parseScopeShorthand), ...options.addJson.flatMap(parseScopeJson)];
        if (add.length === 0 && options.remove.length === 0) throw new UsageError('give at least one --add, --add-json or --remove');
        const { exception: created } = await ctx.client(command).releases.requestException(name, { reason: options.reason, add, remove: options.remove });
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, created);
        else {
          ctx.out(created.id);
          ctx.err(`scope exception ${created.id} requested for release/${name}: pending until a release manager other than you approves or rejects it`);
        }
      }),
    );

  for (const verb of ['approve', 'reject'] as const) {
    exception
      .command(verb)
      .description(verb === 'approve' ? 'approve a pending scope exception (its change is applied to the release)' : 'reject a pending scope exception')
      .argument('<name>', 'release name')
      .argument('<id>', 'exception id, e.g. ex-1')
      .requiredOption('--comment <text>', 'why')
      .action(
        ctx.run(async (command, name: string, id: string) => {
          const { comment } = command.opts<{ comment: string }>();
          const { exception: decided, release: updated } = await ctx.client(command).releases.decideException(name, id, { decision: verb, comment: requireComment(comment) });
          const format = ctx.outputFormat(command);
          if (format !== 'table') ctx.printData(format, decided);
          else ctx.out(`scope exception ${id} ${decided.state} by ${decided.decidedBy}${verb === 'approve' ? ` (release/${name} is now at version ${updated.metadata.version})` : ''}`);
        }),
      );
  }

  release
    .command('signoff')
    .description('sign the release off for a group you belong to (e.g. compliance)')
    .argument('<name>', 'release name')
    .requiredOption('--group <group>', 'the group you sign for')
    .requiredOption('--comment <text>', 'what you checked')
    .action(
      ctx.run(async (command, name: string) => {
        const { group, comment } = command.opts<{ group: string; comment: string }>();
        const { signoff } = await ctx.client(command).releases.signoff(name, { group: checkName('--group', group), comment: requireComment(comment) });
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, signoff);
        else ctx.out(`release/${name} signed off for ${signoff.group} by ${signoff.user}`);
      }),
    );

  release
    .command('go-no-go')
    .description('the go / no-go criteria for an environment and their states now')
    .argument('<name>', 'release name')
    .option('--env <environment>', "the environment (default: the release's go/no-go environment, else its pipeline's first production stage)")
    .action(
      ctx.run(async (command, name: string) => {
        const { env } = command.opts<{ env?: string }>();
        const view = await ctx.client(command).releases.goNoGo(name, env === undefined ? undefined : checkName('--env', env));
        const format = ctx.outputFormat(command);
        if (format !== 'table') ctx.printData(format, view);
        else ctx.out(renderGoNoGo(view).join('\n'));
      }),
    );

  for (const decision of ['go', 'no-go'] as const) {
    release
      .command(decision)
      .description(decision === 'go' ? 'record GO for an environment (refused while a required criterion is not met)' : 'record NO-GO for an environment')
      .argument('<name>', 'release name')
      .option('--env <environment>', decision === 'go' ? "the environment (default: the release's go/no-go environment)" : 'the environment')
      .requiredOption('--comment <text>', 'why')
      .action(
        ctx.run(async (command, name: string) => {
          const { env, comment } = command.opts<{ env?: string; comment: string }>();
          if (decision === 'no-go' && env === undefined) throw new UsageError('no-go needs --env ENV');
          const client = ctx.client(command);
          const environment = env !== undefined ? checkName('--env', env) : (await client.releases.goNoGo(name)).environment;
          const { decision: recorded } = await client.releases.decide(name, { environment, decision, comment: requireComment(comment) });
          const format = ctx.outputFormat(command);
          if (format !== 'table') {
            ctx.printData(format, recorded);
            return;
          }
          ctx.out(`${recorded.decision.toUpperCase()} recorded for release/${name} in ${recorded.environment} by ${recorded.decidedBy}`);
          for (const state of recorded.criteria) ctx.out(`  ${state.state.padEnd(7)} ${state.id}${state.required ? '' : ' (optional)'}: ${state.detail}`);
        }),
      );
  }
}

