/**
 * Writes the HAProxy configuration of the example (service `demo-haproxy`) and the empty map and
 * server-state files it loads — no control plane needed:
 *
 *   npx tsx examples/haproxy/render.ts                 # into /tmp/rollgate-haproxy/
 *   npx tsx examples/haproxy/render.ts --dir DIR --port 8090
 *   npx tsx examples/haproxy/render.ts --print         # the configuration on stdout only
 *
 * examples/haproxy/haproxy.cfg is this script's output with the defaults (a test keeps them equal).
 * Existing map and state files are kept: they hold the live routing.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderHaproxyConfig, writeHaproxyConfig, type HaproxyConfigOptions } from '../../src/adapters/routers/haproxy/config.js';

export const SERVICE = 'demo-haproxy';
export const DEFAULT_DIR = '/tmp/rollgate-haproxy';
export const DEFAULT_PORT = 8090;

/** The example's rendering options: a standalone HAProxy on 127.0.0.1:port, everything under dir. */
export function exampleOptions(dir = DEFAULT_DIR, port = DEFAULT_PORT): HaproxyConfigOptions {
  return {
    mapDir: path.join(dir, 'maps'),
    slots: 4,
    frontend: { name: 'demo_front', bind: `127.0.0.1:${port}` },
    healthCheck: { path: '/healthz', intervalMs: 1000 },
    standalone: { adminSocket: path.join(dir, 'admin.sock') },
  };
}

async function main(): Promise<void> {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const dir = path.resolve(arg('dir') ?? DEFAULT_DIR);
  const port = Number(arg('port') ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port must be a port number');
  const options = exampleOptions(dir, port);
  if (process.argv.includes('--print')) {
    process.stdout.write(renderHaproxyConfig(SERVICE, options));
    return;
  }
  const written = await writeHaproxyConfig(path.join(dir, 'haproxy.cfg'), SERVICE, options);
  process.stdout.write(
    [
      `wrote ${written.configFile}`,
      `      ${written.routesMap}, ${written.stateMap}, ${written.serverState}`,
      '',
      'start HAProxy in the foreground:',
      `  haproxy -f ${written.configFile} -db`,
      `admin socket: ${options.standalone!.adminSocket}; service on http://127.0.0.1:${port}/`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error: Error) => {
    process.stderr.write(`render: ${error.message}\n`);
    process.exit(1);
  });
}
