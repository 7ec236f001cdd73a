#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for tests, listening only on 127.0.0.1, and prints its URL as the
# last (and only) line on stdout. Everything else goes to stderr.
#
#   url=$(bash scripts/start-postgres.sh /tmp/rg-pg)    # DIR defaults to a new temp dir
#   ROLLGATE_TEST_DATABASE_URL=$url npx vitest run test/store
#   bash scripts/stop-postgres.sh /tmp/rg-pg
#
# PGPORT picks the port (default 54329; when the default is taken, the next free one is used).
# Running it again on a DIR whose server is up just prints the URL again.
set -euo pipefail

log() { echo "start-postgres: $*" >&2; }
die() { log "$*"; exit 1; }

dir="${1:-}"
if [[ -z "$dir" ]]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/rollgate-pg.XXXXXX")"; fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
database="rollgate_test"

find_bindir() {
  local candidate
  for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -V -r); do
    if [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then echo "$candidate"; return 0; fi
  done
  return 1
}

bindir="$(find_bindir || true)"
if [[ -z "$bindir" ]]; then
  [[ "$(id -u)" == 0 ]] || die "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (install the postgresql package)"
  log "installing PostgreSQL (apt-get install -y postgresql)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 || {
    apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  }
  bindir="$(find_bindir)" || die "PostgreSQL installed but its binaries were not found"
fi

# initdb and postgres refuse to run as root: as root, run them as the `postgres` system user.
if [[ "$(id -u)" == 0 ]]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
  chown postgres: "$dir"
  as_owner() { (cd "$dir" && runuser -u postgres -- "$@"); }
else
  as_owner() { (cd "$dir" && "$@"); }
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url_for() { echo "postgres://postgres@127.0.0.1:$1/$database"; }

create_database() {
  local port="$1" exists
  exists="$(as_owner "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -Atq \
    -c "select 1 from pg_database where datname = '$database'")"
  if [[ "$exists" != 1 ]]; then as_owner "$bindir/createdb" -h "$dir" -p "$port" -U postgres "$database" >&2; fi
}

# Already running from this DIR: report it again.
if [[ -f "$dir/port" ]] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  port="$(cat "$dir/port")"
  create_database "$port"
  url_for "$port"
  exit 0
fi

if [[ -n "${PGPORT:-}" ]]; then
  port="$PGPORT"
  port_in_use "$port" && die "port $port on 127.0.0.1 is already in use (PGPORT)"
else
  port=54329
  while port_in_use "$port"; do
    port=$((port + 1))
    ((port < 54429)) || die "no free port in 54329-54428"
  done
fi

touch "$dir/.rollgate-postgres" # marks DIR as ours, so stop-postgres.sh may delete it
if [[ ! -f "$data/PG_VERSION" ]]; then
  log "initdb in $data ($bindir)"
  as_owner "$bindir/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
fi
echo "$port" >"$dir/port"
[[ "$(id -u)" == 0 ]] && chown postgres: "$dir/port" "$dir/.rollgate-postgres"

# Durability is pointless for a throwaway test database; skipping fsync makes tests faster.
log "starting on 127.0.0.1:$port (log: $dir/postgres.log)"
as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >&2 || { tail -n 50 "$dir/postgres.log" >&2 || true; die "PostgreSQL did not start"; }

for _ in $(seq 1 60); do
  if as_owner "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then break; fi
  sleep 0.5
done
as_owner "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" || die "PostgreSQL is not accepting connections on 127.0.0.1:$port"

create_database "$port"
url_for "$port"
