#!/usr/bin/env bash
# Stops a PostgreSQL started by scripts/start-postgres.sh DIR and deletes DIR (only if
# start-postgres.sh created the cluster there). Safe to run again.
#
#   bash scripts/stop-postgres.sh /tmp/rg-pg
set -euo pipefail

log() { echo "stop-postgres: $*" >&2; }

dir="${1:?usage: stop-postgres.sh DIR}"
if [[ ! -d "$dir" ]]; then log "$dir does not exist: nothing to stop"; exit 0; fi
dir="$(cd "$dir" && pwd)"
data="$dir/data"

if [[ ! -f "$dir/.rollgate-postgres" ]]; then
  log "$dir was not created by start-postgres.sh; refusing to touch it"
  exit 1
fi

if [[ -f "$data/postmaster.pid" ]]; then
  bindir=""
  if [[ -f "$data/PG_VERSION" ]]; then bindir="/usr/lib/postgresql/$(cat "$data/PG_VERSION")/bin"; fi
  [[ -x "$bindir/pg_ctl" ]] || bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r | head -n 1)"
  if [[ "$(id -u)" == 0 ]]; then
    (cd "$dir" && runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -m fast -w stop) >&2 || true
  else
    (cd "$dir" && "$bindir/pg_ctl" -D "$data" -m fast -w stop) >&2 || true
  fi
fi

rm -rf -- "$dir"
log "stopped and removed $dir"
