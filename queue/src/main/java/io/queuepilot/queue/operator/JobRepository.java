package io.queuepilot.queue.operator;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.sql.Jdbc;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * The operator's read-only view of every job ({@code public.jobs}: live job_queue + finished job_history) (the CLI's {@code jobs list}, {@code jobs show},
 * {@code dlq list}), run as the service role or the owner. Every change goes through the SQL
 * functions ({@link io.queuepilot.queue.JobQueue}), never through here. Failures are
 * {@link JobQueueException}s naming what was being read.
 */
public final class JobRepository {

  private static final String LIST =
      """
      SELECT id, job_type, job_lane, status, priority, attempt, max_attempts,
             created_at, updated_at, scheduled_at, worker_id,
             error ->> 'code' AS error_code, error ->> 'message' AS error_message
        FROM public.jobs
       WHERE (?::text IS NULL OR status = ?::text)
         AND (?::text IS NULL OR job_type = ?::text)
         AND (?::text IS NULL OR job_lane = ?::text)
         AND (?::text IS NULL OR error ->> 'code' = ?::text)
       ORDER BY created_at DESC, id
       LIMIT ?
      """;

  private static final String SHOW =
      """
      SELECT row_to_json(j)::text AS job
        FROM public.jobs j
       WHERE j.id = ?
      """;

  private static final String STATUS =
      """
      SELECT status FROM public.jobs WHERE id = ?
      """;

  private static final String COUNT_BY_STATUS =
      """
      SELECT status, count(*) AS n
        FROM public.jobs
       WHERE (?::text IS NULL OR job_type = ?::text)
       GROUP BY status
      """;

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Jdbc jdbc;

  public JobRepository(DataSource dataSource) {
    this.jdbc = new Jdbc(dataSource);
  }

  /** Jobs matching the filter, newest first, at most {@code limit}. */
  public List<JobRow> list(String status, String jobType, String lane, int limit) {
    return list(status, jobType, lane, null, limit);
  }

  /** Jobs matching the filter (null = any; errorCode is the {@code error ->> 'code'} of the last error). */
  public List<JobRow> list(String status, String jobType, String lane, String errorCode, int limit) {
    return jdbc.queryList("listing jobs", LIST,
        rs -> new JobRow(
            rs.getObject("id", UUID.class),
            rs.getString("job_type"),
            rs.getString("job_lane"),
            rs.getString("status"),
            rs.getInt("priority"),
            rs.getInt("attempt"),
            rs.getInt("max_attempts"),
            Jdbc.instant(rs.getTimestamp("created_at")),
            Jdbc.instant(rs.getTimestamp("updated_at")),
            Jdbc.instant(rs.getTimestamp("scheduled_at")),
            rs.getString("worker_id"),
            rs.getString("error_code"),
            rs.getString("error_message")),
        status, status, jobType, jobType, lane, lane, errorCode, errorCode, limit);
  }

  /** Every column of one job, as stored (JSON object), or empty when no such job exists. */
  public Optional<Map<String, Object>> show(UUID id) {
    Optional<String> json = jdbc.queryOptional("reading job " + id, SHOW, rs -> rs.getString("job"), id);
    try {
      return json.isEmpty() ? Optional.empty()
          : Optional.of(JSON.readValue(json.get(), new TypeReference<LinkedHashMap<String, Object>>() {}));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("job " + id + " is not valid JSON", e);
    }
  }

  /** The job's status, or empty when no such job exists. */
  public Optional<String> status(UUID id) {
    return jdbc.queryOptional("reading job " + id, STATUS, rs -> rs.getString(1), id);
  }

  /** Number of jobs per status (statuses without jobs are absent), optionally for one job type. */
  public Map<String, Long> countByStatus(String jobType) {
    Map<String, Long> counts = new LinkedHashMap<>();
    jdbc.queryList("counting jobs", COUNT_BY_STATUS, rs -> Map.entry(rs.getString("status"), rs.getLong("n")),
            jobType, jobType)
        .forEach(e -> counts.put(e.getKey(), e.getValue()));
    return counts;
  }

  /** One line of {@code jobs list} / {@code dlq list}. */
  public record JobRow(
      UUID id,
      String jobType,
      String lane,
      String status,
      int priority,
      int attempt,
      int maxAttempts,
      Instant createdAt,
      Instant updatedAt,
      Instant scheduledAt,
      String workerId,
      String errorCode,
      String errorMessage) {}
}
