package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.JobQueue.QueueStats;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** queue_stats equals counts taken independently with plain SQL in the same transaction. */
class QueueStatsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final String INDEPENDENT =
      """
      SELECT
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'pending' AND scheduled_at <= now()),
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'pending' AND scheduled_at > now()),
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'processing'),
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'processing'
                                                   AND heartbeat_at < now() - interval '60 seconds'),
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'dead_letter'),
        coalesce((SELECT extract(epoch FROM now() - min(scheduled_at))::float8 FROM public.job_queue
                   WHERE %1$s AND status = 'pending' AND scheduled_at <= now()), 0),
        (SELECT avg(extract(epoch FROM completed_at - started_at))::float8 FROM public.jobs
          WHERE %1$s AND status = 'completed' AND completed_at >= now() - interval '5 minutes'),
        (SELECT avg(tokens_used)::float8 FROM public.jobs
          WHERE %1$s AND status = 'completed' AND completed_at >= now() - interval '5 minutes'),
        (SELECT count(*) FROM public.jobs
          WHERE %1$s AND status = 'completed' AND completed_at >= now() - interval '5 minutes'),
        (SELECT count(*) FROM public.job_queue WHERE %1$s AND status = 'pending' AND scheduled_at <= now()
                                                   AND tokens_estimated IS NOT NULL),
        (SELECT sum(tokens_estimated)::bigint FROM public.job_queue
          WHERE %1$s AND status = 'pending' AND scheduled_at <= now()),
        (SELECT max(tokens_estimated)::bigint FROM public.job_queue
          WHERE %1$s AND status = 'pending' AND scheduled_at <= now())
      """;

  @BeforeAll
  static void fill() {
    PostgresJobQueue q = new PostgresJobQueue(pg.superuser());
    Db su = new Db(pg.superuser());
    Instant now = Instant.now();
    int n = 0;
    for (String type : List.of("stats_a", "stats_b")) {
      for (String lane : List.of("ai", "bulk")) {
        for (int i = 0; i < 7; i++) {
          // every other ready job carries an estimate (V113 reports the ready ones')
          q.enqueue(new NewJob(type, lane, "{}", "s" + n++, null, null, null, 1 + i % 10,
              now.minusSeconds(30 + i * 17L), null, i % 2 == 0 ? 1_000 + 100 * i : null));
        }
        for (int i = 0; i < 3; i++) {
          q.enqueue(new NewJob(type, lane, "{}", "s" + n++, null, null, null, null, now.plusSeconds(600), null, 90_000));
        }
        // processing: 4 claimed, 2 of them stale
        List<ClaimedJob> claimed = q.claim("w-" + lane, List.of(type), List.of(lane), 4);
        su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id IN (?, ?)",
            claimed.get(0).id(), claimed.get(1).id());
        // 2 completed recently with known durations and tokens, 1 completed long ago
        for (int i = 0; i < 3; i++) {
          q.enqueue(new NewJob(type, lane, "{}", "s" + n++, null, null, null, null, null, null, null));
          ClaimedJob c = q.claim("w-" + lane, List.of(type), List.of(lane), 1).get(0);
          q.complete(c.id(), c.leaseToken(), null, 100 * (i + 1) + (type.equals("stats_a") ? 0 : 7));
          su.exec("UPDATE public.job_history SET started_at = completed_at - make_interval(secs => ?) WHERE id = ?",
              12.5 * (i + 1), c.id());
          if (i == 2) {
            // (finished_at, the history's partition key, moves with it: the row changes partition if need be)
            su.exec("UPDATE public.job_history SET completed_at = now() - interval '1 hour', finished_at = now() - interval '1 hour',"
                + " started_at = now() - interval '2 hours' WHERE id = ?", c.id());
          }
        }
        // 1 dead letter
        q.enqueue(new NewJob(type, lane, "{}", "s" + n++, null, null, null, null, null, null, null));
        ClaimedJob d = q.claim("w-" + lane, List.of(type), List.of(lane), 1).get(0);
        q.fail(d.id(), d.leaseToken(), "{\"message\":\"permanent\"}", false);
      }
    }
  }

  @Test
  void statsForAllJobsEqualIndependentCounts() throws Exception {
    compare(null, null, "true");
  }

  @Test
  void statsFilteredByTypeAndLaneEqualIndependentCounts() throws Exception {
    compare(new String[] {"stats_a"}, null, "job_type = 'stats_a'");
    compare(null, new String[] {"ai"}, "job_lane = 'ai'");
    compare(new String[] {"stats_b"}, new String[] {"bulk", "ai"}, "job_type = 'stats_b' AND job_lane IN ('bulk','ai')");
    compare(new String[] {"nothing_here"}, null, "job_type = 'nothing_here'");
  }

  @Test
  void theJavaClientReturnsTheSameFigures() {
    QueueStats s = new PostgresJobQueue(pg.superuser()).stats(List.of("stats_a"), List.of("ai"), Duration.ofSeconds(60));
    assertThat(s.ready()).isEqualTo(7 - 4 - 0 + 0); // 7 ready enqueued, 4 of them claimed
    assertThat(s.scheduled()).isEqualTo(3);
    assertThat(s.processing()).isEqualTo(4);
    assertThat(s.stale()).isEqualTo(2);
    assertThat(s.deadLetter()).isEqualTo(1);
    assertThat(s.completedRecently()).isEqualTo(2);
    assertThat(s.avgDurationSeconds()).isCloseTo(18.75, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(s.avgTokensPerJob()).isCloseTo(150.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(s.oldestReadyAgeSeconds()).isGreaterThan(30);
    // the ready jobs' estimates (every other one carries one; the scheduled jobs' 90,000 are not ready)
    Db su = new Db(pg.superuser());
    String ready = "FROM public.job_queue WHERE job_type = 'stats_a' AND job_lane = 'ai' AND status = 'pending'"
        + " AND scheduled_at <= now()";
    assertThat(s.readyEstimated()).isEqualTo(su.count("SELECT count(tokens_estimated) " + ready)).isPositive()
        .isLessThan(s.ready());
    assertThat(s.readyTokensEstimated()).isEqualTo(su.count("SELECT sum(tokens_estimated) " + ready));
    assertThat(s.maxReadyTokensEstimated()).isEqualTo(su.count("SELECT max(tokens_estimated) " + ready))
        .isLessThan(90_000L);

    QueueStats none = new PostgresJobQueue(pg.superuser()).stats(List.of("nothing_here"), List.of(), Duration.ofSeconds(60));
    assertThat(none).isEqualTo(new QueueStats(0, 0, 0, 0, 0, 0.0, null, null, 0));
  }

  private static void compare(String[] types, String[] lanes, String where) throws Exception {
    try (Connection c = pg.superuser().getConnection()) {
      c.setAutoCommit(false); // one transaction: both see the same now() and snapshot
      Object[] stats = new Object[12];
      try (PreparedStatement ps = c.prepareStatement("SELECT * FROM public.queue_stats(?, ?, interval '60 seconds')")) {
        ps.setArray(1, types == null ? null : c.createArrayOf("text", types));
        ps.setArray(2, lanes == null ? null : c.createArrayOf("text", lanes));
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          assertThat(rs.getMetaData().getColumnCount()).isEqualTo(12);
          for (int i = 0; i < 12; i++) {
            stats[i] = rs.getObject(i + 1);
          }
        }
      }
      Object[] independent = new Object[12];
      try (PreparedStatement ps = c.prepareStatement(INDEPENDENT.formatted(where));
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        for (int i = 0; i < 12; i++) {
          independent[i] = rs.getObject(i + 1);
        }
      }
      c.commit();
      assertThat(stats).as("queue_stats for %s", where).containsExactly(independent);
      if (!where.contains("nothing_here")) {
        assertThat(((Number) stats[0]).longValue()).as("fixture has ready jobs").isPositive();
        assertThat(((Number) stats[3]).longValue()).as("fixture has stale jobs").isPositive();
        assertThat(((Number) stats[9]).longValue()).as("fixture has estimated ready jobs").isPositive();
        assertThat(((Number) stats[9]).longValue()).as("and ready jobs without").isLessThan(((Number) stats[0]).longValue());
      }
    }
  }
}
