import { z } from 'zod';
import { durationSchema, nameSchema } from './common.js';

const healthCheckSchema = z.strictObject({
  path: z.string().startsWith('/').default('/healthz'),
  intervalSeconds: z.number().positive().optional(),
  timeoutSeconds: z.number().positive().optional(),
});

const envSchema = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'invalid environment variable name'), z.string());

export const processTargetSchema = z.strictObject({
  type: z.literal('process'),
  /** Shell command; `PORT` and `ROLLGATE_VERSION` are set in its environment. */
  command: z.string().min(1),
  workingDir: z.string().optional(),
  env: envSchema.optional(),
  healthCheck: healthCheckSchema.optional(),
  replicas: z.number().int().min(1).optional(),
});

export const commandTargetSchema = z.strictObject({
  type: z.literal('command'),
  deploy: z.string().min(1),
  health: z.string().optional(),
  retire: z.string().optional(),
  timeout: durationSchema.optional(),
  env: envSchema.optional(),
});

export const ansibleTargetSchema = z.strictObject({
  type: z.literal('ansible'),
  playbook: z.string().min(1),
  inventory: z.string().optional(),
  extraVars: z.record(z.string(), z.string()).optional(),
  timeout: durationSchema.optional(),
});

export const kubernetesTargetSchema = z.strictObject({
  type: z.literal('kubernetes'),
  namespace: z.string().min(1),
  deployment: z.string().min(1),
  container: z.string().optional(),
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
    adminSocket: z.string().min(1),
    backend: z.string().min(1),
    stableServer: z.string().optional(),
    canaryServer: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('nginx'), includeFile: z.string().min(1), upstream: z.string().min(1) }),
  z.strictObject({
    type: z.literal('gateway-api'),
    namespace: z.string().min(1),
    httpRoute: z.string().min(1),
    stableBackend: z.string().min(1),
    canaryBackend: z.string().min(1),
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
