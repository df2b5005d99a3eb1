-- Issue 14 (database CPU per completion): job_history's finished_at index becomes a BRIN index.
--
-- Every completion inserts one history row, and each of its btree indexes costs an index insert
-- and a WAL record. finished_at is the partition key and rows arrive in finished_at order (the
-- completing statement stamps now()), so a block-range index describes it exactly at a fraction
-- of the cost: measured with pg_stat_statements on one server (queue/harness, 50-job
-- complete_jobs, 3 runs each), the completing statement wrote 152 instead of 203 WAL records
-- (22.0-22.2 kB instead of 25.2-25.6 kB) and touched 423-458 instead of 513-555 buffers per 50
-- jobs (docs/queue.md). The readers of finished_at are queue_stats (the last 5 minutes of today's
-- partition, a bitmap scan of the newest block ranges) and retention (whole partitions, by name).
-- autosummarize keeps the unsummarized tail of a partition (which a BRIN scan reads whole) to a
-- block range or two; 32 pages per range keeps that tail small.
--
-- In place: the partitioned btree and its per-partition children are dropped and the BRIN index
-- built on every partition (a sequential read of each; new partitions get it on ATTACH).
DROP INDEX public.job_history_finished_idx;
CREATE INDEX job_history_finished_idx ON public.job_history USING brin (finished_at)
  WITH (pages_per_range = 32, autosummarize = on);
