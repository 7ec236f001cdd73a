#!/usr/bin/env bash
# The steps of examples/haproxy/README.md ("Run it"), end to end, on this machine: render the
# HAProxy configuration, start HAProxy and `rollgate serve`, apply the example, deploy 1.0.0,
# roll 2.0.0 out as a canary under light load until it is Healthy, then start a 3.0.0 canary and
# abort it — checking through HAProxy itself which version answers at each point.
#
#   examples/haproxy/run.sh                       # uses `npx rollgate`, HAProxy on :8090
#   RG="node dist/cli/main.js" PORT=18090 STEP_PAUSE=5s examples/haproxy/run.sh
# Environment: RG (the rollgate command), HAPROXY (the haproxy binary, default `haproxy`),
# HAPROXY_DIR (where render.ts writes, default /tmp/rollgate-haproxy), PORT (HAProxy's frontend,
# default 8090), STEP_PAUSE (each pause of the strategy, default its 20s), TSX (default `npx tsx`).
set -euo pipefail
cd "$(dirname "$0")/../.."   # the service's command (node examples/demo-app/server.js) is relative to the repository root

read -r -a RG <<<"${RG:-npx rollgate}"
read -r -a TSX <<<"${TSX:-npx tsx}"
HAPROXY=${HAPROXY:-haproxy}
HAPROXY_DIR=${HAPROXY_DIR:-/tmp/rollgate-haproxy}
PORT=${PORT:-8090}
STEP_PAUSE=${STEP_PAUSE:-20s}
URL="http://127.0.0.1:$PORT/"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-haproxy-run.XXXXXX")
export ROLLGATE_DATA_DIR="$WORK/.rollgate"
unset ROLLGATE_TOKEN ROLLGATE_SERVER
# render.ts keeps existing map and state files (they hold live routing): only a directory this run
# created is removed afterwards.
[ -e "$HAPROXY_DIR" ] && CREATED_DIR='' || CREATED_DIR=$HAPROXY_DIR

SERVE_PID='' HAPROXY_PID='' TRAFFIC_PID=''
cleanup() {
  local code=$?
  [ -n "$TRAFFIC_PID" ] && kill -- "-$TRAFFIC_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then kill -TERM -- "-$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  if [ -n "$HAPROXY_PID" ]; then kill -TERM "$HAPROXY_PID" 2>/dev/null || true; wait "$HAPROXY_PID" 2>/dev/null || true; fi
  if [ "$code" -ne 0 ]; then
    echo "run failed (exit $code); kept $WORK (serve.log, haproxy.log)" >&2
  else
    rm -rf "$WORK"
    [ -n "$CREATED_DIR" ] && rm -rf "$CREATED_DIR"
  fi
}
trap cleanup EXIT

rg() { "${RG[@]}" "$@"; }
step() { printf '\n======== %s\n' "$*"; }
show() { printf '\n$ %s\n' "$*"; }
# Arguments as a reader would type them: quoted when they hold spaces.
quoted() { local arg out=''; for arg in "$@"; do [[ $arg =~ [[:space:]] ]] && arg="\"$arg\""; out+=" $arg"; done; printf '%s' "${out# }"; }
# `rollgate ARGS...`: shows the command, then runs it.
rollgate() { show "rollgate $(quoted "$@")"; rg "$@"; }
# `deployed VERSION`: `rollgate deploy demo-haproxy --version VERSION --watch` (the play-by-play goes
# to a log file); then the traffic split at each change it saw, and the phase it ended in.
deployed() {
  show "rollgate deploy demo-haproxy --version $1 --watch    # play-by-play in $WORK/deploy-$1.log"
  rg deploy demo-haproxy --version "$1" --watch >"$WORK/deploy-$1.log" 2>&1 || { cat "$WORK/deploy-$1.log"; fail "the rollout of $1 did not end Healthy"; }
  grep -E '^Traffic:' "$WORK/deploy-$1.log" | uniq
  grep -E '^Phase:' "$WORK/deploy-$1.log" | tail -n 1
}
fail() { echo "FAILED: $*" >&2; exit 1; }
# The version that answers one request through HAProxy (the demo app's X-Demo-Version header).
# "none" when the request failed or the answer carried no version.
answer() { local version; version=$(curl -s -o /dev/null --max-time 5 -w '%header{x-demo-version}' "$URL") || true; echo "${version:-none}"; }
# `only VERSION N`: N requests through HAProxy, every one must be answered by VERSION.
only() {
  local want=$1 n=$2 got
  got=$(for _ in $(seq 1 "$n"); do answer; done | sort | uniq -c | awk '{ printf "%s%s x %s", sep, $1, $2; sep = ", " }')
  echo "through HAProxy: $n requests answered by: $got"
  [ "$got" = "$n x $want" ] || fail "expected all $n requests to be answered by $want"
  echo "OK: all $n requests answered by $want"
}
# `seen VERSION`: sends requests (at most 400) until one is answered by VERSION.
seen() {
  local want=$1 i
  for i in $(seq 1 400); do
    if [ "$(answer)" = "$want" ]; then echo "through HAProxy: $want answered request $i"; return 0; fi
  done
  fail "$want answered none of 400 requests"
}
# `status PATTERN`: waits (at most 60 s) until `rollout status` matches PATTERN (grep -E), then
# shows it: the engine acts at its next pass, not within the CLI call.
status() {
  for _ in $(seq 1 300); do
    if rg rollout status demo-haproxy >"$WORK/status.txt" 2>&1 && grep -qE "$1" "$WORK/status.txt"; then break; fi
    sleep 0.2
  done
  show "rollgate rollout status demo-haproxy"
  cat "$WORK/status.txt"
  grep -qE "$1" "$WORK/status.txt" || fail "the rollout status never matched /$1/"
}
# What HAProxy holds, through its admin socket (the README's `socat` commands; node is the client here).
admin() {
  show "echo \"$1\" | socat stdio $HAPROXY_DIR/admin.sock"
  node -e '
    const socket = require("net").connect(process.argv[1], () => socket.end(process.argv[2] + "\n"));
    socket.on("data", (data) => process.stdout.write(data));
    socket.on("error", (error) => { console.error(error.message); process.exit(1); });
  ' "$HAPROXY_DIR/admin.sock" "$1"
}

step "1. Render the HAProxy configuration (maps and server-state files too) into $HAPROXY_DIR"
show "npx tsx examples/haproxy/render.ts --dir $HAPROXY_DIR --port $PORT"
"${TSX[@]}" examples/haproxy/render.ts --dir "$HAPROXY_DIR" --port "$PORT"

step "2. HAProxy in the foreground (here: in the background, output in $WORK/haproxy.log)"
show "$HAPROXY -f $HAPROXY_DIR/haproxy.cfg -db"
"$HAPROXY" -f "$HAPROXY_DIR/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
for _ in $(seq 1 100); do
  [ -S "$HAPROXY_DIR/admin.sock" ] && curl -s -o /dev/null "$URL" && break
  kill -0 "$HAPROXY_PID" 2>/dev/null || { cat "$WORK/haproxy.log" >&2; fail "HAProxy exited"; }
  sleep 0.1
done
curl -s -o /dev/null "$URL" || { cat "$WORK/haproxy.log" >&2; fail "HAProxy does not answer on $URL"; }
echo "HAProxy (pid $HAPROXY_PID) answers on $URL: $(curl -s -o /dev/null -w '%{http_code}' "$URL") (no server yet)"

step "3. The control plane (SQLite in $ROLLGATE_DATA_DIR)"
show "rollgate serve --listen 127.0.0.1:0"
setsid "${RG[@]}" serve --listen 127.0.0.1:0 --data-dir "$ROLLGATE_DATA_DIR" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 200); do
  if [ -f "$ROLLGATE_DATA_DIR/config.json" ] && grep -q listening "$WORK/serve.log"; then break; fi
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
grep -q listening "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; exit 1; }
echo "rollgate serve (pid $SERVE_PID) is listening; its log: $WORK/serve.log"

step "4. Apply the example"
# The specs as checked in, with this run's admin socket and pause length.
mkdir -p "$WORK/specs"
sed -e "s#/tmp/rollgate-haproxy/#$HAPROXY_DIR/#g" examples/haproxy/service.yaml >"$WORK/specs/service.yaml"
sed -e "s/duration: 20s/duration: $STEP_PAUSE/" examples/haproxy/rollout-strategy.yaml >"$WORK/specs/rollout-strategy.yaml"
echo "(examples/haproxy/ with adminSocket $HAPROXY_DIR/admin.sock and pauses of $STEP_PAUSE, in $WORK/specs/)"
rollgate apply -f "$WORK/specs/"

step "5. The first version goes straight to 100%"
deployed 1.0.0
show "curl -si $URL | grep -i x-demo-version"
curl -si "$URL" | grep -i x-demo-version
only 1.0.0 20

step "6. The 2.0.0 canary (5 → 25 → 50 → 100%, $STEP_PAUSE each) with some traffic to watch it move"
# The README pipes this loop into `uniq -c` on a terminal; here each answer goes to a file, counted below.
show "while sleep 0.05; do curl -s -o /dev/null -w '%header{x-demo-version}\\n' $URL; done >$WORK/traffic.log &"
setsid bash -c "while sleep 0.05; do curl -s -o /dev/null --max-time 5 -w '%header{x-demo-version}\n' '$URL'; done" >"$WORK/traffic.log" 2>&1 &
TRAFFIC_PID=$!
deployed 2.0.0
kill -- "-$TRAFFIC_PID" 2>/dev/null || true
wait "$TRAFFIC_PID" 2>/dev/null || true
TRAFFIC_PID=''
echo "the traffic during the canary: $(awk '{ n[$1 == "" ? "none (failed)" : $1] += 1 } END { for (v in n) printf "%s: %d, ", v, n[v] }' "$WORK/traffic.log")$(wc -l <"$WORK/traffic.log") requests"
only 2.0.0 20

step "7. A 3.0.0 canary, aborted: everything back on 2.0.0"
rollgate deploy demo-haproxy --version 3.0.0
status 'canary [1-9][0-9]*%'
admin "show servers state demo-haproxy"
admin "show map $HAPROXY_DIR/maps/demo-haproxy.state.map"
seen 3.0.0
rollgate rollout abort demo-haproxy --reason "seen enough"
status '^Phase: +Aborted'
only 2.0.0 40

step "Done: 1.0.0 deployed, 2.0.0 promoted through HAProxy, 3.0.0 aborted and 100% of traffic back on 2.0.0."
