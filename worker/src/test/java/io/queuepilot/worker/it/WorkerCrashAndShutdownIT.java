package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.testkit.FakeOpenAi;
import io.queuepilot.testkit.FakeStorage;
import io.queuepilot.worker.WorkerApp;
import io.queuepilot.worker.fakes.Pipeline;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A worker that dies mid-job and a worker that is stopped gracefully, on real PostgreSQL with
 * the OpenAI fake holding chosen requests open.
 */
class WorkerCrashAndShutdownIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();

  private Pipeline world;
  private FakeStorage storage;
  private FakeOpenAi openai;
  private final List<WorkerApp> running = new ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    world = new Pipeline(pg, "crash_worker");
    storage = new FakeStorage(Pipeline.SERVICE_KEY).bucket(Pipeline.BUCKET, false);
    openai = new FakeOpenAi(Pipeline.OPENAI_KEY, 1).latency(10, 30);
  }

  @AfterEach
  void stop() {
    running.forEach(WorkerApp::shutdown);
    openai.close();
    storage.close();
  }

  private Pipeline.Upload upload(String key, String extra) throws Exception {
    byte[] bytes = (WorkerPipelineIT.document(key, 2, true) + extra).getBytes(StandardCharsets.UTF_8);
    storage.put(Pipeline.BUCKET, world.path(key, "txt"), "text/plain", bytes);
    return world.register(key, "txt", "text/plain", bytes.length);
  }

  private Map<String, String> env(String id) {
    Map<String, String> env = world.supabase(world.openAi(world.env(id), openai), storage);
    env.put("QUEUEPILOT_HEARTBEAT_INTERVAL_SECONDS", "0.3");
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "0.3");
    return env;
  }

  @Test
  void aDeadWorkersJobIsRequeuedAfterTheHeartbeatTimeoutAndCompletedOnceByAnother() throws Exception {
    Pipeline.Upload u = upload("crash1", "#HOLD:crash1\n");
    Map<String, String> envA = env("crash-a");
    envA.put("QUEUEPILOT_CONCURRENCY", "1");
    WorkerApp a = world.start(envA);
    openai.heldRequest("crash1").get(30, TimeUnit.SECONDS); // A is mid-job, inside the model call
    assertThat(world.text("SELECT worker_id FROM public.jobs WHERE id = ?", u.jobId())).isEqualTo("crash-a");
    UUID deadLease = UUID.fromString(world.text("SELECT lease_token::text FROM public.jobs WHERE id = ?", u.jobId()));

    a.kill(); // threads interrupted, pool closed: no release, no heartbeat, nothing

    Map<String, String> envB = env("crash-b");
    envB.put("QUEUEPILOT_HEARTBEAT_TIMEOUT_SECONDS", "2");
    running.add(world.start(envB));

    // workers never rescue each other's jobs: the controller's rescuer does, here its stand-in every 0.5 s
    io.queuepilot.queue.JobQueue rescuer =
        new io.queuepilot.queue.PostgresJobQueue(pg.loginAs("crash_rescuer", "queue_controller"));
    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500)).until(() -> {
      rescuer.requeueStale(Duration.ofSeconds(2));
      return "completed".equals(world.status(u.jobId()));
    });
    // requeued only once its last heartbeat was older than the 2 s timeout
    assertThat(world.scalar("""
        SELECT count(*) FROM public.jobs
         WHERE id = ? AND (error_history -> 0 ->> 'at')::timestamptz
                          - (error_history -> 0 -> 'error' ->> 'last_heartbeat_at')::timestamptz >= interval '2 seconds'""",
        u.jobId())).isEqualTo(1);
    assertThat(world.text("SELECT worker_id FROM public.jobs WHERE id = ?", u.jobId())).isEqualTo("crash-b");
    assertThat(world.scalar("SELECT attempt FROM public.jobs WHERE id = ?", u.jobId())).isEqualTo(2);
    assertThat(world.text("SELECT error_history -> 0 -> 'error' ->> 'reason' FROM public.jobs WHERE id = ?", u.jobId()))
        .isEqualTo("heartbeat_timeout");
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ?", u.shellFileId())).isEqualTo(3);
    long audit = world.scalar("SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND job_id = ?",
        u.jobId());
    assertThat(audit).isEqualTo(3);
    String before = world.text(
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.clinical_events WHERE shell_file_id = ?", u.shellFileId());

    // the dead worker's late write-back (its process "wakes up" with the old lease): nothing changes
    DataSource workerDb = pg.dataSource("crash_worker", "crash_worker");
    try (Connection c = workerDb.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.write_back_extraction(?, ?, ?::jsonb, ?::jsonb, ?)")) {
      ps.setObject(1, u.jobId());
      ps.setObject(2, deadLease);
      ps.setString(3, "{\"text\":\"late\",\"page_count\":1,\"processor\":\"openai\",\"model\":\"m\"}");
      ps.setString(4, "[{\"event_type\":\"condition\",\"name\":\"late\",\"confidence\":0.5}]");
      ps.setInt(5, 10);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getBoolean(1)).isFalse();
      }
    }
    openai.release("crash1");
    assertThat(world.text(
        "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.clinical_events WHERE shell_file_id = ?", u.shellFileId()))
        .isEqualTo(before);
    assertThat(world.scalar("SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND job_id = ?",
        u.jobId())).isEqualTo(audit);
    assertThat(world.text("SELECT text FROM public.document_texts WHERE shell_file_id = ?", u.shellFileId())).doesNotContain("late");
    assertThat(world.status(u.jobId())).isEqualTo("completed");
  }

  @Test
  void gracefulShutdownFinishesWithinTheGracePeriodAndReleasesTheRest() throws Exception {
    Pipeline.Upload finishing = upload("g1", "#HOLD:g1\n");
    Pipeline.Upload stuck = upload("g2", "#HOLD:g2\n");
    Map<String, String> env = env("graceful");
    env.put("QUEUEPILOT_CONCURRENCY", "2");
    env.put("QUEUEPILOT_GRACE_PERIOD_SECONDS", "1.5");
    WorkerApp app = world.start(env);
    openai.heldRequest("g1").get(30, TimeUnit.SECONDS);
    openai.heldRequest("g2").get(30, TimeUnit.SECONDS);
    assertThat(WorkerPipelineIT.get(app.httpPort(), "/readyz")).startsWith("ready: 2/2");

    long t0 = System.nanoTime();
    CompletableFuture<Integer> released = CompletableFuture.supplyAsync(app::shutdown);
    await().atMost(Duration.ofSeconds(1)).until(() -> !app.worker().accepting());
    openai.release("g1"); // this one finishes inside the grace period
    assertThat(released.get(20, TimeUnit.SECONDS)).isEqualTo(1);
    long took = System.nanoTime() - t0;

    assertThat(took).isLessThan(Duration.ofMillis(4500).toNanos()); // grace 1.5 s + at most 1 s for stuck threads + closing
    assertThat(world.status(finishing.jobId())).isEqualTo("completed");
    assertThat(world.status(stuck.jobId())).isEqualTo("pending");
    assertThat(world.scalar("SELECT attempt FROM public.jobs WHERE id = ?", stuck.jobId())).isZero();
    assertThat(world.scalar("SELECT count(*) FROM public.jobs WHERE id = ? AND scheduled_at <= now()", stuck.jobId()))
        .isEqualTo(1); // another worker may take it at once
    assertThat(world.text("SELECT status FROM public.shell_files WHERE id = ?", stuck.shellFileId())).isEqualTo("queued");
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ?", stuck.shellFileId())).isZero();
    openai.release("g2");
  }

  @Test
  void aNotificationWakesAnIdleWorkerLongBeforeItsNextPoll() throws Exception {
    Map<String, String> env = env("notified");
    env.put("QUEUEPILOT_POLL_INTERVAL_SECONDS", "120");
    WorkerApp app = world.start(env);
    running.add(app);
    await().atMost(Duration.ofSeconds(10)).until(app::listening);
    await().atMost(Duration.ofSeconds(10)).until(() -> app.worker().inFlight() == 0);

    long t0 = System.nanoTime();
    Pipeline.Upload u = upload("notify1", "");
    await().atMost(Duration.ofSeconds(20)).until(() -> "completed".equals(world.status(u.jobId())));
    assertThat(System.nanoTime() - t0).isLessThan(Duration.ofSeconds(20).toNanos());
    assertThat(app.registry().find("queuepilot.worker.notifications").counter().count()).isGreaterThanOrEqualTo(1);
  }

  @Test
  void aJobTakenAwayMidFlightIsDroppedAndWritesNothing() throws Exception {
    Pipeline.Upload u = upload("taken1", "#HOLD:taken1\n");
    Map<String, String> env = env("taken");
    env.put("QUEUEPILOT_CONCURRENCY", "2");
    WorkerApp app = world.start(env);
    running.add(app);
    openai.heldRequest("taken1").get(30, TimeUnit.SECONDS);

    // an operator puts the job back to pending: the lease is gone
    try (Connection c = world.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT public.update_job_status(?, 'pending')")) {
      ps.setObject(1, u.jobId());
      ps.execute();
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      var lost = app.registry().find("queuepilot.worker.heartbeat.failures").tag("kind", "lease_lost").counter();
      return lost != null && lost.count() == 1;
    });
    openai.release("taken1"); // the first run's model answer arrives after its lease was lost
    // the job comes back (same worker, new lease) and completes exactly once
    await().atMost(Duration.ofSeconds(30)).until(() -> "completed".equals(world.status(u.jobId())));
    await().atMost(Duration.ofSeconds(10)).until(() -> app.worker().inFlight() == 0);
    assertThat(world.scalar("SELECT count(*) FROM public.clinical_events WHERE shell_file_id = ?", u.shellFileId())).isEqualTo(3);
    assertThat(world.scalar("SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND job_id = ?",
        u.jobId())).isEqualTo(3);
    assertThat(world.scalar("SELECT count(*) FROM public.audit_log WHERE table_name = 'clinical_events' AND operation = 'DELETE'"
        + " AND job_id = ?", u.jobId())).isZero();
    assertThat(app.registry().find("queuepilot.worker.jobs.lease.lost").counter().count()).isEqualTo(1);
    assertThat(app.registry().find("queuepilot.worker.jobs.completed").counter().count()).isEqualTo(1);
  }
}
