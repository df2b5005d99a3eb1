package io.queuepilot.queue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import javax.sql.DataSource;

/** {@link WorkerOccupancy} through {@code public.jobs_held_by_workers} (sql/V105); the controller role may call it. */
public final class PostgresWorkerOccupancy implements WorkerOccupancy {

  private static final String JOBS_HELD =
      """
      SELECT worker_id, jobs
        FROM public.jobs_held_by_workers(?::text[], make_interval(secs => ?::double precision))
      """;

  private final DataSource dataSource;

  public PostgresWorkerOccupancy(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  @Override
  public Map<String, Integer> jobsHeld(Collection<String> workerIds, Duration heartbeatTimeout) {
    Objects.requireNonNull(workerIds, "workerIds");
    Objects.requireNonNull(heartbeatTimeout, "heartbeatTimeout");
    Map<String, Integer> held = new LinkedHashMap<>();
    if (workerIds.isEmpty()) return held;
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(JOBS_HELD)) {
      ps.setArray(1, c.createArrayOf("text", workerIds.toArray(String[]::new)));
      ps.setDouble(2, heartbeatTimeout.toNanos() / 1e9);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) held.put(rs.getString(1), Math.toIntExact(rs.getLong(2)));
      }
      return held;
    } catch (SQLException e) {
      throw new JobQueueException("jobs_held_by_workers(" + workerIds.size() + " workers, " + heartbeatTimeout + ")", e);
    }
  }
}
