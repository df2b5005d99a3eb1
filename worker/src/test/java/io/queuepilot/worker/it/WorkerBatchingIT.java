package io.queuepilot.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.worker.JobContext;
import io.queuepilot.worker.JobHandler;
import io.queuepilot.worker.Worker;
import io.queuepilot.worker.WorkerMetrics;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The product Worker's batched completion, heartbeats and claim-ahead on real PostgreSQL with
 * the production migrations: the attacks are a lease lost between a job's finish and its batched
 * completion, shutdown with a full local queue, and a worker that dies in the middle of a
 * completion statement.
 */
class WorkerBatchingIT {

  @RegisterExtension static final PostgresExtension pg = new PostgresExtension();

  private static final String TYPE = "batch_it";
  private DataSource workerDb;
  private io.queuepilot.worker.fakes.Pipeline world;
  private JobQueue service;
  private JobQueue rescuer;
  private final List<Worker> workers = new ArrayList<>();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void roles() throws SQLException {
    world = new io.queuepilot.worker.fakes.Pipeline(pg, "batch_worker"); // its superuser queries
    workerDb = pg.loginAs("batch_worker", "queue_worker");
    service = new PostgresJobQueue(pg.loginAs("batch_service", "service_role"));
    rescuer = new PostgresJobQueue(pg.loginAs("batch_rescuer", "queue_controller"));
    try (Connection c = pg.superuser().getConnection(); Statement s = c.createStatement()) {
      // live and finished jobs of earlier tests (finished ones are in job_history since V081)
      s.execute("DELETE FROM public.job_queue WHERE job_type = '" + TYPE + "'");
      s.execute("DELETE FROM public.job_history WHERE job_type = '" + TYPE + "'");
    }
  }

  @AfterEach
  void stop() {
    workers.forEach(w -> w.shutdown(Duration.ofSeconds(1)));
  }

  private List<UUID> enqueue(int n) {
    List<UUID> ids = new ArrayList<>();
    String run = UUID.randomUUID().toString();
    for (int i = 0; i < n; i++) {
      ids.add(service.enqueue(JobQueue.NewJob.of(TYPE, "{\"i\":" + i + "}", run + "-" + i)));
    }
    return ids;
  }

  private Worker start(JobQueue queue, String id, int concurrency, int localQueue, JobHandler handler) {
    Worker w = Worker.builder(queue, handler).workerId(id).concurrency(concurrency).jobTypes(List.of(TYPE))
        .pollInterval(Duration.ofMillis(50)).heartbeatInterval(Duration.ofHours(1))
        .localQueue(localQueue, Duration.ofMinutes(5)).maxHeapBytes(1L << 40)
        .metrics(new WorkerMetrics(registry)).build();
    w.start();
    workers.add(w);
    return w;
  }

  private long scalar(String sql, Object... args) throws SQLException {
    return world.scalar(sql, args);
  }

  private String text(String sql, Object... args) throws SQLException {
    return world.text(sql, args);
  }

  private double count(String name, String... tags) {
    var c = registry.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void aBurnDownWithClaimAheadCompletesEveryJobOnceInFewStatements() throws Exception {
    enqueue(300);
    CountingQueue queue = new CountingQueue(new PostgresJobQueue(workerDb));
    start(queue, "batch-a", 8, 50, ctx -> ctx.complete("{\"ok\":true}", 1));
    await().atMost(60, TimeUnit.SECONDS).until(() -> scalar(
        "SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'completed'", TYPE) == 300);
    assertThat(scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND attempt <> 1", TYPE)).isZero();
    assertThat(queue.completed.get()).isEqualTo(300);
    assertThat(queue.completeStatements.get()).isLessThan(300); // completions that coincided shared statements
    assertThat(queue.completeAndClaimStatements.get()).isPositive(); // and refilled the local queue in the same round trip
    assertThat(count("queuepilot.worker.jobs.completed", "job_type", TYPE)).isEqualTo(300);
  }

  @Test
  void aLeaseLostBetweenFinishAndTheBatchedCompleteIsFencedAndTheNewHolderKeepsTheJob() throws Exception {
    TwoFinishedHeld t = twoFinishedBehindAHeldStatement("batch-b", 0,
        (ctx, answers) -> answers.put(ctx.job().id(), ctx.complete(null, null)));
    List<UUID> ids = t.ids();
    HeldStatement held = t.held();
    Map<UUID, Boolean> answers = t.answers();
    UUID stolen = ids.get(0);
    // the worker looks dead to the rescuer (no heartbeat for an hour): requeued and claimed by a thief
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(
        "UPDATE public.job_queue SET heartbeat_at = now() - interval '1 hour' WHERE id = ?")) {
      ps.setObject(1, stolen);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    assertThat(rescuer.requeueStale(Duration.ofMinutes(1))).extracting(JobQueue.RequeuedJob::jobId).containsExactly(stolen);
    List<JobQueue.ClaimedJob> thief = new PostgresJobQueue(workerDb).claim("thief", List.of(TYPE), List.of(), 1);
    assertThat(thief).extracting(JobQueue.ClaimedJob::id).containsExactly(stolen);
    held.release().countDown();

    await().atMost(10, TimeUnit.SECONDS).until(() -> answers.size() == 2);
    assertThat(answers).containsEntry(stolen, false).containsEntry(ids.get(1), true);
    assertThat(text("SELECT status || '/' || worker_id || '/' || lease_token FROM public.jobs WHERE id = ?", stolen))
        .isEqualTo("processing/thief/" + thief.getFirst().leaseToken());
    assertThat(text("SELECT status FROM public.jobs WHERE id = ?", ids.get(1))).isEqualTo("completed");
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", TYPE)).isEqualTo(1);
  }

  @Test
  void aLeaseLostBeforeACompleteAndClaimStatementIsFencedWhileTheStatementClaimsAhead() throws Exception {
    TwoFinishedHeld t = twoFinishedBehindAHeldStatement("batch-refill", 4,
        (ctx, answers) -> ctx.completeAsync(null, null).thenAccept(ok -> answers.put(ctx.job().id(), ok)));
    List<UUID> ids = t.ids();
    CountingQueue queue = t.queue();
    HeldStatement held = t.held();
    Map<UUID, Boolean> answers = t.answers();
    UUID stolen = ids.get(0);
    // another holder takes the job over before our completion reaches the database (as after the
    // rescuer's requeue and a new claim; set directly, since this worker's own sweep and its free
    // local-queue room would otherwise race the thief for it)
    UUID thiefLease = UUID.randomUUID();
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(
        "UPDATE public.job_queue SET lease_token = ?, worker_id = 'thief' WHERE id = ? AND status = 'processing'")) {
      ps.setObject(1, thiefLease);
      ps.setObject(2, stolen);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
    List<UUID> more = enqueue(4); // ready for the claim that rides on the completion statements
    held.release().countDown();

    await().atMost(20, TimeUnit.SECONDS).until(() -> answers.size() == 6);
    assertThat(answers).containsEntry(stolen, false);
    assertThat(answers).containsEntry(ids.get(1), true);
    assertThat(more).allSatisfy(id -> assertThat(answers).containsEntry(id, true));
    assertThat(queue.completeAndClaimStatements.get()).isPositive();
    assertThat(text("SELECT status || '/' || worker_id || '/' || lease_token FROM public.jobs WHERE id = ?", stolen))
        .isEqualTo("processing/thief/" + thiefLease);
    assertThat(scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'completed' AND attempt = 1",
        TYPE)).isEqualTo(5);
    assertThat(count("queuepilot.worker.jobs.lease.lost", "job_type", TYPE)).isEqualTo(1);
  }

  @Test
  void shutdownWithAFullLocalQueueReleasesEveryClaimedJobWithItsAttemptGivenBack() throws Exception {
    List<UUID> ids = enqueue(6);
    CountDownLatch running = new CountDownLatch(1);
    Worker w = start(new PostgresJobQueue(workerDb), "batch-c", 1, 5, ctx -> {
      running.countDown();
      new CountDownLatch(1).await(); // never finishes on its own
    });
    awaitLatch(running);
    await().atMost(5, TimeUnit.SECONDS).until(() -> w.waiting() == 5);
    assertThat(scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'processing' AND attempt = 1",
        TYPE)).isEqualTo(6);

    assertThat(w.shutdown(Duration.ofMillis(200))).isEqualTo(6);
    workers.remove(w);

    for (UUID id : ids) {
      assertThat(text("SELECT status || '/' || attempt || '/' || (lease_token IS NULL) FROM public.jobs WHERE id = ?", id))
          .isEqualTo("pending/0/true");
    }
    // and they run elsewhere at once, each on its first attempt
    start(new PostgresJobQueue(workerDb), "batch-c2", 3, 0, ctx -> ctx.complete(null, null));
    await().atMost(30, TimeUnit.SECONDS).until(() -> scalar(
        "SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'completed' AND attempt = 1", TYPE) == 6);
  }

  @Test
  void aWorkerThatDiesInTheMiddleOfACompletionStatementLosesNoJobAndCompletesNoneTwice() throws Exception {
    List<UUID> ids = enqueue(4);
    CountDownLatch allFinished = new CountDownLatch(4);
    CountDownLatch rowLocked = new CountDownLatch(1);
    CountingQueue queue = new CountingQueue(new PostgresJobQueue(workerDb));
    queue.beforeComplete = n -> awaitLatch(rowLocked);
    Worker dying = start(queue, "batch-dying", 4, 0, ctx -> {
      allFinished.countDown();
      ctx.complete(null, null);
    });
    awaitLatch(allFinished); // all four claimed and finished; their completions are on the way
    try (Connection lockHolder = pg.superuser().getConnection()) {
      lockHolder.setAutoCommit(false);
      // another transaction holds the last job's row: the completion statement blocks on it mid-way
      try (PreparedStatement ps = lockHolder.prepareStatement("SELECT 1 FROM public.job_queue WHERE id = ? FOR UPDATE")) {
        ps.setObject(1, ids.get(3));
        ps.executeQuery().close();
      }
      rowLocked.countDown();
      await().atMost(10, TimeUnit.SECONDS).until(() -> scalar(
          "SELECT count(*) FROM pg_stat_activity WHERE usename = 'batch_worker' AND wait_event_type = 'Lock'") == 1);
      // the process dies: no further writes, its connection is gone mid-statement
      dying.kill();
      workers.remove(dying);
      assertThat(scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
          + " WHERE usename = 'batch_worker' AND wait_event_type = 'Lock'")).isEqualTo(1);
      lockHolder.rollback();
    }
    // nothing is lost: each job is completed (at most once) or still processing under the dead worker's lease
    long completed = scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'completed'", TYPE);
    long stillLeased = scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'processing'"
        + " AND worker_id = 'batch-dying' AND lease_token IS NOT NULL", TYPE);
    assertThat(completed + stillLeased).isEqualTo(4);
    // complete_jobs is one statement: the backend died inside the one carrying the locked job, so none
    // of that statement's jobs was completed; the statements before it were
    List<UUID> dyingStatement = queue.statements.stream().filter(ids2 -> ids2.contains(ids.get(3))).findFirst().orElseThrow();
    for (UUID id : dyingStatement) {
      assertThat(text("SELECT status FROM public.jobs WHERE id = ?", id)).as("all or nothing").isEqualTo("processing");
    }
    // the settler runs one statement at a time: those recorded before the dying one committed, and a job
    // finished after it never reached a statement (how the four group into statements is timing)
    int before = queue.statements.indexOf(dyingStatement);
    long committed = queue.statements.subList(0, before).stream().mapToLong(List::size).sum();
    assertThat(completed).as("jobs of the statements before the dying one").isEqualTo(committed);
    assertThat(stillLeased).isEqualTo(4 - committed);

    // the rescuer takes the dead worker's jobs back; another worker completes them
    try (Connection c = pg.superuser().getConnection(); PreparedStatement ps = c.prepareStatement(
        "UPDATE public.job_queue SET heartbeat_at = now() - interval '1 hour' WHERE job_type = ? AND status = 'processing'")) {
      ps.setString(1, TYPE);
      ps.executeUpdate();
    }
    assertThat(rescuer.requeueStale(Duration.ofMinutes(1))).hasSize((int) stillLeased);
    start(new PostgresJobQueue(workerDb), "batch-survivor", 2, 0, ctx -> ctx.complete(null, null));
    await().atMost(30, TimeUnit.SECONDS).until(() -> scalar(
        "SELECT count(*) FROM public.jobs WHERE job_type = ? AND status = 'completed'", TYPE) == 4);
    assertThat(scalar("SELECT count(*) FROM public.jobs WHERE job_type = ? AND worker_id = 'batch-survivor'", TYPE))
        .isEqualTo(stillLeased);
  }

  private static int pendingOutcomes(Worker w) {
    try {
      var m = Worker.class.getDeclaredMethod("pendingOutcomes");
      m.setAccessible(true);
      return (int) m.invoke(w);
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(e);
    }
  }

  private static void awaitLatch(CountDownLatch latch) {
    try {
      if (!latch.await(20, TimeUnit.SECONDS)) {
        throw new AssertionError("latch not released within 20 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The first completion statement, held before it reaches the database: reached, released by the test, its job count. */
  /** Two jobs of this run finished together, their completion held in its statement (not yet at the database). */
  private record TwoFinishedHeld(List<UUID> ids, CountingQueue queue, HeldStatement held, Map<UUID, Boolean> answers) {}

  /** How a job thread settles its job, recording whether the completion kept its lease. */
  private interface Settle {
    void settle(JobContext ctx, Map<UUID, Boolean> answers) throws Exception;
  }

  /**
   * Starts a worker of concurrency 2 whose two jobs finish together and settle through {@code settle};
   * returns once their completion statement is held before it reaches the database.
   */
  private TwoFinishedHeld twoFinishedBehindAHeldStatement(String workerId, int localQueue, Settle settle)
      throws Exception {
    List<UUID> ids = enqueue(2);
    CountingQueue queue = new CountingQueue(new PostgresJobQueue(workerDb));
    HeldStatement held = holdFirstCompletionStatement(queue);
    Map<UUID, Boolean> answers = new ConcurrentHashMap<>();
    CountDownLatch bothRunning = new CountDownLatch(2);
    Worker w = start(queue, workerId, 2, localQueue, ctx -> {
      bothRunning.countDown();
      awaitLatch(bothRunning);
      settle.settle(ctx, answers);
    });
    awaitLatch(held.reached());
    await().atMost(5, TimeUnit.SECONDS).until(() -> held.jobs().get() + pendingOutcomes(w) == 2);
    return new TwoFinishedHeld(ids, queue, held, answers);
  }

  private record HeldStatement(CountDownLatch reached, CountDownLatch release, AtomicInteger jobs) {}

  private static HeldStatement holdFirstCompletionStatement(CountingQueue queue) {
    HeldStatement held = new HeldStatement(new CountDownLatch(1), new CountDownLatch(1), new AtomicInteger());
    queue.beforeComplete = n -> {
      if (held.reached().getCount() > 0) {
        held.jobs().addAndGet(n);
        held.reached().countDown();
        awaitLatch(held.release());
      }
    };
    return held;
  }

  /** The real queue client, counting completion statements and able to pause before one. */
  private static final class CountingQueue implements JobQueue {
    private final JobQueue delegate;
    final AtomicInteger completeStatements = new AtomicInteger();
    final AtomicInteger completed = new AtomicInteger();
    final AtomicInteger completeAndClaimStatements = new AtomicInteger();
    volatile java.util.function.IntConsumer beforeComplete = n -> {};
    /** The job ids of every completion statement sent, in order. */
    final List<List<UUID>> statements = new java.util.concurrent.CopyOnWriteArrayList<>();

    CountingQueue(JobQueue delegate) {
      this.delegate = delegate;
    }

    @Override
    public Set<UUID> completeAll(List<Completion> completions) {
      beforeComplete.accept(completions.size());
      statements.add(completions.stream().map(Completion::jobId).toList());
      completeStatements.incrementAndGet();
      Set<UUID> fenced = delegate.completeAll(completions);
      completed.addAndGet(completions.size() - fenced.size());
      return fenced;
    }

    /** The real complete_and_claim_jobs, counted as a completion statement (and in {@link #completeAndClaimStatements}). */
    @Override
    public CompletedAndClaimed completeAndClaim(List<Completion> completions, String workerId, List<String> jobTypes,
        List<String> lanes, int batch) {
      beforeComplete.accept(completions.size());
      statements.add(completions.stream().map(Completion::jobId).toList());
      completeStatements.incrementAndGet();
      completeAndClaimStatements.incrementAndGet();
      CompletedAndClaimed done = delegate.completeAndClaim(completions, workerId, jobTypes, lanes, batch);
      completed.addAndGet(completions.size() - done.fenced().size());
      return done;
    }

    @Override
    public Set<UUID> heartbeatAll(List<Lease> leases) {
      return delegate.heartbeatAll(leases);
    }

    @Override
    public Map<UUID, JobStatus> failAll(List<Failure> failures) {
      return delegate.failAll(failures);
    }

    @Override
    public Set<UUID> releaseAll(List<Lease> leases, Duration delay) {
      return delegate.releaseAll(leases, delay);
    }

    @Override
    public UUID enqueue(NewJob job) {
      return delegate.enqueue(job);
    }

    @Override
    public List<ClaimedJob> claim(String workerId, List<String> jobTypes, List<String> lanes, int batch) {
      return delegate.claim(workerId, jobTypes, lanes, batch);
    }

    @Override
    public boolean heartbeat(UUID jobId, UUID leaseToken) {
      return delegate.heartbeat(jobId, leaseToken);
    }

    @Override
    public boolean complete(UUID jobId, UUID leaseToken, String resultJson, Integer tokensUsed) {
      return delegate.complete(jobId, leaseToken, resultJson, tokensUsed);
    }

    @Override
    public Optional<JobStatus> fail(UUID jobId, UUID leaseToken, String errorJson, boolean retryable) {
      return delegate.fail(jobId, leaseToken, errorJson, retryable);
    }

    @Override
    public boolean release(UUID jobId, UUID leaseToken, Duration delay) {
      return delegate.release(jobId, leaseToken, delay);
    }

    @Override
    public List<RequeuedJob> requeueStale(Duration heartbeatTimeout, List<String> jobTypes, List<String> lanes) {
      return delegate.requeueStale(heartbeatTimeout, jobTypes, lanes);
    }

    @Override
    public QueueStats stats(List<String> jobTypes, List<String> lanes, Duration heartbeatTimeout) {
      return delegate.stats(jobTypes, lanes, heartbeatTimeout);
    }

    @Override
    public void retry(UUID jobId, Instant nextTime) {
      delegate.retry(jobId, nextTime);
    }

    @Override
    public void deadLetter(UUID jobId, String errorJson) {
      delegate.deadLetter(jobId, errorJson);
    }

    @Override
    public void cancel(UUID jobId) {
      delegate.cancel(jobId);
    }
  }
}
