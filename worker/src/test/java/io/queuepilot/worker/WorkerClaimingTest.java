package io.queuepilot.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.worker.fakes.InMemoryJobQueue;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Who claims, and how much: job threads stay parked between jobs and claim for themselves when
 * nothing waits, a notification is claimed by the idle thread that then runs the job, and however
 * many threads claim, the worker never holds more leases than its capacity (plus the local queue);
 * a claim still on its way at shutdown is released, not left processing.
 */
class WorkerClaimingTest {

  private final InMemoryJobQueue queue = new InMemoryJobQueue();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private Worker worker;

  private Worker start(int concurrency, Duration pollInterval, JobHandler handler) {
    worker = Worker.builder(queue, handler).workerId("w-claim").concurrency(concurrency).jobTypes(List.of("noop"))
        .heartbeatInterval(Duration.ofHours(1)).pollInterval(pollInterval)
        .metrics(new WorkerMetrics(registry)).maxHeapBytes(1L << 40).build();
    worker.start();
    return worker;
  }

  @AfterEach
  void stop() {
    if (worker != null) {
      worker.shutdown(Duration.ofSeconds(1));
    }
  }

  private long count(JobStatus s) {
    return queue.rows().stream().filter(r -> r.status == s).count();
  }

  private JobHandler completingOnItsThread(Set<Thread> jobThreads) {
    return ctx -> {
      jobThreads.add(Thread.currentThread());
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    };
  }

  @Test
  void jobThreadsAreReusedAndClaimForThemselvesWithinCapacity() {
    for (int i = 0; i < 300; i++) {
      queue.add("noop", "{}");
    }
    Set<Thread> jobThreads = ConcurrentHashMap.newKeySet();
    start(4, Duration.ofHours(1), completingOnItsThread(jobThreads));

    await().atMost(20, TimeUnit.SECONDS).until(() -> count(JobStatus.COMPLETED) == 300);
    // no thread per job: the same (at most four) threads ran all 300
    assertThat(jobThreads).hasSizeBetween(1, 4);
    // with a one-hour poll the burn-down is claimed by the job threads as they finish
    assertThat(queue.claimThreads.stream().filter(jobThreads::contains).count()).isPositive();
    // however many threads claimed, never more leases than capacity
    assertThat(queue.mostProcessing).isBetween(1, 4);
    assertThat(queue.claimBatches).allSatisfy(b -> assertThat(b).isBetween(1, 4));
    assertThat(queue.rows()).allSatisfy(r -> assertThat(r.attempt).isEqualTo(1));
  }

  @Test
  void aNotificationIsClaimedByTheIdleJobThreadThatThenRunsTheJob() {
    queue.add("noop", "{}");
    List<Thread> ranOn = new CopyOnWriteArrayList<>();
    start(1, Duration.ofHours(1), ctx -> {
      ranOn.add(Thread.currentThread());
      ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null));
    });
    await().atMost(5, TimeUnit.SECONDS).until(() -> count(JobStatus.COMPLETED) == 1);
    // the claim thread claimed it; the thread that ran it looked for more once (nothing) and parked
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.claimThreads.size() == 2);
    int claimsBefore = queue.claimThreads.size();

    queue.add("noop", "{}");
    worker.wake("noop"); // what the LISTEN connection does on NOTIFY

    await().atMost(5, TimeUnit.SECONDS).until(() -> count(JobStatus.COMPLETED) == 2);
    Thread claimer = queue.claimThreads.get(claimsBefore);
    assertThat(claimer).isEqualTo(ranOn.get(1)); // claimed and run on one thread: one hand-off from the listener
    assertThat(claimer.getName()).startsWith("qp-job-");
  }

  @Test
  void aNotificationArrivingWhileTheOnlyThreadsClaimMissedTheJobIsClaimedWithoutWaitingForThePoll() throws Exception {
    queue.add("noop", "{}");
    CountDownLatch missedAndOnItsWay = new CountDownLatch(1);
    CountDownLatch letItLand = new CountDownLatch(1);
    AtomicInteger claims = new AtomicInteger();
    queue.afterClaim = n -> {
      // claim 1: the claim thread takes the first job; claim 2: the job thread, done with it, looks
      // for more and finds nothing — held on its way back
      if (claims.incrementAndGet() == 2) {
        missedAndOnItsWay.countDown();
        try {
          letItLand.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    // the claim thread reads the clock each time it looks: that tells when it has looked
    AtomicReference<CountDownLatch> claimThreadLooked = new AtomicReference<>();
    AtomicReference<Thread> claimThread = new AtomicReference<>();
    Clock clock = new Clock() {
      @Override
      public ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        if (Thread.currentThread().getName().startsWith("qp-claim-")) {
          claimThread.set(Thread.currentThread());
          CountDownLatch looked = claimThreadLooked.get();
          if (looked != null) {
            looked.countDown();
          }
        }
        return Instant.now();
      }
    };
    worker = Worker.builder(queue, ctx -> ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null)))
        .workerId("w-claim").concurrency(1).jobTypes(List.of("noop")).heartbeatInterval(Duration.ofHours(1))
        .pollInterval(Duration.ofHours(1)).clock(clock).metrics(new WorkerMetrics(registry)).maxHeapBytes(1L << 40).build();
    worker.start();
    assertThat(missedAndOnItsWay.await(5, TimeUnit.SECONDS)).isTrue();

    queue.add("noop", "{}"); // committed after claim 2's snapshot
    CountDownLatch looked = new CountDownLatch(1);
    claimThreadLooked.set(looked);
    worker.wake("noop");     // its NOTIFY arrives while claim 2 is on its way back
    // the claim thread looks at once, finds the only slot taken by the claim in flight, and parks
    assertThat(looked.await(5, TimeUnit.SECONDS)).isTrue();
    await().atMost(5, TimeUnit.SECONDS).until(() -> claimThread.get().getState() == Thread.State.TIMED_WAITING);
    letItLand.countDown();

    // the poll is an hour away: only a claim following the one that missed the job can take it
    await().atMost(10, TimeUnit.SECONDS).until(() -> count(JobStatus.COMPLETED) == 2);
  }

  @Test
  void aNotificationForAnotherJobTypeClaimsNothing() {
    start(1, Duration.ofHours(1), ctx -> {});
    await().atMost(5, TimeUnit.SECONDS).until(() -> queue.claimThreads.size() == 1);
    worker.wake("thumbnail");
    await().during(200, TimeUnit.MILLISECONDS).atMost(2, TimeUnit.SECONDS).until(() -> queue.claimThreads.size() == 1);
  }

  @Test
  void aJobThreadsClaimStillOnItsWayAtShutdownIsReleasedNotLeftProcessing() throws Exception {
    queue.add("noop", "{}");
    CountDownLatch secondClaimHeld = new CountDownLatch(1);
    CountDownLatch letItGo = new CountDownLatch(1);
    AtomicBoolean first = new AtomicBoolean(true);
    queue.beforeClaim = n -> {
      if (!first.getAndSet(false) && Thread.currentThread().getName().startsWith("qp-job-")) {
        secondClaimHeld.countDown();
        try {
          letItGo.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    };
    start(1, Duration.ofHours(1), ctx -> ctx.commit(() -> queue.complete(ctx.job().id(), ctx.job().leaseToken(), null, null)));
    // the job thread finished the first job and is claiming the next one for itself
    assertThat(secondClaimHeld.await(5, TimeUnit.SECONDS)).isTrue();
    queue.add("noop", "{}");

    Thread shutdown = Thread.ofPlatform().start(() -> worker.shutdown(Duration.ofSeconds(5)));
    await().atMost(5, TimeUnit.SECONDS).until(() -> worker.accepting() == false);
    letItGo.countDown(); // the claim lands after shutdown began: it takes the new job
    shutdown.join(10_000);
    worker = null;

    InMemoryJobQueue.Row second = queue.rows().get(1);
    assertThat(second.status).isEqualTo(JobStatus.PENDING); // released at once, not processing until the rescuer
    assertThat(second.releases).isEqualTo(1);
    assertThat(second.attempt).isZero();
  }
}
