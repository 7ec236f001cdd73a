/**
 * Shell commands that run the demo app (examples/demo-app/server.js) as a `command` target would
 * in real life: deploy starts it in the background with a pid file (unless it already runs) and
 * prints its endpoint, health asks its /healthz, retire stops it and waits until it is gone.
 * They read RUN_DIR, NODE and DEMO_APP from the target's env (see `demoEnv`).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const demoApp = path.resolve(here, '../../examples/demo-app/server.js');

export const demoEnv = (runDir: string): Record<string, string> => ({ RUN_DIR: runDir, NODE: process.execPath, DEMO_APP: demoApp });

/** `alive PID`: the process exists and is not a zombie. */
const ALIVE = `alive() { kill -0 "$1" 2>/dev/null && ! grep -qs ') Z ' "/proc/$1/stat"; }`;

export const DEMO_DEPLOY = [
  'set -eu',
  ALIVE,
  'slot="$RUN_DIR/$ROLLGATE_VERSION"',
  'if [ -f "$slot.pid" ] && alive "$(cat "$slot.pid")"; then',
  '  echo "$ROLLGATE_VERSION already runs (pid $(cat "$slot.pid"))"',
  'else',
  '  PORT="$ROLLGATE_PORT" nohup "$NODE" "$DEMO_APP" >"$slot.out" 2>&1 </dev/null &',
  '  echo $! >"$slot.pid"',
  '  echo "started $ROLLGATE_VERSION: pid $!, port $ROLLGATE_PORT"',
  'fi',
  'echo "ROLLGATE_ENDPOINT=127.0.0.1:$ROLLGATE_PORT"',
].join('\n');

export const DEMO_HEALTH =
  `"$NODE" -e 'fetch("http://" + process.env.ROLLGATE_ENDPOINTS.split(",")[0] + "/healthz")` +
  `.then((r) => { console.log("healthz: HTTP " + r.status); process.exit(r.ok ? 0 : 1); }, (e) => { console.log("healthz: " + (e.cause?.code ?? e.message)); process.exit(1); })'`;

export const DEMO_RETIRE = [
  'set -eu',
  ALIVE,
  'slot="$RUN_DIR/$ROLLGATE_VERSION"',
  'if [ -f "$slot.pid" ]; then',
  '  pid=$(cat "$slot.pid")',
  '  if alive "$pid"; then kill "$pid"; fi',
  '  i=0; while alive "$pid" && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done',
  '  if alive "$pid"; then kill -9 "$pid"; fi',
  '  rm -f "$slot.pid"',
  '  echo "stopped $ROLLGATE_VERSION (pid $pid)"',
  'else',
  '  echo "$ROLLGATE_VERSION is not running"',
  'fi',
].join('\n');

/** The pid in `${runDir}/${version}.pid`, or null. */
export function pidOf(runDir: string, version: string): number | null {
  const file = path.join(runDir, `${version}.pid`);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** True while `pid` runs (not a zombie). */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Kills what a test left running (the pid files under runDir). */
export function killLeftovers(runDir: string): void {
  let files: string[] = [];
  try {
    files = readdirSync(runDir).filter((name) => name.endsWith('.pid'));
  } catch {
    return;
  }
  for (const file of files) {
    const pid = pidOf(runDir, file.slice(0, -'.pid'.length));
    if (pid !== null && running(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

/**
 * A deploy that honours ROLLGATE_REPLICAS (for `scales: true`): instance i of a version runs from
 * `${RUN_DIR}/${version}.${i}.pid` on a port the app picks itself (PORT=0; read back from its
 * "listening" line), instances beyond the count are stopped, and one ROLLGATE_ENDPOINT line is
 * printed per instance.
 */
export const SCALED_DEPLOY = [
  'set -eu',
  ALIVE,
  'base="$RUN_DIR/$ROLLGATE_VERSION"',
  'i=1',
  'while [ "$i" -le "$ROLLGATE_REPLICAS" ]; do',
  '  slot="$base.$i"',
  '  if ! { [ -f "$slot.pid" ] && alive "$(cat "$slot.pid")"; }; then',
  '    PORT=0 nohup "$NODE" "$DEMO_APP" >"$slot.out" 2>&1 </dev/null &',
  '    echo $! >"$slot.pid"',
  '    n=0; until grep -q \'"port"\' "$slot.out" 2>/dev/null || [ "$n" -ge 200 ]; do sleep 0.05; n=$((n + 1)); done',
  '    sed -n \'s/.*"port":\\([0-9]*\\).*/\\1/p\' "$slot.out" | head -n 1 >"$slot.port"',
  '    echo "started instance $i of $ROLLGATE_VERSION: pid $(cat "$slot.pid"), port $(cat "$slot.port")"',
  '  fi',
  '  echo "ROLLGATE_ENDPOINT=127.0.0.1:$(cat "$slot.port")"',
  '  i=$((i + 1))',
  'done',
  'for pid_file in "$base".*.pid; do',
  '  [ -e "$pid_file" ] || continue',
  '  n=${pid_file#"$base."}; n=${n%.pid}',
  '  if [ "$n" -gt "$ROLLGATE_REPLICAS" ]; then kill "$(cat "$pid_file")" 2>/dev/null || true; rm -f "$pid_file" "$base.$n.port"; fi',
  'done',
].join('\n');

export const SCALED_HEALTH =
  `"$NODE" -e 'Promise.all(process.env.ROLLGATE_ENDPOINTS.split(",").map((e) => fetch("http://" + e + "/healthz").then((r) => r.ok)))` +
  `.then((all) => process.exit(all.every(Boolean) ? 0 : 1), () => process.exit(1))'`;

export const SCALED_RETIRE = [
  'set -eu',
  ALIVE,
  'base="$RUN_DIR/$ROLLGATE_VERSION"',
  'for pid_file in "$base".*.pid; do',
  '  [ -e "$pid_file" ] || continue',
  '  pid=$(cat "$pid_file")',
  '  if alive "$pid"; then kill "$pid"; fi',
  '  i=0; while alive "$pid" && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done',
  '  if alive "$pid"; then kill -9 "$pid"; fi',
  '  rm -f "$pid_file"',
  '  echo "stopped $pid_file"',
  'done',
].join('\n');

/** Pids of every instance of a scaled version, by instance number. */
export function scaledPids(runDir: string, version: string): Array<number | null> {
  let files: string[] = [];
  try {
    files = readdirSync(runDir).filter((name) => name.startsWith(`${version}.`) && /^\d+\.pid$/.test(name.slice(version.length + 1)));
  } catch {
    return [];
  }
  return files.sort().map((file) => pidOf(runDir, file.slice(0, -'.pid'.length)));
}
