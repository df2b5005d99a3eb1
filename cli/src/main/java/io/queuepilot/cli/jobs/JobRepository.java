package io.queuepilot.cli.jobs;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.db.Database;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The CLI's read-only view of every job ({@code public.jobs}: live job_queue + finished job_history; list, show, dead-letter listing), run as the
 * service role or the owner. Every change goes through the SQL functions, never through here.
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

  private final Database db;

  public JobRepository(Database db) {
    this.db = db;
  }

  /** Jobs matching the filter, newest first, at most {@code limit}. */
  public List<JobRow> list(String status, String jobType, String lane, int limit) {
    return list(status, jobType, lane, null, limit);
  }

  /** Jobs matching the filter (null = any; errorCode is the {@code error ->> 'code'} of the last error). */
  public List<JobRow> list(String status, String jobType, String lane, String errorCode, int limit) {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(LIST)) {
      ps.setString(1, status);
      ps.setString(2, status);
      ps.setString(3, jobType);
      ps.setString(4, jobType);
      ps.setString(5, lane);
      ps.setString(6, lane);
      ps.setString(7, errorCode);
      ps.setString(8, errorCode);
      ps.setInt(9, limit);
      List<JobRow> rows = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(
              new JobRow(
                  rs.getObject("id", UUID.class),
                  rs.getString("job_type"),
                  rs.getString("job_lane"),
                  rs.getString("status"),
                  rs.getInt("priority"),
                  rs.getInt("attempt"),
                  rs.getInt("max_attempts"),
                  instant(rs.getTimestamp("created_at")),
                  instant(rs.getTimestamp("updated_at")),
                  instant(rs.getTimestamp("scheduled_at")),
                  rs.getString("worker_id"),
                  rs.getString("error_code"),
                  rs.getString("error_message")));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw db.failure("listing jobs", e);
    }
  }

  /** Every column of one job, as stored (JSON object), or empty when no such job exists. */
  public Optional<Map<String, Object>> show(UUID id) {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(SHOW)) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        JsonNode node = Output.JSON.readTree(rs.getString("job"));
        return Optional.of(Output.JSON.convertValue(node, new TypeReference<LinkedHashMap<String, Object>>() {}));
      }
    } catch (SQLException e) {
      throw db.failure("reading job " + id, e);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException("job " + id + " is not valid JSON", e);
    }
  }

  /** The job's status, or empty when no such job exists. */
  public Optional<String> status(UUID id) {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(STATUS)) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    } catch (SQLException e) {
      throw db.failure("reading job " + id, e);
    }
  }

  /** Number of jobs per status (statuses without jobs are absent), optionally for one job type. */
  public Map<String, Long> countByStatus(String jobType) {
    try (Connection c = db.getConnection();
        PreparedStatement ps = c.prepareStatement(COUNT_BY_STATUS)) {
      ps.setString(1, jobType);
      ps.setString(2, jobType);
      Map<String, Long> counts = new LinkedHashMap<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          counts.put(rs.getString("status"), rs.getLong("n"));
        }
      }
      return counts;
    } catch (SQLException e) {
      throw db.failure("counting jobs", e);
    }
  }

  private static Instant instant(Timestamp ts) {
    return ts == null ? null : ts.toInstant();
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
