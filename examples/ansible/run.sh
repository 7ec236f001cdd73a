#!/usr/bin/env bash
# The steps of examples/ansible/README.md ("Run it"), end to end, on this machine: the playbook
# alone (deploy, health, retire by hand), then under `rollgate serve` with steady load on the
# embedded router: deploy 1.0.0, roll 2.0.0 out as a canary judged by analysis until it is Healthy,
# start a 3.0.0 canary and abort it — checking through the router which version answers at each
# point — and finally retire what still runs with the same playbook.
#
#   examples/ansible/run.sh                       # uses `npx rollgate`, the router on :18190
#   RG="node dist/cli/main.js" ROUTER_PORT=28190 PLAYBOOK_PORT=28080 examples/ansible/run.sh
# Environment: RG (the rollgate command), ROUTER_PORT (the embedded router, default 18190),
# PLAYBOOK_PORT (the playbook run by hand, default 18080), DEMO_RUN_DIR (the playbook's pid files
# and app output, default /tmp/rollgate-ansible-demo). ansible-playbook is the one on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."   # the playbook and inventory paths of service.yaml are relative to the repository root

read -r -a RG <<<"${RG:-npx rollgate}"
ROUTER_PORT=${ROUTER_PORT:-18190}
PLAYBOOK_PORT=${PLAYBOOK_PORT:-18080}
DEMO_RUN_DIR=${DEMO_RUN_DIR:-/tmp/rollgate-ansible-demo}
ROUTER="http://127.0.0.1:$ROUTER_PORT/"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-ansible-run.XXXXXX")
export ROLLGATE_DATA_DIR="$WORK/.rollgate"
unset ROLLGATE_TOKEN ROLLGATE_SERVER
[ -e "$DEMO_RUN_DIR" ] && CREATED_DIR='' || CREATED_DIR=$DEMO_RUN_DIR

SERVE_PID='' LOAD_PID=''
cleanup() {
  local code=$?
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then kill -TERM -- "-$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  # The playbook starts the app detached (it outlives Rollgate by design): after a failure, stop
  # whatever this run started that step 8 did not retire.
  if [ -n "$CREATED_DIR" ]; then
    for pid_file in "$CREATED_DIR"/demo-ansible/*.pid; do [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true; done
  fi
  if [ "$code" -ne 0 ]; then
    echo "run failed (exit $code); kept $WORK (serve.log, the versions' logs under .rollgate/services/demo-ansible/)" >&2
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
# `deployed VERSION`: `rollgate deploy demo-ansible --version VERSION --watch` (the play-by-play goes
# to a log file); then the traffic split at each change it saw, the analysis results and the phase
# it ended in.
deployed() {
  show "rollgate deploy demo-ansible --version $1 --watch    # play-by-play in $WORK/deploy-$1.log"
  rg deploy demo-ansible --version "$1" --watch >"$WORK/deploy-$1.log" 2>&1 || { cat "$WORK/deploy-$1.log"; fail "the rollout of $1 did not end Healthy"; }
  grep -E '^Traffic:' "$WORK/deploy-$1.log" | uniq
  grep -oE 'AnalysisCompleted +analysis at step [0-9]+ .*' "$WORK/deploy-$1.log" | sort -u || true
  grep -E '^Phase:' "$WORK/deploy-$1.log" | tail -n 1
}
# The version that answers one request through the router (the demo app's X-Demo-Version header);
# "none" when the request failed or the answer carried no version.
answer() { local version; version=$(curl -s -o /dev/null --max-time 5 -w '%header{x-demo-version}' "$ROUTER") || true; echo "${version:-none}"; }
# `only VERSION N`: N requests through the router, every one must be answered by VERSION.
only() {
  local want=$1 n=$2 got
  got=$(for _ in $(seq 1 "$n"); do answer; done | sort | uniq -c | awk '{ printf "%s%s x %s", sep, $1, $2; sep = ", " }')
  echo "through the router: $n requests answered by: $got"
  [ "$got" = "$n x $want" ] || fail "expected all $n requests to be answered by $want"
  echo "OK: all $n requests answered by $want"
}
# `seen VERSION`: sends requests (at most 400) until one is answered by VERSION.
seen() {
  local want=$1 i
  for i in $(seq 1 400); do
    if [ "$(answer)" = "$want" ]; then echo "through the router: $want answered request $i"; return 0; fi
  done
  fail "$want answered none of 400 requests"
}
# `status PATTERN`: waits (at most 60 s) until `rollout status` matches PATTERN (grep -E), then
# shows it: the engine acts at its next pass, not within the CLI call.
status() {
  for _ in $(seq 1 300); do
    if rg rollout status demo-ansible >"$WORK/status.txt" 2>&1 && grep -qE "$1" "$WORK/status.txt"; then break; fi
    sleep 0.2
  done
  show "rollgate rollout status demo-ansible"
  cat "$WORK/status.txt"
  grep -qE "$1" "$WORK/status.txt" || fail "the rollout status never matched /$1/"
}

step "1. The playbook alone, as Rollgate will run it"
P=(examples/ansible/playbooks/demo-app.playbook -i examples/ansible/inventory.ini)
V=(-e rollgate_service=demo-ansible -e rollgate_version=1.0.0 -e "rollgate_port=$PLAYBOOK_PORT")
[ "$DEMO_RUN_DIR" = /tmp/rollgate-ansible-demo ] || V+=(-e "demo_run_dir=$DEMO_RUN_DIR")
# `playbook ACTION`: one run, shown in full; its output in a file, of which the recap is shown.
playbook() {
  show "ansible-playbook ${P[*]} ${V[*]} -e rollgate_action=$1"
  ansible-playbook "${P[@]}" "${V[@]}" -e "rollgate_action=$1" >"$WORK/playbook-$1.log" 2>&1 || { cat "$WORK/playbook-$1.log"; fail "the $1 run failed"; }
  grep -E 'ROLLGATE_ENDPOINT=|^(ok|changed|skipping): .*"(stdout|msg)"' "$WORK/playbook-$1.log" | sed -E 's/^(.{0,200}).*/\1/' || true
  grep -A1 '^PLAY RECAP' "$WORK/playbook-$1.log" | tail -n 1
}
playbook deploy
show "curl -s 127.0.0.1:$PLAYBOOK_PORT/"
curl -s --max-time 5 "127.0.0.1:$PLAYBOOK_PORT/"; echo
[ "$(curl -s --max-time 5 -o /dev/null -w '%header{x-demo-version}' "127.0.0.1:$PLAYBOOK_PORT/")" = 1.0.0 ] || fail "1.0.0 does not answer on port $PLAYBOOK_PORT"
playbook health
playbook retire
curl -s --max-time 2 -o /dev/null "127.0.0.1:$PLAYBOOK_PORT/" && fail "something still answers on port $PLAYBOOK_PORT after the retire run"
echo "OK: nothing answers on port $PLAYBOOK_PORT any more"
playbook retire

step "2. The control plane (SQLite in $ROLLGATE_DATA_DIR)"
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

step "3. Apply the demo strategy and analysis and the demo-ansible service; load on the router"
# service.yaml as checked in, with this run's router port and run directory.
sed -e "s/127\.0\.0\.1:18190/127.0.0.1:$ROUTER_PORT/" -e "s#demo_run_dir: /tmp/rollgate-ansible-demo#demo_run_dir: $DEMO_RUN_DIR#" \
  examples/ansible/service.yaml >"$WORK/service.yaml"
echo "(examples/ansible/service.yaml with the router on 127.0.0.1:$ROUTER_PORT and demo_run_dir $DEMO_RUN_DIR, as $WORK/service.yaml)"
rollgate apply -f examples/demo/rollout-strategy.yaml -f examples/demo/analysis-template.yaml -f "$WORK/service.yaml"
show "node examples/governance/load.mjs $ROUTER_PORT &    # canary analysis judges real traffic"
node examples/governance/load.mjs "$ROUTER_PORT" &
LOAD_PID=$!

step "4. The first deployment becomes stable"
deployed 1.0.0
only 1.0.0 20

step "5. The 2.0.0 canary: 5 → 25 → 50 → 100%, analysis after each step"
deployed 2.0.0
show "curl -s 127.0.0.1:$ROUTER_PORT/"
curl -s --max-time 5 "$ROUTER"; echo
only 2.0.0 20
rollgate rollout status demo-ansible
LOG="$ROLLGATE_DATA_DIR/services/demo-ansible/2.0.0.log"
show "grep -E '\\\$ ansible-playbook|<==' .rollgate/services/demo-ansible/2.0.0.log | head -n 4    # each step of 2.0.0, as Rollgate ran it"
grep -E '\$ ansible-playbook|<==' "$LOG" | head -n 4 | sed -E 's/^(.{0,300}).*/\1/'

step "6. A 3.0.0 canary, aborted: all traffic back on 2.0.0"
rollgate deploy demo-ansible --version 3.0.0
status 'canary [1-9][0-9]*%'
seen 3.0.0
rollgate rollout abort demo-ansible --reason "trying the abort"
status '^Phase: +Aborted'
only 2.0.0 40

step "7. 3.0.0 and 1.0.0 were retired by the playbook (rollgate_action=retire)"
# The retirements run after the scale-down delay (2 s): wait for both records.
for version in 1.0.0 3.0.0; do
  log="$ROLLGATE_DATA_DIR/services/demo-ansible/$version.log"
  for _ in $(seq 1 150); do grep -q '<== retire succeeded' "$log" 2>/dev/null && break; sleep 0.2; done
  grep -q '<== retire succeeded' "$log" || fail "$version was not retired"
  echo "$version: $(grep '<== retire succeeded' "$log" | tail -n 1 | sed -E 's/^\[rollgate [^]]*\] //')"
done

step "8. Stop: the control plane leaves 2.0.0 running (by design); retire it with the same playbook"
kill -TERM -- "-$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=''
kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=''
[ "$(answer)" = none ] && echo "the router stopped with the control plane"
V=(-e rollgate_service=demo-ansible -e rollgate_version=2.0.0)
[ "$DEMO_RUN_DIR" = /tmp/rollgate-ansible-demo ] || V+=(-e "demo_run_dir=$DEMO_RUN_DIR")
playbook retire

step "Done: the playbook ran alone; under Rollgate 1.0.0 was deployed, 2.0.0 promoted, 3.0.0 aborted and 100% of traffic was back on 2.0.0."
