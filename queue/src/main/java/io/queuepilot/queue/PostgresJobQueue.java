package io.queuepilot.queue;

import io.queuepilot.queue.sql.ResultColumns;
import io.queuepilot.queue.sql.UuidArray;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The repository of the job queue: every {@link JobQueue} method is one call of the matching SQL
 * function (sql/V004, V080, V082) with bound parameters; the batched methods pass parallel arrays. No queue logic lives here; it lives in the functions.
 */
public final class PostgresJobQueue implements JobQueue {

  private static final String ENQUEUE =
      """
      SELECT public.enqueue_job(
               p_job_type         => ?::text,
               p_payload          => ?::jsonb,
               p_idempotency_key  => ?::text,
               p_job_lane         => ?::text,
               p_priority         => ?::integer,
               p_scheduled_at     => ?::timestamptz,
               p_max_attempts     => ?::integer,
               p_patient_id       => ?::uuid,
               p_shell_file_id    => ?::uuid,
               p_correlation_id   => ?::uuid,
               p_tokens_estimated => ?::integer)
      """;

  private static final String ENQUEUE_ALL =
      """
      SELECT element, job_id
        FROM public.enqueue_jobs(
               p_job_types        => ?::text[],
               p_payloads         => ?::text[]::jsonb[],
               p_idempotency_keys => ?::text[],
               p_job_lanes        => ?::text[],
               p_priorities       => ?::integer[],
               p_scheduled_at     => ?::text[]::timestamptz[],
               p_max_attempts     => ?::integer[],
               p_patient_ids      => ?::uuid[],
               p_shell_file_ids   => ?::uuid[],
               p_correlation_ids  => ?::uuid[],
               p_tokens_estimated => ?::integer[])
      """;

  private static final String CLAIM =
      """
      SELECT id, job_type, job_lane, payload::text, lease_token, attempt, max_attempts,
             patient_id, shell_file_id, correlation_id, tokens_estimated,
             (pg_catalog.date_part('epoch', created_at) * 1000000)::int8
        FROM public.claim_next_job(?::text, ?::text[], ?::text[], ?::integer)
      """;

  private static final String COMPLETE_AND_CLAIM =
      """
      SELECT fenced_job_id, id, job_type, job_lane, payload::text, lease_token, attempt, max_attempts,
             patient_id, shell_file_id, correlation_id, tokens_estimated,
             (pg_catalog.date_part('epoch', created_at) * 1000000)::int8
        FROM public.complete_and_claim_jobs(?::uuid[], ?::uuid[], ?::jsonb[], ?::integer[],
                                            ?::text, ?::text[], ?::text[], ?::integer)
      """;

  private static final String HEARTBEAT = "SELECT public.heartbeat_job(?::uuid, ?::uuid)";

  private static final String COMPLETE =
      "SELECT public.complete_job(?::uuid, ?::uuid, ?::jsonb, ?::integer)";

  private static final String FAIL = "SELECT public.fail_job(?::uuid, ?::uuid, ?::jsonb, ?::boolean)";

  private static final String RELEASE =
      "SELECT public.release_job(?::uuid, ?::uuid, make_interval(secs => ?::double precision))";

  private static final String COMPLETE_ALL =
      "SELECT fenced_job_id FROM public.complete_jobs(?::uuid[], ?::uuid[], ?::jsonb[], ?::integer[])";

  private static final String HEARTBEAT_ALL = "SELECT fenced_job_id FROM public.heartbeat_jobs(?::uuid[], ?::uuid[])";

  private static final String FAIL_ALL =
      "SELECT job_id, new_status FROM public.fail_jobs(?::uuid[], ?::uuid[], ?::jsonb[], ?::boolean[])";

  private static final String RELEASE_ALL =
      """
      SELECT fenced_job_id
        FROM public.release_jobs(?::uuid[], ?::uuid[], make_interval(secs => ?::double precision))
      """;

  private static final String REQUEUE_STALE =
      """
      SELECT job_id, new_status, worker_id
        FROM public.requeue_stale_jobs(make_interval(secs => ?::double precision), ?::text[], ?::text[])
      """;

  private static final String STATS =
      """
      SELECT ready, scheduled, processing, stale, dead_letter, oldest_ready_age_seconds,
             avg_duration_seconds, avg_tokens_per_job, completed_recently,
             ready_estimated, ready_tokens_estimated, max_ready_tokens_estimated
        FROM public.queue_stats(?::text[], ?::text[], make_interval(secs => ?::double precision))
      """;

  private static final String UPDATE_STATUS =
      "SELECT public.update_job_status(?::uuid, ?::text, ?::jsonb, ?::timestamptz)";

  private static final String RETRY = "SELECT public.retry_job(?::uuid, ?::timestamptz)";

  private static final String DEAD_LETTER = "SELECT public.dead_letter_job(?::uuid, ?::jsonb)";

  private static final String CANCEL = "SELECT public.cancel_job(?::uuid)";

  private final DataSource dataSource;

  public PostgresJobQueue(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  @Override
  public UUID enqueue(NewJob job) {
    Objects.requireNonNull(job, "job");
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(ENQUEUE)) {
      ps.setString(1, job.jobType());
      ps.setString(2, job.payloadJson());
      ps.setString(3, job.idempotencyKey());
      ps.setString(4, job.lane());
      setInteger(ps, 5, job.priority());
      setInstant(ps, 6, job.scheduledAt());
      setInteger(ps, 7, job.maxAttempts());
      ps.setObject(8, job.patientId());
      ps.setObject(9, job.shellFileId());
      ps.setObject(10, job.correlationId());
      setInteger(ps, 11, job.tokensEstimated());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return ResultColumns.uuid(rs, 1);
      }
    } catch (SQLException e) {
      throw new JobQueueException("enqueue_job(" + job.jobType() + ", " + job.idempotencyKey() + ")", e);
    }
  }

  @Override
  public List<UUID> enqueueAll(List<NewJob> jobs) {
    if (jobs.isEmpty()) {
      return List.of();
    }
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(ENQUEUE_ALL)) {
      // typed arrays: pgjdbc sends String[] as text[] and Integer[] as int4[] in binary (Object[] is escaped into a literal)
      ps.setArray(1, c.createArrayOf("text", jobs.stream().map(NewJob::jobType).toArray(String[]::new)));
      ps.setArray(2, c.createArrayOf("text", jobs.stream().map(NewJob::payloadJson).toArray(String[]::new)));
      ps.setArray(3, c.createArrayOf("text", jobs.stream().map(NewJob::idempotencyKey).toArray(String[]::new)));
      ps.setArray(4, c.createArrayOf("text", jobs.stream().map(NewJob::lane).toArray(String[]::new)));
      ps.setArray(5, c.createArrayOf("int4", jobs.stream().map(NewJob::priority).toArray(Integer[]::new)));
      ps.setArray(6, c.createArrayOf("text",
          jobs.stream().map(j -> j.scheduledAt() == null ? null : j.scheduledAt().toString()).toArray(String[]::new)));
      ps.setArray(7, c.createArrayOf("int4", jobs.stream().map(NewJob::maxAttempts).toArray(Integer[]::new)));
      ps.setObject(8, UuidArray.of(jobs.stream().map(NewJob::patientId).toList()));
      ps.setObject(9, UuidArray.of(jobs.stream().map(NewJob::shellFileId).toList()));
      ps.setObject(10, UuidArray.of(jobs.stream().map(NewJob::correlationId).toList()));
      ps.setArray(11, c.createArrayOf("int4", jobs.stream().map(NewJob::tokensEstimated).toArray(Integer[]::new)));
      UUID[] ids = new UUID[jobs.size()];
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ids[rs.getInt(1) - 1] = ResultColumns.uuid(rs, 2);
        }
      }
      return List.of(ids);
    } catch (SQLException e) {
      throw new JobQueueException("enqueue_jobs(" + jobs.size() + " jobs)", e);
    }
  }

  @Override
  public List<ClaimedJob> claim(String workerId, List<String> jobTypes, List<String> lanes, int batch) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(CLAIM)) {
      ps.setString(1, workerId);
      ps.setArray(2, textArray(c, jobTypes));
      ps.setArray(3, textArray(c, lanes));
      ps.setInt(4, batch);
      List<ClaimedJob> claimed = new ArrayList<>(Math.max(0, Math.min(batch, 1000)));
      try (ResultSet rs = ps.executeQuery()) {
        ResultColumns.RowBytes row = ResultColumns.RowBytes.of(rs, 1, CLAIMED_COLUMNS);
        while (rs.next()) {
          claimed.add(claimedJob(row.read(rs), 1));
        }
      }
      return claimed;
    } catch (SQLException e) {
      throw new JobQueueException("claim_next_job(" + workerId + ")", e);
    }
  }

  /** Parameters 1-4 of complete_jobs and complete_and_claim_jobs: the completions as parallel arrays. */
  private static void bindCompletions(Connection c, PreparedStatement ps, List<Completion> completions)
      throws SQLException {
    int n = completions.size();
    UUID[] ids = new UUID[n];
    UUID[] leases = new UUID[n];
    String[] results = null;
    Integer[] tokens = null;
    for (int i = 0; i < n; i++) {
      Completion done = completions.get(i);
      ids[i] = done.jobId();
      leases[i] = done.leaseToken();
      if (done.resultJson() != null) {
        if (results == null) {
          results = new String[n];
        }
        results[i] = done.resultJson();
      }
      if (done.tokensUsed() != null) {
        if (tokens == null) {
          tokens = new Integer[n];
        }
        tokens[i] = done.tokensUsed();
      }
    }
    ps.setObject(1, UuidArray.of(ids));
    ps.setObject(2, UuidArray.of(leases));
    // all NULL (the usual no-op and bench completion): a NULL array, which the functions read as "none given"
    ps.setArray(3, results == null ? null : c.createArrayOf("jsonb", results));
    ps.setArray(4, tokens == null ? null : c.createArrayOf("int4", tokens)); // Integer[]: pgjdbc sends int4[] binary
  }

  /** Columns of a claimed job in CLAIM and COMPLETE_AND_CLAIM. */
  private static final int CLAIMED_COLUMNS = 12;

  /** The claimed job in {@code row}'s columns {@code first .. first + CLAIMED_COLUMNS - 1}. */
  private static ClaimedJob claimedJob(ResultColumns.RowBytes row, int first) {
    return new ClaimedJob(
        row.uuid(first),
        row.text(first + 1),
        row.text(first + 2),
        row.text(first + 3),
        row.uuid(first + 4),
        row.int4(first + 5),
        row.int4(first + 6),
        row.uuid(first + 7),
        row.uuid(first + 8),
        row.uuid(first + 9),
        row.nullableInt4(first + 10),
        row.epochMicros(first + 11));
  }

  @Override
  public CompletedAndClaimed completeAndClaim(List<Completion> completions, String workerId, List<String> jobTypes,
      List<String> lanes, int batch) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(COMPLETE_AND_CLAIM)) {
      bindCompletions(c, ps, completions);
      ps.setString(5, workerId);
      ps.setArray(6, textArray(c, jobTypes));
      ps.setArray(7, textArray(c, lanes));
      ps.setInt(8, batch);
      Set<UUID> fenced = new LinkedHashSet<>();
      List<ClaimedJob> claimed = new ArrayList<>(Math.max(0, Math.min(batch, 1000)));
      try (ResultSet rs = ps.executeQuery()) {
        ResultColumns.RowBytes row = ResultColumns.RowBytes.of(rs, 1, 1 + CLAIMED_COLUMNS);
        while (rs.next()) {
          UUID f = row.read(rs).uuid(1);
          if (f != null) {
            fenced.add(f);
          } else {
            claimed.add(claimedJob(row, 2));
          }
        }
      }
      return new CompletedAndClaimed(fenced, claimed);
    } catch (SQLException e) {
      throw new JobQueueException("complete_and_claim_jobs(" + completions.size() + " jobs, " + workerId + ")", e);
    }
  }

  @Override
  public boolean heartbeat(UUID jobId, UUID leaseToken) {
    return leaseGuarded("heartbeat_job", HEARTBEAT, jobId, leaseToken, ps -> {});
  }

  @Override
  public boolean complete(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed) {
    return leaseGuarded(
        "complete_job",
        COMPLETE,
        jobId,
        leaseToken,
        ps -> {
          ps.setString(3, resultJson);
          setInteger(ps, 4, tokensUsed);
        });
  }

  @Override
  public Optional<JobStatus> fail(UUID jobId, UUID leaseToken, String errorJson, boolean retryable) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(FAIL)) {
      ps.setObject(1, jobId);
      ps.setObject(2, leaseToken);
      ps.setString(3, errorJson);
      ps.setBoolean(4, retryable);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        String status = rs.getString(1);
        return status == null ? Optional.empty() : Optional.of(JobStatus.fromSql(status));
      }
    } catch (SQLException e) {
      throw new JobQueueException("fail_job(" + jobId + ")", e);
    }
  }

  @Override
  public boolean release(UUID jobId, UUID leaseToken, Duration delay) {
    return leaseGuarded("release_job", RELEASE, jobId, leaseToken, ps -> ps.setDouble(3, seconds(delay)));
  }

  @Override
  public Set<UUID> completeAll(List<Completion> completions) {
    if (completions.isEmpty()) {
      return Set.of();
    }
    return fencedIds("complete_jobs", COMPLETE_ALL, completions.size(), (c, ps) -> bindCompletions(c, ps, completions));
  }

  @Override
  public Set<UUID> heartbeatAll(List<Lease> leases) {
    if (leases.isEmpty()) {
      return Set.of();
    }
    return fencedIds("heartbeat_jobs", HEARTBEAT_ALL, leases.size(), (c, ps) -> bindLeases(c, ps, leases));
  }

  @Override
  public Set<UUID> releaseAll(List<Lease> leases, Duration delay) {
    if (leases.isEmpty()) {
      return Set.of();
    }
    return fencedIds("release_jobs", RELEASE_ALL, leases.size(), (c, ps) -> {
      bindLeases(c, ps, leases);
      ps.setDouble(3, seconds(delay));
    });
  }

  @Override
  public Map<UUID, JobStatus> failAll(List<Failure> failures) {
    if (failures.isEmpty()) {
      return Map.of();
    }
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(FAIL_ALL)) {
      ps.setObject(1, UuidArray.of(failures.stream().map(Failure::jobId).toList()));
      ps.setObject(2, UuidArray.of(failures.stream().map(Failure::leaseToken).toList()));
      ps.setArray(3, c.createArrayOf("jsonb", failures.stream().map(Failure::errorJson).toArray()));
      ps.setArray(4, c.createArrayOf("bool", failures.stream().map(Failure::retryable).toArray(Boolean[]::new)));
      Map<UUID, JobStatus> outcome = new LinkedHashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String status = rs.getString(2);
          if (status != null) { // NULL: fenced, absent from the map
            outcome.put(ResultColumns.uuid(rs, 1), JobStatus.fromSql(status));
          }
        }
      }
      return outcome;
    } catch (SQLException e) {
      throw new JobQueueException("fail_jobs(" + failures.size() + " jobs)", e);
    }
  }

  @Override
  public List<RequeuedJob> requeueStale(Duration heartbeatTimeout, List<String> jobTypes, List<String> lanes) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(REQUEUE_STALE)) {
      ps.setDouble(1, seconds(heartbeatTimeout));
      ps.setArray(2, textArray(c, jobTypes));
      ps.setArray(3, textArray(c, lanes));
      List<RequeuedJob> requeued = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          requeued.add(
              new RequeuedJob(ResultColumns.uuid(rs, 1), JobStatus.fromSql(rs.getString(2)), rs.getString(3)));
        }
      }
      return requeued;
    } catch (SQLException e) {
      throw new JobQueueException("requeue_stale_jobs(" + heartbeatTimeout + ", " + jobTypes + ", " + lanes + ")", e);
    }
  }

  @Override
  public QueueStats stats(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(STATS)) {
      ps.setArray(1, textArray(c, jobTypes));
      ps.setArray(2, textArray(c, lanes));
      ps.setDouble(3, seconds(heartbeatTimeout));
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return new QueueStats(
            rs.getLong(1),
            rs.getLong(2),
            rs.getLong(3),
            rs.getLong(4),
            rs.getLong(5),
            rs.getDouble(6),
            (Double) rs.getObject(7),
            (Double) rs.getObject(8),
            rs.getLong(9),
            rs.getLong(10),
            (Long) rs.getObject(11),
            (Long) rs.getObject(12));
      }
    } catch (SQLException e) {
      throw new JobQueueException("queue_stats", e);
    }
  }

  /**
   * {@code update_job_status}: the validated operator transition; returns the new status. An
   * illegal transition raises a {@link JobQueueException} with {@link
   * JobQueueException#isIllegalTransition()}.
   */
  public JobStatus updateStatus(UUID jobId, JobStatus status, String errorJson, Instant nextRetryAt) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(UPDATE_STATUS)) {
      ps.setObject(1, jobId);
      ps.setString(2, status.sql());
      ps.setString(3, errorJson);
      setInstant(ps, 4, nextRetryAt);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return JobStatus.fromSql(rs.getString(1));
      }
    } catch (SQLException e) {
      throw new JobQueueException("update_job_status(" + jobId + ", " + status.sql() + ")", e);
    }
  }

  @Override
  public void retry(UUID jobId, Instant nextTime) {
    execute("retry_job(" + jobId + ")", RETRY, ps -> {
      ps.setObject(1, jobId);
      setInstant(ps, 2, nextTime);
    });
  }

  @Override
  public void deadLetter(UUID jobId, String errorJson) {
    execute("dead_letter_job(" + jobId + ")", DEAD_LETTER, ps -> {
      ps.setObject(1, jobId);
      ps.setString(2, errorJson);
    });
  }

  @Override
  public void cancel(UUID jobId) {
    execute("cancel_job(" + jobId + ")", CANCEL, ps -> ps.setObject(1, jobId));
  }

  /** Binds the remaining parameters of a statement. */
  @FunctionalInterface
  private interface Binder {
    void bind(PreparedStatement ps) throws SQLException;
  }

  /** Binds the parameters of a statement that needs its connection (to build arrays). */
  @FunctionalInterface
  private interface ConnectionBinder {
    void bind(Connection c, PreparedStatement ps) throws SQLException;
  }

  private static void bindLeases(Connection c, PreparedStatement ps, List<Lease> leases) throws SQLException {
    ps.setObject(1, UuidArray.of(leases.stream().map(Lease::jobId).toList()));
    ps.setObject(2, UuidArray.of(leases.stream().map(Lease::leaseToken).toList()));
  }

  /** Runs a set-based lease-guarded function and collects the fenced job ids it returns. */
  private Set<UUID> fencedIds(String fn, String sql, int jobs, ConnectionBinder binder) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      binder.bind(c, ps);
      Set<UUID> fenced = new LinkedHashSet<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          fenced.add(ResultColumns.uuid(rs, 1));
        }
      }
      return fenced;
    } catch (SQLException e) {
      throw new JobQueueException(fn + "(" + jobs + " jobs)", e);
    }
  }

  /** Runs a lease-guarded function returning boolean: true exactly when the lease held and the row changed. */
  private boolean leaseGuarded(String fn, String sql, UUID jobId, UUID leaseToken, Binder rest) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setObject(1, jobId);
      ps.setObject(2, leaseToken);
      rest.bind(ps);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (SQLException e) {
      throw new JobQueueException(fn + "(" + jobId + ")", e);
    }
  }

  private void execute(String what, String sql, Binder binder) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      binder.bind(ps);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
      }
    } catch (SQLException e) {
      throw new JobQueueException(what, e);
    }
  }

  private static Array textArray(Connection c, List<String> values) throws SQLException {
    // String[] (not Object[]): pgjdbc then sends text[] in binary instead of escaping a literal
    return values == null || values.isEmpty() ? null : c.createArrayOf("text", values.toArray(String[]::new));
  }

  private static void setInteger(PreparedStatement ps, int index, Integer value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.INTEGER);
    } else {
      ps.setInt(index, value);
    }
  }

  private static void setInstant(PreparedStatement ps, int index, Instant value) throws SQLException {
    if (value == null) {
      ps.setNull(index, Types.TIMESTAMP_WITH_TIMEZONE);
    } else {
      ps.setObject(index, OffsetDateTime.ofInstant(value, ZoneOffset.UTC));
    }
  }

  private static double seconds(Duration d) {
    Objects.requireNonNull(d, "duration");
    return d.getSeconds() + d.getNano() / 1_000_000_000.0;
  }
}
