/**
 * NginxRouter against a REAL NGINX (the Debian binary, started by the test on 127.0.0.1 with its
 * own prefix in tmp, see nginx-helpers.ts) in front of demo-app processes: the TrafficRouter
 * contract, then what is specific to NGINX — the candidate check, the swap-check-restore of the
 * whole configuration, `.previous`, reload confirmation, refusing a file Rollgate did not write.
 * Skipped with a reason without an nginx binary; failing under CI=true.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NginxConfigError, NginxRouter, type NginxRouterConfig } from '../../src/adapters/routers/nginx.js';
import type { Backends } from '../../src/ports/traffic-router.js';
import { describeTrafficRouterContract } from '../contract/traffic-router-contract.js';
import { sendMany, spawnDemo, type DemoProcess } from '../proxy/helpers.js';
import { describeWithNginx, startNginx, type NginxServer } from './nginx-helpers.js';

const UPSTREAM = 'demo';
const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/nginx');

function routerFor(nginx: NginxServer, extra: Partial<NginxRouterConfig> = {}): NginxRouter {
  return new NginxRouter({
    includeFile: nginx.includeFile,
    upstream: UPSTREAM,
    nginx: nginx.bin,
    configFile: nginx.configFile,
    prefix: `${nginx.dir}/`,
    pidFile: nginx.pidFile,
    ...extra,
  });
}

const versionsOf = async (port: number, n: number, headers?: Record<string, string>) =>
  (await sendMany(port, n, { headers, concurrency: 8 })).map((r) => `${r.status} ${String(r.headers['x-demo-version'])}`);

describeWithNginx('NginxRouter (real nginx)', (bin) => {
  describeTrafficRouterContract(
    'nginx router, demo-app processes',
    async () => {
      const demos: DemoProcess[] = await Promise.all([spawnDemo('1.0.0'), spawnDemo('1.0.0'), spawnDemo('1.1.0')]);
      const backends: Backends = {
        stable: { version: '1.0.0', endpoints: [demos[0]!.endpoint, demos[1]!.endpoint] },
        canary: { version: '1.1.0', endpoints: [demos[2]!.endpoint] },
      };
      const nginx = await startNginx({ bin, upstream: UPSTREAM, stable: backends.stable });
      const router = routerFor(nginx);
      return {
        router,
        backends,
        send: async (n, headers) =>
          (await sendMany(nginx.port, n, { headers, concurrency: 16 })).map((r) => ({ version: String(r.headers['x-demo-version']), status: r.status })),
        teardown: async () => {
          await router.close();
          await nginx.stop();
          await Promise.all(demos.map((d) => d.stop()));
        },
      };
    },
    // Each change is confirmed (new workers, no old worker accepting) before the call returns.
    { settleMs: 0 },
  );

  let demos: DemoProcess[] = [];
  let backends: Backends;
  beforeAll(async () => {
    demos = await Promise.all([spawnDemo('2.0.0'), spawnDemo('2.1.0')]);
    backends = { stable: { version: '2.0.0', endpoints: [demos[0]!.endpoint] }, canary: { version: '2.1.0', endpoints: [demos[1]!.endpoint] } };
  });
  afterAll(async () => {
    await Promise.all(demos.map((d) => d.stop()));
  });

  it('copies and freezes its config, declares its capabilities, validates input without writing', async () => {
    const prefix = ['sudo', '-n'];
    const config = { includeFile: '/tmp/x/demo.conf', upstream: 'demo', commandPrefix: prefix };
    const router = new NginxRouter(config);
    prefix.push('evil');
    config.upstream = 'other';
    expect(router.config.upstream).toBe('demo');
    expect(router.config.commandPrefix).toEqual(['sudo', '-n']);
    expect(Object.isFrozen(router.config)).toBe(true);
    expect(Object.isFrozen(router.config.commandPrefix)).toBe(true);
    expect(router.capabilities).toEqual({ weights: true, headerRouting: true, sticky: false, verify: true });
    expect(router.variable).toBe('rollgate_demo');
    expect(() => new NginxRouter({ includeFile: 'relative.conf', upstream: 'demo' })).toThrow(/absolute/);
    expect(() => new NginxRouter({ includeFile: '/tmp/a.conf', upstream: 'bad name' })).toThrow(/upstream/);
    await expect(router.setWeights({ canary: 101 })).rejects.toThrow(RangeError);
    await expect(router.setBackends({ stable: { version: 'x', endpoints: ['nohost'] }, canary: null })).rejects.toThrow(/host:port/);
    await expect(router.setBackends({ stable: { version: 'x', endpoints: ['a b:80'] }, canary: null })).rejects.toThrow(/host:port/);
    await expect(router.setHeaderRoute({ name: 'r', match: [{ headerName: 'x', regex: '(' }] })).rejects.toThrow(/regular expression/);
    await expect(router.setHeaderRoute({ name: 'r', match: [{ headerName: 'X_Under', exact: 'a' }] })).rejects.toThrow(/letters, digits and "-"/);
    await expect(router.setHeaderRoute({ name: 'r', match: [{ headerName: 'cookie:my-cookie', exact: 'a' }] })).rejects.toThrow(/cookie name/);
    await expect(router.setHeaderRoute({ name: 'r', match: [{ headerName: 'X-A', exact: '' }] })).rejects.toThrow(/empty header/);
    await router.close();
    await expect(router.setWeights({ canary: 0 })).rejects.toThrow(/closed/);
  });

  it('refuses a render nginx -t rejects: live file, .previous and traffic stay as they were', async () => {
    const nginx = await startNginx({ bin, upstream: UPSTREAM, stable: backends.stable });
    const router = routerFor(nginx);
    try {
      await router.setBackends(backends);
      await router.setWeights({ canary: 100 });
      expect(new Set(await versionsOf(nginx.port, 40))).toEqual(new Set(['200 2.1.0']));
      const live = readFileSync(nginx.includeFile, 'utf8');
      const liveInode = statSync(nginx.includeFile).ino;
      const previous = readFileSync(router.previousFile, 'utf8');
      const state = await router.verify();

      // Valid JavaScript, refused by PCRE: an unbounded look-behind.
      const error = await router.setHeaderRoute({ name: 'pcre-refuses', match: [{ headerName: 'X-Canary', regex: '(?<=a+)b' }] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NginxConfigError);
      expect((error as Error).message).toMatch(/nginx -t refused/);
      expect((error as Error).message).toMatch(/lookbehind assertion is not fixed length/);
      expect((error as Error).message).toMatch(/live file was not changed/);

      // An endpoint host NGINX cannot resolve.
      await expect(router.setBackends({ stable: backends.stable, canary: { version: '9.9.9', endpoints: ['no-such-host.invalid:80'] } })).rejects.toThrow(
        /host not found in upstream/,
      );

      expect(readFileSync(nginx.includeFile, 'utf8')).toBe(live);
      expect(statSync(nginx.includeFile).ino).toBe(liveInode);
      expect(readFileSync(router.previousFile, 'utf8')).toBe(previous);
      expect(await router.verify()).toEqual(state);
      expect(new Set(await versionsOf(nginx.port, 40))).toEqual(new Set(['200 2.1.0']));
      expect(new Set(await versionsOf(nginx.port, 20, { 'X-Canary': 'ab' }))).toEqual(new Set(['200 2.1.0']));

      // Still usable afterwards.
      await router.setWeights({ canary: 0 });
      expect(new Set(await versionsOf(nginx.port, 40))).toEqual(new Set(['200 2.0.0']));
    } finally {
      await router.close();
      await nginx.stop();
    }
  });

  it('checks the whole configuration after the swap and restores the live file when it fails', async () => {
    // nginx.conf itself defines demo__canary: the include file alone is fine, the whole configuration is not.
    const nginx = await startNginx({ bin, upstream: UPSTREAM, stable: backends.stable, extraHttp: `upstream ${UPSTREAM}__canary { server 127.0.0.1:9; }` });
    const router = routerFor(nginx);
    try {
      await router.setBackends({ stable: backends.stable, canary: null });
      await router.setWeights({ canary: 50 });
      const live = readFileSync(nginx.includeFile, 'utf8');
      const liveInode = statSync(nginx.includeFile).ino;
      const error = await router.setBackends(backends).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NginxConfigError);
      expect((error as Error).message).toMatch(/duplicate upstream "demo__canary"/);
      expect((error as Error).message).toMatch(/live file was restored/);
      expect(readFileSync(nginx.includeFile, 'utf8')).toBe(live);
      expect(statSync(nginx.includeFile).ino).toBe(liveInode);
      expect(existsSync(`${nginx.includeFile}.rollgate-restore`)).toBe(false);
      expect(await router.verify()).toEqual({ canaryWeight: 50, stableVersion: '2.0.0', canaryVersion: null, headerRoute: null });
      expect(new Set(await versionsOf(nginx.port, 40))).toEqual(new Set(['200 2.0.0']));
    } finally {
      await router.close();
      await nginx.stop();
    }
  });

  it('keeps the previous file, confirms reloads by new workers, puts the file back when a reload is not applied', async () => {
    const nginx = await startNginx({ bin, upstream: UPSTREAM, stable: backends.stable });
    const router = routerFor(nginx);
    try {
      const bootstrap = readFileSync(nginx.includeFile, 'utf8');
      await router.setBackends(backends);
      expect(readFileSync(router.previousFile, 'utf8')).toBe(bootstrap);
      const withCanary = readFileSync(nginx.includeFile, 'utf8');
      await router.setWeights({ canary: 30 });
      expect(readFileSync(router.previousFile, 'utf8')).toBe(withCanary);
      const at30 = readFileSync(nginx.includeFile, 'utf8');
      expect(at30).toMatch(/server 127\.0\.0\.1:\d+ weight=7;\s+# stable 2\.0\.0/);
      expect(at30).toMatch(/server 127\.0\.0\.1:\d+ weight=3;\s+# canary 2\.1\.0/);
      const mtime = statSync(nginx.includeFile).mtimeMs;
      await router.setWeights({ canary: 30 });
      expect(statSync(nginx.includeFile).mtimeMs).toBe(mtime);

      // A reload command that does nothing: no new workers appear, the change is undone.
      const silent = routerFor(nginx, { reloadCommand: ['/bin/true'], reloadTimeoutMs: 300 });
      await expect(silent.setWeights({ canary: 60 })).rejects.toThrow(/not confirmed: .*did not replace its workers/);
      expect(readFileSync(nginx.includeFile, 'utf8')).toBe(at30);
      expect((await router.verify()).canaryWeight).toBe(30);
      await silent.close();

      // A file Rollgate did not write is never overwritten.
      writeFileSync(nginx.includeFile, `upstream ${UPSTREAM} { server 127.0.0.1:9; }\nmap $host $rollgate_demo { default demo; }\n`);
      const fresh = routerFor(nginx);
      await expect(fresh.setWeights({ canary: 10 })).rejects.toThrow(/not written by Rollgate/);
      await expect(fresh.verify()).rejects.toThrow(/not a file Rollgate manages/);
      await fresh.close();
    } finally {
      await router.close();
      await nginx.stop();
    }
  });

  it('a restarted control plane reads its state back from the file and undoes an interrupted change', async () => {
    const nginx = await startNginx({ bin, upstream: UPSTREAM, stable: backends.stable });
    const first = routerFor(nginx);
    try {
      await first.setBackends(backends);
      await first.setWeights({ canary: 40 });
      await first.setHeaderRoute({ name: 'testers', match: [{ headerName: 'cookie:group', exact: 'beta' }] });
      await first.close();
      const good = readFileSync(nginx.includeFile, 'utf8');

      // A change that died between the swap and the reload: restore link present, live file unchecked.
      const { linkSync, renameSync } = await import('node:fs');
      linkSync(nginx.includeFile, `${nginx.includeFile}.rollgate-restore`);
      writeFileSync(`${nginx.includeFile}.tmp`, good.replace('default demo;', 'default demo__stable;'));
      renameSync(`${nginx.includeFile}.tmp`, nginx.includeFile);

      const second = routerFor(nginx);
      // setWeights alone keeps the backends and the header route it read back.
      await second.setWeights({ canary: 0 });
      expect(existsSync(`${nginx.includeFile}.rollgate-restore`)).toBe(false);
      // The interrupted file was undone first: the change's "previous" is the good file.
      expect(readFileSync(second.previousFile, 'utf8')).toBe(good);
      expect(await second.verify()).toEqual({ canaryWeight: 0, stableVersion: '2.0.0', canaryVersion: '2.1.0', headerRoute: 'testers' });
      expect(new Set(await versionsOf(nginx.port, 30))).toEqual(new Set(['200 2.0.0']));
      expect(new Set(await versionsOf(nginx.port, 30, { Cookie: 'a=1; group=beta' }))).toEqual(new Set(['200 2.1.0']));
      await second.close();
    } finally {
      await nginx.stop();
    }
  });

  it('examples/nginx: the site file and the bootstrap include load, and the router takes the bootstrap over', async () => {
    const site = readFileSync(path.join(EXAMPLE, 'nginx.conf'), 'utf8');
    expect(site).toContain('include /etc/nginx/rollgate/demo-nginx.conf;');
    expect(site).toContain('listen 127.0.0.1:8088;');
    const nginx = await startNginx({
      bin,
      upstream: 'demo-nginx',
      stable: backends.stable,
      bootstrap: readFileSync(path.join(EXAMPLE, 'rollgate/demo-nginx.conf'), 'utf8'),
      site: (includeFile, port) => site.replace('/etc/nginx/rollgate/demo-nginx.conf', includeFile).replace('127.0.0.1:8088', `127.0.0.1:${port}`),
    });
    const router = new NginxRouter({
      includeFile: nginx.includeFile,
      upstream: 'demo-nginx',
      nginx: bin,
      configFile: nginx.configFile,
      prefix: `${nginx.dir}/`,
      pidFile: nginx.pidFile,
    });
    try {
      expect(await router.verify()).toEqual({ canaryWeight: 0, stableVersion: null, canaryVersion: null, headerRoute: null });
      await router.setBackends(backends);
      await router.setWeights({ canary: 50 });
      const replies = await versionsOf(nginx.port, 100);
      expect(replies.every((r) => r === '200 2.0.0' || r === '200 2.1.0')).toBe(true);
      // Weighted round robin over a shared zone: 1:1 alternates (a retried connection may shift one or two).
      expect(replies.filter((r) => r === '200 2.1.0').length).toBeGreaterThanOrEqual(45);
      expect(replies.filter((r) => r === '200 2.1.0').length).toBeLessThanOrEqual(55);
      await router.setHeaderRoute({ name: 'testers', match: [{ headerName: 'X-Canary', exact: 'always' }] });
      await router.reset();
      expect(new Set(await versionsOf(nginx.port, 20, { 'X-Canary': 'always' }))).toEqual(new Set(['200 2.0.0']));
      expect(readFileSync(router.previousFile, 'utf8')).toContain('"testers"');
    } finally {
      await router.close();
      await nginx.stop();
    }
  });
});
