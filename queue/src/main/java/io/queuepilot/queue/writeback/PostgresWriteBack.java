package io.queuepilot.queue.writeback;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.sql.Jdbc;
import java.util.UUID;
import javax.sql.DataSource;

/** {@link WriteBack} through {@code public.write_back_extraction} (sql/V014), the worker's only clinical write. */
public final class PostgresWriteBack implements WriteBack {

  private static final String WRITE_BACK =
      "SELECT public.write_back_extraction(?::uuid, ?::uuid, ?::jsonb, ?::jsonb, ?::integer)";

  private final Jdbc jdbc;

  public PostgresWriteBack(DataSource dataSource) {
    this.jdbc = new Jdbc(dataSource);
  }

  /** @throws JobQueueException naming the job when the function fails (its SQLSTATE tells why) */
  @Override
  public boolean writeBack(UUID jobId, UUID leaseToken, String documentJson, String eventsJson, Integer tokensUsed) {
    return jdbc.queryOne("write_back_extraction(" + jobId + ")", WRITE_BACK, rs -> rs.getBoolean(1),
        jobId, leaseToken, documentJson, eventsJson, tokensUsed);
  }
}
