#!/usr/bin/env node
// Steady traffic for the walk-through: ~RATE requests/s to each port given, until killed.
// Canary analysis judges what the routers measure, so every environment needs some traffic.
//   node examples/governance/load.mjs 18181 18182 18183
const ports = process.argv.slice(2).map(Number).filter((port) => port > 0);
const rate = Number(process.env.RATE ?? 60);
if (ports.length === 0) {
  console.error('usage: load.mjs PORT [PORT ...]');
  process.exit(2);
}
const send = (port) =>
  fetch(`http://127.0.0.1:${port}/pay`, { signal: AbortSignal.timeout(2000) })
    .then((response) => response.arrayBuffer())
    // Nothing listens before the first deployment of an environment: keep trying.
    .catch(() => undefined);
setInterval(() => ports.forEach(send), 1000 / rate);
process.on('SIGTERM', () => process.exit(0));
