#!/usr/bin/env bash
# Per-job statement cost, QueuePilot against Graphile Worker (issue 14): one psql session drains
# <jobs> no-op jobs through prepared claim and complete statements, <batch> per statement, and
# prints the backend's own CPU per job (/proc/<pid>/schedstat: on-CPU time, so a loaded machine
# inflates it less than wall-clock time does) and, per top-level statement, shared buffers,
# execution time and WAL per job (pg_stat_statements). Needs a LOCAL server with
# pg_stat_statements preloaded and created in the database, psql on PATH, PGHOST/PGPORT/PGUSER;
# run one at a time (the server's other sessions share the CPU and the WAL).
#
#   queue/harness/statement-cost.sh <database> qp|combined|graphile [jobs] [batch]
#   qp       = claim_next_job(batch) then complete_jobs(ids, leases): a database migrated with sql/
#   combined = complete_and_claim_jobs (V083), one call per batch: the same kind of database
#   graphile = Graphile Worker's own batched claim (get_jobs, batch > 1) and completion statements,
#              generated at run time from its installed dist/sql/getJobs.js and completeJobs.js
#              (GRAPHILE_DIST, default bench/peers/node_modules/graphile-worker/dist; only the
#              claim's `returning *` becomes `returning jobs.*` so that psql can keep the ids), on a
#              database where `graphile-worker --schema-only -c <url>` ran
# The database's jobs are replaced by fresh ones first (QueuePilot: also its history and keys).
set -euo pipefail
db=$1; mode=$2; jobs=${3:-50000}; batch=${4:-250}
tx=$(( jobs / batch - 2 ))
script=$(mktemp); state=$(mktemp -d)
trap 'rm -rf "$script" "$state"' EXIT

case $mode in
  graphile)
    dist=${GRAPHILE_DIST:-$(cd "$(dirname "$0")/../.." && pwd)/bench/peers/node_modules/graphile-worker/dist}
    psql -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
DELETE FROM graphile_worker._private_jobs;
VACUUM FULL graphile_worker._private_jobs;
SELECT count(*) FROM graphile_worker.add_jobs(ARRAY(SELECT ROW('noop', json_build_object('id', i), NULL, NULL, NULL, NULL, NULL, NULL)::graphile_worker.job_spec FROM generate_series(1, $jobs) i));
VACUUM ANALYZE graphile_worker._private_jobs;
SQL
    task=$(psql -d "$db" -Atc "SELECT id FROM graphile_worker._private_tasks WHERE identifier = 'noop'")
    DIST=$dist BATCH=$batch node -e '
      const fs = require("fs");
      const schema = "\"graphile_worker\"";
      const src = fs.readFileSync(process.env.DIST + "/sql/getJobs.js", "utf8");
      const constructQuery = new Function(src.slice(src.indexOf("function constructQuery"),
          src.indexOf("//# sourceMappingURL")) + "; return constructQuery;")();
      let claim = constructQuery(Number(process.env.BATCH), false, false, schema);
      const at = claim.lastIndexOf("\n  update " + schema + "._private_jobs as jobs");
      claim = claim.slice(0, at) + ",\nclaimed as (" + claim.slice(at).replace(/returning \*\s*$/, "returning jobs.*")
          + ")\nselect array_agg(claimed.id) as ids from claimed";
      const done = fs.readFileSync(process.env.DIST + "/sql/completeJobs.js", "utf8")
          .match(/`\\\n(delete from \$\{escapedWorkerSchema\}\._private_jobs as jobs\nusing unnest\(\$1::bigint\[\]\) n\(n\)\nwhere id = n)`/)[1]
          .replace("${escapedWorkerSchema}", schema);
      console.log("PREPARE claim(text, int[]) AS " + claim + ";");
      console.log("PREPARE complete(bigint[]) AS " + done + ";");' > "$script"
    ;;
  qp|combined)
    # TRUNCATE leaves every BRIN index of job_history with an empty summary of block range 0, which
    # each insert into the first 32 pages then rewrites (≈ 140,000 instructions for the id index's
    # minmax_multi summary, docs/queue.md "Range 0"). A partition in service has its range being
    # filled unsummarised, so the harness desummarises range 0 to measure that steady state.
    psql -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
DELETE FROM public.job_queue; TRUNCATE public.job_history, public.job_idempotency_keys;
SELECT count(brin_desummarize_range(i.indexrelid::regclass, 0))
  FROM pg_inherits p JOIN pg_index i ON i.indrelid = p.inhrelid JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_am a ON a.oid = c.relam
 WHERE p.inhparent = 'public.job_history'::regclass AND a.amname = 'brin';
SQL
    psql -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL
VACUUM FULL public.job_queue; VACUUM FULL public.job_idempotency_keys;
SELECT count(*) FROM public.enqueue_jobs(array_fill('harness'::text, ARRAY[$jobs]), ARRAY(SELECT jsonb_build_object('id', i) FROM generate_series(1, $jobs) i), ARRAY(SELECT 'harness-' || gen_random_uuid() FROM generate_series(1, $jobs)));
VACUUM ANALYZE public.job_queue; VACUUM ANALYZE public.job_idempotency_keys;
SQL
    cat > "$script" <<'SQL'
PREPARE claim(text, text[], int) AS SELECT array_agg(id) AS ids, array_agg(lease_token) AS leases FROM public.claim_next_job($1, $2, NULL, $3);
PREPARE complete(uuid[], uuid[]) AS SELECT count(*) FROM public.complete_jobs($1, $2);
PREPARE cc(uuid[], uuid[], text, text[], int) AS SELECT coalesce(array_agg(id), '{}') AS ids, coalesce(array_agg(lease_token), '{}') AS leases FROM public.complete_and_claim_jobs($1, $2, NULL, NULL, $3, $4, NULL, $5) WHERE fenced_job_id IS NULL;
SQL
    ;;
  *) echo "unknown mode $mode (qp|combined|graphile)" >&2; exit 2 ;;
esac

cat >> "$script" <<SQL
SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0) IS NOT NULL AS reset \gset
\\set ids '{}'
\\set leases '{}'
\\o $state/pid
SELECT pg_backend_pid();
\\o
\\! cut -d' ' -f1 /proc/\$(cat $state/pid)/schedstat > $state/cpu0
SQL
for _ in $(seq "$tx"); do
  case $mode in
    graphile) echo "EXECUTE claim('harness', '{$task}') \\gset"; echo "EXECUTE complete(:'ids');" ;;
    qp) echo "EXECUTE claim('harness', '{harness}', $batch) \\gset"; echo "EXECUTE complete(:'ids', :'leases') \\g /dev/null" ;;
    combined) echo "EXECUTE cc(:'ids', :'leases', 'harness', '{harness}', $batch) \\gset" ;;
  esac
done >> "$script"
echo "\\! cut -d' ' -f1 /proc/\$(cat $state/pid)/schedstat > $state/cpu1" >> "$script"
psql -q -At -d "$db" -v ON_ERROR_STOP=1 -f "$script" > /dev/null

n=$(( tx * batch ))
awk -v m="$mode" -v d="$db" -v n="$n" -v t0="$(cat "$state/cpu0")" -v t1="$(cat "$state/cpu1")" \
  'BEGIN { printf "%s %s: %d jobs, backend CPU %.1f us/job\n", d, m, n, (t1 - t0) / 1000 / n }'
psql -d "$db" -Atc "
  SELECT '   ' || round((shared_blks_hit + shared_blks_read)::numeric / $n, 2) || ' buf/job ' ||
         round((total_exec_time / $n * 1000)::numeric, 1) || ' us/job ' ||
         round(wal_records::numeric / $n, 2) || ' walrec/job ' || round(wal_bytes::numeric / $n) || ' walB/job ' ||
         left(regexp_replace(query, '\s+', ' ', 'g'), 50)
    FROM pg_stat_statements
   WHERE calls >= $((tx / 2)) AND toplevel AND query ~* 'claim|complete'
     AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   ORDER BY total_exec_time DESC LIMIT 3"
