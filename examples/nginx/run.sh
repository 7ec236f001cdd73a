#!/usr/bin/env bash
# The steps of examples/nginx/README.md ("Run it"), end to end, on this machine: set up a private
# NGINX (no root, nothing under /etc/nginx), start it and `rollgate serve`, apply the example,
# deploy 1.0.0, roll 2.0.0 out as a canary under light load until it is Healthy, then start a 3.0.0
# canary and abort it — checking through NGINX itself which version answers at each point.
#
#   examples/nginx/run.sh                         # uses `npx rollgate`, NGINX on :8088
#   RG="node dist/cli/main.js" PORT=18088 STEP_PAUSE=5s examples/nginx/run.sh
# Environment: RG (the rollgate command), NGINX (the nginx binary, default /usr/sbin/nginx),
# NGINX_DIR (where render.ts writes, default /tmp/rollgate-nginx), PORT (NGINX's listen port,
# default 8088), STEP_PAUSE (each pause of the strategy, default its 30s), TSX (default `npx tsx`).
set -euo pipefail
cd "$(dirname "$0")/../.."   # the service's command (node examples/demo-app/server.js) is relative to the repository root

read -r -a RG <<<"${RG:-npx rollgate}"
read -r -a TSX <<<"${TSX:-npx tsx}"
NGINX=${NGINX:-/usr/sbin/nginx}
NGINX_DIR=${NGINX_DIR:-/tmp/rollgate-nginx}
PORT=${PORT:-8088}
STEP_PAUSE=${STEP_PAUSE:-30s}
URL="http://127.0.0.1:$PORT/"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-nginx-run.XXXXXX")
export ROLLGATE_DATA_DIR="$WORK/.rollgate"
unset ROLLGATE_TOKEN ROLLGATE_SERVER
# render.ts keeps an existing include file (it holds live routing): only a directory this run
# created is removed afterwards.
[ -e "$NGINX_DIR" ] && CREATED_DIR='' || CREATED_DIR=$NGINX_DIR

SERVE_PID='' NGINX_PID='' TRAFFIC_PID=''
cleanup() {
  local code=$?
  [ -n "$TRAFFIC_PID" ] && kill -- "-$TRAFFIC_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then kill -TERM -- "-$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  # SIGQUIT: NGINX's graceful shutdown (the master stops its workers, then itself).
  if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
  if [ "$code" -ne 0 ]; then
    echo "run failed (exit $code); kept $WORK (serve.log, nginx.log) and $NGINX_DIR (error.log)" >&2
  else
    rm -rf "$WORK"
    [ -n "$CREATED_DIR" ] && rm -rf "$CREATED_DIR"
  fi
}
trap cleanup EXIT

rg() { "${RG[@]}" "$@"; }
step() { printf '\n======== %s\n' "$*"; }
show() { printf '\n$ %s\n' "$*"; }
fail() { echo "FAILED: $*" >&2; exit 1; }
# Arguments as a reader would type them: quoted when they hold spaces.
quoted() { local arg out=''; for arg in "$@"; do [[ $arg =~ [[:space:]] ]] && arg="\"$arg\""; out+=" $arg"; done; printf '%s' "${out# }"; }
# `rollgate ARGS...`: shows the command, then runs it.
rollgate() { show "rollgate $(quoted "$@")"; rg "$@"; }
# `watched COMMAND...`: a rollgate command that follows a rollout until it ends (--watch); the
# play-by-play goes to a log file, then the traffic split at each change it saw and the final phase.
watched() {
  local log="$WORK/watch-$(( ++WATCHES )).log"
  show "rollgate $(quoted "$@")    # play-by-play in $log"
  rg "$@" >"$log" 2>&1 || { cat "$log"; fail "the rollout did not end Healthy"; }
  grep -E '^Traffic:' "$log" | uniq
  grep -E '^Phase:' "$log" | tail -n 1
}
WATCHES=0
# The version that answers one request through NGINX (the demo app's X-Demo-Version header);
# "none" when the request failed or the answer carried no version.
answer() { local version; version=$(curl -s -o /dev/null --max-time 5 -w '%header{x-demo-version}' "$URL") || true; echo "${version:-none}"; }
# `only VERSION N`: N requests through NGINX, every one must be answered by VERSION.
only() {
  local want=$1 n=$2 got
  got=$(for _ in $(seq 1 "$n"); do answer; done | sort | uniq -c | awk '{ printf "%s%s x %s", sep, $1, $2; sep = ", " }')
  echo "through NGINX: $n requests answered by: $got"
  [ "$got" = "$n x $want" ] || fail "expected all $n requests to be answered by $want"
  echo "OK: all $n requests answered by $want"
}
# `seen VERSION`: sends requests (at most 400) until one is answered by VERSION.
seen() {
  local want=$1 i
  for i in $(seq 1 400); do
    if [ "$(answer)" = "$want" ]; then echo "through NGINX: $want answered request $i"; return 0; fi
  done
  fail "$want answered none of 400 requests"
}
# `status PATTERN`: waits (at most 60 s) until `rollout status` matches PATTERN (grep -E), then
# shows it: the engine acts at its next pass, not within the CLI call.
status() {
  for _ in $(seq 1 300); do
    if rg rollout status demo-nginx >"$WORK/status.txt" 2>&1 && grep -qE "$1" "$WORK/status.txt"; then break; fi
    sleep 0.2
  done
  show "rollgate rollout status demo-nginx"
  cat "$WORK/status.txt"
  grep -qE "$1" "$WORK/status.txt" || fail "the rollout status never matched /$1/"
}

step "1. A private NGINX's configuration, the site and the bootstrap include file, in $NGINX_DIR"
show "npx tsx examples/nginx/render.ts --dir $NGINX_DIR --port $PORT"
"${TSX[@]}" examples/nginx/render.ts --dir "$NGINX_DIR" --port "$PORT"

step "2. NGINX in the foreground (here: in the background, output in $WORK/nginx.log)"
show "$NGINX -p $NGINX_DIR/ -c $NGINX_DIR/nginx.conf -e $NGINX_DIR/error.log"
"$NGINX" -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" >"$WORK/nginx.log" 2>&1 &
NGINX_PID=$!
for _ in $(seq 1 100); do
  curl -s -o /dev/null "$URL" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx.log" "$NGINX_DIR/error.log" >&2; fail "NGINX exited"; }
  sleep 0.1
done
curl -s -o /dev/null "$URL" || fail "NGINX does not answer on $URL"
echo "NGINX (pid $NGINX_PID) answers on $URL: $(curl -s -o /dev/null -w '%{http_code}' "$URL") (the bootstrap's placeholder: nothing deployed yet)"

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

step "4. Check and apply the example"
# The specs as checked in, with this run's NGINX directory, binary and pause length.
mkdir -p "$WORK/specs"
sed -e "s#/tmp/rollgate-nginx/#$NGINX_DIR/#g" examples/nginx/service.yaml >"$WORK/specs/service.yaml"
[ "$NGINX" = /usr/sbin/nginx ] || printf '    nginx: %s\n' "$NGINX" >>"$WORK/specs/service.yaml"
sed -e "s/duration: 30s/duration: $STEP_PAUSE/" examples/nginx/rollout-strategy.yaml >"$WORK/specs/rollout-strategy.yaml"
echo "(examples/nginx/ with the files in $NGINX_DIR and pauses of $STEP_PAUSE, in $WORK/specs/)"
rollgate validate -f "$WORK/specs/"
rollgate apply -f "$WORK/specs/"

step "5. The first version: 100% at once"
watched deploy demo-nginx --version 1.0.0 --watch
show "curl -s ${URL#http://}"
curl -s "$URL"; echo
only 1.0.0 20

step "6. The 2.0.0 canary (5 → 25 → 50 → 100%, $STEP_PAUSE each), with traffic through NGINX"
# The README runs this loop in another terminal; here the answers go to a file, counted below.
show "while true; do curl -s ${URL#http://}; echo; sleep 0.2; done >$WORK/traffic.log &"
setsid bash -c "while true; do curl -s --max-time 5 '$URL'; echo; sleep 0.2; done" >"$WORK/traffic.log" 2>&1 &
TRAFFIC_PID=$!
rollgate deploy demo-nginx --version 2.0.0
watched rollout status demo-nginx --watch
kill -- "-$TRAFFIC_PID" 2>/dev/null || true
wait "$TRAFFIC_PID" 2>/dev/null || true
TRAFFIC_PID=''
echo "the traffic during the canary: $(grep -o '"version":"[^"]*"' "$WORK/traffic.log" | cut -d'"' -f4 | sort | uniq -c | awk '{ printf "%s%s answered %s", sep, $2, $1; sep = ", " }'), of $(wc -l <"$WORK/traffic.log") requests"
show "curl -s ${URL#http://}"
curl -s "$URL"; echo
only 2.0.0 20

step "7. A 3.0.0 canary, aborted: back to 100% on 2.0.0"
rollgate deploy demo-nginx --version 3.0.0
status 'canary [1-9][0-9]*%'
show "grep -E '^ *(upstream|server) ' $NGINX_DIR/rollgate/demo-nginx.conf    # what NGINX was told"
grep -E '^ *(upstream|server) ' "$NGINX_DIR/rollgate/demo-nginx.conf"
seen 3.0.0
rollgate rollout abort demo-nginx --reason "trying the abort"
status '^Phase: +Aborted'
only 2.0.0 40

step "Done: 1.0.0 deployed, 2.0.0 promoted through NGINX, 3.0.0 aborted and 100% of traffic back on 2.0.0."
