#!/usr/bin/env node
// Rollgate demo service: a tiny HTTP server whose error rate and latency are set by environment
// variables, so a canary can be made good or bad on purpose. Plain Node, no dependencies.
//
//   PORT=8081 ROLLGATE_VERSION=2.0.0 node examples/demo-app/server.js
//
// Environment:
//   PORT                 port on 127.0.0.1 (default 8080; 0 picks a free one, printed on start)
//   ROLLGATE_VERSION     version reported (or VERSION; default "0.0.0-dev")
//   SERVICE              service name reported (default "demo")
//   ERROR_RATE           0..1, fraction of requests answered 500 (default 0)
//   LATENCY_MS           base latency added to each request (default 0)
//   LATENCY_JITTER_MS    uniform random extra latency, 0..this (default 0)
//   UNHEALTHY=1          /healthz answers 503
//   SEED                 integer seed: errors and jitter come from a seeded PRNG (deterministic)
//
// Routes (every response carries X-Demo-Version):
//   GET /healthz         200 {"status":"ok"} (503 when UNHEALTHY=1); no injected errors or latency
//   POST /echo           streams the request body back; no injected errors or latency
//   GET /stream?chunks=N&intervalMs=M   N chunks, M ms apart (for streaming and abort tests)
//   GET /headers         the request headers as JSON
//   anything else        {"service","version","path"} after the injected latency; 500 at ERROR_RATE
//
// On start it prints one JSON line: {"msg":"listening","host":"127.0.0.1","port":N,...}.
// SIGTERM / SIGINT: stops accepting, finishes requests in flight (at most 5 s), exits 0.
import http from 'node:http';

const HOST = '127.0.0.1';

function fail(message) {
  process.stderr.write(`demo-app: ${message}\n`);
  process.exit(2);
}

function numberEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) fail(`${name} must be a number in ${min}..${max}, got "${raw}"`);
  return n;
}

const port = numberEnv('PORT', 8080, 0, 65535);
if (!Number.isInteger(port)) fail('PORT must be an integer');
const version = process.env.ROLLGATE_VERSION || process.env.VERSION || '0.0.0-dev';
const service = process.env.SERVICE || 'demo';
const errorRate = numberEnv('ERROR_RATE', 0, 0, 1);
const latencyMs = numberEnv('LATENCY_MS', 0, 0, 600_000);
const jitterMs = numberEnv('LATENCY_JITTER_MS', 0, 0, 600_000);
const unhealthy = process.env.UNHEALTHY === '1';
const seedRaw = process.env.SEED;

/** mulberry32: small, fast, good enough for test traffic. */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let random = Math.random;
if (seedRaw !== undefined && seedRaw !== '') {
  const seed = Number(seedRaw);
  if (!Number.isInteger(seed)) fail(`SEED must be an integer, got "${seedRaw}"`);
  random = mulberry32(seed);
}

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-demo-version': version,
  });
  res.end(text);
}

function handle(req, res) {
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);

  if (path === '/healthz') {
    req.resume();
    return unhealthy ? sendJson(res, 503, { status: 'unhealthy', version }) : sendJson(res, 200, { status: 'ok', version });
  }
  if (path === '/echo') {
    const headers = { 'x-demo-version': version, 'content-type': req.headers['content-type'] || 'application/octet-stream' };
    if (req.headers['content-length'] !== undefined) headers['content-length'] = req.headers['content-length'];
    res.writeHead(200, headers);
    req.pipe(res);
    return;
  }
  if (path === '/headers') {
    req.resume();
    return sendJson(res, 200, { version, headers: req.headers, method: req.method, url: req.url });
  }
  if (path === '/stream') {
    req.resume();
    const params = new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1));
    const chunks = Math.min(Math.max(Number(params.get('chunks') ?? 10) || 0, 0), 10_000);
    const interval = Math.min(Math.max(Number(params.get('intervalMs') ?? 10) || 0, 0), 10_000);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'x-demo-version': version });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(`chunk ${sent} from ${version}\n`);
      if (++sent >= chunks) {
        clearInterval(timer);
        res.end();
      }
    }, interval);
    res.on('close', () => clearInterval(timer));
    return;
  }

  req.resume();
  // Draw both numbers up front so the sequence per request is fixed whatever the outcome.
  const errorDraw = random();
  const jitterDraw = random();
  const delay = latencyMs + jitterDraw * jitterMs;
  const respond = () => {
    if (res.destroyed) return;
    if (errorDraw < errorRate) sendJson(res, 500, { error: 'injected failure', service, version });
    else sendJson(res, 200, { service, version, path });
  };
  if (delay > 0) setTimeout(respond, delay);
  else respond();
}

const server = http.createServer(handle);
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(port, HOST, () => {
  const addr = server.address();
  process.stdout.write(
    JSON.stringify({ msg: 'listening', host: HOST, port: addr.port, service, version, errorRate, latencyMs, jitterMs, seeded: random !== Math.random }) + '\n',
  );
});

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  const poll = setInterval(() => server.closeIdleConnections(), 50);
  poll.unref();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 5_000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
