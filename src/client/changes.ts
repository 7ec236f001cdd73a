/** Client calls for the changes API (see src/server/changes/routes.ts). */
import { z } from 'zod';
import { API_PREFIX, auditEventSchema, type AuditEventWire } from '../core/api.js';
import { cabListSchema, type CabEntry } from '../core/governance/approvals.js';
import type { ChangeSpecInput, ChangeState, CloseCode } from '../core/resources/change.js';
import type { Call } from './call.js';
import { ApiError } from './errors.js';
import type { ApiObject } from './index.js';
import { apiObjectSchema, objectPageSchema } from './object-schema.js';

export type { CabEntry } from '../core/governance/approvals.js';

/** A manual change: the spec plus its environment, release and whether it carries an irreversible migration. */
export type ChangeCreateInput = Omit<ChangeSpecInput, 'closeCode' | 'closeNotes'> & {
  environment?: string;
  release?: string;
  irreversibleMigration?: boolean;
};

/** Spec fields to change; `null` clears an optional field. */
export type ChangePatch = { [K in keyof ChangeSpecInput]?: ChangeSpecInput[K] | null };

export interface TransitionInput {
  reason?: string;
  /** Closing only. */
  closeCode?: CloseCode;
  closeNotes?: string;
}

export interface ChangeListQuery {
  /** Only changes in this state (filtered here: the objects API has no status filter). */
  state?: ChangeState;
}

const pageSchema = objectPageSchema;
const auditListSchema = z.object({ items: z.array(auditEventSchema) });

const PAGE = 500;

export function changesApi(call: Call) {
  const path = (name?: string, sub?: string) => `${API_PREFIX}/changes${name === undefined ? '' : `/${encodeURIComponent(name)}`}${sub ? `/${sub}` : ''}`;
  const object = async (method: string, url: string, body?: unknown) => (await call(method, url, apiObjectSchema, body === undefined ? {} : { body })) as ApiObject;
  const decide = (name: string, decision: 'approve' | 'reject', comment = '') => object('POST', path(name, 'approvals'), { decision, comment });

  return {
    /** `POST /changes`: a new change in New, requested by the token's user; the server names it `chg-NNNNN`. */
    create: (input: ChangeCreateInput) => object('POST', path(), input),

    /** `PATCH /changes/{name}`: approval-relevant fields expire approvals; plans, scope and window are read-only once Scheduled. */
    edit: (name: string, patch: ChangePatch) => object('PATCH', path(name), patch),

    /** `POST /changes/{name}/transitions`. */
    transition: (name: string, to: ChangeState, input: TransitionInput = {}) => object('POST', path(name, 'transitions'), { to, ...input }),

    /** `POST /changes/{name}/approvals`; ApiError 403 `separation-of-duties` for the requester or an author. */
    decide,
    approve: (name: string, comment = '') => decide(name, 'approve', comment),
    reject: (name: string, comment: string) => decide(name, 'reject', comment),

    /** `POST /changes/{name}/review`: the post-release review. */
    review: (name: string, notes: string) => object('POST', path(name, 'review'), { notes }),

    /** `GET /cab`: changes awaiting a board decision, soonest first. */
    async cab(): Promise<CabEntry[]> {
      return (await call('GET', `${API_PREFIX}/cab`, cabListSchema)).items;
    },

    /** `GET /changes/{name}/audit`: the change's events and its Deployments' rollout events, by seq. */
    async audit(name: string): Promise<AuditEventWire[]> {
      return (await call('GET', path(name, 'audit'), auditListSchema)).items;
    },

    /** null: no such change. */
    async get(name: string): Promise<ApiObject | null> {
      try {
        return await object('GET', path(name));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },

    /** Every change (all pages), ordered by name. */
    async list(query: ChangeListQuery = {}): Promise<ApiObject[]> {
      const items: ApiObject[] = [];
      let cursor: string | undefined;
      do {
        const page = await call('GET', path(), pageSchema, { query: { limit: PAGE, cursor } });
        items.push(...(page.items as ApiObject[]));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      return query.state ? items.filter((item) => item.status?.['state'] === query.state) : items;
    },
  };
}
export type ChangesApi = ReturnType<typeof changesApi>;
