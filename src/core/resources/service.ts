import { z } from 'zod';
import { envSchema, secretRefSchema } from '../secrets/env.js';
import { durationSchema, nameSchema } from './common.js';

const healthCheckSchema = z.strictObject({
  path: z.string().startsWith('/').default('/healthz'),
  intervalSeconds: z.number().positive().optional(),
  timeoutSeconds: z.number().positive().optional(),
});

export const processTargetSchema = z.strictObject({
  type: z.literal('process'),
  /** Shell command; `PORT` and `ROLLGATE_VERSION` are set in its environment. */
  command: z.string().min(1),
  workingDir: z.string().optional(),
  env: envSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  replicas: z.number().int().min(1).optional(),
});

const endpointTemplateSchema = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|([A-Za-z0-9.-]|\{\{(version|service|environment)\}\})+):(\d{1,5}|\{\{port\}\})$/,
    'must be "host:port"; only {{port}}, {{version}}, {{service}} and {{environment}} are replaced',
  );

const stepHealthSchema = z.strictObject({
  /** "0s": checked only after deploys. Default 10s (command), 30s (ansible). */
  interval: durationSchema.optional(),
  timeout: durationSchema.optional(),
  startTimeout: durationSchema.optional(),
});

/** User commands run with ROLLGATE_* facts in their environment (docs: examples/ansible/README.md). */
export const commandTargetSchema = z.strictObject({
  type: z.literal('command'),
  deploy: z.string().min(1),
  health: z.string().min(1).optional(),
  retire: z.string().min(1).optional(),
  timeout: durationSchema.optional(),
  healthCheck: stepHealthSchema.optional(),
  /** Where each version answers when the deploy step prints no ROLLGATE_ENDPOINT= line. */
  endpoints: z.array(endpointTemplateSchema).min(1).optional(),
  scales: z.boolean().optional(),
  workingDir: z.string().optional(),
  env: envSchema.optional(),
});

/** ansible-playbook with rollgate_* extra vars (rollgate_action: deploy | health | retire). */
export const ansibleTargetSchema = z.strictObject({
  type: z.literal('ansible'),
  playbook: z.string().min(1),
  inventory: z.string().min(1).optional(),
  /** Values are JSON; `{ secretRef: { name, key } }` is a secret, resolved at each run (docs/secrets.md). */
  extraVars: z
    .record(
      z.string().regex(/^(?!rollgate_)[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name not starting with rollgate_'),
      z.union([
        z.strictObject({ secretRef: secretRefSchema }),
        z.unknown().refine((value) => !(typeof value === 'object' && value !== null && !Array.isArray(value) && 'secretRef' in value), 'a secret reference is { secretRef: { name, key } }'),
      ]),
    )
    .optional(),
  health: z.boolean().optional(),
  healthCheck: stepHealthSchema.optional(),
  timeout: durationSchema.optional(),
  endpoints: z.array(endpointTemplateSchema).min(1).optional(),
  scales: z.boolean().optional(),
  extraArgs: z.array(z.string().min(1)).optional(),
  workingDir: z.string().optional(),
  env: envSchema.optional(),
});

/**
 * Two existing Deployments, one per track (docs/adr/0006-kubernetes-target.md): a new version runs
 * on the canary track first and, at promotion, on the stable track. Rollgate server-side applies
 * (field manager `rollgate`) their `spec.replicas`, the container's `image` and `env`, and the pod
 * template annotation `rollgate.dev/version`; it never creates or deletes them.
 */
export const kubernetesTargetSchema = z.strictObject({
  type: z.literal('kubernetes'),
  /** Namespace of both Deployments. */
  namespace: z.string().min(1),
  /** The canary track: the Deployment a new version runs on first. */
  deployment: z.string().min(1),
  /** The stable track (default: `deployment` with its `-canary` suffix replaced by `-stable`, or `<deployment>-stable`). */
  stableDeployment: z.string().min(1).optional(),
  /** The container that runs the version (default: the pod template's only container). */
  container: z.string().min(1).optional(),
  /**
   * Image reference with `{version}` where the version goes, e.g. `ghcr.io/stefanprodan/podinfo:{version}`.
   * Default: the container's current image with its tag set to the version. A deployment with an
   * artifact digest runs `<image>@<digest>` (unless the image already names a digest).
   */
  image: z
    .string()
    .regex(/\{version\}/, 'must contain {version}')
    .regex(/^[^\s]+$/, 'must not contain white space')
    .optional(),
  /**
   * Pods a track runs while it serves a version, whatever count the engine asks for (a rollout
   * asks for 1 today). Absent: the engine's count.
   */
  replicas: z.number().int().min(1).optional(),
  /** How long ensure waits for a track to finish rolling out before it reports the version still starting (default 60s). */
  timeout: durationSchema.optional(),
  /** kubeconfig file (relative: to the working dir); absent: $KUBECONFIG, ~/.kube/config, in-cluster. */
  kubeconfig: z.string().min(1).optional(),
  /** kubeconfig context; absent: its current-context. */
  context: z.string().min(1).optional(),
}).superRefine((target, ctx) => {
  if (target.stableDeployment !== undefined && target.stableDeployment === target.deployment) {
    ctx.addIssue({ code: 'custom', path: ['stableDeployment'], message: 'must name another Deployment than `deployment` (the canary track)' });
  }
});

export const targetSchema = z.discriminatedUnion('type', [
  processTargetSchema,
  commandTargetSchema,
  ansibleTargetSchema,
  kubernetesTargetSchema,
]);

const listenSchema = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'must be "host:port"');

export const routerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('embedded'), listen: listenSchema, sticky: z.boolean().optional() }),
  z.strictObject({
    type: z.literal('haproxy'),
    /** HAProxy's admin socket (stats socket ... level admin). */
    adminSocket: z.string().min(1),
    backend: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, "_", ".", ":" or "-"'),
    /** Backend for header/cookie routes (default `<backend>_canary`). */
    canaryBackend: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, "_", ".", ":" or "-"').optional(),
    /** Server slot name prefixes (default `stable` / `canary`: stable1..N, canary1..N). */
    stableServer: z.string().regex(/^[A-Za-z0-9_.:-]*[A-Za-z_.:-]$/, 'a server name prefix not ending in a digit').optional(),
    canaryServer: z.string().regex(/^[A-Za-z0-9_.:-]*[A-Za-z_.:-]$/, 'a server name prefix not ending in a digit').optional(),
    /** Where the route/state maps live (default: found through `show map`). */
    mapDir: z.string().startsWith('/').optional(),
    /** Write the state files so an HAProxy restart keeps the rollout (default true). */
    persist: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('nginx'),
    /** The include file Rollgate owns (upstreams and maps); nginx.conf includes it. */
    includeFile: z.string().min(1),
    upstream: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, 'letters, digits, "_", "." or "-"'),
    /** nginx binary (default /usr/sbin/nginx). */
    nginx: z.string().min(1).optional(),
    /** Main config for `nginx -t` and reloads (default: nginx's own). */
    configFile: z.string().min(1).optional(),
    prefix: z.string().min(1).optional(),
    /** When set, each reload is confirmed (new workers up, old ones not accepting). */
    pidFile: z.string().min(1).optional(),
    /** Run nginx through this, e.g. ["sudo", "-n"]. */
    commandPrefix: z.array(z.string().min(1)).optional(),
    reloadCommand: z.array(z.string().min(1)).min(1).optional(),
    reloadTimeout: durationSchema.optional(),
    keepalive: z.number().int().min(0).optional(),
  }),
  z.strictObject({
    type: z.literal('gateway-api'),
    namespace: z.string().min(1),
    httpRoute: z.string().min(1),
    stableBackend: z.string().min(1),
    canaryBackend: z.string().min(1),
    /** Service port of both backends (Gateway API requires one for a Service backendRef). */
    port: z.number().int().min(1).max(65535).default(80),
    /** kubeconfig file (relative: to the working dir); absent: $KUBECONFIG, ~/.kube/config, in-cluster. */
    kubeconfig: z.string().min(1).optional(),
    /** kubeconfig context; absent: its current-context. */
    context: z.string().min(1).optional(),
  }),
]);

export const serviceSpecSchema = z.strictObject({
  description: z.string().optional(),
  owner: z.string().min(1),
  tier: z.enum(['critical', 'high', 'standard', 'low']).default('standard'),
  dependsOn: z.array(nameSchema).optional(),
  businessServices: z.array(z.string().min(1)).optional(),
  /** RolloutStrategy used when a deployment does not name one. */
  strategy: nameSchema.optional(),
  target: targetSchema,
  router: routerSchema.optional(),
  /**
   * Per-environment data planes: each environment runs its own instances behind its own router;
   * an entry here replaces `target` and/or `router` in that environment (e.g. prod listens on
   * another port, or deploys with Ansible while dev runs local processes).
   */
  environments: z.record(nameSchema, z.strictObject({ target: targetSchema.optional(), router: routerSchema.optional() })).optional(),
});
export type ServiceSpec = z.infer<typeof serviceSpecSchema>;
