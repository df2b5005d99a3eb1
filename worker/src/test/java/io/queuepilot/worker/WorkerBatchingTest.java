package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueueException;
import io.queuepilot.worker.fakes.InMemoryJobQueue;
import io.queuepilot.testkit.MutableClock;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The worker's batched outcomes, heartbeats and claim-ahead against the in-memory queue: jobs
 * that finish together share one statement, fencing holds per job, claimed-ahead jobs are
 * bounded, heartbeated, expired and released at shutdown without spending an attempt.
 */
class WorkerBatchingTest {

  private final InMemoryJobQueue queue = new InMemoryJobQueue();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private Worker worker;

  private Worker.Builder builder(int concurrency, JobHandler handler) {
    return Worker.builder(queue, handler).workerId("w-batch").concurrency(concurrency).jobTypes(List.of("noop"))
        .heartbeatInterval(Duration.ofHours(1)).pollInterval(Duration.ofMillis(20))
        .metrics(new WorkerMetrics(registry)).maxHeapBytes(1L << 40);
  }

  private Worker start(Worker.Builder b) {
    worker = b.build();
    worker.start();
    return worker;
  }

  @AfterEach
  void stop() {
    if (worker != null) {
      worker.shutdown(Duration.ofSeconds(1));
    }
  }

  private double count(String name, String... tags) {
    var c = registry.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  private long countStatus(JobStatus s) {
    return queue.rows().stream().filter(r -> r.status == s).count();
  }

  @Test
  void jobsThatFinishTogetherAreCompletedInOneRoundTrip() {
    for (int i = 0; i < 5; i++) {
      queue.add("noop", "{}");
    }
    HeldStatement held = holdFirstCompleteAll();
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    start(builder(5, ctx -> answers.put(ctx.job().id(), ctx.complete("{\"ok\":true}", 3))));

    awaitLatch(held.reached());
    // while the first statement is on its way, the other jobs finish and wait for the next one
    await().atMost(5, TimeUnit.SECONDS).until(() -> held.jobs().get() + worker.pendingOutcomes() == 5);
    int first = held.jobs().get();
    held.release().countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 5);
    // five completions, at most two statements: everything that coincided went in one
    assertThat(queue.completeAllBatches).isEqualTo(first == 5 ? List.of(5) : List.of(first, 5 - first));
    await().atMost(5, TimeUnit.SECONDS).until(() -> answers.size() == 5);
    assertThat(answers.values()).containsOnly(true);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isEqualTo(5);
  }

  @Test
  void aLeaseLostBetweenFinishAndTheBatchedCompleteFencesOnlyThatJob() {
    InMemoryJobQueue.Row stolen = queue.add("noop", "{}");
    InMemoryJobQueue.Row kept = queue.add("noop", "{}");
    CountDownLatch bothFinished = new CountDownLatch(1);
    AtomicInteger heldInStatement = new AtomicInteger();
    queue.beforeCompleteAll = n -> {
      heldInStatement.addAndGet(n);
      awaitLatch(bothFinished);
    };
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    CountDownLatch started = new CountDownLatch(2);
    CountDownLatch go = new CountDownLatch(1);
    start(builder(2, ctx -> {
      started.countDown();
      awaitLatch(go);
      answers.put(ctx.job().id(), ctx.complete(null, null));
    }));
    awaitLatch(started);
    go.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> heldInStatement.get() + worker.pendingOutcomes() == 2);
    assertThat(answers).isEmpty();
    // both finished their work; before the completion reaches the database another worker takes one over
    queue.stealLease(stolen.id);
    UUID otherLease = stolen.lease;
    bothFinished.countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> answers.size() == 2);
    assertThat(answers).containsEntry(stolen.id, false).containsEntry(kept.id, true);
    assertThat(kept.status).isEqualTo(JobStatus.COMPLETED);
    assertThat(stolen.status).isEqualTo(JobStatus.PROCESSING); // the new holder's, untouched
    assertThat(stolen.lease).isEqualTo(otherLease);
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", "noop")).isEqualTo(1);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isEqualTo(1);
  }

  @Test
  void aFailedCompletionStatementLeavesEveryJobOfTheBatchToBeFailedNotLost() {
    for (int i = 0; i < 3; i++) {
      queue.add("noop", "{}");
    }
    queue.completeAllError = new JobQueueException("complete_jobs",
        new java.sql.SQLException("An I/O error occurred while sending to the backend.", "08006"));
    start(builder(3, ctx -> ctx.complete(null, null)));
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.rows().stream().allMatch(r -> r.error != null));
    // the statement wrote nothing; each job then took the retryable-failure path under its own lease
    assertThat(countStatus(JobStatus.COMPLETED)).isZero();
    assertThat(queue.rows()).allSatisfy(r -> assertThat(r.error).contains("\"class\":\"retryable\""));
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isZero();
  }

  @Test
  void completionsHandedOverWithoutWaitingLetTheThreadRunOnAndShareTheNextStatement() {
    for (int i = 0; i < 5; i++) {
      queue.add("noop", "{}");
    }
    HeldStatement held = holdFirstCompleteAll();
    AtomicInteger handled = new AtomicInteger();
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    start(builder(1, ctx -> {
      handled.incrementAndGet();
      ctx.completeAsync(null, null).thenAccept(ok -> answers.put(ctx.job().id(), ok));
    }).localQueue(4, Duration.ofMinutes(5)));

    awaitLatch(held.reached());
    // one job thread: while its first completion is on its way it has run the other four
    await().atMost(5, TimeUnit.SECONDS)
        .until(() -> handled.get() == 5 && held.jobs().get() + worker.pendingOutcomes() == 5);
    int first = held.jobs().get();
    assertThat(answers).isEmpty();
    assertThat(countStatus(JobStatus.PROCESSING)).isEqualTo(5); // every lease held until its statement is back
    assertThat(worker.inFlight()).isEqualTo(5);
    held.release().countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> answers.size() == 5);
    assertThat(answers.values()).containsOnly(true);
    assertThat(queue.completeAllBatches).isEqualTo(first == 5 ? List.of(5) : List.of(first, 5 - first));
    assertThat(countStatus(JobStatus.COMPLETED)).isEqualTo(5);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isEqualTo(5);
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 0);
  }

  @Test
  void aCompletionNotWrittenYetKeepsItsLeaseAndItsPlaceInCapacity() {
    for (int i = 0; i < 3; i++) {
      queue.add("noop", "{}");
    }
    HeldStatement held = holdFirstCompleteAll();
    start(builder(1, ctx -> ctx.completeAsync(null, null)));

    awaitLatch(held.reached());
    // the thread is free, but the job still holds its lease: nothing more is claimed (polls every 20 ms)
    await().during(300, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS)
        .until(() -> queue.claimBatches.size() == 1 && countStatus(JobStatus.PROCESSING) == 1);
    assertThat(worker.inFlight()).isEqualTo(1);
    held.release().countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 3);
    assertThat(queue.mostProcessing).isEqualTo(1);
  }

  @Test
  void aCompletionHandedOverWithoutWaitingIsFencedPerJob() {
    InMemoryJobQueue.Row stolen = queue.add("noop", "{}");
    InMemoryJobQueue.Row kept = queue.add("noop", "{}");
    CountDownLatch bothHandedOver = new CountDownLatch(1);
    queue.beforeCompleteAll = n -> awaitLatch(bothHandedOver);
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    AtomicInteger handedOver = new AtomicInteger();
    start(builder(2, ctx -> {
      ctx.completeAsync(null, null).thenAccept(ok -> answers.put(ctx.job().id(), ok));
      handedOver.incrementAndGet();
    }));
    await().atMost(5, TimeUnit.SECONDS).until(() -> handedOver.get() == 2);
    queue.stealLease(stolen.id); // another worker took it over before the statement reached the database
    UUID otherLease = stolen.lease;
    bothHandedOver.countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> answers.size() == 2);
    assertThat(answers).containsEntry(stolen.id, false).containsEntry(kept.id, true);
    assertThat(stolen.status).isEqualTo(JobStatus.PROCESSING);
    assertThat(stolen.lease).isEqualTo(otherLease);
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", "noop")).isEqualTo(1);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isEqualTo(1);
  }

  @Test
  void aCompletionHandedOverWithoutWaitingWhoseStatementFailedIsFailedUnderItsLease() {
    InMemoryJobQueue.Row row = queue.add("noop", "{}");
    queue.completeAllError = new JobQueueException("complete_jobs",
        new java.sql.SQLException("An I/O error occurred while sending to the backend.", "08006"));
    List<Throwable> answers = new java.util.concurrent.CopyOnWriteArrayList<>();
    start(builder(1, ctx -> ctx.completeAsync(null, null).whenComplete((ok, e) -> answers.add(e))));

    await().atMost(5, TimeUnit.SECONDS).until(() -> row.error != null);
    // nothing was written by the statement; the job then took the retryable-failure path under its lease
    assertThat(row.status).isNotEqualTo(JobStatus.COMPLETED);
    assertThat(row.error).contains("\"class\":\"retryable\"").contains("\"code\":\"database_error\"");
    assertThat(queue.failAllBatches).isNotEmpty();
    await().atMost(5, TimeUnit.SECONDS).until(() -> !answers.isEmpty());
    assertThat(answers.getFirst()).hasCauseInstanceOf(JobQueueException.class); // the stage says it was not written
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isZero();
    assertThat(count("queuepilot.worker.jobs.failed", "job_type", "noop", "code", "database_error")).isPositive();
  }

  @Test
  void withALocalQueueTheCompletionStatementRefillsItAndFencesALostLeasePerJob() {
    List<InMemoryJobQueue.Row> rows = new java.util.ArrayList<>();
    for (int i = 0; i < 6; i++) {
      rows.add(queue.add("noop", "{}"));
    }
    HeldStatement held = holdFirstCompleteAll();
    List<UUID> handled = new java.util.concurrent.CopyOnWriteArrayList<>();
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    start(builder(1, ctx -> {
      handled.add(ctx.job().id());
      // the jobs after the first finish only once the first job's statement is out (held): without
      // this, the settler could pick the second job up with the first into one statement when the
      // job thread is quicker than the settler's wake-up (seen once in a clean-clone run)
      if (handled.size() > 1) awaitLatch(held.reached());
      ctx.completeAsync(null, null).thenAccept(ok -> answers.put(ctx.job().id(), ok));
    }).localQueue(2, Duration.ofMinutes(5)));

    // capacity 1 + local queue 2: three claimed; while the first completion statement is held the
    // thread runs the other two and hands them over
    awaitLatch(held.reached());
    assertThat(held.jobs().get()).as("jobs in the held first statement").isEqualTo(1);
    await().atMost(5, TimeUnit.SECONDS).until(() -> handled.size() == 3 && worker.pendingOutcomes() == 2);
    assertThat(queue.claimBatches).containsExactly(3);
    InMemoryJobQueue.Row stolen = queue.row(handled.get(1));
    queue.stealLease(stolen.id); // another worker takes it over before our completion reaches the database
    UUID otherLease = stolen.lease;
    held.release().countDown();

    await().atMost(5, TimeUnit.SECONDS).until(() -> answers.size() == 6);
    // the statement after the held one completed the two handed over meanwhile (the stolen one among
    // them) and claimed ahead in the same round trip
    assertThat(queue.completeAndClaimCalls).anySatisfy(call -> {
      assertThat(call.get(0)).isEqualTo(2);
      assertThat(call.get(1)).isPositive();
    });
    assertThat(answers).containsEntry(stolen.id, false);
    assertThat(answers.entrySet().stream().filter(e -> !e.getKey().equals(stolen.id)))
        .allSatisfy(e -> assertThat(e.getValue()).isTrue());
    // no job lost or run twice: five completed by us, the stolen one untouched under its new holder's lease
    assertThat(handled).doesNotHaveDuplicates().hasSize(6);
    assertThat(stolen.status).isEqualTo(JobStatus.PROCESSING);
    assertThat(stolen.lease).isEqualTo(otherLease);
    assertThat(rows.stream().filter(r -> r != stolen)).allSatisfy(r -> {
      assertThat(r.status).isEqualTo(JobStatus.COMPLETED);
      assertThat(r.attempt).isEqualTo(1);
    });
    // never more than capacity + local queue of ours in flight (the fourth is the other holder's stolen job)
    assertThat(queue.mostProcessing).isLessThanOrEqualTo(3 + 1);
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", "noop")).isEqualTo(1);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "noop")).isEqualTo(5);
  }

  @Test
  void aFailedCompleteAndClaimStatementClaimsNothingAndGivesItsReservationBack() {
    for (int i = 0; i < 12; i++) {
      queue.add("noop", "{}").maxAttempts = 1_000; // retried as often as the statements fail, never dead-lettered
    }
    queue.completeAllError = new JobQueueException("complete_and_claim_jobs",
        new java.sql.SQLException("An I/O error occurred while sending to the backend.", "08006"));
    start(builder(2, ctx -> ctx.completeAsync(null, null)).localQueue(4, Duration.ofMinutes(5)));
    // every statement fails: the jobs take the retryable-failure path under their leases
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.rows().stream().filter(r -> r.error != null).count() >= 6);
    assertThat(countStatus(JobStatus.COMPLETED)).isZero();
    queue.completeAllError = null;
    // the failed statements' claims were given back: the worker claims on and finishes every job, none lost
    await().atMost(10, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 12);
    assertThat(queue.completeAndClaimCalls).isNotEmpty();
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 0);
  }

  @Test
  void everyHeldLeaseIsHeartbeatedInOneStatement() {
    for (int i = 0; i < 8; i++) {
      queue.add("noop", "{}");
    }
    CountDownLatch gate = new CountDownLatch(1);
    start(builder(3, ctx -> {
      awaitLatch(gate);
      ctx.complete(null, null);
    }).localQueue(5, Duration.ofMinutes(5)));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 8);
    worker.heartbeatTick();
    assertThat(queue.heartbeatAllBatches).containsExactly(8); // 3 running + 5 claimed ahead, one round trip
    assertThat(queue.rows()).allSatisfy(r -> assertThat(r.heartbeats).isEqualTo(1));
    gate.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 8);
  }

  @Test
  void claimAheadIsBoundedByCapacityPlusTheLocalQueue() {
    for (int i = 0; i < 20; i++) {
      queue.add("noop", "{}");
    }
    CountDownLatch gate = new CountDownLatch(1);
    start(builder(2, ctx -> {
      awaitLatch(gate);
      ctx.complete(null, null);
    }).localQueue(4, Duration.ofMinutes(5)));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 6);
    await().during(200, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS)
        .until(() -> countStatus(JobStatus.PROCESSING) == 6);
    assertThat(worker.waiting()).isEqualTo(4);
    assertThat(queue.claimBatches).allSatisfy(b -> assertThat(b).isBetween(1, 6));
    gate.countDown();
    await().atMost(10, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 20);
    assertThat(queue.rows()).allSatisfy(r -> assertThat(r.attempt).isEqualTo(1));
  }

  @Test
  void shutdownWithAFullLocalQueueReleasesEveryWaitingJobWithoutSpendingAnAttempt() {
    for (int i = 0; i < 6; i++) {
      queue.add("noop", "{}");
    }
    CountDownLatch running = new CountDownLatch(1);
    start(builder(1, ctx -> {
      running.countDown();
      new CountDownLatch(1).await(); // never finishes on its own
    }).localQueue(5, Duration.ofMinutes(5)));
    awaitLatch(running);
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.waiting() == 5);

    int released = worker.shutdown(Duration.ofMillis(200));
    worker = null;

    assertThat(released).isEqualTo(6); // five waiting (at once) and the running one after the grace period
    assertThat(queue.rows()).allSatisfy(r -> {
      assertThat(r.status).isEqualTo(JobStatus.PENDING);
      assertThat(r.attempt).isZero();
      assertThat(r.releases).isEqualTo(1);
      assertThat(r.error).isNull();
    });
    assertThat(queue.releaseAllBatches).containsExactly(5, 1);
    assertThat(count("queuepilot.worker.jobs.released", "job_type", "noop", "reason", "worker_shutdown")).isEqualTo(6);
  }

  @Test
  void aClaimedAheadJobWhoseLeaseIsLostIsNeverStarted() {
    InMemoryJobQueue.Row first = queue.add("noop", "{}");
    InMemoryJobQueue.Row second = queue.add("noop", "{}");
    List<UUID> startedJobs = new java.util.concurrent.CopyOnWriteArrayList<>();
    CountDownLatch gate = new CountDownLatch(1);
    start(builder(1, ctx -> {
      startedJobs.add(ctx.job().id());
      awaitLatch(gate);
      ctx.complete(null, null);
    }).localQueue(1, Duration.ofMinutes(5)));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 2);
    InMemoryJobQueue.Row waiting = startedJobs.contains(first.id) ? second : first;
    queue.stealLease(waiting.id);
    worker.heartbeatTick();
    assertThat(worker.waiting()).isZero();
    gate.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 0);
    assertThat(startedJobs).doesNotContain(waiting.id);
    assertThat(waiting.status).isEqualTo(JobStatus.PROCESSING); // the other holder's
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", "noop")).isEqualTo(1);
  }

  @Test
  void aClaimedAheadJobNotStartedWithinTheTtlGoesBackToTheQueue() {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    queue.add("noop", "{}");
    queue.add("noop", "{}");
    CountDownLatch gate = new CountDownLatch(1);
    Clock c = clock;
    start(builder(1, ctx -> {
      awaitLatch(gate);
      ctx.complete(null, null);
    }).localQueue(1, Duration.ofSeconds(30)).clock(c));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 2);
    clock.advance(Duration.ofSeconds(29));
    worker.heartbeatTick();
    assertThat(worker.waiting()).isEqualTo(1);
    assertThat(queue.releaseAllBatches).isEmpty();
    clock.advance(Duration.ofSeconds(2));
    worker.heartbeatTick();
    // released (it may be claimed again at once, under a new lease, with its attempt given back first)
    assertThat(queue.releaseAllBatches).containsExactly(1);
    assertThat(queue.rows().stream().filter(r -> r.releases == 1)).hasSize(1);
    assertThat(count("queuepilot.worker.jobs.released", "job_type", "noop", "reason", "local_queue_ttl")).isEqualTo(1);
    gate.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> countStatus(JobStatus.COMPLETED) == 2);
  }

  @Test
  void theBuilderStartsFromTheDocumentedDefaultsAndReportsEveryBadSetting() {
    Worker w = Worker.builder(queue, ctx -> {}).maxHeapBytes(1L << 40).build();
    assertThat(w.capacity()).isEqualTo(WorkerDefaults.CONCURRENCY);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Worker.builder(queue, ctx -> {})
            .concurrency(0).localQueue(-1, Duration.ofSeconds(1)).build())
        .hasMessageContaining("concurrency must be >= 1").hasMessageContaining("localQueue size must be >= 0");
  }

  /** The first complete_jobs statement, held until released: its job count and the two signals. */
  private record HeldStatement(CountDownLatch reached, CountDownLatch release, AtomicInteger jobs) {}

  /** Makes the queue's first completeAll wait until {@code release} is counted down. */
  private HeldStatement holdFirstCompleteAll() {
    HeldStatement held = new HeldStatement(new CountDownLatch(1), new CountDownLatch(1), new AtomicInteger());
    AtomicInteger statements = new AtomicInteger();
    queue.beforeCompleteAll = n -> {
      if (statements.incrementAndGet() == 1) {
        held.jobs().set(n);
        held.reached().countDown();
        awaitLatch(held.release());
      }
    };
    return held;
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released within 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
