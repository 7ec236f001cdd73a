#!/usr/bin/env node
// Benchmark fixture: an HTTP service that is healthy until told to fail, so the instant a canary
// starts failing is known (bench/reaction.ts). Plain Node, no dependencies.
//
//   PORT=8081 ROLLGATE_VERSION=2.0.0 node bench/lib/flip-app.mjs
//
// Routes (every response carries X-Demo-Version):
//   GET  /healthz                 200 always: the failure is in request handling, not in health
//   POST /__bench/fail?rate=R     from now on answer R (0..1, default 1) of other requests with 500
//   POST /__bench/heal            back to healthy
//   anything else                 200 {"version","path"}, or 500 while failing
// Prints one JSON line on start: {"msg":"listening","port":N,"version":...}. SIGTERM/SIGINT: exits.
import http from 'node:http';

const HOST = '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const version = process.env.ROLLGATE_VERSION || '0.0.0-dev';
let failRate = 0;
let failingSince = null;

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-demo-version': version });
  res.end(text);
}

const server = http.createServer((req, res) => {
  req.resume();
  const q = req.url.indexOf('?');
  const path = q === -1 ? req.url : req.url.slice(0, q);
  if (path === '/healthz') return send(res, 200, { status: 'ok', version });
  if (path === '/__bench/fail' && req.method === 'POST') {
    const rate = Number(new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)).get('rate') ?? 1);
    failRate = Number.isFinite(rate) ? Math.min(Math.max(rate, 0), 1) : 1;
    failingSince = Date.now();
    return send(res, 200, { version, failRate, failingSince });
  }
  if (path === '/__bench/heal' && req.method === 'POST') {
    failRate = 0;
    failingSince = null;
    return send(res, 200, { version, failRate });
  }
  if (failRate > 0 && Math.random() < failRate) return send(res, 500, { error: 'failing on purpose', version });
  return send(res, 200, { version, path });
});
server.keepAliveTimeout = 30_000;
server.on('clientError', (_err, socket) => socket.destroy());
server.listen(port, HOST, () => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: server.address().port, version }) + '\n');
});

function shutdown() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 2_000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
