package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.testing.SingleConnectionDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * enqueue_jobs (V082), the set-based enqueue: the same rows, validation, idempotency, caller
 * check and wake-ups as enqueue_job, for many jobs in one statement.
 */
class EnqueueJobsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static DataSource worker;
  static Db su;

  @BeforeAll
  static void logins() throws SQLException {
    worker = pg.loginAs("bulk_worker", "queue_worker");
    su = new Db(pg.superuser());
  }

  private static final List<String> COMPARED = List.of("job_type", "job_lane", "payload", "status", "priority",
      "attempt", "max_attempts", "worker_id", "lease_token", "error", "error_history",
      "patient_id", "shell_file_id", "tokens_estimated", "tokens_used", "result", "started_at", "completed_at",
      "heartbeat_at", "dead_letter_at");

  private Map<String, Object> row(UUID id) {
    return su.rows("SELECT * FROM public.job_queue WHERE id = ?", id).get(0);
  }

  @Test
  void storesEveryElementExactlyAsEnqueueJobWould() {
    String run = UUID.randomUUID().toString();
    UUID correlation = UUID.randomUUID();
    Instant later = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MICROS);
    NewJob full = new NewJob("bulk.full", "ai", "{\"file\":\"a\",\"n\":1}", "unused", null, null, correlation, 2,
        later, 9, 1200);
    NewJob minimal = NewJob.of("bulk.min", null, "unused");
    PostgresJobQueue q = new PostgresJobQueue(worker);

    List<UUID> bulk = q.enqueueAll(List.of(withKey(full, run + ":full"), withKey(minimal, run + ":min")));
    UUID oneFull = q.enqueue(withKey(full, run + ":full-single"));
    UUID oneMin = q.enqueue(withKey(minimal, run + ":min-single"));

    assertThat(bulk).hasSize(2).doesNotHaveDuplicates().doesNotContain(oneFull, oneMin);
    Map<String, Object> bulkFull = row(bulk.get(0));
    Map<String, Object> bulkMin = row(bulk.get(1));
    for (String column : COMPARED) {
      assertThat(bulkFull.get(column)).as("full job, column " + column).isEqualTo(row(oneFull).get(column));
      assertThat(bulkMin.get(column)).as("minimal job, column " + column).isEqualTo(row(oneMin).get(column));
    }
    assertThat(bulkFull.get("idempotency_key")).isEqualTo(run + ":full");
    assertThat(bulkFull.get("correlation_id")).isEqualTo(correlation);
    assertThat(bulkFull.get("scheduled_at")).isEqualTo(later);
    assertThat(bulkMin.get("scheduled_at")).as("ready now: scheduled at the enqueue").isEqualTo(bulkMin.get("created_at"));
    assertThat(bulkMin.get("correlation_id")).as("a correlation id is generated").isNotNull();
    // the key table names each job, as enqueue_job's key does
    assertThat(su.rows("SELECT idempotency_key, job_id FROM public.job_idempotency_keys WHERE job_id IN (?, ?) ORDER BY idempotency_key",
            bulk.get(0), bulk.get(1)))
        .containsExactly(Map.of("idempotency_key", run + ":full", "job_id", bulk.get(0)),
            Map.of("idempotency_key", run + ":min", "job_id", bulk.get(1)));
  }

  @Test
  void keysAlreadyTakenReturnTheirJobLiveFinishedOrEarlierInTheSameCall() {
    String run = UUID.randomUUID().toString();
    PostgresJobQueue q = new PostgresJobQueue(worker);
    UUID live = q.enqueue(NewJob.of("bulk.idem", "{\"v\":\"original\"}", run + ":live"));
    UUID finished = q.enqueue(NewJob.of("bulk.idem.done", "{\"v\":\"original\"}", run + ":finished"));
    ClaimedJob claimed = q.claim("bulk-worker", List.of("bulk.idem.done"), List.of(), 1).get(0);
    assertThat(q.complete(claimed.id(), claimed.leaseToken(), null, null)).isTrue();
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE id = ?", finished)).isEqualTo(1);
    long jobsBefore = su.count("SELECT count(*) FROM public.jobs");

    List<UUID> ids = q.enqueueAll(List.of(
        NewJob.of("bulk.idem", "{\"v\":\"changed\"}", run + ":live"),
        NewJob.of("bulk.idem", "{\"v\":\"changed\"}", run + ":finished"),
        NewJob.of("bulk.idem", "{\"v\":\"first\"}", run + ":new"),
        NewJob.of("bulk.idem", "{\"v\":\"second\"}", run + ":new")));

    assertThat(ids.get(0)).isEqualTo(live);
    assertThat(ids.get(1)).isEqualTo(finished);
    assertThat(ids.get(3)).as("a key repeated in the call gets the earlier element's job").isEqualTo(ids.get(2));
    assertThat(su.count("SELECT count(*) FROM public.jobs")).as("one new job").isEqualTo(jobsBefore + 1);
    assertThat(su.<String>value("SELECT payload->>'v' FROM public.job_queue WHERE id = ?", live)).isEqualTo("original");
    assertThat(su.<String>value("SELECT payload->>'v' FROM public.job_queue WHERE id = ?", ids.get(2))).isEqualTo("first");
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE id = ?", finished))
        .as("a finished job is not re-opened by its key").isZero();
    assertThat(su.rows("SELECT element, enqueued FROM public.enqueue_jobs(ARRAY['bulk.idem', 'bulk.idem'], NULL, ARRAY[?, ?])",
            run + ":live", run + ":another"))
        .containsExactly(Map.of("element", 1, "enqueued", false), Map.of("element", 2, "enqueued", true));
  }

  /** One bad element (the second of three) and what the error must say. */
  record Bad(String what, UnaryOperator<NewJob> spoil, String sqlState, String message) {}

  @Test
  void aBadElementIsNamedAndNothingOfTheCallIsStored() {
    String big = "{\"x\":\"" + "y".repeat(17_000) + "\"}";
    List<Bad> cases = List.of(
        new Bad("job type", j -> withType(j, "Bad Type"), "22023", "p_job_types[2] 'Bad Type' is invalid"),
        new Bad("null job type", j -> withType(j, null), "22023", "p_job_types[2] NULL is invalid"),
        new Bad("lane", j -> new NewJob(j.jobType(), "no lanes!", j.payloadJson(), j.idempotencyKey(), null, null, null,
            null, null, null, null), "22023", "p_job_lanes[2] 'no lanes!' is invalid"),
        new Bad("null key", j -> withKey(j, null), "22023", "p_idempotency_keys[2] is required"),
        new Bad("long key", j -> withKey(j, "k".repeat(401)), "22023", "p_idempotency_keys[2] is required (1 to 400"),
        new Bad("array payload", j -> withPayload(j, "[1,2]"), "22023", "p_payloads[2] must be a JSON object, got array"),
        new Bad("huge payload", j -> withPayload(j, big), "54000", "p_payloads[2] is"),
        new Bad("priority", j -> new NewJob(j.jobType(), null, j.payloadJson(), j.idempotencyKey(), null, null, null, 0,
            null, null, null), "22023", "p_priorities[2] 0 is out of range"),
        new Bad("max attempts", j -> new NewJob(j.jobType(), null, j.payloadJson(), j.idempotencyKey(), null, null, null,
            null, null, 101, null), "22023", "p_max_attempts[2] 101 is out of range"),
        new Bad("tokens", j -> new NewJob(j.jobType(), null, j.payloadJson(), j.idempotencyKey(), null, null, null, null,
            null, null, -1), "22023", "p_tokens_estimated[2] -1 is negative"));
    PostgresJobQueue q = new PostgresJobQueue(worker);
    for (Bad bad : cases) {
      String run = UUID.randomUUID().toString();
      long jobs = su.count("SELECT count(*) FROM public.job_queue");
      long keys = su.count("SELECT count(*) FROM public.job_idempotency_keys");
      List<NewJob> batch = List.of(NewJob.of("bulk.bad", "{}", run + ":1"),
          bad.spoil().apply(NewJob.of("bulk.bad", "{}", run + ":2")), NewJob.of("bulk.bad", "{}", run + ":3"));
      assertThatThrownBy(() -> q.enqueueAll(batch)).as(bad.what())
          .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.sqlState()).as(bad.what()).isEqualTo(bad.sqlState()))
          .hasMessageContaining("enqueue_jobs: " + bad.message());
      assertThat(su.count("SELECT count(*) FROM public.job_queue")).as(bad.what() + ": no job stored").isEqualTo(jobs);
      assertThat(su.count("SELECT count(*) FROM public.job_idempotency_keys")).as(bad.what() + ": no key stored").isEqualTo(keys);
    }
    SQLException lengths = Db.failure(worker,
        "SELECT * FROM public.enqueue_jobs(ARRAY['a', 'b'], NULL, ARRAY['k1', 'k2'], p_priorities => ARRAY[1])");
    assertThat((Throwable) lengths).hasMessageContaining("enqueue_jobs: 2 idempotency keys but p_priorities has 1 elements");
    assertThat(lengths.getSQLState()).isEqualTo("22023");
  }

  @Test
  void aWorkerMayNotAttachJobsToPatientData() {
    String run = UUID.randomUUID().toString();
    long jobs = su.count("SELECT count(*) FROM public.job_queue");
    NewJob patientJob = new NewJob("bulk.patient", null, "{}", run + ":p", UUID.randomUUID(), null, null, null, null,
        null, null);
    NewJob fileJob = new NewJob("bulk.patient", null, "{}", run + ":f", null, UUID.randomUUID(), null, null, null, null,
        null);
    for (NewJob attached : List.of(patientJob, fileJob)) {
      assertThatThrownBy(() -> new PostgresJobQueue(worker).enqueueAll(List.of(NewJob.of("bulk.patient", "{}", run + ":ok"),
              attached)))
          .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.sqlState()).isEqualTo("42501"))
          .hasMessageContaining("may not attach a job to a patient or shell file");
    }
    assertThat(su.count("SELECT count(*) FROM public.job_queue")).isEqualTo(jobs);
    // the owner's functions (and service_role) may
    UUID patient = UUID.randomUUID();
    List<UUID> ids = new PostgresJobQueue(pg.superuser()).enqueueAll(List.of(
        new NewJob("bulk.patient", null, "{}", run + ":p", patient, null, null, null, null, null, null)));
    assertThat(row(ids.get(0)).get("patient_id")).isEqualTo(patient);
  }

  @Test
  void concurrentCallsWithOverlappingKeysMakeOneJobPerKeyWithoutDeadlock() throws Exception {
    int callers = 6;
    int keys = 300;
    String run = UUID.randomUUID().toString();
    CountDownLatch connected = new CountDownLatch(callers);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<Map<String, UUID>>> results = new ArrayList<>();
      for (int t = 0; t < callers; t++) {
        long seed = t;
        results.add(pool.submit(() -> {
          List<String> order = new ArrayList<>();
          for (int k = 0; k < keys; k++) {
            order.add(run + ":" + k);
          }
          Collections.shuffle(order, new Random(seed)); // every caller in another order
          try (Connection c = worker.getConnection()) {
            PostgresJobQueue q = new PostgresJobQueue(new SingleConnectionDataSource(c));
            connected.countDown();
            go.await();
            List<UUID> ids = q.enqueueAll(order.stream().map(k -> NewJob.of("bulk.race", "{}", k)).toList());
            Map<String, UUID> byKey = new java.util.HashMap<>();
            for (int i = 0; i < order.size(); i++) {
              byKey.put(order.get(i), ids.get(i));
            }
            return byKey;
          }
        }));
      }
      assertThat(connected.await(60, TimeUnit.SECONDS)).isTrue();
      go.countDown();
      Map<String, UUID> first = results.get(0).get(120, TimeUnit.SECONDS);
      for (Future<Map<String, UUID>> f : results) {
        assertThat(f.get(120, TimeUnit.SECONDS)).as("every caller sees the same job per key").isEqualTo(first);
      }
      assertThat(new HashSet<>(first.values())).hasSize(keys);
      assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE job_type = 'bulk.race' AND idempotency_key LIKE ?",
          run + ":%")).isEqualTo(keys);
    } finally {
      pool.shutdownNow();
      Awaitility.await().until(() -> pool.awaitTermination(1, TimeUnit.SECONDS));
    }
  }

  @Test
  void wakesListenersOncePerJobTypeWithNewWorkReadyNow() throws Exception {
    String run = UUID.randomUUID().toString();
    PostgresJobQueue q = new PostgresJobQueue(worker);
    q.enqueue(NewJob.of("bulk.gamma", "{}", run + ":gamma")); // its key exists before the call
    try (Connection listener = pg.superuser().getConnection(); Statement s = listener.createStatement()) {
      s.execute("LISTEN queuepilot_jobs");
      Instant future = Instant.now().plus(1, ChronoUnit.HOURS);
      q.enqueueAll(List.of(
          NewJob.of("bulk.alpha", "{}", run + ":a1"),
          NewJob.of("bulk.alpha", "{}", run + ":a2"),
          new NewJob("bulk.beta", null, "{}", run + ":b", null, null, null, null, future, null, null),
          NewJob.of("bulk.gamma", "{}", run + ":gamma")));
      // a sentinel sent after the call committed: everything the call sent arrives before it
      su.exec("SELECT pg_notify('queuepilot_jobs', ?)", run);
      List<String> received = new ArrayList<>();
      Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).until(() -> {
        PGNotification[] ns = listener.unwrap(PGConnection.class).getNotifications(500);
        if (ns != null) {
          for (PGNotification n : ns) {
            received.add(n.getParameter());
          }
        }
        return received.contains(run);
      });
      assertThat(received).containsExactly("bulk.alpha", run);
    }
  }

  @Test
  void anEmptyCallDoesNothing() {
    assertThat(new PostgresJobQueue(worker).enqueueAll(List.of())).isEmpty();
    assertThat(su.rows("SELECT * FROM public.enqueue_jobs('{}', '{}', '{}')")).isEmpty();
  }

  private static NewJob withKey(NewJob j, String key) {
    return new NewJob(j.jobType(), j.lane(), j.payloadJson(), key, j.patientId(), j.shellFileId(), j.correlationId(),
        j.priority(), j.scheduledAt(), j.maxAttempts(), j.tokensEstimated());
  }

  private static NewJob withType(NewJob j, String type) {
    return new NewJob(type, j.lane(), j.payloadJson(), j.idempotencyKey(), null, null, null, null, null, null, null);
  }

  private static NewJob withPayload(NewJob j, String payload) {
    return new NewJob(j.jobType(), j.lane(), payload, j.idempotencyKey(), null, null, null, null, null, null, null);
  }
}
