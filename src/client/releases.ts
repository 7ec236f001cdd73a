/** Client calls for the releases API (see src/server/releases/routes.ts); Release objects themselves go through the generic objects API. */
import { z } from 'zod';
import { API_PREFIX } from '../core/api.js';
import { goNoGoDecisionResponseSchema, goNoGoViewSchema, type GoNoGoDecisionRequest, type GoNoGoView } from '../core/governance/go-no-go.js';
// Responses from release-wire.ts; release.ts (semver, scope logic) only for the request types, erased at build.
import type { ReleaseResultRequest, ScopeExceptionDecisionRequest, ScopeExceptionRequest, SignoffRequest } from '../core/governance/release.js';
import {
  releaseObjectSchema,
  releaseOverviewSchema,
  releaseResultResponseSchema,
  scopeExceptionResponseSchema,
  signoffResponseSchema,
  type ReleaseOverview,
} from '../core/governance/release-wire.js';
import { API_VERSION } from '../core/resources/common.js';
import type { releaseSpecSchema } from '../core/resources/release.js';
import type { Call } from './call.js';

export type ReleaseObject = z.infer<typeof releaseObjectSchema>;
export type { GoNoGoView, ReleaseOverview };

/**
 * What `create` sends as the spec: the Release spec as a user writes it, the schema's input type, so
 * every field with a default may be left out, nested ones too (a go/no-go criterion's `required`, a
 * sign-off's `count`, `components`, `scope`, `goNoGo.criteria`).
 */
export type ReleaseSpecInput = z.input<typeof releaseSpecSchema>;

const releasePath = (name: string) => `${API_PREFIX}/releases/${encodeURIComponent(name)}`;

export function releasesApi(call: Call) {
  return {
    /** Creates a Release (`POST /api/v1/releases`); the server names it when `name` is left out. */
    async create(spec: ReleaseSpecInput, options: { name?: string; labels?: Record<string, string> } = {}): Promise<ReleaseObject> {
      const metadata = { ...(options.name !== undefined ? { name: options.name } : {}), ...(options.labels ? { labels: options.labels } : {}) };
      return call('POST', `${API_PREFIX}/releases`, releaseObjectSchema, { body: { apiVersion: API_VERSION, kind: 'Release', metadata, spec } });
    },

    /** Records a result; a later one with the same name and service replaces it. */
    postResult(name: string, result: ReleaseResultRequest) {
      return call('POST', `${releasePath(name)}/results`, releaseResultResponseSchema, { body: result });
    },

    /** Asks for a scope change after the freeze (409 `not-frozen` before it). */
    requestException(name: string, request: ScopeExceptionRequest) {
      return call('POST', `${releasePath(name)}/scope-exceptions`, scopeExceptionResponseSchema, { body: request });
    },

    /** Approves (applying the scope change) or rejects an exception; release managers other than the requester. */
    decideException(name: string, id: string, decision: ScopeExceptionDecisionRequest) {
      return call('POST', `${releasePath(name)}/scope-exceptions/${encodeURIComponent(id)}/decision`, scopeExceptionResponseSchema, { body: decision });
    },

    /** Signs the release off for a group the caller's user belongs to. */
    signoff(name: string, request: SignoffRequest) {
      return call('POST', `${releasePath(name)}/signoffs`, signoffResponseSchema, { body: request });
    },

    /** The criteria and their states for `environment` (default: the release's go/no-go environment). */
    goNoGo(name: string, environment?: string): Promise<GoNoGoView> {
      return call('GET', `${releasePath(name)}/go-no-go`, goNoGoViewSchema, { query: { environment } });
    },

    /** Records go / no-go; `go` fails with 409 gate-refused while a required criterion is not met. */
    decide(name: string, request: GoNoGoDecisionRequest) {
      return call('POST', `${releasePath(name)}/go-no-go`, goNoGoDecisionResponseSchema, { body: request });
    },

    /** Everything `rollgate release show` prints. */
    overview(name: string): Promise<ReleaseOverview> {
      return call('GET', `${releasePath(name)}/overview`, releaseOverviewSchema);
    },
  };
}
export type ReleasesApi = ReturnType<typeof releasesApi>;
