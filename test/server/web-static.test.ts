/**
 * The web UI's static files on the API's port (src/server/web/static.ts): content types, cache
 * headers, the SPA fallback, no path traversal, the message when the UI is not built, and the
 * API's own 404s unchanged.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_BUILT_MESSAGE, resolveInside } from '../../src/server/web/static.js';
import { startTestServer, type TestServer } from './helpers.js';

let dir: string;
let root: string;
let server: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'rollgate-web-'));
  root = path.join(dir, 'web');
  mkdirSync(path.join(root, 'assets'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>Rollgate</title>');
  writeFileSync(path.join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(path.join(root, 'assets', 'index-abc123.css'), 'body{}');
  writeFileSync(path.join(root, 'robots.txt'), 'User-agent: *');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the web root');
  server = await startTestServer({ app: { webRoot: root } });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (url: string) => server.request('GET', url, { token: null });

describe('web UI static files', () => {
  it('serves index.html at / with no-cache and a content security policy', async () => {
    const response = await get('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await response.text()).toContain('<title>Rollgate</title>');
  });

  it('serves hashed assets as immutable with their content type', async () => {
    const js = await get('/assets/index-abc123.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await js.text()).toBe('console.log(1)');
    expect((await get('/assets/index-abc123.css')).headers.get('content-type')).toBe('text/css; charset=utf-8');
    const other = await get('/robots.txt');
    expect(other.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(other.headers.get('cache-control')).toBe('no-cache');
  });

  it('answers the UI routes (deep links, names with dots) with index.html', async () => {
    for (const url of ['/rollouts/checkout-v2', '/rollouts/checkout-2.1', '/approvals?mine=1']) {
      const response = await get(url);
      expect(response.status, url).toBe(200);
      expect(await response.text(), url).toContain('<title>Rollgate</title>');
    }
  });

  it('answers a missing asset with 404, not the HTML page', async () => {
    const response = await get('/assets/index-old.js');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('never serves a file outside the web root', async () => {
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt', '/..%2fsecret.txt', '/%2e%2e%5csecret.txt', '/%00', '/%zz']) {
      const response = await get(url);
      expect(await response.text(), url).not.toContain('outside the web root');
      expect([200, 400, 404], url).toContain(response.status);
    }
    expect(resolveInside(root, '/../secret.txt')).toBeNull();
    expect(resolveInside(root, '/a/%2e%2e/%2e%2e/secret.txt')).toBeNull();
    expect(resolveInside(root, '/a\\..\\b')).toBeNull();
    expect(resolveInside(root, '/assets/x.js')).toBe(path.join(root, 'assets', 'x.js'));
  });

  it('leaves the API alone: its routes, and its problem+json 404 for unknown /api paths', async () => {
    const unknown = await get('/api/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await unknown.json()).toMatchObject({ status: 404, detail: 'no route for GET /api/v1/nothing-here' });
    expect((await get('/api')).headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await get('/api/v1/services')).status).toBe(401);
    expect((await server.request('GET', '/api/v1/services')).status).toBe(200);
    expect((await get('/api/openapi.json')).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await get('/healthz')).status).toBe(200);
    // Only GET (and HEAD) reach the files.
    expect((await server.request('POST', '/rollouts/x', { token: null })).status).toBe(404);
  });
});

describe('web UI not built', () => {
  it('says how to build it, and the API still answers', async () => {
    const bare = await startTestServer({ app: { webRoot: path.join(tmpdir(), 'rollgate-no-such-dir') } });
    try {
      const response = await bare.request('GET', '/', { token: null });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toBe(NOT_BUILT_MESSAGE);
      expect(NOT_BUILT_MESSAGE).toContain('npm run build:web');
      expect((await bare.request('GET', '/api/v1/services')).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});

describe('without webRoot (the API alone)', () => {
  it('answers / with the API 404 as before', async () => {
    const api = await startTestServer();
    try {
      const response = await api.request('GET', '/', { token: null });
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      await api.close();
    }
  });
});
