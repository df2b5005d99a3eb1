#!/usr/bin/env bash
# Queue-engine harness (issue 14): drains N no-op jobs through the SQL functions with pgbench and
# reports jobs/s and the PostgreSQL server's CPU per job, for one database at a time, so designs
# can be compared on one server. Needs a LOCAL server (CPU is read from /proc for the postmaster
# and its children) and pgbench/psql on PATH.
#
#   PGHOST=/tmp/pg PGPORT=5432 PGUSER=postgres queue/harness/engine-harness.sh <database> <mode> [jobs] [clients] [seconds]
#   mode: single  = claim_next_job(batch 1) + complete_job per job (Graphile "no batching")
#         batched = claim_next_job(batch 50) + complete_jobs for the 50 (one round trip each)
#         combined = complete_and_claim_jobs (V083): complete the 50 held, claim the next 50, one call
#         heartbeat = 1,000 jobs in flight heartbeating one by one; prints HOT share of the updates
# With PGSS=1 (pg_stat_statements preloaded and created in the database) it also prints the
# statements' execution time per call, nested statements of the functions included.
# The database must be migrated (sql/ applied) and is filled with fresh 'harness' jobs first.
set -euo pipefail
db=$1; mode=$2; jobs=${3:-100000}; clients=${4:-8}; seconds=${5:-20}
data_dir=$(psql -d "$db" -Atc "SHOW data_directory")
postmaster=$(head -1 "$data_dir/postmaster.pid")
tick=$(getconf CLK_TCK)

cpu_ticks() {  # postmaster (incl. reaped children) + live children, user + system
  local total=0 pid f
  f=($(cut -d' ' -f14-17 /proc/$postmaster/stat)); total=$((f[0] + f[1] + f[2] + f[3]))
  for pid in $(pgrep -P "$postmaster"); do
    f=($(cut -d' ' -f14-15 /proc/$pid/stat 2>/dev/null || echo "0 0")); total=$((total + f[0] + f[1]))
  done
  echo $total
}

psql -q -d "$db" -v ON_ERROR_STOP=1 <<SQL >/dev/null
DELETE FROM public.job_queue WHERE job_type = 'harness';
$(for ((from = 0; from < jobs; from += 100000)); do n=$(( jobs - from < 100000 ? jobs - from : 100000 ))
  echo "SELECT count(*) FROM public.enqueue_jobs(array_fill('harness'::text, ARRAY[$n]), NULL, ARRAY(SELECT 'harness-' || gen_random_uuid() FROM generate_series(1, $n)));"; done)
VACUUM ANALYZE public.job_queue;
SQL

script=$(mktemp)
extra=()
case $mode in
  single) per=1; cat > "$script" <<'PGB'
SELECT id, lease_token FROM public.claim_next_job('harness', ARRAY['harness'], NULL, 1) \gset
SELECT public.complete_job(:id, :lease_token);
PGB
  ;;
  batched) per=50; cat > "$script" <<'PGB'
SELECT array_agg(id) AS ids, array_agg(lease_token) AS leases FROM public.claim_next_job('harness', ARRAY['harness'], NULL, 50) \gset
SELECT count(*) FROM public.complete_jobs(:ids, :leases);
PGB
  ;;
  combined) per=50; extra=(-D ids='{}' -D leases='{}'); cat > "$script" <<'PGB'
SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS leases FROM public.complete_and_claim_jobs(:ids, :leases, NULL, NULL, 'harness', ARRAY['harness'], NULL, 50) WHERE fenced_job_id IS NULL \gset
PGB
  ;;
  heartbeat) per=1
    psql -q -d "$db" -c "SELECT count(*) FROM public.claim_next_job('harness', ARRAY['harness'], NULL, 1000)" >/dev/null
    psql -q -d "$db" -Atc "SELECT pg_stat_reset_single_table_counters('public.job_queue'::regclass)" >/dev/null
    cat > "$script" <<'PGB'
SELECT id, lease_token FROM public.job_queue WHERE job_type = 'harness' AND status = 'processing' OFFSET (random() * 990)::int LIMIT 1 \gset
SELECT public.heartbeat_job(:id, :lease_token);
PGB
  ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

if [ "${PGSS:-0}" = 1 ]; then psql -q -d "$db" -Atc "SELECT pg_stat_statements_reset()" >/dev/null; fi
finished() { psql -d "$db" -Atc "SELECT count(*) FROM public.job_history WHERE job_type = 'harness'"; }
finished_before=$(finished)
before=$(cpu_ticks)
out=$(pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" "${extra[@]}" -f "$script" "$db" 2>&1)
# pgbench's backends exit when it does: wait until the postmaster has reaped them (their CPU is
# then in its children's times), else the figure misses whatever exited in between
for _ in $(seq 50); do [ -z "$(pgrep -P "$postmaster" -f 'postgres: .* '"$db"' ' || true)" ] && break; sleep 0.1; done
after=$(cpu_ticks)
tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
done_tx=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
# jobs finished (moved to history) during the run; heartbeat mode: one heartbeat per transaction
if [ "$mode" = heartbeat ]; then jobs_done=$((done_tx * per)); else jobs_done=$(( $(finished) - finished_before )); fi
cpu_ms=$(( (after - before) * 1000 / tick ))
awk -v m="$mode" -v t="$tps" -v s="$seconds" -v p="$per" -v j="$jobs_done" -v c="$cpu_ms" 'BEGIN {
  printf "%s: %.0f jobs/s, %d jobs, server CPU %.3f ms/job\n", m, (p == 1 && m == "heartbeat" ? t : j / s), j, (j > 0 ? c / j : 0) }'
if [ "$mode" = heartbeat ]; then
  sleep 1
  psql -d "$db" -Atc "SELECT 'HOT share of job_queue updates: ' || n_tup_hot_upd || ' / ' || n_tup_upd FROM pg_stat_user_tables WHERE relid = 'public.job_queue'::regclass"
fi
if [ "${PGSS:-0}" = 1 ]; then
  psql -d "$db" -c "SELECT calls, round((total_exec_time / calls)::numeric, 4) AS ms_per_call, round((total_plan_time / calls)::numeric, 4) AS plan_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS statement FROM pg_stat_statements WHERE calls >= 100 AND query !~* 'pg_stat_statements' ORDER BY total_exec_time DESC LIMIT 12"
fi
rm -f "$script"
