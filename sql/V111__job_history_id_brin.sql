-- Issue 14 (PostgreSQL CPU per job on the batched path): job_history's (id, finished_at) btree
-- primary key becomes a BRIN index on id; the default partition keeps a btree of its own.
--
-- Every completion inserts one history row. Measured on one PostgreSQL 17.6 (queue/harness/
-- statement-cost.sh, 250 jobs per complete_jobs; instruction counts of the backend under
-- valgrind callgrind, docs/queue.md "The history row's index"): the btree insert into the
-- history primary key was ~8,200 of the ~53,000 instructions a completed job costs in the
-- completing statement, one of its three WAL records and ~2 of its 6.7 buffer accesses. Since
-- V110 ids are UUIDv7 in enqueue order and a day partition fills in finish order, which follows
-- enqueue order except for the jobs that waited (retries, schedules, long runs): a block-range
-- index on id describes a partition in a few bytes per 32 pages, and uuid_minmax_multi_ops keeps
-- up to 32 values per range, so those stragglers do not widen a range to everything between.
-- A BRIN insert into a range that autovacuum has not summarised yet (the one being filled) is a
-- revmap probe and no WAL; autosummarize summarises a range once the next one is started.
--
-- What the btree gave, and what replaces it:
--   * lookups by id (jobs show/list through the view public.jobs, update_job_status' re-open,
--     erase_patient_data's blanking) are a bitmap scan of each partition's BRIN index: the block
--     ranges whose summary can hold the id, then a recheck of their rows (measured with
--     1,000,000 history rows in docs/queue.md);
--   * uniqueness: (id, finished_at) never made an id unique in history (the same id with another
--     finished_at was allowed; a partitioned table cannot have a unique index without its
--     partition key). An id is unique across live and finished jobs by construction: a row
--     reaches history only through a statement that DELETEs it from job_queue (whose primary key
--     holds one row per id) and inserts exactly the rows it deleted; it leaves history only
--     through a re-open that DELETEs the history row under a row lock before inserting the live
--     one. A second mover waits for that lock and then finds no row (HistoryIdUniquenessTest).
--   * the default partition (rows of a day without a partition: maintenance was behind) is
--     purged row by row, joined by (id, finished_at): it keeps a btree of its own for that.
--
-- In place: in one transaction the BRIN index is built on every partition (one sequential read
-- of each; completions wait for it: PostgreSQL takes a SHARE lock per partition while it builds),
-- then the primary key is dropped. job_queue is not touched, so leases in flight stay valid.
-- New partitions get the BRIN index on ATTACH (job_history_ensure_partitions).
CREATE INDEX job_history_id_brin ON public.job_history USING brin (id uuid_minmax_multi_ops)
  WITH (pages_per_range = 32, autosummarize = on);
CREATE INDEX job_history_default_by_id ON queuepilot_history.job_history_default (id, finished_at);
ALTER TABLE public.job_history DROP CONSTRAINT job_history_pkey;
COMMENT ON INDEX public.job_history_id_brin IS
  'Lookups of finished jobs by id (ids are UUIDv7 in enqueue order since V110, so a day partition is nearly sorted by id); replaces the (id, finished_at) btree primary key (V111).';
COMMENT ON INDEX queuepilot_history.job_history_default_by_id IS
  'The default partition''s row-by-row purge (purge_finished_jobs joins by id and finished_at) and lookups of its rows.';
