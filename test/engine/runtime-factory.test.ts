/**
 * The default runtime factory builds each environment's data plane from the Service spec: the
 * target and router its `type` names (with `environments.<env>` overrides), and refuses an unknown
 * one with the service's name in the error.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GatewayApiRouter } from '../../src/adapters/routers/gateway-api.js';
import { EmbeddedRouter } from '../../src/adapters/routers/embedded.js';
import { NginxRouter } from '../../src/adapters/routers/nginx.js';
import { HaproxyRouter } from '../../src/adapters/routers/haproxy.js';
import { AnsibleTarget } from '../../src/adapters/targets/ansible.js';
import { CommandTarget } from '../../src/adapters/targets/command.js';
import { KubernetesTarget } from '../../src/adapters/targets/kubernetes.js';
import { serviceSpecSchema, type ServiceSpec } from '../../src/core/resources/service.js';
import { createRuntimeRegistry, defaultRuntimeFactory, runtimeKey, specForEnvironment } from '../../src/engine/runtime.js';

const dir = mkdtempSync(path.join(tmpdir(), 'rollgate-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (extra: Record<string, unknown>): ServiceSpec =>
  serviceSpecSchema.parse({ owner: 'team', target: { type: 'process', command: 'node app.js' }, ...extra });

describe('defaultRuntimeFactory', () => {
  const factory = defaultRuntimeFactory({ logDir: path.join(dir, 'logs'), workingDir: dir });

  it('builds the embedded router by default, with builtin statistics', async () => {
    const runtime = await factory('shop', spec({}));
    expect(runtime.router).toBeInstanceOf(EmbeddedRouter);
    expect(runtime.metrics.builtin).toBeDefined();
    await runtime.close();
  });

  it('builds an NGINX router (include file resolved against the working dir), with no builtin statistics', async () => {
    const runtime = await factory('shop', spec({ router: { type: 'nginx', includeFile: 'nginx/shop.conf', upstream: 'shop' } }));
    expect(runtime.router).toBeInstanceOf(NginxRouter);
    expect(runtime.metrics).toEqual({});
    expect(runtime.address?.()).toBeNull();
  });

  it('builds an HAProxy router on the admin socket, with no builtin statistics', async () => {
    const runtime = await factory('shop', spec({ router: { type: 'haproxy', adminSocket: 'run/haproxy.sock', backend: 'shop' } }));
    expect(runtime.router).toBeInstanceOf(HaproxyRouter);
    expect(runtime.metrics).toEqual({});
  });

  it('builds a Gateway API router from a kubeconfig, and says clearly when there is none', async () => {
    const gateway = { type: 'gateway-api', namespace: 'shop', httpRoute: 'shop', stableBackend: 'shop-stable', canaryBackend: 'shop-canary' };
    await expect(factory('shop', spec({ router: { ...gateway, kubeconfig: 'missing-kubeconfig' } }))).rejects.toThrow(/kubeconfig|missing-kubeconfig/i);
    writeFileSync(
      path.join(dir, 'kubeconfig'),
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: local, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: rollgate, user: {token: t}}]',
        'contexts: [{name: local, context: {cluster: local, user: rollgate}}]',
        'current-context: local',
      ].join('\n'),
    );
    const runtime = await factory('shop', spec({ router: { ...gateway, kubeconfig: 'kubeconfig' } }));
    expect(runtime.router).toBeInstanceOf(GatewayApiRouter);
    expect(runtime.metrics).toEqual({});
  });

  it('builds command and Ansible targets from their specs, and refuses an unknown one naming the service', async () => {
    const command = await factory('shop', spec({ target: { type: 'command', deploy: './deploy.sh', endpoints: ['127.0.0.1:{{port}}'], timeout: '30s' } }), 'prod');
    expect(command.target).toBeInstanceOf(CommandTarget);
    await command.target.close();
    const ansible = await factory('shop', spec({ target: { type: 'ansible', playbook: 'deploy.playbook', extraVars: { replicas: 2 } } }));
    expect(ansible.target).toBeInstanceOf(AnsibleTarget);
    await ansible.target.close();
    const unknown = { ...spec({}), target: { type: 'nomad', job: 'shop' } } as unknown as ServiceSpec;
    await expect(factory('shop', unknown)).rejects.toThrow(/service "shop": target type "nomad" is not supported yet/);
  });

  it('builds a kubernetes target from a kubeconfig: its tracks, image and timeout, and the Gateway API router\'s Services as endpoints', async () => {
    const kubeconfig = path.join(dir, 'kubeconfig-k8s');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: local, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
        'users: [{name: rollgate, user: {token: t}}]',
        'contexts: [{name: local, context: {cluster: local, user: rollgate}}]',
        'current-context: local',
      ].join('\n'),
    );
    const kubernetes = { type: 'kubernetes', namespace: 'shop', deployment: 'shop-canary', kubeconfig: 'kubeconfig-k8s' };
    await expect(factory('shop', spec({ target: { ...kubernetes, kubeconfig: 'missing-kubeconfig' } }))).rejects.toThrow(/missing-kubeconfig/);

    const plain = await factory('shop', spec({ target: { ...kubernetes, image: 'registry.example/shop:{version}', timeout: '90s', replicas: 3, container: 'app' } }));
    expect(plain.target).toBeInstanceOf(KubernetesTarget);
    const target = plain.target as KubernetesTarget;
    expect(target.config).toMatchObject({ service: 'shop', namespace: 'shop', deployment: 'shop-canary', stableDeployment: 'shop-stable', image: 'registry.example/shop:{version}', timeoutMs: 90_000, replicas: 3, container: 'app' });
    expect(target.config.services).toBeUndefined();
    expect(target.capabilities).toEqual({ replicas: true, logs: false });
    await plain.close();

    const gateway = { type: 'gateway-api', namespace: 'edge', httpRoute: 'shop', stableBackend: 'shop-stable', canaryBackend: 'shop-canary', port: 8080, kubeconfig: 'kubeconfig-k8s' };
    const routed = await factory('shop', spec({ target: { ...kubernetes, stableDeployment: 'shop-main' }, router: gateway }), 'prod');
    expect(routed.router).toBeInstanceOf(GatewayApiRouter);
    expect((routed.target as KubernetesTarget).config).toMatchObject({ stableDeployment: 'shop-main', services: { stable: 'shop-stable', canary: 'shop-canary', port: 8080, namespace: 'edge' } });
    await routed.close();
    expect(() => serviceSpecSchema.parse({ owner: 'team', target: { ...kubernetes, stableDeployment: 'shop-canary' } })).toThrow(/must name another Deployment/);
  });

  it('gives each environment its own data plane, with its overrides', async () => {
    const base = spec({ environments: { prod: { router: { type: 'embedded', listen: '127.0.0.1:0', sticky: true } } } });
    expect(specForEnvironment(base, 'prod').router).toEqual({ type: 'embedded', listen: '127.0.0.1:0', sticky: true });
    expect(specForEnvironment(base, 'dev')).toBe(base);
    expect(runtimeKey('shop')).toBe('shop');
    expect(runtimeKey('shop', 'prod')).toBe('shop@prod');
    const registry = createRuntimeRegistry(factory);
    const [dev, prod] = await Promise.all([registry.get('shop', base, 'dev'), registry.get('shop', base, 'prod')]);
    expect(dev).not.toBe(prod);
    expect(await registry.get('shop', base, 'prod')).toBe(prod);
    expect(registry.services().sort()).toEqual(['shop@dev', 'shop@prod']);
    await registry.closeAll();
  });
});
