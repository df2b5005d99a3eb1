package io.queuepilot.queue.retention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * purge_finished_jobs (sql/V040, rewritten in V081) on a real PostgreSQL: jobs reach their
 * states through the queue functions, then their timestamps are moved into the past. Finished
 * jobs are in job_history's day partitions, which the purge drops whole; rows of a day without a
 * partition (the default partition) and dead letters go row by row, in batches.
 */
class PurgeFinishedJobsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final AtomicInteger TYPES = new AtomicInteger();

  private DataSource controller;

  @BeforeEach
  void cleanQueue() throws SQLException {
    controller = pg.loginAs("retention_controller", "queue_controller");
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      s.execute("DELETE FROM public.job_queue");
      s.execute("DELETE FROM public.job_history");
      // day partitions for the last 45 days (the migration created the last week's)
      s.execute("SELECT public.job_history_ensure_partitions(((now() AT TIME ZONE 'UTC')::date - 45), 46)");
    }
  }

  @Test
  void deletesOnlyFinishedJobsOlderThanTheAge() throws SQLException {
    UUID oldCompleted = job("completed", "10 days");
    UUID oldCancelled = job("cancelled", "10 days");
    UUID newCompleted = job("completed", "1 hour");
    UUID oldDeadLetter = job("dead_letter", "10 days");
    UUID pending = job("pending", "10 days");
    UUID processing = job("processing", "10 days");

    int deleted = purge(controller, "7 days", 100, null);

    assertThat(deleted).isEqualTo(2);
    assertThat(exists(oldCompleted)).isFalse();
    assertThat(exists(oldCancelled)).isFalse();
    assertThat(exists(newCompleted)).isTrue();
    assertThat(exists(oldDeadLetter)).as("dead letters stay unless asked").isTrue();
    assertThat(exists(pending)).isTrue();
    assertThat(exists(processing)).isTrue();
  }

  @Test
  void deadLettersGoOnlyPastTheirOwnAge() throws SQLException {
    UUID oldDead = job("dead_letter", "40 days");
    UUID youngDead = job("dead_letter", "10 days");

    assertThat(purge(controller, "1 day", 100, "30 days")).isEqualTo(1);

    assertThat(exists(oldDead)).isFalse();
    assertThat(exists(youngDead)).isTrue();
  }

  @Test
  void dropsWholeDayPartitionsWhateverTheBatch() throws SQLException {
    for (int i = 0; i < 5; i++) {
      job("completed", "10 days");
    }
    UUID young = job("completed", "2 days");
    String day = partitionOf(young);
    assertThat(purge(controller, "7 days", 2, null)).as("the whole day at once").isEqualTo(5);
    assertThat(count("status = 'completed'")).isEqualTo(1);
    assertThat(partitionOf(young)).isEqualTo(day);
    String gone = dayName("10 days");
    assertThat(partitions()).as("the 10-day-old partition is gone, the younger ones stay")
        .doesNotContain(gone).contains(day);
  }

  @Test
  void deletesAtMostOneBatchPerCallFromTheDefaultPartitionAndDrainsWhenRepeated() throws SQLException {
    // 100 days ago has no day partition: those rows sit in the default partition
    for (int i = 0; i < 5; i++) {
      assertThat(partitionOf(job("completed", "100 days"))).isEqualTo("job_history_default");
    }
    assertThat(purge(controller, "7 days", 2, null)).isEqualTo(2);
    assertThat(count("status = 'completed'")).isEqualTo(3);
    assertThat(purge(controller, "7 days", 2, null)).isEqualTo(2);
    assertThat(purge(controller, "7 days", 2, null)).isEqualTo(1);
    assertThat(purge(controller, "7 days", 2, null)).isZero();
    assertThat(count("true")).isZero();
  }

  @Test
  void leavesDaysSomeoneHoldsForTheNextCallInsteadOfWaiting() throws SQLException {
    UUID held = job("completed", "10 days");
    UUID free = job("completed", "20 days");
    UUID defaultRow = job("completed", "100 days");
    try (Connection holder = pg.superuser().getConnection()) {
      holder.setAutoCommit(false);
      try (PreparedStatement lock = holder.prepareStatement("SELECT 1 FROM public.job_history WHERE id = ? FOR UPDATE")) {
        lock.setObject(1, held);
        lock.executeQuery().close();
      }
      try (Connection c = controller.getConnection();
          Statement s = c.createStatement()) {
        // A partition is dropped under an exclusive lock of job_history: with a session in it the
        // purge gives up on the days after 200 ms (never near this 2 s limit) and deletes only
        // what it can row by row.
        s.execute("SET lock_timeout = '2s'");
        assertThat(purge(c, "7 days", 100, null)).isEqualTo(1);
      }
      holder.rollback();
    }
    assertThat(exists(held)).isTrue();
    assertThat(exists(free)).isTrue();
    assertThat(exists(defaultRow)).isFalse();
    // the next call, with nobody in the way, drops both days
    assertThat(purge(controller, "7 days", 100, null)).isEqualTo(2);
    assertThat(exists(held)).isFalse();
    assertThat(exists(free)).isFalse();
  }

  @Test
  void claimsAreNotBlockedWhileAPurgeIsOpen() throws SQLException {
    for (int i = 0; i < 3; i++) {
      job("completed", "10 days");
    }
    String type = "claimable" + TYPES.incrementAndGet();
    enqueue(type);
    DataSource worker = pg.loginAs("retention_worker", "queue_worker");
    try (Connection purger = controller.getConnection()) {
      purger.setAutoCommit(false);
      assertThat(purge(purger, "7 days", 100, null)).isEqualTo(3); // not committed yet
      try (Connection w = worker.getConnection();
          Statement s = w.createStatement()) {
        s.execute("SET lock_timeout = '2s'");
        try (ResultSet rs = s.executeQuery("SELECT id FROM public.claim_next_job('w1', ARRAY['" + type + "'], NULL, 1)")) {
          assertThat(rs.next()).as("claim succeeds during an open purge").isTrue();
        }
      }
      purger.commit();
    }
    assertThat(count("status = 'completed'")).isZero();
  }

  @Test
  void writesOneAuditRowPerCallThatDeleted() throws SQLException {
    job("completed", "10 days");
    job("cancelled", "10 days");
    long before = auditRows();
    purge(controller, "7 days", 100, null);
    purge(controller, "7 days", 100, null); // deleted nothing: no row
    assertThat(auditRows()).isEqualTo(before + 1);
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT new_values->>'completed', new_values->>'cancelled' FROM public.audit_log "
                + "WHERE operation = 'RETENTION_PURGE' ORDER BY id DESC LIMIT 1")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("1");
      assertThat(rs.getString(2)).isEqualTo("1");
    }
  }

  @Test
  void rejectsBadArgumentsNamingThem() {
    assertThatThrownBy(() -> purge(controller, "-1 day", 100, null)).hasMessageContaining("p_older_than");
    assertThatThrownBy(() -> purge(controller, "1 day", 0, null)).hasMessageContaining("p_batch");
    assertThatThrownBy(() -> purge(controller, "1 day", 100, "-2 days")).hasMessageContaining("p_dead_letter_older_than");
  }

  @Test
  void onlyControllerAndServiceRoleMayPurge() throws SQLException {
    job("completed", "10 days");
    DataSource worker = pg.loginAs("retention_worker", "queue_worker");
    DataSource service = pg.loginAs("retention_service", "service_role");
    assertThatThrownBy(() -> purge(worker, "7 days", 100, null)).hasMessageContaining("permission denied");
    assertThat(purge(service, "7 days", 100, null)).isEqualTo(1);
  }

  // --- helpers -------------------------------------------------------------------------------

  private static int purge(DataSource ds, String olderThan, int batch, String deadLetterOlderThan) throws SQLException {
    try (Connection c = ds.getConnection()) {
      return purge(c, olderThan, batch, deadLetterOlderThan);
    }
  }

  private static int purge(Connection c, String olderThan, int batch, String deadLetterOlderThan) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT public.purge_finished_jobs(?::interval, ?, ?::interval)")) {
      ps.setString(1, olderThan);
      ps.setInt(2, batch);
      ps.setString(3, deadLetterOlderThan);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  private static UUID enqueue(String type) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.enqueue_job(?, '{}'::jsonb, ?)")) {
      ps.setString(1, type);
      ps.setString(2, type + "-" + UUID.randomUUID());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getObject(1, UUID.class);
      }
    }
  }

  /** A job brought to {@code status} through the queue functions, its clock moved back by {@code age}. */
  private static UUID job(String status, String age) throws SQLException {
    String type = "job" + TYPES.incrementAndGet();
    UUID id = enqueue(type);
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      if (!status.equals("pending") && !status.equals("cancelled")) {
        UUID lease;
        try (ResultSet rs = s.executeQuery("SELECT lease_token FROM public.claim_next_job('w0', ARRAY['" + type + "'], NULL, 1)")) {
          assertThat(rs.next()).isTrue();
          lease = rs.getObject(1, UUID.class);
        }
        switch (status) {
          case "completed" -> s.execute("SELECT public.complete_job('" + id + "', '" + lease + "')");
          case "dead_letter" -> s.execute(
              "SELECT public.fail_job('" + id + "', '" + lease + "', '{\"message\":\"bad\"}'::jsonb, false)");
          default -> { /* processing */ }
        }
      } else if (status.equals("cancelled")) {
        s.execute("SELECT public.cancel_job('" + id + "')");
      }
      s.execute(
          """
          UPDATE public.job_queue
             SET created_at = created_at - interval '%1$s', updated_at = updated_at - interval '%1$s',
                 completed_at = completed_at - interval '%1$s', dead_letter_at = dead_letter_at - interval '%1$s'
           WHERE id = '%2$s'
          """.formatted(age, id));
      // finished jobs are in job_history; moving finished_at back moves the row to that day's partition
      s.execute(
          """
          UPDATE public.job_history
             SET created_at = created_at - interval '%1$s', updated_at = updated_at - interval '%1$s',
                 completed_at = completed_at - interval '%1$s', finished_at = finished_at - interval '%1$s'
           WHERE id = '%2$s'
          """.formatted(age, id));
      try (ResultSet rs = s.executeQuery("SELECT status FROM public.jobs WHERE id = '" + id + "'")) {
        rs.next();
        assertThat(rs.getString(1)).isEqualTo(status);
      }
    }
    return id;
  }

  private static boolean exists(UUID id) throws SQLException {
    return count("id = '" + id + "'") > 0;
  }

  private static long count(String where) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM public.jobs WHERE " + where)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The partition a finished job is stored in. */
  private static String partitionOf(UUID id) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT tableoid::regclass::text FROM public.job_history WHERE id = '" + id + "'")) {
      assertThat(rs.next()).as("job %s is in job_history", id).isTrue();
      return rs.getString(1).replace("queuepilot_history.", "");
    }
  }

  private static List<String> partitions() throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                + " WHERE i.inhparent = 'public.job_history'::regclass ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** The name of the day partition for now() - age (UTC). */
  private static String dayName(String age) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT 'job_history_p' || to_char(((now() - interval '" + age
            + "') AT TIME ZONE 'UTC')::date, 'YYYYMMDD')")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static long auditRows() throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM public.audit_log WHERE operation = 'RETENTION_PURGE'")) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
