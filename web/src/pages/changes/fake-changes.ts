/**
 * Test support for the change pages: the shared fake API with the changes routes added (one
 * change, its audit, the CAB view, the calendar and decisions), with separation of duties as the
 * server enforces it. Only tests import this.
 */
import type { ApiObject } from '../../../../src/client/index.js';
import { approvalProgress } from '../../../../src/core/governance/approvals.js';
import { changeRecordStatusSchema, type ChangeRecordStatus } from '../../../../src/core/governance/records.js';
import { apiObject, fakeApi, json, problem, type FakeApi, type FakeApiOptions } from '../../test-support/fake-api.js';

export interface FakeChangesApi extends FakeApi {
  /** Decisions posted, as `user decision name: comment`. */
  decisions: string[];
  /** Users the server knows with their current groups (may differ from whoami at sign-in). */
  groups: Record<string, string[]>;
}

const RISK = {
  score: 62,
  level: 'high',
  levelBeforeFloor: 'medium',
  factors: [
    { name: 'serviceTier', value: 'critical', points: 20, max: 20, explanation: 'checkout is tier critical' },
    { name: 'customerFacing', value: true, points: 10, max: 10, explanation: 'customer-facing service' },
    { name: 'environmentSensitivity', value: 'restricted', points: 15, max: 15, explanation: 'prod holds restricted data' },
    { name: 'leadTime', value: 30.5, points: 3, max: 15, explanation: 'planned 30.5 h ahead' },
    { name: 'maintenanceWindow', value: false, points: 14, max: 15, explanation: 'outside every maintenance window' },
    { name: 'emergency', value: false, points: 0, max: 20, explanation: 'not an emergency' },
  ],
  floor: { rule: 'restricted-data', level: 'high', reason: 'restricted data in prod is at least high' },
  skippedRules: [],
  assessedAt: '2026-03-01T09:00:00Z',
};

/** A normal prod change in Authorize needing 2 from cab, requested by `requestedBy`. */
export function changeObject(name: string, overrides: { requestedBy?: string; authors?: string[]; state?: string; approvals?: unknown[]; title?: string } = {}): ApiObject {
  return apiObject(
    'Change',
    name,
    {
      type: 'normal',
      title: overrides.title ?? 'Upgrade checkout to 2.4',
      services: ['checkout'],
      businessServices: ['online-store'],
      plannedStart: '2026-03-03T22:00:00Z',
      plannedEnd: '2026-03-04T00:30:00Z',
      implementationPlan: 'rollgate deploy checkout --version 2.4.0 --env prod',
      backoutPlan: 'rollgate rollout abort checkout',
      testPlan: 'smoke suite, canary analysis',
      justification: 'fixes the rounding bug in totals',
      evidence: [
        { title: 'Test report', link: 'https://ci.example.com/runs/42', kind: 'test-report' },
        { title: 'Bad link', link: 'javascript:alert(1)', kind: 'other' },
      ],
    },
    {
      state: overrides.state ?? 'Authorize',
      stateEnteredAt: '2026-03-01T09:05:00Z',
      requestedBy: overrides.requestedBy ?? 'alice',
      authors: overrides.authors ?? [],
      origin: 'manual',
      environment: 'prod',
      risk: RISK,
      requiredApprovals: [{ group: 'cab', count: 2, reason: 'environment prod rule 1: 2 from cab' }],
      approvals: overrides.approvals ?? [],
      gates: [{ gate: 'policy', name: 'require-tests', outcome: 'pass', message: 'tests passed' }],
      history: [
        { at: '2026-03-01T09:01:00Z', actor: 'user:alice', from: 'New', to: 'Assess' },
        { at: '2026-03-01T09:05:00Z', actor: 'user:alice', from: 'Assess', to: 'Authorize' },
      ],
    },
  );
}

export function fakeChangesApi(options: FakeApiOptions & { changes: ApiObject[] }): FakeChangesApi {
  const decisions: string[] = [];
  const groups: Record<string, string[]> = Object.fromEntries(Object.values(options.users ?? {}).map((u) => [u.user, u.groups ?? []]));
  const changes = () => api.objects.Change ?? [];
  const statusOf = (object: ApiObject): ChangeRecordStatus => changeRecordStatusSchema.parse(object.status ?? {});
  const find = (name: string) => changes().find((object) => object.metadata.name === name);
  const notFound = (name: string) => problem(404, 'Not Found', `no Change "${name}"`);

  const cabEntries = () =>
    changes()
      .filter((object) => statusOf(object).state === 'Authorize')
      .map((object) => {
        const status = statusOf(object);
        const progress = approvalProgress(status.requiredApprovals, status.approvals);
        const spec = object.spec as Record<string, unknown>;
        return {
          name: object.metadata.name,
          title: spec['title'],
          type: spec['type'],
          state: status.state,
          environment: status.environment ?? null,
          release: null,
          requestedBy: status.requestedBy,
          authors: status.authors,
          services: spec['services'] ?? [],
          businessServices: spec['businessServices'] ?? [],
          evidence: spec['evidence'] ?? [],
          plannedStart: spec['plannedStart'] ?? null,
          plannedEnd: spec['plannedEnd'] ?? null,
          risk: status.risk,
          requirements: progress.requirements,
          rejected: progress.rejected,
          conflicts: [{ id: 'c1', type: 'window', severity: 'warning', changes: [object.metadata.name], message: `${object.metadata.name} is planned outside every maintenance window` }],
        };
      });

  const api = fakeApi({
    ...options,
    objects: { ...options.objects, Change: options.changes },
    routes: [
      ...(options.routes ?? []),
      { path: '/api/v1/cab', respond: () => json({ items: cabEntries() }) },
      {
        path: '/api/v1/calendar',
        respond: ({ url }) =>
          json({
            from: url.searchParams.get('from'),
            to: url.searchParams.get('to'),
            windows: [{ name: 'weeknights', type: 'maintenance', timeZone: 'UTC', scope: {}, occurrences: [{ startMs: Date.parse('2026-03-03T21:00:00Z'), endMs: Date.parse('2026-03-04T01:00:00Z'), localStart: '', localEnd: '' }] }],
            changes: [],
            conflicts: [],
            unscheduled: [],
          }),
      },
      { path: /^\/api\/v1\/changes\/([^/]+)$/, respond: ({ params: [name = ''] }) => (find(name) ? json(find(name)) : notFound(name)) },
      {
        path: /^\/api\/v1\/changes\/([^/]+)\/audit$/,
        respond: ({ params: [name = ''] }) =>
          find(name)
            ? json({ items: [{ seq: 7, time: '2026-03-01T09:00:00Z', actor: 'user:alice', action: 'change.create', kind: 'Change', name, beforeDigest: null, afterDigest: 'x', details: { reason: 'new' }, prevHash: 'a', hash: 'b' }] })
            : notFound(name),
      },
      {
        method: 'POST',
        path: /^\/api\/v1\/changes\/([^/]+)\/approvals$/,
        respond: ({ params: [name = ''], body, who }) => {
          const object = find(name);
          if (!object) return notFound(name);
          const { decision, comment } = body as { decision: 'approve' | 'reject'; comment: string };
          const status = statusOf(object);
          if (status.requestedBy === who.user) return problem(403, 'Forbidden', `user "${who.user}" requested change ${name} and cannot ${decision} it (separation of duties)`);
          if (status.authors.includes(who.user)) return problem(403, 'Forbidden', `user "${who.user}" authored an artifact change ${name} deploys and cannot ${decision} it (separation of duties)`);
          const current = groups[who.user] ?? [];
          if (!current.includes('cab')) return problem(403, 'Forbidden', `user "${who.user}" is in none of the groups change ${name} needs approvals from (cab)`);
          decisions.push(`${who.user} ${decision} ${name}: ${comment}`);
          const approvals = [...status.approvals, { id: `a${decisions.length}`, user: who.user, groups: current, decision, comment, at: new Date().toISOString(), valid: true }];
          const progress = approvalProgress(status.requiredApprovals, approvals);
          const state = decision === 'reject' ? 'New' : progress.satisfied ? 'Scheduled' : status.state;
          const updated = { ...object, status: { ...object.status, approvals, state } };
          api.objects.Change = changes().map((item) => (item === object ? updated : item));
          return json(updated, 201);
        },
      },
    ],
  });

  return Object.assign(api, { decisions, groups });
}
