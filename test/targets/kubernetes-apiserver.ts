/**
 * A recording stand-in for the Kubernetes API server on 127.0.0.1 that emulates apps/v1
 * Deployments, for the kubernetes deploy target:
 * - records every request (method, path with query, content type, Authorization, body, status);
 *   requires `Authorization: Bearer <token>` (401 otherwise);
 * - `GET /apis/apps/v1/namespaces/NS/deployments/NAME` returns the stored Deployment, 404 `Status`
 *   when there is none;
 * - `PATCH` of the same path with `application/apply-patch+yaml` is a server-side apply: the body
 *   (YAML) must name the object of the URL; it is merged with a simplified field-ownership model —
 *   labels and annotations per key, list-map entries of `containers` / `initContainers` /
 *   `volumes` / `volumeMounts` by `name` with each of their fields owned on its own, `env` entries
 *   by `name` as a whole, every other value as a whole (atomic). A field owned by another manager
 *   with another value is a 409 conflict unless `force=true` (which moves it over); fields the
 *   manager applied before and leaves out now are removed. The merged Deployment is validated as
 *   the API server would (selector, containers with a name and an image, replicas, env entries)
 *   and refused with 422 when invalid. `metadata.generation` goes up when the spec changes;
 *   `metadata.managedFields` lists each manager's fields in FieldsV1 form;
 * - a Deployment controller and kubelet: each pod is an HTTP server on 127.0.0.1 (it answers any
 *   request with `{version, pod, image}` and `X-Demo-Version`: the template's `rollgate.dev/version`,
 *   else the image tag), ready `readyDelayMs` after it
 *   started unless its container's env has `UNHEALTHY=1` or the test made the Deployment
 *   `unschedulable` (then never). A changed pod template
 *   starts new pods at once and stops the old ones when all new ones are ready (maxSurge 100%,
 *   maxUnavailable 0); a pod that goes leaves the Service's endpoints at once and stops listening
 *   `terminationGraceMs` later, letting requests in flight finish; scaling down does that before
 *   the PATCH answers (so a retired version's pods refuse connections as soon as retire returns). `status` (observedGeneration, replicas,
 *   updated/ready/available replicas, Progressing / Available conditions) follows, and a
 *   rollout not finished `progressDeadlineMs` after the spec changed gets `Progressing=False`,
 *   reason `ProgressDeadlineExceeded`, as the real controller does after progressDeadlineSeconds;
 * - any other path is forwarded to `forward` when given (e.g. the HTTPRoute API server of
 *   test/routers/gateway-api-apiserver.ts, so one kubeconfig serves both), else 404.
 * Not emulated: other kinds, watches, resourceVersion preconditions, subresources, pod restarts.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export interface RecordedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  path: string;
  query: Record<string, string>;
  contentType: string | null;
  authorization: string | null;
  body: string;
  status: number;
}

export interface EmulatedPod {
  uid: string;
  /** "127.0.0.1:port" of its HTTP server. */
  address: string;
  version: string | null;
  image: string;
  ready: boolean;
  /** Pod template hash: pods of the current template vs old ones. */
  hash: string;
}

export interface KubeApiServer {
  url: string;
  port: number;
  token: string;
  readonly requests: RecordedRequest[];
  /** The stored Deployment (a copy), or null. */
  get(namespace: string, name: string): Record<string, any> | null;
  /** Readable field path (`spec.template.spec.containers[web].image`) → manager. */
  owners(namespace: string, name: string): Record<string, string>;
  /** Server-side applies `object` as `manager` with force, as `kubectl apply --server-side` would. */
  seed(object: Record<string, any>, manager?: string): Promise<void>;
  /** The Deployment's running pods (every one, or only the ready ones). */
  pods(namespace: string, name: string, options?: { readyOnly?: boolean }): EmulatedPod[];
  /** Pods this Deployment starts from now on never get ready (no room on the nodes, a quota). */
  unschedulable(namespace: string, name: string): void;
  /** The next `count` requests get `status` with a Status body carrying `message`. */
  failNext(status: number, message: string, count?: number): void;
  clearRequests(): void;
  close(): Promise<void>;
}

const DEPLOYMENT_PATH = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/;
/** Lists merged by `name` (list-map keys), and which of them are atomic per entry. */
const LIST_MAPS = new Set(['containers', 'initContainers', 'volumes', 'volumeMounts', 'env']);
const ATOMIC_ENTRIES = new Set(['env']);

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const statusBody = (status: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code: status });
const isRecord = (value: unknown): value is Record<string, any> => typeof value === 'object' && value !== null && !Array.isArray(value);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

// ------------------------------------------------------------------------------ field paths

/** A field path in FieldsV1 segments: `f:spec`, `k:{"name":"web"}`. */
type Segments = string[];
const keySegment = (name: string) => `k:${JSON.stringify({ name })}`;

/** The leaf fields of an applied configuration and their values. */
function flatten(config: Record<string, any>): Map<string, { segments: Segments; value: unknown }> {
  const fields = new Map<string, { segments: Segments; value: unknown }>();
  const add = (segments: Segments, value: unknown) => fields.set(JSON.stringify(segments), { segments, value });
  const walk = (value: unknown, segments: Segments, key: string | null) => {
    if (Array.isArray(value) && key !== null && LIST_MAPS.has(key) && value.every((entry) => isRecord(entry) && typeof entry.name === 'string')) {
      for (const entry of value as Array<Record<string, any>>) {
        const at = [...segments, keySegment(entry.name)];
        if (ATOMIC_ENTRIES.has(key)) add(at, entry);
        else for (const [field, inner] of Object.entries(entry)) walk(inner, [...at, `f:${field}`], field);
      }
    } else if (isRecord(value) && Object.keys(value).length > 0) {
      for (const [field, inner] of Object.entries(value)) walk(inner, [...segments, `f:${field}`], field);
    } else add(segments, value);
  };
  for (const part of ['labels', 'annotations'] as const) {
    for (const [key, value] of Object.entries(config.metadata?.[part] ?? {})) add(['f:metadata', `f:${part}`, `f:${key}`], value);
  }
  if (config.spec !== undefined) walk(config.spec, ['f:spec'], 'spec');
  return fields;
}

function step(current: any, segment: string, create: boolean): any {
  if (segment.startsWith('f:')) {
    const field = segment.slice(2);
    if (!isRecord(current)) return undefined;
    if (current[field] === undefined && create) current[field] = {};
    return current[field];
  }
  const name = (JSON.parse(segment.slice(2)) as { name: string }).name;
  if (!Array.isArray(current)) return undefined;
  let entry = current.find((e: any) => e?.name === name);
  if (!entry && create) {
    entry = { name };
    current.push(entry);
  }
  return entry;
}

function getLeaf(object: Record<string, any>, segments: Segments): unknown {
  let current: any = object;
  for (const segment of segments) current = step(current, segment, false);
  return current;
}

function setLeaf(object: Record<string, any>, segments: Segments, value: unknown): void {
  let current: any = object;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const next = segments[i + 1]!;
    if (segment.startsWith('f:') && next.startsWith('k:')) {
      const field = segment.slice(2);
      if (!Array.isArray(current[field])) current[field] = [];
      current = current[field];
    } else current = step(current, segment, true);
  }
  const last = segments.at(-1)!;
  if (last.startsWith('f:')) current[last.slice(2)] = structuredClone(value);
  else {
    const name = (JSON.parse(last.slice(2)) as { name: string }).name;
    const index = current.findIndex((e: any) => e?.name === name);
    if (index >= 0) current[index] = structuredClone(value);
    else current.push(structuredClone(value));
  }
}

function deleteLeaf(object: Record<string, any>, segments: Segments): void {
  const chain: any[] = [object];
  for (const segment of segments.slice(0, -1)) {
    const next = step(chain.at(-1), segment, false);
    if (next === undefined) return;
    chain.push(next);
  }
  const last = segments.at(-1)!;
  const parent = chain.at(-1);
  if (last.startsWith('f:')) delete parent[last.slice(2)];
  else if (Array.isArray(parent)) {
    const name = (JSON.parse(last.slice(2)) as { name: string }).name;
    const index = parent.findIndex((e: any) => e?.name === name);
    if (index >= 0) parent.splice(index, 1);
  }
  // Prune what became empty on the way up (never a list entry that still has its name).
  for (let i = segments.length - 2; i >= 0; i--) {
    const holder = chain[i];
    const segment = segments[i]!;
    const value = step(holder, segment, false);
    const empty = (Array.isArray(value) && value.length === 0) || (isRecord(value) && Object.keys(value).length === 0);
    if (!empty) break;
    if (segment.startsWith('f:')) delete holder[segment.slice(2)];
  }
}

/** `["f:spec","f:template",…,"k:{\"name\":\"web\"}","f:image"]` → `spec.template.….containers[web].image`. */
function readable(segments: Segments): string {
  return segments
    .map((segment) => (segment.startsWith('f:') ? `.${segment.slice(2)}` : `[${(JSON.parse(segment.slice(2)) as { name: string }).name}]`))
    .join('')
    .slice(1);
}

/** FieldsV1 of one manager's fields. */
function fieldsV1(paths: Array<{ segments: Segments; value: unknown }>): Record<string, unknown> {
  const root: Record<string, any> = {};
  for (const { segments, value } of paths) {
    let node = root;
    for (const segment of segments) {
      node[segment] ??= {};
      node = node[segment];
      if (segment.startsWith('k:')) node['.'] = {};
    }
    if (isRecord(value)) for (const key of Object.keys(value)) node[`f:${key}`] = {};
  }
  return root;
}

// ------------------------------------------------------------------------------ validation

function validate(object: Record<string, any>): string[] {
  const errors: string[] = [];
  const spec = object.spec;
  if (!isRecord(spec)) return ['spec: Required value'];
  if (spec.replicas !== undefined && (!Number.isInteger(spec.replicas) || spec.replicas < 0)) errors.push(`spec.replicas: Invalid value: ${JSON.stringify(spec.replicas)}: must be greater than or equal to 0`);
  const selector = spec.selector?.matchLabels;
  if (!isRecord(selector) || Object.keys(selector).length === 0) errors.push('spec.selector: Required value');
  const labels = spec.template?.metadata?.labels ?? {};
  if (isRecord(selector) && Object.entries(selector).some(([k, v]) => labels[k] !== v)) errors.push('spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`');
  for (const part of ['annotations', 'labels']) {
    for (const [key, value] of Object.entries(spec.template?.metadata?.[part] ?? {})) {
      if (typeof value !== 'string') errors.push(`spec.template.metadata.${part}[${key}]: must be a string`);
    }
  }
  const containers = spec.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) errors.push('spec.template.spec.containers: Required value');
  else {
    containers.forEach((container: Record<string, any>, i: number) => {
      if (typeof container.name !== 'string' || container.name === '') errors.push(`spec.template.spec.containers[${i}].name: Required value`);
      if (typeof container.image !== 'string' || container.image.trim() === '') errors.push(`spec.template.spec.containers[${i}].image: Required value`);
      (container.env ?? []).forEach((env: Record<string, any>, j: number) => {
        if (typeof env.name !== 'string' || env.name === '') errors.push(`spec.template.spec.containers[${i}].env[${j}].name: Required value`);
        if (env.value !== undefined && env.valueFrom !== undefined) errors.push(`spec.template.spec.containers[${i}].env[${j}].valueFrom: Invalid value: may not be specified when \`value\` is not empty`);
      });
    });
  }
  return errors;
}

// ------------------------------------------------------------------------------ the server

interface Pod extends EmulatedPod {
  server: http.Server;
  readyAt: number | null;
}

interface Stored {
  object: Record<string, any>;
  /** JSON of field segments → manager. */
  owners: Map<string, string>;
  /** Manager → fields of its last applied configuration. */
  applied: Map<string, Set<string>>;
  values: Map<string, { segments: Segments; value: unknown }>;
  pods: Pod[];
  hash: string | null;
  /** When the spec last changed (the progress deadline counts from there). */
  progressSince: number;
  timer: NodeJS.Timeout | null;
}

export async function startKubeApiServer(
  options: { token?: string; readyDelayMs?: number; progressDeadlineMs?: number; terminationGraceMs?: number; forward?: string } = {},
): Promise<KubeApiServer> {
  const token = options.token ?? 'test-token-not-a-secret';
  const readyDelayMs = options.readyDelayMs ?? 30;
  const progressDeadlineMs = options.progressDeadlineMs ?? 600;
  const terminationGraceMs = options.terminationGraceMs ?? 30;
  const store = new Map<string, Stored>();
  const requests: RecordedRequest[] = [];
  const failures: Array<{ status: number; message: string }> = [];
  let resourceVersion = 5000;
  let uidSequence = 0;
  let closed = false;
  const unschedulable = new Set<string>();

  async function startPod(stored: Stored, hash: string): Promise<Pod> {
    const template = stored.object.spec.template;
    const container = template.spec.containers[0];
    // What the pod runs: its template's Rollgate version, else (a Deployment Rollgate never touched) its image tag.
    const tag = /:([^:/@]+)(@|$)/.exec(String(container.image))?.[1] ?? null;
    const version = template.metadata?.annotations?.['rollgate.dev/version'] ?? tag;
    const unhealthy =
      unschedulable.has(`${stored.object.metadata.namespace}/${stored.object.metadata.name}`) ||
      (container.env ?? []).some((e: Record<string, any>) => e.name === 'UNHEALTHY' && e.value === '1');
    const uid = `pod-${++uidSequence}`;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-demo-version': String(version), connection: 'close' });
      res.end(JSON.stringify({ version, pod: uid, image: container.image }));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { uid, address, version, image: container.image, ready: false, hash, server, readyAt: unhealthy ? null : Date.now() + readyDelayMs };
  }

  /**
   * As the kubelet does: the pod is out of the Service's endpoints first (the caller removed it
   * from the list), gets a moment for the requests already on their way, then stops listening
   * and finishes those in flight (cut after 1 s).
   */
  async function stopPod(pod: Pod): Promise<void> {
    if (!closed) await new Promise((resolve) => setTimeout(resolve, terminationGraceMs));
    await new Promise<void>((resolve) => {
      const cut = setTimeout(() => pod.server.closeAllConnections(), closed ? 0 : 1000);
      pod.server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      pod.server.closeIdleConnections();
    });
  }

  /** One reconcile of a Deployment at a time (a timer's and an apply's would start pods twice). */
  const reconciling = new Map<string, Promise<void>>();
  function reconcile(key: string): Promise<void> {
    const run = (reconciling.get(key) ?? Promise.resolve()).then(() => reconcileNow(key));
    reconciling.set(key, run.catch(() => undefined));
    return run;
  }

  /** The Deployment controller and kubelet: pods toward the spec, then the status from the pods. */
  async function reconcileNow(key: string): Promise<void> {
    const stored = store.get(key);
    if (!stored || closed) return;
    if (stored.timer) clearTimeout(stored.timer);
    stored.timer = null;
    const { object } = stored;
    const name = object.metadata.name as string;
    const replicas: number = object.spec.replicas ?? 1;
    const hash = createHash('sha256').update(JSON.stringify(object.spec.template)).digest('hex').slice(0, 10);
    const now = Date.now();
    for (const pod of stored.pods) pod.ready = pod.readyAt !== null && now >= pod.readyAt;
    let current = stored.pods.filter((pod) => pod.hash === hash);
    while (current.length > replicas) {
      const pod = current.pop()!;
      stored.pods.splice(stored.pods.indexOf(pod), 1);
      await stopPod(pod);
    }
    while (current.length < replicas) {
      const pod = await startPod(stored, hash);
      stored.pods.push(pod);
      current.push(pod);
    }
    const old = stored.pods.filter((pod) => pod.hash !== hash);
    if (replicas === 0 || current.every((pod) => pod.ready)) {
      for (const pod of old) {
        stored.pods.splice(stored.pods.indexOf(pod), 1);
        await stopPod(pod);
      }
    }
    stored.hash = hash;

    const ready = stored.pods.filter((pod) => pod.ready).length;
    const updated = current.length;
    const total = stored.pods.length;
    const complete = updated === replicas && total === replicas && ready >= replicas;
    const replicaSet = `ReplicaSet "${name}-${hash}"`;
    const progressing = complete
      ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `${replicaSet} has successfully progressed.` }
      : now - stored.progressSince >= progressDeadlineMs
        ? { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `${replicaSet} has timed out progressing.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `${replicaSet} is progressing.` };
    const available =
      ready >= replicas
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' };
    object.status = {
      observedGeneration: object.metadata.generation,
      replicas: total,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(total - ready > 0 ? { unavailableReplicas: total - ready } : {}),
      conditions: [available, progressing],
    };
    // Come back when a pod turns ready or the progress deadline passes.
    const pending = stored.pods.filter((pod) => !pod.ready && pod.readyAt !== null).map((pod) => pod.readyAt!);
    if (!complete && progressing.reason !== 'ProgressDeadlineExceeded') pending.push(stored.progressSince + progressDeadlineMs);
    if (pending.length > 0) {
      stored.timer = setTimeout(() => void reconcile(key).catch(() => undefined), Math.max(1, Math.min(...pending) - now));
      stored.timer.unref();
    }
  }

  async function apply(namespace: string, name: string, config: Record<string, any>, manager: string, force: boolean): Promise<{ created: boolean; object: Record<string, any> }> {
    if (config?.apiVersion !== 'apps/v1' || config.kind !== 'Deployment') {
      throw new ApiError(400, 'BadRequest', `the applied object must be apps/v1 Deployment, got ${config?.apiVersion} ${config?.kind}`);
    }
    if (config.metadata?.name !== name || (config.metadata?.namespace !== undefined && config.metadata.namespace !== namespace)) {
      throw new ApiError(400, 'BadRequest', `the name or namespace of the object (${config.metadata?.namespace}/${config.metadata?.name}) does not match the URL (${namespace}/${name})`);
    }
    const key = `${namespace}/${name}`;
    const existing = store.get(key);
    const object: Record<string, any> = existing
      ? structuredClone(existing.object)
      : { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace, uid: `uid-${key}`, creationTimestamp: '2030-01-01T12:00:00Z', generation: 0 }, spec: {} };
    const owners = new Map(existing?.owners ?? []);
    const applied = new Map([...(existing?.applied ?? [])].map(([m, set]) => [m, new Set(set)]));
    const values = new Map(existing?.values ?? []);
    const fields = flatten(config);
    const conflicts = [...fields].filter(([field, { segments, value }]) => {
      const owner = owners.get(field);
      return owner !== undefined && owner !== manager && !same(getLeaf(object, segments), value);
    });
    if (conflicts.length > 0 && !force) {
      const list = conflicts.map(([field, { segments }]) => `conflict with "${owners.get(field)}": .${readable(segments)}`).join('; ');
      throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict(s): ${list}`);
    }
    const specBefore = JSON.stringify(object.spec);
    for (const field of applied.get(manager) ?? []) {
      if (!fields.has(field) && owners.get(field) === manager) {
        deleteLeaf(object, JSON.parse(field) as Segments);
        owners.delete(field);
        values.delete(field);
      }
    }
    for (const [field, { segments, value }] of fields) {
      const previous = owners.get(field);
      if (previous !== undefined && previous !== manager && !same(getLeaf(object, segments), value)) applied.get(previous)?.delete(field);
      if (segments[0] === 'f:metadata') {
        object.metadata[segments[1]!.slice(2)] ??= {};
        object.metadata[segments[1]!.slice(2)][segments[2]!.slice(2)] = value;
      } else setLeaf(object, segments, value);
      owners.set(field, manager);
      values.set(field, { segments, value });
    }
    applied.set(manager, new Set(fields.keys()));
    const errors = validate(object);
    if (errors.length > 0) throw new ApiError(422, 'Invalid', `Deployment.apps "${name}" is invalid: ${errors.join('; ')}`);
    const specChanged = !existing || JSON.stringify(object.spec) !== specBefore;
    if (specChanged) object.metadata.generation = (object.metadata.generation ?? 0) + 1;
    object.metadata.resourceVersion = String(++resourceVersion);
    object.metadata.managedFields = [...new Set(owners.values())].sort().map((m) => ({
      manager: m,
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: '2030-01-01T12:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: fieldsV1([...owners].filter(([, owner]) => owner === m).map(([field]) => values.get(field) ?? { segments: JSON.parse(field) as Segments, value: null })),
    }));
    const stored: Stored = existing ?? { object, owners, applied, values, pods: [], hash: null, progressSince: Date.now(), timer: null };
    Object.assign(stored, { object, owners, applied, values });
    if (specChanged) stored.progressSince = Date.now();
    store.set(key, stored);
    await reconcile(key);
    return { created: !existing, object: structuredClone(stored.object) };
  }

  async function handle(req: http.IncomingMessage, url: URL, body: string): Promise<{ status: number; body: unknown }> {
    if (failures.length > 0) {
      const failure = failures.shift()!;
      throw new ApiError(failure.status, failure.status >= 500 ? 'InternalError' : 'BadRequest', failure.message);
    }
    if (req.headers.authorization !== `Bearer ${token}`) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    const match = DEPLOYMENT_PATH.exec(url.pathname)!;
    const namespace = decodeURIComponent(match[1]!);
    const name = decodeURIComponent(match[2]!);
    if (req.method === 'GET') {
      const stored = store.get(`${namespace}/${name}`);
      if (!stored) throw new ApiError(404, 'NotFound', `deployments.apps "${name}" not found`);
      return { status: 200, body: stored.object };
    }
    if (req.method === 'PATCH') {
      const contentType = req.headers['content-type'] ?? '';
      if (contentType !== 'application/apply-patch+yaml') throw new ApiError(415, 'UnsupportedMediaType', `only server-side apply is served here, got Content-Type ${contentType}`);
      const manager = url.searchParams.get('fieldManager');
      if (!manager) throw new ApiError(400, 'BadRequest', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      let config: Record<string, any>;
      try {
        config = parseYaml(body) as Record<string, any>;
      } catch (error) {
        throw new ApiError(400, 'BadRequest', `error decoding YAML: ${(error as Error).message}`);
      }
      const { created, object } = await apply(namespace, name, config, manager, url.searchParams.get('force') === 'true');
      return { status: created ? 201 : 200, body: object };
    }
    throw new ApiError(405, 'MethodNotAllowed', `${req.method} is not supported here`);
  }

  /** Sends the request on to `options.forward` and relays its answer. */
  function forward(req: http.IncomingMessage, url: URL, body: string): Promise<{ status: number; body: string; contentType: string }> {
    return new Promise((resolve, reject) => {
      const target = new URL(url.pathname + url.search, options.forward);
      const headers = { ...req.headers, host: target.host };
      const upstream = http.request(target, { method: req.method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? 'application/json') }));
        res.on('error', reject);
      });
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://apiserver');
        let status: number;
        let text: string;
        let contentType = 'application/json';
        try {
          if (DEPLOYMENT_PATH.test(url.pathname)) {
            const result = await handle(req, url, body);
            status = result.status;
            text = JSON.stringify(result.body);
          } else if (options.forward) {
            ({ status, body: text, contentType } = await forward(req, url, body));
          } else throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
        } catch (error) {
          const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', (error as Error).message);
          status = e.status;
          text = JSON.stringify(statusBody(e.status, e.reason, e.message));
        }
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'] ?? null,
          authorization: req.headers.authorization ?? null,
          body,
          status,
        });
        res.writeHead(status, { 'content-type': contentType });
        res.end(text);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const podsOf = (namespace: string, name: string) => store.get(`${namespace}/${name}`)?.pods ?? [];
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    requests,
    get: (namespace, name) => {
      const stored = store.get(`${namespace}/${name}`);
      return stored ? structuredClone(stored.object) : null;
    },
    owners: (namespace, name) =>
      Object.fromEntries([...(store.get(`${namespace}/${name}`)?.owners ?? [])].map(([field, manager]) => [readable(JSON.parse(field) as Segments), manager])),
    seed: async (object, manager = 'kubectl') => {
      await apply(object.metadata.namespace, object.metadata.name, object, manager, true);
    },
    pods: (namespace, name, { readyOnly = false } = {}) => {
      const now = Date.now();
      return podsOf(namespace, name)
        .map((pod) => ({ uid: pod.uid, address: pod.address, version: pod.version, image: pod.image, hash: pod.hash, ready: pod.readyAt !== null && now >= pod.readyAt }))
        .filter((pod) => !readyOnly || pod.ready);
    },
    unschedulable: (namespace, name) => {
      unschedulable.add(`${namespace}/${name}`);
    },
    failNext: (status, message, count = 1) => {
      for (let i = 0; i < count; i++) failures.push({ status, message });
    },
    clearRequests: () => {
      requests.length = 0;
    },
    close: async () => {
      closed = true;
      for (const stored of store.values()) {
        if (stored.timer) clearTimeout(stored.timer);
        await Promise.all(stored.pods.map(stopPod));
        stored.pods = [];
      }
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** A Deployment as `kubectl apply` would create it: one container, selector and template labels, `replicas`. */
export function deploymentManifest(options: { namespace: string; name: string; container?: string; image: string; replicas?: number; labels?: Record<string, string>; env?: Array<Record<string, unknown>> }): Record<string, any> {
  const labels = options.labels ?? { app: options.name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: options.name, namespace: options.namespace, labels },
    spec: {
      replicas: options.replicas ?? 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: options.container ?? 'app',
              image: options.image,
              ports: [{ name: 'http', containerPort: 8080 }],
              ...(options.env ? { env: options.env } : {}),
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
            },
          ],
        },
      },
    },
  };
}

/**
 * A kubeconfig for `server` in `dir`, with a user holding `token` (context `loopback`, current) and
 * one with a wrong token (context `stranger`). Plain http needs `insecure-skip-tls-verify` for
 * @kubernetes/client-node.
 */
export function writeKubeconfig(dir: string, server: { url: string; token: string }): string {
  const file = path.join(dir, 'kubeconfig');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: loopback',
      '  cluster:',
      `    server: ${server.url}`,
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: rollgate',
      '  user:',
      `    token: ${server.token}`,
      '- name: stranger',
      '  user:',
      '    token: wrong-token',
      'contexts:',
      '- name: loopback',
      '  context: {cluster: loopback, user: rollgate}',
      '- name: stranger',
      '  context: {cluster: loopback, user: stranger}',
      'current-context: loopback',
      '',
    ].join('\n'),
  );
  return file;
}
