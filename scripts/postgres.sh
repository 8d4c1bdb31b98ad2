#!/usr/bin/env bash
# Starts a PostgreSQL server of the project's own, for the history store's tests: Debian's
# postgresql, its data in .engine/postgres, listening on a unix socket there and on no TCP port.
# Idempotent. The last line printed is PODGRAPH_TEST_DATABASE_URL=..., for `export`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/apt.sh

apt_install postgresql
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
root="$PWD/.engine/postgres"
data="$root/data"
socket_dir="$root/run"

# PostgreSQL refuses to run as root: as root it runs as Debian's postgres user.
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  as_owner() { runuser -u postgres -- "$@"; }
else
  owner="$(id -un)"
  as_owner() { "$@"; }
fi

mkdir -p "$root"
if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data" "$socket_dir"
  chown "$owner" "$data" "$socket_dir"
  chmod 700 "$data"
  as_owner "$bin/initdb" -D "$data" -U "$owner" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  printf '[postgres] starting on %s\n' "$socket_dir" >&2
  as_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$socket_dir' -c fsync=on" start >/dev/null
fi
as_owner "$bin/psql" -h "$socket_dir" -U "$owner" -d postgres -Atqc "select 1 from pg_database where datname = 'podgraph_test'" | grep -q 1 \
  || as_owner "$bin/createdb" -h "$socket_dir" -U "$owner" podgraph_test
echo "PODGRAPH_TEST_DATABASE_URL=postgresql://$owner@localhost/podgraph_test?host=$socket_dir"
