#!/usr/bin/env bash
# One release walked through Rollgate's governance, end to end, on this machine (see README.md):
# scope from git commits, the scope freeze and an exception, promotion by digest through dev and
# staging with canary analysis, a bad artifact refused by policy, go / no-go, a production change
# record with computed risk, CAB approvals (self-approval refused), a blackout window that holds
# the rollout until it ends, the production canary, the change closed; then the records.
#
#   examples/governance/walkthrough.sh            # uses `npx rollgate`
#   RG="node dist/cli/main.js" examples/governance/walkthrough.sh
# Environment: RG (the rollgate command), PORT_BASE (routers on PORT_BASE+1..3, default 18180),
# BLACKOUT_SECONDS (how long the production blackout lasts from when it is applied, default 45).
set -euo pipefail
cd "$(dirname "$0")/../.."   # the ledger service's command is relative to the repository root

read -r -a RG <<<"${RG:-npx rollgate}"
PORT_BASE=${PORT_BASE:-18180}
BLACKOUT_SECONDS=${BLACKOUT_SECONDS:-45}
DEV_PORT=$((PORT_BASE + 1)) STAGING_PORT=$((PORT_BASE + 2)) PROD_PORT=$((PORT_BASE + 3))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rollgate-governance.XXXXXX")
export ROLLGATE_DATA_DIR="$WORK/.rollgate"
unset ROLLGATE_TOKEN ROLLGATE_SERVER
declare -A TOKEN

SERVE_PID='' LOAD_PID=''
cleanup() {
  local code=$?
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  if [ -n "$SERVE_PID" ]; then kill -TERM -- "-$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; fi
  if [ "$code" -ne 0 ]; then echo "walk-through failed (exit $code); server log: $WORK/serve.log" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

rg() { "${RG[@]}" "$@"; }
step() { printf '\n======== %s\n' "$*"; }
# `as USER args...`: runs rollgate with USER's token and shows the command.
as() {
  local who=$1; shift
  printf '\n$ rollgate %s    # as %s\n' "$*" "$who"
  rg --token "${TOKEN[$who]}" "$@"
}
# `refused USER args...`: the same, but the command must be refused (exit code 3).
refused() {
  local who=$1 code=0; shift
  printf '\n$ rollgate %s    # as %s, expected to be refused\n' "$*" "$who"
  rg --token "${TOKEN[$who]}" "$@" || code=$?
  if [ "$code" -ne 3 ]; then echo "expected exit code 3 (refused), got $code" >&2; exit 1; fi
  echo "(refused, exit code 3)"
}
admin() { printf '\n$ rollgate %s    # as admin\n' "$*"; rg "$@"; }
# `quietly USER args...`: runs rollgate with USER's token without showing the command (for JSON captured to a file).
quietly() { local who=$1; shift; rg --token "${TOKEN[$who]}" "$@"; }
# `settled ENV`: follows the ledger rollout in ENV until it is Healthy (the play-by-play goes to a
# log file), then shows where it ended.
settled() {
  printf '\n$ rollgate rollout status ledger --env %s --watch    # as alice (play-by-play in %s)\n' "$1" "$WORK/watch-$1.log"
  quietly alice rollout status ledger --env "$1" --watch >"$WORK/watch-$1.log" 2>&1 || { cat "$WORK/watch-$1.log"; exit 1; }
  quietly alice rollout status ledger --env "$1"
}
# `shown ENV TEXT`: waits (up to 30 s) until the ledger rollout's status in ENV mentions TEXT, then
# shows that status: the engine acts on a decision at its next pass, not within the CLI call.
shown() {
  printf '\n$ rollgate rollout status ledger --env %s    # as alice\n' "$1"
  for _ in $(seq 1 150); do
    if quietly alice rollout status ledger --env "$1" >"$WORK/status.txt" 2>&1 && grep -qF "$2" "$WORK/status.txt"; then break; fi
    sleep 0.2
  done
  cat "$WORK/status.txt"
}
iso() { node -e 'process.stdout.write(new Date(Date.now() + Number(process.argv[1]) * 1000).toISOString().replace(/\.\d+Z$/, "Z"))' -- "$1"; }

step "0. A control plane on this machine (SQLite in $WORK)"
setsid "${RG[@]}" serve --listen 127.0.0.1:0 --data-dir "$ROLLGATE_DATA_DIR" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 200); do
  if [ -f "$ROLLGATE_DATA_DIR/config.json" ] && grep -q listening "$WORK/serve.log"; then break; fi
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
grep -q listening "$WORK/serve.log" || { cat "$WORK/serve.log" >&2; exit 1; }
node examples/governance/load.mjs "$DEV_PORT" "$STAGING_PORT" "$PROD_PORT" &
LOAD_PID=$!

step "1. The platform: environments, people, the ledger service and its path, policies, artifacts"
sed -e "s/127.0.0.1:18181/127.0.0.1:$DEV_PORT/" -e "s/127.0.0.1:18182/127.0.0.1:$STAGING_PORT/" -e "s/127.0.0.1:18183/127.0.0.1:$PROD_PORT/" \
  examples/governance/platform.yaml >"$WORK/platform.yaml"
admin apply -f examples/environments.yaml
admin apply -f "$WORK/platform.yaml"
admin apply -f examples/policies/
admin apply -f examples/governance/artifacts.yaml
for entry in alice:approver bob:approver carol:approver dave:approver erin:approver; do
  TOKEN[${entry%%:*}]=$(rg token create --name "${entry%%:*}" --role "${entry##*:}" --user "${entry%%:*}" 2>/dev/null)
done
admin user groups

step "2. Day zero: 1.0.0 is what runs everywhere (production through a standard, pre-approved change)"
as alice release create ledger-1-0-0 --version 1.0.0 --component "ledger=1.0.0@sha256:1000000000000000000000000000000000000000000000000000000000000000"
as erin release result ledger-1-0-0 --name coverage --type coverage --value 84 --passed --service ledger
as alice promote ledger-1-0-0 --to dev
settled dev
as alice promote ledger-1-0-0 --to staging
settled staging
as erin release result ledger-1-0-0 --name load-test --type benchmark --value 180 --passed
as erin release result ledger-1-0-0 --name migration-check --type migration --passed
as dave release go ledger-1-0-0 --env prod --comment "baseline release"
as alice promote ledger-1-0-0 --to prod --type standard
settled prod
as alice change close chg-00001 --code successful --notes "baseline in place"

step "3. Release 1.1.0: scope proposed from the Conventional Commits since v1.0.0"
SRC="$WORK/ledger-src"
git init -q "$SRC"
commit() { git -C "$SRC" -c user.name=Erin -c user.email=erin@example.com commit -q --allow-empty -m "$1" ${2:+-m "$2"}; }
commit "chore: initial import"
git -C "$SRC" tag v1.0.0
commit "feat(settlement): settle payments in several currencies"
commit "fix(refunds): round half to even on partial refunds"
commit "feat(api)!: idempotency keys for payment requests" "BREAKING CHANGE: clients must send Idempotency-Key"
commit "docs: explain the settlement batch"
commit "fix: reject negative amounts"
as alice release create ledger-1-1-0 --version 1.1.0 --from-git v1.0.0..HEAD --repo "$SRC" \
  --component "ledger=1.1.0@sha256:1100000000000000000000000000000000000000000000000000000000000000" \
  --freeze "$(iso -60)" --description "Multi-currency settlement"

step "4. The scope froze a minute ago: a late item needs an approved exception"
as alice release exception request ledger-1-1-0 --reason "the regulator's reporting deadline is in the contract" \
  --add-json '{"title":"Report EU settlements to the regulator","classification":"net-new","contractual":true,"jurisdictions":["eu"],"value":90}'
refused alice release exception approve ledger-1-1-0 ex-1 --comment "approving my own request"
as dave release exception approve ledger-1-1-0 ex-1 --comment "contractual obligation, approved"

step "5. CI posts its results; the same digest goes to dev, then staging, each as a judged canary"
as erin release result ledger-1-1-0 --name coverage --type coverage --value 87.5 --passed --service ledger
as erin release result ledger-1-1-0 --name sast --type static-analysis --passed --critical 0 --high 1 --service ledger
as alice promote ledger-1-1-0 --to dev
settled dev
as alice promote ledger-1-1-0 --to staging
settled staging

step "6. Meanwhile a laptop build tries its luck: refused by policy, and by digest"
as alice release create ledger-1-2-0 --version 1.2.0 --component "ledger=1.2.0@sha256:1200000000000000000000000000000000000000000000000000000000000000"
as erin release result ledger-1-2-0 --name coverage --type coverage --value 91 --passed --service ledger
as erin release result ledger-1-2-0 --name sast --type static-analysis --failed --critical 2 --service ledger
refused alice promote ledger-1-2-0 --to dev
refused alice promote ledger-1-2-0 --to staging

step "7. Go / no-go for production"
as alice release go-no-go ledger-1-1-0 --env prod
refused dave release go ledger-1-1-0 --env prod --comment "ship it"
as erin release result ledger-1-1-0 --name load-test --type benchmark --value 190 --passed --summary "p99 190 ms at 2x peak"
as erin release result ledger-1-1-0 --name migration-check --type migration --passed --summary "rehearsed on last night's copy"
as dave release signoff ledger-1-1-0 --group compliance --comment "EU reporting reviewed"
as dave release go ledger-1-1-0 --env prod --comment "all criteria met"

step "8. A blackout window over production until $(iso "$BLACKOUT_SECONDS")"
cat >"$WORK/blackout.yaml" <<YAML
apiVersion: rollgate.dev/v1alpha1
kind: Window
metadata:
  name: payments-freeze
spec:
  type: blackout
  description: Month-end settlement run; nothing changes in production.
  timeZone: Europe/Berlin
  from: "$(iso -300)"
  to: "$(iso "$BLACKOUT_SECONDS")"
  scope:
    environments: [prod]
YAML
admin apply -f "$WORK/blackout.yaml"

step "9. Promote to production: a change record with computed risk; the rollout waits at the gate"
as alice promote ledger-1-1-0 --to prod
CHANGE=$(quietly alice -o json release show ledger-1-1-0 | node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8")); process.stdout.write(o.release.status.promotions.at(-1).change)')
shown prod "waiting for approval of change $CHANGE"
as alice cab

step "10. Approvals: the requester and the author may not approve; the board and a release manager do"
refused alice approve "$CHANGE" --comment "looks good to me"
refused erin approve "$CHANGE" --comment "I wrote it, it is fine"
as bob approve "$CHANGE" --comment "canary plan and backout reviewed"
as carol approve "$CHANGE" --comment "no security concerns"
as dave approve "$CHANGE" --comment "go for production"
shown prod 'blocked by blackout window "payments-freeze"'

step "11. The blackout ends; the production canary runs and is judged"
settled prod

step "12. The change is reviewed and closed"
as alice change show "$CHANGE"
as alice change close "$CHANGE" --code successful --notes "1.1.0 promoted after two judged canary steps"

step "13. The records"
as alice release show ledger-1-1-0
as alice change show "$CHANGE"
as alice calendar --from "$(iso -3600)" --days 2 --tz Europe/Berlin
as alice drift --env prod
quietly alice -o json release show ledger-1-1-0 >"$WORK/release.json"
quietly alice -o json change show "$CHANGE" >"$WORK/change.json"
quietly alice -o json calendar --from "$(iso -3600)" --days 2 >"$WORK/calendar.json"
printf '\n$ rollgate -o json release show | change show | calendar    # saved and parsed\n'
node -e 'for (const f of process.argv.slice(1)) { const size = JSON.stringify(JSON.parse(require("fs").readFileSync(f, "utf8"))).length; console.log(`${require("path").basename(f)}: valid JSON, ${size} bytes`); }' \
  "$WORK/release.json" "$WORK/change.json" "$WORK/calendar.json"
admin audit verify

step "Done: one release, every gate, every decision on record."
