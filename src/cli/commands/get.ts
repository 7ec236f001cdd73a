import type { Command } from 'commander';
import type { ApiObject } from '../../client/index.js';
import type { KindName } from '../../core/resources/kinds.js';
import { CliError, UsageError, type CliContext } from '../context.js';
import { cell, formatAge, renderTable, type Row } from '../output.js';
import { resolveKind } from './shared.js';

type Column = readonly [header: string, value: (object: ApiObject) => string];

/** Specs are shown loosely: a column prints `-` for what is not there. */
const spec = (object: ApiObject) => object.spec as Record<string, any>;

/** Kind-specific columns, shown between NAME and VERSION / AGE. */
const KIND_COLUMNS: Record<KindName, readonly Column[]> = {
  Service: [
    ['OWNER', (o) => cell(spec(o).owner)],
    ['TIER', (o) => cell(spec(o).tier)],
    ['TARGET', (o) => cell(spec(o).target?.type)],
    ['ROUTER', (o) => cell(spec(o).router?.type)],
    ['DEPENDS-ON', (o) => cell(spec(o).dependsOn)],
  ],
  Environment: [
    ['PRODUCTION', (o) => cell(spec(o).production ?? false)],
    ['SENSITIVITY', (o) => cell(spec(o).dataSensitivity)],
    ['TIMEZONE', (o) => cell(spec(o).timeZone)],
  ],
  Pipeline: [
    ['STAGES', (o) => (Array.isArray(spec(o).stages) ? spec(o).stages.map((stage: { environment?: string }) => stage.environment).join('→') : '-')],
    ['SERVICES', (o) => cell(spec(o).services)],
  ],
  RolloutStrategy: [
    ['TYPE', (o) => (spec(o).canary ? 'canary' : spec(o).blueGreen ? 'blueGreen' : '-')],
    ['STEPS', (o) => strategySteps(spec(o))],
  ],
  AnalysisTemplate: [['METRICS', (o) => cell((spec(o).metrics ?? []).map((metric: { name?: string }) => metric.name))]],
  Window: [
    ['TYPE', (o) => cell(spec(o).type)],
    ['WHEN', (o) => (spec(o).rrule ? `${spec(o).rrule} ${spec(o).start}+${spec(o).duration}` : spec(o).from ? `${spec(o).from}→${spec(o).to}` : '-')],
    ['TIMEZONE', (o) => cell(spec(o).timeZone)],
  ],
  Policy: [
    ['SEVERITY', (o) => cell(spec(o).severity)],
    ['GATES', (o) => cell(spec(o).gates)],
    ['EXPRESSION', (o) => cell(spec(o).expression)],
  ],
  RiskModel: [['RULES', (o) => cell((spec(o).rules ?? []).map((rule: { name?: string }) => rule.name))]],
  User: [
    ['DISPLAY-NAME', (o) => cell(spec(o).displayName)],
    ['GROUPS', (o) => cell(spec(o).groups)],
  ],
  Change: [
    ['TYPE', (o) => cell(spec(o).type)],
    ['STATE', (o) => cell((o.status as { state?: string } | null)?.state ?? 'New')],
    ['RISK', (o) => cell((o.status as { risk?: { level?: string } | null } | null)?.risk?.level ?? spec(o).risk)],
    ['TITLE', (o) => cell(spec(o).title)],
  ],
  Release: [
    ['RELEASE', (o) => cell(spec(o).version)],
    ['COMPONENTS', (o) => cell(spec(o).components?.length ?? 0)],
    ['SCOPE', (o) => cell(spec(o).scope?.length ?? 0)],
  ],
  Artifact: [
    ['SERVICE', (o) => cell(spec(o).service)],
    ['APP-VERSION', (o) => cell(spec(o).version)],
    ['DIGEST', (o) => (typeof spec(o).digest === 'string' ? `${spec(o).digest.slice(0, 19)}…` : '-')],
  ],
  Deployment: [
    ['SERVICE', (o) => cell(spec(o).service)],
    ['ENVIRONMENT', (o) => cell(spec(o).environment)],
    ['APP-VERSION', (o) => cell(spec(o).version)],
    ['PHASE', (o) => cell((o.status as { rollout?: { phase?: string } } | null)?.rollout?.phase ?? ((o.status as { failure?: unknown } | null)?.failure ? 'Failed' : 'Pending'))],
    ['WEIGHT', (o) => {
      const weight = (o.status as { rollout?: { canaryWeight?: number } } | null)?.rollout?.canaryWeight;
      return weight === undefined ? '-' : `${weight}%`;
    }],
  ],
};

function strategySteps(s: Record<string, any>): string {
  const canary = s.canary;
  if (!canary) return '-';
  if (Array.isArray(canary.steps)) {
    return canary.steps
      .map((step: Record<string, any>) => {
        if ('setWeight' in step) return String(step.setWeight);
        if ('pause' in step) return step.pause?.duration ? `pause ${step.pause.duration}` : 'pause';
        if ('analysis' in step) return 'analysis';
        if ('setHeaderRoute' in step) return 'header-route';
        return '?';
      })
      .join('→');
  }
  if (Array.isArray(canary.stepWeights)) return canary.stepWeights.join('→');
  if (typeof canary.stepWeight === 'number') return `+${canary.stepWeight} to ${canary.maxWeight ?? 100}`;
  return '-';
}

export function objectTable(kind: KindName, objects: readonly ApiObject[], now = new Date()): string {
  const columns = KIND_COLUMNS[kind];
  const headers: Row = ['NAME', ...columns.map(([header]) => header), 'VERSION', 'AGE'];
  const rows = objects.map((object): Row => [
    object.metadata.name,
    ...columns.map(([, value]) => value(object)),
    String(object.metadata.version),
    formatAge(object.metadata.createdAt, now),
  ]);
  return renderTable(headers, rows);
}

/** `app=checkout,tier=high`, checked locally so a typo is a usage error. */
export function parseSelector(selector: string): string {
  const pairs = selector.split(',').map((pair) => pair.trim());
  for (const pair of pairs) {
    if (!/^[A-Za-z0-9][-A-Za-z0-9_./]*=[-A-Za-z0-9_.]*$/.test(pair)) {
      throw new UsageError(`invalid label selector "${selector}": expected key=value pairs separated by commas, e.g. team=payments,tier=critical`);
    }
  }
  return pairs.join(',');
}

export function registerGetCommand(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .description('list objects of a kind, or show one')
    .argument('<kind>', 'kind: services (svc), environments (env), pipelines, rolloutstrategies (strategy), analysistemplates (template), windows, policies, riskmodels, users, releases, artifacts, deployments, changes (chg)')
    .argument('[name]', 'one object by name')
    .option('-l, --selector <labels>', 'only objects with these labels, e.g. team=payments,tier=critical')
    .addHelpText('after', '\nExamples:\n  rollgate get services\n  rollgate get svc checkout -o yaml\n  rollgate get environments -l tier=prod')
    .action(
      ctx.run(async (command, noun: string, name: string | undefined) => {
        const def = resolveKind(noun);
        const { selector } = command.opts<{ selector?: string }>();
        if (name !== undefined && selector !== undefined) throw new UsageError('give either NAME or --selector, not both');
        const labels = selector === undefined ? undefined : parseSelector(selector);
        const client = ctx.client(command);
        const format = ctx.outputFormat(command);

        if (name !== undefined) {
          const object = await client.get(def.kind, name);
          if (!object) throw new CliError(`${def.kind} "${name}" not found`);
          if (format === 'table') ctx.out(objectTable(def.kind, [object]));
          else ctx.printData(format, object);
          return;
        }

        const objects = await client.listAll(def.kind, labels === undefined ? {} : { labels });
        if (format !== 'table') {
          ctx.printData(format, objects, { list: true });
        } else if (objects.length === 0) {
          ctx.err(`No ${def.plural} found${labels ? ` with labels ${labels}` : ''}.`);
        } else {
          ctx.out(objectTable(def.kind, objects));
        }
      }),
    );
}
