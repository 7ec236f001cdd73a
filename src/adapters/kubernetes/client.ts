/**
 * The Kubernetes API as Rollgate's Kubernetes adapters use it (the Gateway API router and the
 * kubernetes deploy target): two raw requests, narrowed to a small structural interface
 * (DESIGN.md: vendor SDK types are narrowed to the subset used), so tests and other transports can
 * stand in for it.
 *
 * The implementation takes the cluster's address, TLS settings and credentials from a kubeconfig
 * through @kubernetes/client-node's KubeConfig (`loadFromFile` / `loadFromDefault`, then
 * `applyToHTTPSOptions`, which also runs exec and auth-provider plugins such as the cloud providers'
 * token helpers), and sends the request itself with node:http / node:https. The generated typed
 * clients are not used: the adapters need a GET and a server-side apply PATCH on a few objects.
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** The content type of a server-side apply request. Its body here is JSON, which is YAML. */
export const APPLY_CONTENT_TYPE = 'application/apply-patch+yaml';

/** The field manager of every server-side apply Rollgate sends. */
export const FIELD_MANAGER = 'rollgate';

/** The two calls the adapters make. Paths are absolute API paths (`/apis/...`), query included. */
export interface KubeClient {
  /** PATCH `path` with the serialized `body` sent as `contentType`; resolves to the returned object. */
  patch(path: string, body: string, contentType: string): Promise<unknown>;
  /** GET `path`; resolves to the returned object. Rejects with KubeApiError (status 404 when absent). */
  get(path: string): Promise<unknown>;
}

/** A non-2xx answer from the API server, with its `Status` reason and message when it sent one. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string | null = null,
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubeConfigClientOptions {
  /** kubeconfig file; absent: $KUBECONFIG, then ~/.kube/config, then the in-cluster service account. */
  kubeconfig?: string;
  /** Context to use instead of the file's current-context. */
  context?: string;
  /** Per-request timeout, ms. Default 10000. */
  timeoutMs?: number;
}

/**
 * Loads the kubeconfig and returns a client for its current (or the given) context. Throws when no
 * kubeconfig is found (client-node would otherwise fall back to http://localhost:8080 silently) or
 * the context or its cluster does not exist.
 */
export function kubeClientFromKubeConfig(options: KubeConfigClientOptions = {}): KubeClient & { readonly server: string } {
  const kc = new KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else {
    kc.loadFromDefault();
    const cluster = kc.getCurrentCluster();
    if (kc.getCurrentContext() === 'loaded-context' && cluster?.name === 'cluster' && cluster.server === 'http://localhost:8080') {
      throw new Error('no kubeconfig found ($KUBECONFIG, ~/.kube/config or an in-cluster service account); set the `kubeconfig` of the router or target');
    }
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new Error(`kubeconfig has no context "${options.context}"`);
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`kubeconfig context "${kc.getCurrentContext()}" names no cluster it defines`);
  return kubeClient(kc, cluster.server, options.timeoutMs ?? 10_000);
}

function kubeClient(kc: KubeConfig, server: string, timeoutMs: number): KubeClient & { readonly server: string } {
  // The server URL may carry a path prefix (API proxies such as Rancher's): keep it.
  const base = server.replace(/\/+$/, '');
  const send = async (method: 'GET' | 'PATCH', path: string, body?: string, contentType?: string): Promise<unknown> => {
    const url = new URL(base + path);
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const options: https.RequestOptions = { method, headers };
    // Credentials (bearer token, client certificate, basic auth, exec plugins), CA and the agent.
    await kc.applyToHTTPSOptions(options);
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<unknown>((resolve, reject) => {
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = null;
          try {
            parsed = text.length > 0 ? JSON.parse(text) : null;
          } catch {
            parsed = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed);
          const kubeStatus = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown; reason?: unknown }) : {};
          const message = typeof kubeStatus.message === 'string' ? kubeStatus.message : text.slice(0, 500) || res.statusMessage || 'no message';
          reject(new KubeApiError(status, `${method} ${path}: ${status} ${message}`, typeof kubeStatus.reason === 'string' ? kubeStatus.reason : null, parsed));
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer from ${base} in ${timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof KubeApiError ? err : new Error(`${method} ${path}: ${err.message}`)));
      req.end(body);
    });
  };
  return {
    server: base,
    patch: (path, body, contentType) => send('PATCH', path, body, contentType),
    get: (path) => send('GET', path),
  };
}
