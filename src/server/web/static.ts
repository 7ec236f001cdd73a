/**
 * Serves the built web UI (`dist/web`, from `npm run build:web`) on the API's port: every GET that
 * is not under /api and matched no API route gets a file from the UI's directory, or index.html so
 * that the UI's own router handles deep links such as /rollouts/checkout-v2 (SPA fallback).
 *
 * It is one plain Hono route (`GET /*`), registered after every API route and declared public in
 * route.ts's UNDOCUMENTED_PUBLIC_ROUTES: the files are the same for everyone, and the UI signs in
 * against the API itself. Paths under /api never reach a file: they keep the API's 404 problem.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../context.js';

/** The route's path; route.ts declares it public. */
export const WEB_ROUTE_PATH = '/*';

/** `<package>/dist/web`, from src/server/web (tsx) and dist/server/web (compiled) alike. */
export function defaultWebRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../dist/web');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Vite puts content-hashed files under assets/: their name changes whenever their bytes do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Everything else (index.html above all) is revalidated, so a new build shows at the next load. */
const REVALIDATE = 'no-cache';

/**
 * The UI loads only its own scripts and styles and talks only to this origin (no inline script;
 * React sets styles through the DOM, which style-src does not restrict).
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const NOT_BUILT_MESSAGE = [
  'The Rollgate web UI is not built, so there is nothing to show here yet.',
  '',
  'Build it in the rollgate package directory with',
  '',
  '    npm run build:web      (or npm run build, which npm install runs)',
  '',
  'and reload this page (no restart needed).',
  'The HTTP API works without it: /api/v1/..., OpenAPI at /api/openapi.json.',
  '',
].join('\n');

const isApiPath = (pathname: string) => pathname === '/api' || pathname.startsWith('/api/');

/**
 * The file a URL path names inside `root`, or null when the path is not a plain relative file path
 * (`..` segments, backslashes, NUL, bad percent-encoding): those never leave `root`.
 */
export function resolveInside(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((segment) => segment === '..')) return null;
  const file = path.resolve(root, ...segments);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function fileResponse(c: Context<AppEnv>, body: Buffer, file: string, cacheControl: string): Response {
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  const headers: Record<string, string> = { 'content-type': type, 'cache-control': cacheControl, 'x-content-type-options': 'nosniff' };
  if (type.startsWith('text/html')) headers['content-security-policy'] = CONTENT_SECURITY_POLICY;
  return c.body(new Uint8Array(body), 200, headers);
}

export function registerWebRoutes(app: OpenAPIHono<AppEnv>, options: { root: string }): void {
  const root = path.resolve(options.root);
  const index = path.join(root, 'index.html');

  app.get(WEB_ROUTE_PATH, async (c) => {
    const pathname = new URL(c.req.url).pathname;
    // The API's unknown paths keep answering with the API's problem+json 404.
    if (isApiPath(pathname)) return c.notFound();

    const file = resolveInside(root, pathname);
    if (file === null) return c.text('bad path\n', 400, { 'cache-control': REVALIDATE });
    if (await isFile(file)) {
      const immutable = file.startsWith(path.join(root, 'assets') + path.sep);
      return fileResponse(c, await readFile(file), file, immutable ? IMMUTABLE : REVALIDATE);
    }
    // A missing file of a type the UI ships (an old hashed bundle, a typo) is a 404, not the HTML
    // page the browser would then try to run as a script. Other paths are the UI's own routes
    // (object names may contain dots: /rollouts/checkout-2.1).
    if (Object.hasOwn(CONTENT_TYPES, path.extname(pathname).toLowerCase())) return c.text(`no such file: ${pathname}\n`, 404, { 'cache-control': REVALIDATE });

    let html: Buffer;
    try {
      html = await readFile(index);
    } catch {
      return c.text(NOT_BUILT_MESSAGE, 503, { 'cache-control': REVALIDATE });
    }
    return fileResponse(c, html, index, REVALIDATE);
  });
}
