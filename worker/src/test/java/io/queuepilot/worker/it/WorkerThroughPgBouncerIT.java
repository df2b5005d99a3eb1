package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.testing.PgBouncer;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.fakes.Pipeline;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two workers with the default settings, pointed at a real PgBouncer in transaction mode on an
 * ordinary port: they find the pooler themselves, every job completes on its first attempt, and
 * they say (log, metric, /readyz) that they poll instead of listening. The control run with the
 * probe switched off shows what the probe prevents: jobs fail on prepared statements and spend
 * attempts.
 */
class WorkerThroughPgBouncerIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();

  static PgBouncer bouncer;
  private Pipeline world;
  private FakeStorage storage;
  private final List<WorkerApp> workers = new ArrayList<>();

  @BeforeAll
  static void startBouncer() throws Exception {
    pg.loginAs("bouncer_worker", "queue_worker");
    bouncer = PgBouncer.start(pg.port(), PgBouncer.PoolMode.TRANSACTION, List.of("bouncer_worker"));
  }

  @AfterAll
  static void stopBouncer() {
    if (bouncer != null) {
      bouncer.close();
    }
  }

  @AfterEach
  void stop() {
    workers.forEach(WorkerApp::shutdown);
    if (storage != null) {
      storage.close();
    }
  }

  private Map<String, String> throughBouncer(String workerId) {
    Map<String, String> env = world.supabase(world.env(workerId), storage);
    env.put("QUEUEPILOT_DB_URL", bouncer.jdbcUrl(pg.databaseName()));
    env.put("QUEUEPILOT_CONCURRENCY", "4");
    return env;
  }

  private void upload(int n, String prefix) throws Exception {
    for (int i = 0; i < n; i++) {
      String key = prefix + i;
      byte[] bytes = WorkerPipelineIT.document(key, 1 + i % 3, i % 2 == 0).getBytes(StandardCharsets.UTF_8);
      storage.put(Pipeline.BUCKET, world.path(key, "txt"), "text/plain", bytes);
      world.register(key, "txt", "text/plain", bytes.length);
    }
  }

  @Test
  void defaultSettingsCompleteEveryJobOnTheFirstAttemptAndSayTheyPoll() throws Exception {
    world = new Pipeline(pg, "bouncer_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    int n = 60;
    upload(n, "pb");
    for (int w = 0; w < 2; w++) {
      workers.add(world.start(throughBouncer("bouncer-" + w)));
    }

    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .until(() -> jobs("status = 'completed'") == n);
    assertThat(jobs("true")).isEqualTo(n);
    assertThat(jobs("attempt <> 1")).as("attempts spent").isZero();
    assertThat(jobs("jsonb_array_length(error_history) > 0")).as("jobs that saw an error").isZero();

    for (WorkerApp worker : workers) {
      assertThat(worker.listening()).isFalse();
      String metrics = get(worker, "/metrics");
      assertThat(metrics).containsPattern("(?m)^queuepilot_worker_db_transaction_pooler\\{[^}]*} 1\\.0$");
      assertThat(metrics).containsPattern("(?m)^queuepilot_worker_notifications_listening\\{[^}]*} 0\\.0$");
      assertThat(get(worker, "/readyz")).contains("polling only");
    }
  }

  @Test
  void withTheProbeSwitchedOffJobsFailOnPreparedStatements() throws Exception {
    world = new Pipeline(pg, "bouncer_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    // pgjdbc names a statement on its fifth run on one connection (prepareThreshold 5), and each
    // job thread keeps its pooled connection: 40 jobs over 8 threads is five per thread, so a run
    // could finish before any named statement met another backend (a CI run did). 240 jobs give
    // each thread ~30 runs of every job statement; the wait ends at the first failure.
    upload(240, "nb");
    for (int w = 0; w < 2; w++) {
      Map<String, String> env = throughBouncer("unprobed-" + w);
      env.put("QUEUEPILOT_DB_TRANSACTION_POOLER", "false");
      workers.add(world.start(env));
    }
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .until(() -> jobs("error_history::text LIKE '%prepared statement%'") > 0);
    assertThat(jobs("attempt > 1 OR status <> 'completed'")).as("jobs that spent attempts or did not complete").isPositive();
  }

  /** Jobs of this test's patient matching {@code where}. */
  private long jobs(String where) throws java.sql.SQLException {
    return world.scalar("SELECT count(*) FROM public.jobs WHERE patient_id = ? AND (" + where + ")", world.patient);
  }

  private static String get(WorkerApp worker, String path) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + worker.httpPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.body();
  }
}
