/**
 * Sets up a private NGINX for the example (service `demo-nginx`): no root, nothing under /etc/nginx,
 * not the distribution's service. Everything lives in one directory:
 *
 *   DIR/nginx.conf                 main configuration: pid, error log and temp paths in DIR,
 *                                  `daemon off` (NGINX stays in the foreground), http {} includes conf.d/
 *   DIR/conf.d/demo-nginx.conf     examples/nginx/nginx.conf, with its include path and port for DIR
 *   DIR/rollgate/demo-nginx.conf   the bootstrap include file (examples/nginx/rollgate/), which Rollgate owns
 *
 *   npx tsx examples/nginx/render.ts                 # into /tmp/rollgate-nginx/, NGINX on 127.0.0.1:8088
 *   npx tsx examples/nginx/render.ts --dir DIR --port 8088
 *
 * examples/nginx/service.yaml points at the default directory. An existing include file is kept: it
 * holds the live routing (as for HAProxy's maps); the other two files are rewritten.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SERVICE = 'demo-nginx';
export const DEFAULT_DIR = '/tmp/rollgate-nginx';
export const DEFAULT_PORT = 8088;

const EXAMPLE = path.dirname(fileURLToPath(import.meta.url));
/** What examples/nginx/nginx.conf says for Debian's NGINX, replaced for the private one. */
const SITE_INCLUDE = '/etc/nginx/rollgate/demo-nginx.conf';
const SITE_LISTEN = '127.0.0.1:8088';

export interface NginxFiles {
  configFile: string;
  siteFile: string;
  includeFile: string;
  pidFile: string;
  errorLog: string;
}

export const filesIn = (dir: string): NginxFiles => ({
  configFile: path.join(dir, 'nginx.conf'),
  siteFile: path.join(dir, 'conf.d', `${SERVICE}.conf`),
  includeFile: path.join(dir, 'rollgate', `${SERVICE}.conf`),
  pidFile: path.join(dir, 'nginx.pid'),
  errorLog: path.join(dir, 'error.log'),
});

/** The main configuration of the private NGINX. */
export function renderMainConfig(dir: string): string {
  const tmp = path.join(dir, 'tmp');
  return `# A private NGINX for examples/nginx (written by examples/nginx/render.ts): everything it reads and
# writes is under ${dir}. Start it with
#   nginx -p ${dir}/ -c ${filesIn(dir).configFile} -e ${filesIn(dir).errorLog}
daemon off;
worker_processes 2;
pid ${filesIn(dir).pidFile};
error_log ${filesIn(dir).errorLog} notice;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path ${tmp}/body;
    proxy_temp_path ${tmp}/proxy;
    fastcgi_temp_path ${tmp}/fastcgi;
    uwsgi_temp_path ${tmp}/uwsgi;
    scgi_temp_path ${tmp}/scgi;
    # As Debian's nginx.conf does: the sites are in conf.d/.
    include ${path.join(dir, 'conf.d')}/*.conf;
}
`;
}

/** examples/nginx/nginx.conf with the include file and listen address of the private NGINX. */
export function renderSite(dir: string, port: number): string {
  const site = readFileSync(path.join(EXAMPLE, 'nginx.conf'), 'utf8');
  for (const expected of [`include ${SITE_INCLUDE};`, `listen ${SITE_LISTEN};`]) {
    if (!site.includes(expected)) throw new Error(`examples/nginx/nginx.conf no longer says "${expected}": update render.ts`);
  }
  return site.replaceAll(SITE_INCLUDE, filesIn(dir).includeFile).replace(`listen ${SITE_LISTEN};`, `listen 127.0.0.1:${port};`);
}

/** Writes the three files (keeping an existing include file); returns their paths. */
export function writeNginxSetup(dir: string, port: number): NginxFiles & { keptInclude: boolean } {
  const files = filesIn(dir);
  // Mode 0755: started as root, NGINX's workers run as "nobody" and need the temp directories.
  for (const sub of ['', 'conf.d', 'rollgate', 'tmp']) {
    mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
    chmodSync(path.join(dir, sub), 0o755);
  }
  writeFileSync(files.configFile, renderMainConfig(dir));
  writeFileSync(files.siteFile, renderSite(dir, port));
  const keptInclude = existsSync(files.includeFile);
  if (!keptInclude) writeFileSync(files.includeFile, readFileSync(path.join(EXAMPLE, 'rollgate', `${SERVICE}.conf`)));
  return { ...files, keptInclude };
}

function main(): void {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i === -1 ? undefined : process.argv[i + 1];
  };
  const dir = path.resolve(arg('dir') ?? DEFAULT_DIR);
  const port = Number(arg('port') ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error('--port must be a port number');
  const written = writeNginxSetup(dir, port);
  process.stdout.write(
    [
      `wrote ${written.configFile}`,
      `      ${written.siteFile}`,
      `      ${written.includeFile}${written.keptInclude ? ' (kept: it already existed)' : ' (the bootstrap)'}`,
      '',
      'start NGINX in the foreground:',
      `  nginx -p ${dir}/ -c ${written.configFile} -e ${written.errorLog}`,
      `service on http://127.0.0.1:${port}/`,
      '',
    ].join('\n'),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    main();
  } catch (error) {
    process.stderr.write(`render: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
