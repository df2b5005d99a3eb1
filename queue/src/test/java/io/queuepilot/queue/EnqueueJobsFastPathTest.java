package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.testing.SingleConnectionDataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * enqueue_jobs' fast path (V093): a call whose keys are all new takes plain INSERTs; a key that
 * exists, repeats within the call or is committed by a concurrent call while this one waits rolls
 * the fast path back and V082's general statement answers, with nothing of the undone attempt left.
 */
class EnqueueJobsFastPathTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static DataSource worker;
  static Db su;

  @BeforeAll
  static void logins() throws SQLException {
    worker = pg.loginAs("fast_path_worker", "queue_worker");
    su = new Db(pg.superuser());
  }

  /** Jobs and keys of this run: every key names a live job of this run, every job has its key. */
  private static void assertKeysAndJobsMatch(String run, long expected) {
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE idempotency_key LIKE ?", run + ":%"))
        .as("live jobs of the run").isEqualTo(expected);
    assertThat(su.count("SELECT count(*) FROM public.job_idempotency_keys WHERE idempotency_key LIKE ?", run + ":%"))
        .as("keys of the run").isEqualTo(expected);
    assertThat(su.count("""
        SELECT count(*) FROM public.job_idempotency_keys AS k
          JOIN public.job_queue AS j ON j.id = k.job_id AND j.idempotency_key = k.idempotency_key
         WHERE k.idempotency_key LIKE ?""", run + ":%"))
        .as("each key names the job that carries it (no key or job left by the undone fast path)")
        .isEqualTo(expected);
  }

  @Test
  void aKeyRepeatedWithinAnOtherwiseNewCallGetsTheEarlierElementsJob() {
    String run = UUID.randomUUID().toString();
    List<Map<String, Object>> rows = su.rows(
        "SELECT element, job_id, enqueued FROM public.enqueue_jobs(ARRAY['fast.dup','fast.dup','fast.dup','fast.dup'],"
            + " ARRAY['{\"n\":1}','{\"n\":2}','{\"n\":3}','{\"n\":4}']::jsonb[], ARRAY[?, ?, ?, ?]) ORDER BY element",
        run + ":a", run + ":b", run + ":a", run + ":c");

    assertThat(rows).extracting(r -> r.get("enqueued")).containsExactly(true, true, false, true);
    assertThat(rows.get(2).get("job_id")).as("the repeat gets the first element's job").isEqualTo(rows.get(0).get("job_id"));
    assertThat(su.<String>value("SELECT payload->>'n' FROM public.job_queue WHERE id = ?", rows.get(0).get("job_id")))
        .as("the first element's payload is kept").isEqualTo("1");
    assertKeysAndJobsMatch(run, 3);
  }

  @Test
  void aKeyCommittedByAConcurrentCallWhileThisOneWaitsIsAnsweredWithThatJob() throws Exception {
    String run = UUID.randomUUID().toString();
    try (Connection first = worker.getConnection(); Connection second = worker.getConnection()) {
      first.setAutoCommit(false);
      UUID firstJob = new PostgresJobQueue(new SingleConnectionDataSource(first))
          .enqueueAll(List.of(NewJob.of("fast.race", "{\"by\":\"first\"}", run + ":shared"))).get(0);
      int secondPid = pid(second);
      CompletableFuture<List<UUID>> secondCall = CompletableFuture.supplyAsync(() ->
          new PostgresJobQueue(new SingleConnectionDataSource(second)).enqueueAll(List.of(
              NewJob.of("fast.race", "{\"by\":\"second\"}", run + ":before"),
              NewJob.of("fast.race", "{\"by\":\"second\"}", run + ":shared"),
              NewJob.of("fast.race", "{\"by\":\"second\"}", run + ":after"))));
      // the second call's key insert waits for the first transaction's uncommitted key
      Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> su.count(
          "SELECT count(*) FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'", secondPid) == 1);
      first.commit();

      List<UUID> ids = secondCall.get(30, TimeUnit.SECONDS);
      assertThat(ids.get(1)).as("the key the first call committed names its job").isEqualTo(firstJob);
      assertThat(ids).doesNotHaveDuplicates();
      assertThat(su.<String>value("SELECT payload->>'by' FROM public.job_queue WHERE id = ?", firstJob)).isEqualTo("first");
      assertKeysAndJobsMatch(run, 3);
    }
  }

  @Test
  void aJobGivenNoCorrelationIdCorrelatesToItselfOnBothPaths() {
    String run = UUID.randomUUID().toString();
    UUID given = UUID.randomUUID();
    PostgresJobQueue q = new PostgresJobQueue(worker);
    List<UUID> fast = q.enqueueAll(List.of(NewJob.of("fast.corr", "{}", run + ":1"),
        new NewJob("fast.corr", null, "{}", run + ":2", null, null, given, null, null, null, null)));
    // a repeated key sends the whole call down the general path
    List<UUID> general = q.enqueueAll(List.of(NewJob.of("fast.corr", "{}", run + ":3"), NewJob.of("fast.corr", "{}", run + ":3")));

    assertThat(su.<UUID>value("SELECT correlation_id FROM public.job_queue WHERE id = ?", fast.get(0))).isEqualTo(fast.get(0));
    assertThat(su.<UUID>value("SELECT correlation_id FROM public.job_queue WHERE id = ?", fast.get(1))).isEqualTo(given);
    assertThat(su.<UUID>value("SELECT correlation_id FROM public.job_queue WHERE id = ?", general.get(0))).isEqualTo(general.get(0));
  }

  private static int pid(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_backend_pid()"); ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getInt(1);
    }
  }
}
