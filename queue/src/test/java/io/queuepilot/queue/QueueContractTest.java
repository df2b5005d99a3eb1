package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The contract of every queue function, called through {@link PostgresJobQueue}. */
class QueueContractTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final AtomicInteger TYPES = new AtomicInteger();
  private static PostgresJobQueue queue;
  private static Db db;

  @BeforeAll
  static void setUp() {
    queue = new PostgresJobQueue(pg.superuser());
    db = new Db(pg.superuser());
  }

  /** Each test uses its own job type, so claims never see another test's jobs. */
  private static String newType() {
    return "contract_" + TYPES.incrementAndGet();
  }

  private static UUID enqueue(String type, String key) {
    return queue.enqueue(NewJob.of(type, "{\"ref\":\"" + key + "\"}", key));
  }

  private static ClaimedJob claimOne(String type, String worker) {
    List<ClaimedJob> c = queue.claim(worker, List.of(type), List.of(), 1);
    assertThat(c).hasSize(1);
    return c.get(0);
  }

  private static Map<String, Object> row(UUID id) {
    return db.rows("SELECT * FROM public.jobs WHERE id = ?", id).get(0);
  }

  // ---------------------------------------------------------------- enqueue

  @Test
  void enqueueStoresEveryFieldAndDefaults() {
    String type = newType();
    UUID patient = UUID.randomUUID();
    UUID file = UUID.randomUUID();
    UUID corr = UUID.randomUUID();
    UUID id =
        queue.enqueue(
            new NewJob(type, "ai", "{\"bucket\":\"b\",\"path\":\"p\"}", "k-" + type, patient, file, corr, 2,
                null, 3, 1234));
    Map<String, Object> r = row(id);
    assertThat(r.get("job_type")).isEqualTo(type);
    assertThat(r.get("job_lane")).isEqualTo("ai");
    assertThat(r.get("status")).isEqualTo("pending");
    assertThat(r.get("priority")).isEqualTo(2);
    assertThat(r.get("max_attempts")).isEqualTo(3);
    assertThat(r.get("attempt")).isEqualTo(0);
    assertThat(r.get("patient_id")).isEqualTo(patient);
    assertThat(r.get("shell_file_id")).isEqualTo(file);
    assertThat(r.get("correlation_id")).isEqualTo(corr);
    assertThat(r.get("tokens_estimated")).isEqualTo(1234);
    assertThat(r.get("lease_token")).isNull();
    assertThat(r.get("payload").toString()).contains("\"bucket\": \"b\"");

    UUID defaults = enqueue(type, "d-" + type);
    Map<String, Object> d = row(defaults);
    assertThat(d.get("job_lane")).isEqualTo("default");
    assertThat(d.get("priority")).isEqualTo(5);
    assertThat(d.get("max_attempts")).isEqualTo(5);
    assertThat(d.get("correlation_id")).as("a correlation id is generated").isNotNull();
  }

  @Test
  void enqueueRejectsBadInputNamingTheArgument() {
    String type = newType();
    assertInvalid(() -> queue.enqueue(NewJob.of("Bad Type", "{}", "k1")), "p_job_type");
    assertInvalid(() -> queue.enqueue(NewJob.of(type, "{}", null)), "p_idempotency_key");
    assertInvalid(() -> queue.enqueue(NewJob.of(type, "[1,2]", "k2")), "p_payload must be a JSON object");
    assertInvalid(
        () -> queue.enqueue(new NewJob(type, null, "{}", "k3", null, null, null, 0, null, null, null)), "p_priority");
    assertInvalid(
        () -> queue.enqueue(new NewJob(type, null, "{}", "k4", null, null, null, 11, null, null, null)), "p_priority");
    assertInvalid(
        () -> queue.enqueue(new NewJob(type, null, "{}", "k5", null, null, null, null, null, 0, null)),
        "p_max_attempts");
    assertInvalid(
        () -> queue.enqueue(new NewJob(type, "Bad Lane", "{}", "k6", null, null, null, null, null, null, null)),
        "p_job_lane");
    // payloads carry references, never file bytes
    String big = "{\"bytes\":\"" + randomText(40_000) + "\"}";
    assertThatThrownBy(() -> queue.enqueue(NewJob.of(type, big, "k7")))
        .isInstanceOf(JobQueueException.class)
        .hasMessageContaining("at most 16384")
        .satisfies(e -> assertThat(((JobQueueException) e).isInvalidArgument()).isTrue());
    assertThat(db.count("SELECT count(*) FROM public.jobs WHERE job_type = ?", type)).isZero();
  }

  private static String randomText(int n) {
    // random text does not compress, so the stored size really is large
    StringBuilder sb = new StringBuilder(n);
    java.util.Random r = new java.util.Random(42);
    for (int i = 0; i < n; i++) {
      sb.append((char) ('a' + r.nextInt(26)));
    }
    return sb.toString();
  }

  private static void assertInvalid(Runnable call, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOf(JobQueueException.class)
        .hasMessageContaining(message)
        .satisfies(e -> assertThat(((JobQueueException) e).isInvalidArgument()).isTrue());
  }

  @Test
  void enqueueIsIdempotentAndKeepsTheFirstJobUnchanged() {
    String type = newType();
    UUID first = queue.enqueue(NewJob.of(type, "{\"v\":1}", "same-" + type));
    UUID second = queue.enqueue(NewJob.of(type, "{\"v\":2}", "same-" + type));
    assertThat(second).isEqualTo(first);
    assertThat(db.count("SELECT count(*) FROM public.jobs WHERE idempotency_key = ?", "same-" + type))
        .isEqualTo(1);
    assertThat(row(first).get("payload").toString()).contains("\"v\": 1");
  }

  // ---------------------------------------------------------------- claim

  @Test
  void claimTakesPriorityOneFirstThenOldestAndSetsTheLease() {
    String type = newType();
    Instant now = Instant.now();
    UUID low = queue.enqueue(new NewJob(type, null, "{}", type + "-low", null, null, null, 9, now.minusSeconds(60),
        null, null));
    UUID urgentLate = queue.enqueue(new NewJob(type, null, "{}", type + "-u2", null, null, null, 1,
        now.minusSeconds(10), null, null));
    UUID urgentEarly = queue.enqueue(new NewJob(type, null, "{}", type + "-u1", null, null, null, 1,
        now.minusSeconds(30), null, null));
    UUID future = queue.enqueue(new NewJob(type, null, "{}", type + "-future", null, null, null, 1,
        now.plusSeconds(3600), null, null));

    List<ClaimedJob> claimed = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      claimed.add(claimOne(type, "w1"));
    }
    assertThat(claimed).extracting(ClaimedJob::id).containsExactly(urgentEarly, urgentLate, low);
    assertThat(queue.claim("w1", List.of(type), List.of(), 5)).as("the future job is not ready").isEmpty();
    assertThat(row(future).get("status")).isEqualTo("pending");

    ClaimedJob c = claimed.get(0);
    assertThat(c.attempt()).isEqualTo(1);
    assertThat(c.leaseToken()).isNotNull();
    Map<String, Object> r = row(c.id());
    assertThat(r.get("status")).isEqualTo("processing");
    assertThat(r.get("worker_id")).isEqualTo("w1");
    assertThat(r.get("lease_token")).isEqualTo(c.leaseToken());
    assertThat(r.get("started_at")).isNotNull();
    assertThat(r.get("heartbeat_at")).isNotNull();
    assertThat(claimed).extracting(ClaimedJob::leaseToken).doesNotHaveDuplicates();
  }

  @Test
  void claimHonoursTypeAndLaneFiltersAndBatchSize() {
    String a = newType();
    String b = newType();
    for (int i = 0; i < 4; i++) {
      queue.enqueue(new NewJob(a, "ai", "{}", a + "-ai-" + i, null, null, null, null, null, null, null));
      queue.enqueue(new NewJob(a, "bulk", "{}", a + "-bulk-" + i, null, null, null, null, null, null, null));
      queue.enqueue(new NewJob(b, "ai", "{}", b + "-ai-" + i, null, null, null, null, null, null, null));
    }
    List<ClaimedJob> aiOfA = queue.claim("w", List.of(a), List.of("ai"), 3);
    assertThat(aiOfA).hasSize(3).allSatisfy(j -> {
      assertThat(j.jobType()).isEqualTo(a);
      assertThat(j.lane()).isEqualTo("ai");
    });
    assertThat(queue.claim("w", List.of(a), List.of("ai"), 10)).hasSize(1);
    assertThat(queue.claim("w", List.of(a, b), List.of("ai"), 10)).hasSize(4)
        .allSatisfy(j -> assertThat(j.jobType()).isEqualTo(b));
    assertThat(queue.claim("w", List.of(a), List.of(), 10)).hasSize(4)
        .allSatisfy(j -> assertThat(j.lane()).isEqualTo("bulk"));
  }

  @Test
  void claimRejectsBadArguments() {
    assertInvalid(() -> queue.claim("w", List.of("x"), List.of(), 0), "p_batch");
    assertInvalid(() -> queue.claim("w", List.of("x"), List.of(), 1001), "p_batch");
    assertInvalid(() -> queue.claim("", List.of("x"), List.of(), 1), "p_worker_id");
  }

  // ---------------------------------------------------------------- lease-guarded writes

  @Test
  void heartbeatRenewsOnlyWithTheCurrentLease() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    db.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '1 minute' WHERE id = ?", id);
    Instant before = (Instant) row(id).get("heartbeat_at");
    assertThat(queue.heartbeat(id, UUID.randomUUID())).isFalse();
    assertThat(row(id).get("heartbeat_at")).isEqualTo(before);
    assertThat(queue.heartbeat(id, c.leaseToken())).isTrue();
    assertThat((Instant) row(id).get("heartbeat_at")).isAfter(before);
    assertThat(queue.heartbeat(UUID.randomUUID(), c.leaseToken())).isFalse();
  }

  @Test
  void completeStoresResultAndTokensOnceAndClearsTheLease() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    assertThat(queue.complete(id, UUID.randomUUID(), "{\"x\":1}", 5)).isFalse();
    assertThat(row(id).get("status")).isEqualTo("processing");

    assertThat(queue.complete(id, c.leaseToken(), "{\"events\":3}", 900)).isTrue();
    Map<String, Object> r = row(id);
    assertThat(r.get("status")).isEqualTo("completed");
    assertThat(r.get("tokens_used")).isEqualTo(900);
    assertThat(r.get("result").toString()).contains("\"events\": 3");
    assertThat(r.get("completed_at")).isNotNull();
    // since V081 the finished row is in job_history, with the lease it finished under; the live row is gone
    assertThat(r.get("lease_token")).isEqualTo(c.leaseToken());
    assertThat(r.get("finished_at")).isNotNull();
    assertThat(db.count("SELECT count(*) FROM public.job_queue WHERE id = ?", id)).isZero();
    assertThat(db.count("SELECT count(*) FROM public.job_history WHERE id = ?", id)).isEqualTo(1);
    // a second complete (e.g. a retried network call) changes nothing
    assertThat(queue.complete(id, c.leaseToken(), "{\"events\":4}", 1)).isFalse();
    assertThat(row(id).get("tokens_used")).isEqualTo(900);
    assertThat(queue.heartbeat(id, c.leaseToken())).isFalse();
  }

  @Test
  void failSchedulesARetryAndKeepsTheError() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    assertThat(queue.fail(id, UUID.randomUUID(), "{\"message\":\"x\"}", true)).isEmpty();
    assertThat(queue.fail(id, c.leaseToken(), "{\"message\":\"timeout\"}", true)).contains(JobStatus.PENDING);
    Map<String, Object> r = row(id);
    assertThat(r.get("status")).isEqualTo("pending");
    assertThat(r.get("attempt")).isEqualTo(1);
    assertThat(r.get("lease_token")).isNull();
    assertThat(r.get("error").toString()).contains("timeout");
    assertThat(r.get("error_history").toString()).contains("timeout").contains("\"attempt\": 1");
    assertThat((Instant) r.get("scheduled_at")).isAfter((Instant) r.get("updated_at"));
    assertThat(queue.fail(id, c.leaseToken(), "{}", true)).as("lease already gone").isEmpty();
  }

  @Test
  void failNotRetryableDeadLettersAtOnceWithAnAuditRow() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    assertThat(queue.fail(id, c.leaseToken(), "{\"message\":\"unsupported file\"}", false))
        .contains(JobStatus.DEAD_LETTER);
    Map<String, Object> r = row(id);
    assertThat(r.get("status")).isEqualTo("dead_letter");
    assertThat(r.get("dead_letter_at")).isNotNull();
    assertThat(r.get("attempt")).isEqualTo(1);
    assertThat(db.rows("SELECT operation, reason, correlation_id FROM public.audit_log WHERE job_id = ?", id))
        .singleElement()
        .satisfies(a -> {
          assertThat(a.get("operation")).isEqualTo("dead_letter");
          assertThat(a.get("reason")).isEqualTo("permanent error");
          assertThat(a.get("correlation_id")).isEqualTo(r.get("correlation_id"));
        });
  }

  @Test
  void failTruncatesAHugeErrorInsteadOfFailing() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    String huge = "{\"stack\":\"" + randomText(20_000) + "\"}";
    assertThat(queue.fail(id, c.leaseToken(), huge, true)).contains(JobStatus.PENDING);
    assertThat(row(id).get("error").toString()).contains("\"truncated\": true");
  }

  @Test
  void releaseGivesTheAttemptBackAndDelays() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    assertThat(c.attempt()).isEqualTo(1);
    assertThat(queue.release(id, UUID.randomUUID(), Duration.ZERO)).isFalse();
    assertThat(queue.release(id, c.leaseToken(), Duration.ofMinutes(2))).isTrue();
    Map<String, Object> r = row(id);
    assertThat(r.get("status")).isEqualTo("pending");
    assertThat(r.get("attempt")).isEqualTo(0);
    assertThat(r.get("lease_token")).isNull();
    assertThat(Duration.between((Instant) r.get("updated_at"), (Instant) r.get("scheduled_at"))).isEqualTo(Duration.ofMinutes(2));
    assertThat(queue.claim("w", List.of(type), List.of(), 1)).as("delayed").isEmpty();

    // released with no delay: claimable at once, attempt counts from 1 again
    db.exec("UPDATE public.job_queue SET scheduled_at = now() WHERE id = ?", id);
    ClaimedJob again = claimOne(type, "w2");
    assertThat(again.attempt()).isEqualTo(1);
    assertThat(queue.release(id, again.leaseToken(), Duration.ZERO)).isTrue();
    assertThat(claimOne(type, "w3").id()).isEqualTo(id);
    assertInvalid(() -> queue.release(id, again.leaseToken(), Duration.ofSeconds(-1)), "p_delay");
  }

  // ---------------------------------------------------------------- operator transitions

  static Stream<Arguments> transitions() {
    Map<JobStatus, List<JobStatus>> allowed =
        Map.of(
            JobStatus.PENDING, List.of(JobStatus.PENDING, JobStatus.DEAD_LETTER, JobStatus.CANCELLED),
            JobStatus.PROCESSING, List.of(JobStatus.PENDING, JobStatus.DEAD_LETTER, JobStatus.CANCELLED),
            JobStatus.COMPLETED, List.of(),
            JobStatus.DEAD_LETTER, List.of(JobStatus.PENDING, JobStatus.CANCELLED),
            JobStatus.CANCELLED, List.of(JobStatus.PENDING));
    List<Arguments> all = new ArrayList<>();
    for (JobStatus from : JobStatus.values()) {
      for (JobStatus to : JobStatus.values()) {
        all.add(Arguments.of(from, to, allowed.get(from).contains(to)));
      }
    }
    return all.stream();
  }

  /** Puts a fresh job into {@code status} through the contract's own functions. */
  private static UUID jobIn(JobStatus status) {
    String type = newType();
    UUID id = enqueue(type, type);
    switch (status) {
      case PENDING -> {}
      case PROCESSING -> claimOne(type, "w");
      case COMPLETED -> assertThat(queue.complete(id, claimOne(type, "w").leaseToken(), null, null)).isTrue();
      case DEAD_LETTER -> queue.deadLetter(id, "{\"message\":\"setup\"}");
      case CANCELLED -> queue.cancel(id);
    }
    assertThat(row(id).get("status")).isEqualTo(status.sql());
    return id;
  }

  @ParameterizedTest(name = "{0} -> {1} allowed={2}")
  @MethodSource("transitions")
  void updateJobStatusFollowsTheTransitionTable(JobStatus from, JobStatus to, boolean allowed) {
    UUID id = jobIn(from);
    Map<String, Object> before = row(id);
    long auditsBefore = db.count("SELECT count(*) FROM public.audit_log WHERE job_id = ?", id);
    Instant next = Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.MILLIS);
    if (allowed) {
      assertThat(queue.updateStatus(id, to, "{\"message\":\"by operator\"}", next)).isEqualTo(to);
      Map<String, Object> after = row(id);
      assertThat(after.get("status")).isEqualTo(to.sql());
      assertThat(after.get("lease_token")).isNull();
      if (to == JobStatus.PENDING) {
        assertThat((Instant) after.get("scheduled_at")).isEqualTo(next);
        assertThat((int) after.get("max_attempts")).isGreaterThan((int) after.get("attempt"));
        assertThat(after.get("dead_letter_at")).isNull();
      }
      if (to == JobStatus.DEAD_LETTER) {
        assertThat(after.get("dead_letter_at")).isNotNull();
      }
      assertThat(
              db.rows("SELECT operation, old_values->>'status' AS old, new_values->>'status' AS new, correlation_id"
                  + " FROM public.audit_log WHERE job_id = ? ORDER BY id DESC LIMIT 1", id))
          .singleElement()
          .satisfies(a -> {
            assertThat(a.get("operation")).isEqualTo("status:" + from.sql() + "->" + to.sql());
            assertThat(a.get("old")).isEqualTo(from.sql());
            assertThat(a.get("new")).isEqualTo(to.sql());
            assertThat(a.get("correlation_id")).isEqualTo(before.get("correlation_id"));
          });
    } else {
      assertThatThrownBy(() -> queue.updateStatus(id, to, null, next))
          .isInstanceOf(JobQueueException.class)
          .hasMessageContaining("illegal job status transition")
          .hasMessageContaining(from.sql() + " -> " + to.sql())
          .satisfies(e -> assertThat(((JobQueueException) e).isIllegalTransition()).isTrue());
      assertThat(row(id)).isEqualTo(before);
      assertThat(db.count("SELECT count(*) FROM public.audit_log WHERE job_id = ?", id)).isEqualTo(auditsBefore);
    }
  }

  @Test
  void updateJobStatusRejectsUnknownStatusAndMissingJob() {
    UUID id = jobIn(JobStatus.PENDING);
    assertThatThrownBy(() -> db.exec("SELECT public.update_job_status(?, 'done')", id))
        .hasMessageContaining("unknown status 'done'");
    assertThatThrownBy(() -> queue.cancel(UUID.randomUUID()))
        .isInstanceOf(JobQueueException.class)
        .hasMessageContaining("not found")
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(JobQueueException.NOT_FOUND));
  }

  @Test
  void operatorCancelFencesTheWorkerHoldingTheJob() {
    String type = newType();
    UUID id = enqueue(type, type);
    ClaimedJob c = claimOne(type, "w");
    queue.cancel(id);
    assertThat(queue.heartbeat(id, c.leaseToken())).isFalse();
    assertThat(queue.complete(id, c.leaseToken(), null, null)).isFalse();
    assertThat(row(id).get("status")).isEqualTo("cancelled");
  }

  @Test
  void retryOfASpentDeadLetteredJobGivesItOneMoreAttempt() {
    String type = newType();
    UUID id = queue.enqueue(new NewJob(type, null, "{}", type, null, null, null, null, null, 1, null));
    ClaimedJob c = claimOne(type, "w");
    assertThat(queue.fail(id, c.leaseToken(), "{\"message\":\"boom\"}", true)).contains(JobStatus.DEAD_LETTER);
    queue.retry(id, Instant.now().minusSeconds(1));
    ClaimedJob again = claimOne(type, "w");
    assertThat(again.attempt()).isEqualTo(2);
    assertThat(again.maxAttempts()).isEqualTo(2);
    assertThat(queue.fail(id, again.leaseToken(), "{\"message\":\"boom again\"}", true))
        .contains(JobStatus.DEAD_LETTER);
    assertThat(row(id).get("error_history").toString()).contains("boom").contains("boom again");
  }
}
