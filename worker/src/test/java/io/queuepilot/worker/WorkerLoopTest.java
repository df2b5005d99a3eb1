package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.testkit.MutableClock;
import io.queuepilot.worker.fakes.InMemoryJobQueue;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/** The claim/heartbeat/settle/shutdown loop against an in-memory queue and hand-written handlers. */
class WorkerLoopTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long GB = 1L << 30;

  private final InMemoryJobQueue queue = new InMemoryJobQueue();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private Worker worker;

  private Worker start(int concurrency, JobHandler handler, Clock clock, long heap, Duration maxRuntime) {
    // heartbeats are driven by the test (heartbeatTick), hence the long interval
    worker = Worker.builder(queue, handler).workerId("w-test").concurrency(concurrency)
        .heartbeatInterval(Duration.ofHours(1)).maxRuntime(maxRuntime).pollInterval(Duration.ofMillis(50))
        .clock(clock).metrics(new WorkerMetrics(registry)).maxHeapBytes(heap).build();
    worker.start();
    return worker;
  }

  private Worker start(int concurrency, JobHandler handler) {
    return start(concurrency, handler, Clock.systemUTC(), 4 * GB, Duration.ofHours(1));
  }

  @AfterEach
  void stop() {
    if (worker != null) {
      worker.shutdown(Duration.ofSeconds(1));
    }
  }

  private JobHandler completing(CountDownLatch gate, AtomicInteger running, AtomicInteger maxRunning) {
    return ctx -> {
      maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        gate.await();
      } finally {
        running.decrementAndGet();
      }
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    };
  }

  private double count(String name, String... tags) {
    var c = registry.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void claimsOnlyUpToFreeCapacityAndCompletesEverything() {
    for (int i = 0; i < 10; i++) {
      queue.add("document_extraction", "{}");
    }
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    start(3, completing(gate, running, maxRunning));

    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 3);
    assertThat(queue.rows().stream().filter(r -> r.status == JobStatus.PROCESSING)).hasSize(3);
    gate.countDown();
    await().atMost(10, TimeUnit.SECONDS)
        .until(() -> queue.rows().stream().allMatch(r -> r.status == JobStatus.COMPLETED));
    assertThat(maxRunning.get()).isEqualTo(3);
    assertThat(queue.claimBatches).allSatisfy(b -> assertThat(b).isBetween(1, 3));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 0);
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", "document_extraction")).isEqualTo(10);
    assertThat(count("queuepilot.worker.jobs.claimed", "job_type", "document_extraction")).isEqualTo(10);
  }

  @Test
  void timeToProcessedIsMeasuredFromJobCreationToCompletionPerTypeAndLane() {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T10:00:00Z"));
    InMemoryJobQueue.Row queuedLong = queue.add("document_extraction", "{}");
    queuedLong.lane = "ai";
    queuedLong.createdAt = Instant.parse("2026-01-01T09:55:00Z"); // waited 5 minutes before the worker started
    InMemoryJobQueue.Row failing = queue.add("document_extraction", "{\"fail\":true}");
    failing.lane = "ai";
    failing.createdAt = Instant.parse("2026-01-01T09:59:00Z");
    failing.maxAttempts = 1;
    start(1, ctx -> {
      clock.advance(Duration.ofSeconds(30)); // processing time, on the injected clock
      if (ctx.job().payloadJson().contains("fail")) {
        throw new IllegalStateException("boom");
      }
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    }, clock, 4 * GB, Duration.ofHours(1));

    await().atMost(10, TimeUnit.SECONDS).until(() -> queue.row(queuedLong.id).status == JobStatus.COMPLETED
        && queue.row(failing.id).status == JobStatus.DEAD_LETTER);
    var timer = registry.find("queuepilot.worker.time.to.processed")
        .tags("job_type", "document_extraction", "lane", "ai").timer();
    assertThat(timer).as("time-to-processed timer").isNotNull();
    assertThat(timer.count()).as("only completed jobs count").isEqualTo(1);
    // claimed first (insertion order, one at a time): created 09:55, completed 10:00:30
    assertThat(timer.totalTime(TimeUnit.SECONDS)).isEqualTo(330.0);
    var duration = registry.find("queuepilot.worker.job.duration").tags("outcome", "completed").timer();
    assertThat(duration.totalTime(TimeUnit.SECONDS)).as("processing time alone").isEqualTo(30.0);
  }

  @Test
  void heapBudgetCapsConcurrency() {
    assertThat(Worker.capacity(8, 256L << 20, 0.5, 64L << 20)).isEqualTo(2);
    assertThat(Worker.capacity(8, 32L << 20, 0.6, 64L << 20)).isEqualTo(1);
    assertThat(Worker.capacity(4, 8 * GB, 0.6, 64L << 20)).isEqualTo(4);

    for (int i = 0; i < 6; i++) {
      queue.add("document_extraction", "{}");
    }
    CountDownLatch gate = new CountDownLatch(1);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    // 8 wanted, but 256 MiB * 0.6 / 64 MiB = 2 jobs fit
    start(8, completing(gate, running, maxRunning), Clock.systemUTC(), 256L << 20, Duration.ofHours(1));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 2);
    assertThat(worker.capacity()).isEqualTo(2);
    gate.countDown();
    await().atMost(10, TimeUnit.SECONDS)
        .until(() -> queue.rows().stream().allMatch(r -> r.status == JobStatus.COMPLETED));
    assertThat(maxRunning.get()).isEqualTo(2);
  }

  @Test
  void lostLeaseCancelsTheJobAndNothingIsWritten() {
    InMemoryJobQueue.Row row = queue.add("document_extraction", "{}");
    CompletableFuture<Boolean> commitResult = new CompletableFuture<>();
    AtomicBoolean interrupted = new AtomicBoolean();
    start(1, ctx -> {
      try {
        new CountDownLatch(1).await(); // works until cancelled
      } catch (InterruptedException e) {
        interrupted.set(true);
      }
      commitResult.complete(ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null)));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 1);
    worker.heartbeatTick();
    assertThat(row.heartbeats).isEqualTo(1);

    queue.stealLease(row.id);
    worker.heartbeatTick();

    await().atMost(5, TimeUnit.SECONDS).until(commitResult::isDone);
    assertThat(commitResult.join()).isFalse();
    assertThat(interrupted).isTrue();
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 0);
    assertThat(row.status).isEqualTo(JobStatus.PROCESSING); // untouched: the other holder owns it
    assertThat(row.error).isNull();
    assertThat(row.releases).isZero();
    assertThat(count("queuepilot.worker.heartbeat.failures", "kind", "lease_lost")).isEqualTo(1);
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", "document_extraction")).isEqualTo(1);
  }

  @Test
  void jobsOfOneClaimShareALeaseTokenAndLosingOneCancelsOnlyThatJob() {
    InMemoryJobQueue.Row first = queue.add("document_extraction", "{\"n\":1}");
    InMemoryJobQueue.Row second = queue.add("document_extraction", "{\"n\":2}");
    CountDownLatch gate = new CountDownLatch(1);
    Map<java.util.UUID, CompletableFuture<Boolean>> commits = new ConcurrentHashMap<>();
    Map<java.util.UUID, AtomicBoolean> interrupted = new ConcurrentHashMap<>();
    commits.put(first.id, new CompletableFuture<>());
    commits.put(second.id, new CompletableFuture<>());
    interrupted.put(first.id, new AtomicBoolean());
    interrupted.put(second.id, new AtomicBoolean());
    start(2, ctx -> {
      try {
        gate.await();
      } catch (InterruptedException e) {
        interrupted.get(ctx.job().id()).set(true);
      }
      commits.get(ctx.job().id()).complete(
          ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null)));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 2);
    assertThat(queue.claimBatches).as("one claim statement took both").startsWith(2);
    assertThat(first.lease).as("one lease token per claim statement").isEqualTo(second.lease);

    worker.heartbeatTick();
    assertThat(first.heartbeats).as("both runs are tracked, though their tokens are equal").isEqualTo(1);
    assertThat(second.heartbeats).isEqualTo(1);

    queue.stealLease(first.id);
    worker.heartbeatTick();
    await().atMost(5, TimeUnit.SECONDS).until(() -> commits.get(first.id).isDone());
    assertThat(commits.get(first.id).join()).as("the lost job writes nothing").isFalse();
    assertThat(interrupted.get(first.id)).isTrue();
    assertThat(commits.get(second.id)).as("its claim-mate keeps running").isNotDone();
    assertThat(interrupted.get(second.id)).isFalse();

    gate.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> commits.get(second.id).isDone());
    assertThat(commits.get(second.id).join()).isTrue();
    assertThat(second.status).isEqualTo(JobStatus.COMPLETED);
    assertThat(first.status).isEqualTo(JobStatus.PROCESSING); // the other holder's
    assertThat(count("queuepilot.worker.heartbeat.failures", "kind", "lease_lost")).isEqualTo(1);
  }

  @Test
  void jobPastMaxRuntimeIsCancelledAndFailedAsRetryable() throws Exception {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    InMemoryJobQueue.Row row = queue.add("document_extraction", "{}");
    start(1, ctx -> new CountDownLatch(1).await(), clock, 4 * GB, Duration.ofSeconds(30));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 1);

    clock.advance(Duration.ofSeconds(29));
    worker.heartbeatTick();
    assertThat(worker.inFlight()).isEqualTo(1);

    clock.advance(Duration.ofSeconds(2));
    worker.heartbeatTick();
    await().atMost(5, TimeUnit.SECONDS).until(() -> row.error != null);
    JsonNode error = JSON.readTree(row.error);
    assertThat(error.get("class").asText()).isEqualTo("retryable");
    assertThat(error.get("code").asText()).isEqualTo("max_runtime_exceeded");
    assertThat(error.get("worker_id").asText()).isEqualTo("w-test");
    assertThat(row.status).isIn(JobStatus.PENDING, JobStatus.PROCESSING); // pending, or already re-claimed
  }

  @Test
  void permanentFailureDeadLettersWithAClearErrorJson() throws Exception {
    InMemoryJobQueue.Row row = queue.add("document_extraction", "{}");
    start(1, ctx -> {
      throw JobFailure.permanent("corrupt_pdf", "the PDF could not be parsed: missing xref", Map.of("parser", "pdfbox"));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> row.status == JobStatus.DEAD_LETTER);
    JsonNode error = JSON.readTree(row.error);
    assertThat(error.get("class").asText()).isEqualTo("permanent");
    assertThat(error.get("code").asText()).isEqualTo("corrupt_pdf");
    assertThat(error.get("message").asText()).isEqualTo("the PDF could not be parsed: missing xref");
    assertThat(error.get("parser").asText()).isEqualTo("pdfbox");
    assertThat(error.get("attempt").asInt()).isEqualTo(1);
    await().atMost(5, TimeUnit.SECONDS).until(() ->
        count("queuepilot.worker.jobs.dead.lettered", "job_type", "document_extraction", "code", "corrupt_pdf") == 1);
  }

  @Test
  void retryableFailureGoesBackThroughFailJob() throws Exception {
    InMemoryJobQueue.Row row = queue.add("document_extraction", "{}");
    row.maxAttempts = 1;
    start(1, ctx -> {
      throw new IOException("connection reset by peer");
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> row.error != null);
    JsonNode error = JSON.readTree(row.error);
    assertThat(error.get("class").asText()).isEqualTo("retryable");
    assertThat(error.get("code").asText()).isEqualTo("io_error");
    assertThat(row.status).isEqualTo(JobStatus.DEAD_LETTER); // its only attempt is spent
  }

  @Test
  void rateLimitedJobIsReleasedWithTheDelayWithoutSpendingAnAttemptAndClaimsPause() {
    MutableClock clock = new MutableClock(Instant.parse("2026-01-01T00:00:00Z"));
    InMemoryJobQueue.Row row = queue.add("document_extraction", "{}");
    AtomicInteger calls = new AtomicInteger();
    start(1, ctx -> {
      if (calls.incrementAndGet() == 1) {
        throw JobFailure.rateLimited("openai_rate_limited", "429", Duration.ofSeconds(2));
      }
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    }, clock, 4 * GB, Duration.ofHours(1));

    await().atMost(5, TimeUnit.SECONDS).until(() -> row.releases == 1);
    assertThat(row.lastReleaseDelay).isEqualTo(Duration.ofSeconds(2));
    assertThat(row.attempt).isZero();
    assertThat(row.error).isNull();
    // the clock stands still: claims stay paused for the delay, the job waits in the queue
    await().during(300, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS).until(() -> row.status == JobStatus.PENDING);

    clock.advance(Duration.ofSeconds(3));
    worker.wake(null);
    await().atMost(5, TimeUnit.SECONDS).until(() -> row.status == JobStatus.COMPLETED);
    assertThat(row.attempt).isEqualTo(1);
    assertThat(count("queuepilot.worker.jobs.released", "job_type", "document_extraction", "reason", "openai_rate_limited"))
        .isEqualTo(1);
  }

  @Test
  void gracefulShutdownFinishesWhatItCanAndReleasesTheRest() throws Exception {
    InMemoryJobQueue.Row first = queue.add("document_extraction", "{\"n\":1}");
    InMemoryJobQueue.Row second = queue.add("document_extraction", "{\"n\":2}");
    CountDownLatch firstGate = new CountDownLatch(1);
    start(2, ctx -> {
      if (ctx.job().id().equals(first.id)) {
        firstGate.await();
      } else {
        new CountDownLatch(1).await(); // never finishes on its own
      }
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 2);

    CompletableFuture<Integer> released = CompletableFuture.supplyAsync(() -> worker.shutdown(Duration.ofSeconds(2)));
    await().atMost(2, TimeUnit.SECONDS).until(() -> !worker.accepting());
    InMemoryJobQueue.Row late = queue.add("document_extraction", "{\"n\":3}");
    firstGate.countDown();

    assertThat(released.get(10, TimeUnit.SECONDS)).isEqualTo(1);
    assertThat(first.status).isEqualTo(JobStatus.COMPLETED);
    assertThat(second.status).isEqualTo(JobStatus.PENDING);
    assertThat(second.releases).isEqualTo(1);
    assertThat(second.attempt).isZero();
    assertThat(late.status).isEqualTo(JobStatus.PENDING);
    assertThat(late.attempt).isZero(); // never claimed after shutdown began
    worker = null;
  }

  @Test
  void heartbeatErrorsAreCountedAndTheJobKeepsRunning() {
    queue.add("document_extraction", "{}");
    CountDownLatch gate = new CountDownLatch(1);
    start(1, completing(gate, new AtomicInteger(), new AtomicInteger()));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.inFlight() == 1);
    queue.failHeartbeats = true;
    worker.heartbeatTick();
    worker.heartbeatTick();
    assertThat(count("queuepilot.worker.heartbeat.failures", "kind", "error")).isEqualTo(2);
    assertThat(worker.inFlight()).isEqualTo(1);
    queue.failHeartbeats = false;
    gate.countDown();
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.rows().get(0).status == JobStatus.COMPLETED);
  }

  @Test
  void everyLogLineInsideAJobCarriesJobIdAndCorrelationId() {
    queue.add("document_extraction", "{}");
    Map<String, String> seen = new ConcurrentHashMap<>();
    AtomicReferenceHolder correlation = new AtomicReferenceHolder();
    start(1, ctx -> {
      seen.putAll(MDC.getCopyOfContextMap());
      correlation.value = ctx.job().correlationId().toString();
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.rows().get(0).status == JobStatus.COMPLETED);
    assertThat(seen).containsEntry("job_id", queue.rows().get(0).id.toString())
        .containsEntry("correlation_id", correlation.value)
        .containsEntry("job_type", "document_extraction")
        .containsEntry("worker_id", "w-test");
  }

  @Test
  void eachJobOnAReusedThreadSeesOnlyItsOwnContext() {
    queue.add("document_extraction", "{}");
    queue.add("document_extraction", "{}");
    List<Map<String, String>> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<String> ids = new java.util.concurrent.CopyOnWriteArrayList<>();
    start(1, ctx -> { // one job thread: the second job runs on the thread the first one left
      seen.add(MDC.getCopyOfContextMap());
      ids.add(ctx.job().id() + "/" + ctx.job().correlationId());
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.rows().stream().allMatch(r -> r.status == JobStatus.COMPLETED));
    assertThat(seen).hasSize(2);
    for (int i = 0; i < 2; i++) {
      String[] id = ids.get(i).split("/");
      assertThat(seen.get(i)).as("job %d", i).containsOnly(Map.entry("worker_id", "w-test"), Map.entry("job_id", id[0]),
          Map.entry("correlation_id", id[1]), Map.entry("job_type", "document_extraction"));
    }
  }

  private static final class AtomicReferenceHolder {
    volatile String value;
  }
}
