package io.queuepilot.worker;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.Failure;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.Lease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records the outcomes the worker itself issues (queue completions, failures, releases) in as few
 * round trips as possible: job threads hand their outcome over and wait; one flusher thread takes
 * everything that arrived meanwhile and writes it with one {@code completeAll}, one
 * {@code failAll} and one {@code releaseAll} per delay — so outcomes that coincide share a
 * statement and a lone outcome is written at once (no batching delay). Every job stays
 * lease-guarded on its own: the queue reports which jobs were fenced and only those callers
 * hear "lease lost". A completion may also be handed over without waiting ({@link #completeAsync},
 * as Graphile Worker's batched completer does): the job's thread moves on and the statement then
 * carries every completion that arrived while the previous one was on its way. With a local queue
 * the completion statement also refills it ({@link #refillWith}): {@code complete_and_claim_jobs}
 * completes the batch and claims ahead in one round trip.
 */
final class Settler {

  private static final Logger log = LoggerFactory.getLogger(Settler.class);

  /** One outcome waiting for the flusher. */
  private sealed interface Request {
    ClaimedJob job();
  }

  /** {@code async}: handed over with {@link #completeAsync}, no thread waits for it (counted in {@link #unsettledAsync}). */
  private record CompleteRequest(
      ClaimedJob job, String resultJson, Integer tokensUsed, boolean async, CompletableFuture<Boolean> done)
      implements Request {}

  private record FailRequest(ClaimedJob job, String errorJson, boolean retryable, CompletableFuture<Optional<JobStatus>> done)
      implements Request {}

  private record ReleaseRequest(ClaimedJob job, Duration delay, CompletableFuture<Boolean> done) implements Request {}

  /**
   * Writes one batch of completions under their leases and returns the fenced ids; {@code settledAsync}
   * of them were handed over without waiting, so their room is free once it is back.
   */
  @FunctionalInterface
  interface CompletionStatement {
    Set<UUID> write(List<Completion> completions, int settledAsync);
  }

  /** Thrown to a waiting job thread when the worker was killed before its outcome was written. */
  static final class WorkerKilled extends IllegalStateException {
    WorkerKilled() {
      super("worker killed before the outcome was written");
    }
  }

  private final JobQueue queue;
  private final WorkerMetrics metrics;
  private final BooleanSupplier killed;
  private final int maxBatch;
  private final BlockingQueue<Request> pending = new LinkedBlockingQueue<>();
  private final Thread flusher;
  /** Completions handed over with {@link #completeAsync} whose statement has not come back yet. */
  private final AtomicInteger unsettledAsync = new AtomicInteger();
  private volatile Runnable asyncSettled = () -> {};
  private volatile boolean closed;
  private volatile CompletionStatement completions;

  Settler(JobQueue queue, WorkerMetrics metrics, BooleanSupplier killed, int maxBatch, String workerId) {
    this.queue = queue;
    this.metrics = metrics;
    this.killed = killed;
    this.maxBatch = maxBatch;
    this.flusher = Thread.ofPlatform().name("qp-settle-" + workerId).daemon(true).unstarted(this::flushLoop);
    this.completions = (batch, settledAsync) -> queue.completeAll(batch);
  }

  /**
   * Completions are then written by {@code statement} (the claim loop's complete-and-refill) instead
   * of {@code complete_jobs} alone; set before {@link #start}.
   */
  void refillWith(CompletionStatement statement) {
    this.completions = statement;
  }

  /** Whether completions handed over without waiting are still to be written (their statement will refill the local queue). */
  boolean completionsOutstanding() {
    return unsettledAsync.get() > 0;
  }

  void start() {
    flusher.start();
  }

  /** Outcomes handed over and not yet taken by the flusher. */
  int pending() {
    return pending.size();
  }

  /** Completes the job under its lease; false when it was fenced. Throws when the batch's statement failed. */
  boolean complete(ClaimedJob job, String resultJson, Integer tokensUsed) {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    submit(new CompleteRequest(job, resultJson, tokensUsed, false, done));
    return await(done);
  }

  /**
   * Hands the completion over without waiting: the future says (on the flusher's thread) whether it
   * was written under the lease (false: fenced), or fails with the statement's error. Until then the
   * job counts in {@link #unsettledAsync}.
   */
  CompletableFuture<Boolean> completeAsync(ClaimedJob job, String resultJson, Integer tokensUsed) {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    unsettledAsync.incrementAndGet();
    try {
      submit(new CompleteRequest(job, resultJson, tokensUsed, true, done));
    } catch (RuntimeException e) {
      unsettledAsync.decrementAndGet();
      throw e;
    }
    return done;
  }

  /** Completions handed over without waiting whose statement is not back yet (they still hold their lease). */
  int unsettledAsync() {
    return unsettledAsync.get();
  }

  /** Runs after every statement that settled completions handed over without waiting (their room is free again). */
  void onAsyncSettled(Runnable r) {
    asyncSettled = r;
  }

  /** fail under its lease; empty when fenced. */
  Optional<JobStatus> fail(ClaimedJob job, String errorJson, boolean retryable) {
    return await(failAsync(job, errorJson, retryable));
  }

  /** {@link #fail} without waiting; the future completes on the flusher's thread. */
  CompletableFuture<Optional<JobStatus>> failAsync(ClaimedJob job, String errorJson, boolean retryable) {
    CompletableFuture<Optional<JobStatus>> done = new CompletableFuture<>();
    submit(new FailRequest(job, errorJson, retryable, done));
    return done;
  }

  /** release under its lease; false when fenced. */
  boolean release(ClaimedJob job, Duration delay) {
    return await(releaseAsync(job, delay));
  }

  /** {@link #release} without waiting; the future completes on the flusher's thread. */
  CompletableFuture<Boolean> releaseAsync(ClaimedJob job, Duration delay) {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    submit(new ReleaseRequest(job, delay, done));
    return done;
  }

  /**
   * Releases many jobs at once on the calling thread (shutdown, expired claim-ahead); returns the
   * ids that were fenced.
   */
  Set<UUID> releaseNow(List<ClaimedJob> jobs, Duration delay) {
    if (killed.getAsBoolean()) {
      throw new WorkerKilled();
    }
    Set<UUID> fenced = new java.util.LinkedHashSet<>();
    for (int from = 0; from < jobs.size(); from += maxBatch) {
      List<ClaimedJob> chunk = jobs.subList(from, Math.min(jobs.size(), from + maxBatch));
      fenced.addAll(queue.releaseAll(chunk.stream().map(Settler::lease).toList(), delay));
      metrics.batch("release", chunk.size());
    }
    return fenced;
  }

  /** Waits without being interruptible (a cancel interrupt must not lose the answer) and unwraps the error. */
  private static <T> T await(CompletableFuture<T> done) {
    try {
      return done.join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw e;
    }
  }

  static Lease lease(ClaimedJob job) {
    return new Lease(job.id(), job.leaseToken());
  }

  private void submit(Request r) {
    if (killed.getAsBoolean()) {
      throw new WorkerKilled();
    }
    if (closed) {
      // after the flusher stopped (a straggler thread at shutdown): write it on the caller's thread
      write(List.of(r));
      return;
    }
    pending.add(r);
    if (closed && !flusher.isAlive()) {
      drainAndWrite(); // the flusher left between our check and our add
    }
  }

  private void drainAndWrite() {
    List<Request> left = new ArrayList<>();
    pending.drainTo(left);
    if (!left.isEmpty()) {
      write(left);
    }
  }

  private void flushLoop() {
    List<Request> batch = new ArrayList<>();
    while (!closed || !pending.isEmpty()) {
      try {
        Request first = pending.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        pending.drainTo(batch, maxBatch - 1);
        write(batch);
      } catch (InterruptedException e) {
        if (killed.getAsBoolean()) {
          break;
        }
      } finally {
        batch.clear();
      }
    }
    drainAndWrite(); // write() answers WorkerKilled to everyone when killed
  }

  /** Writes one batch: one statement per kind (per delay for releases); each caller gets its own answer. */
  private void write(List<Request> batch) {
    try {
      writeBatch(batch);
    } finally {
      int async = handedOverWithoutWaiting(batch);
      if (async > 0) {
        unsettledAsync.addAndGet(-async);
        try {
          asyncSettled.run();
        } catch (RuntimeException e) {
          log.warn("after-settle callback failed", e);
        }
      }
    }
  }

  /** Completions among {@code requests} handed over with {@link #completeAsync} (counted in {@link #unsettledAsync}). */
  private static int handedOverWithoutWaiting(List<? extends Request> requests) {
    int n = 0;
    for (Request r : requests) {
      if (r instanceof CompleteRequest c && c.async()) {
        n++;
      }
    }
    return n;
  }

  private void writeBatch(List<Request> batch) {
    if (killed.getAsBoolean()) {
      batch.forEach(r -> fail(r, new WorkerKilled()));
      return;
    }
    List<CompleteRequest> completes = new ArrayList<>();
    List<FailRequest> fails = new ArrayList<>();
    Map<Duration, List<ReleaseRequest>> releases = new LinkedHashMap<>();
    for (Request r : batch) {
      switch (r) {
        case CompleteRequest c -> completes.add(c);
        case FailRequest f -> fails.add(f);
        case ReleaseRequest rel -> releases.computeIfAbsent(rel.delay(), d -> new ArrayList<>()).add(rel);
      }
    }
    if (!completes.isEmpty()) {
      List<Completion> rows = new ArrayList<>(completes.size());
      for (CompleteRequest c : completes) {
        rows.add(new Completion(c.job().id(), c.job().leaseToken(), c.resultJson(), c.tokensUsed()));
      }
      try {
        long sent = System.nanoTime();
        Set<UUID> fenced = completions.write(rows, handedOverWithoutWaiting(completes));
        metrics.statement("complete", System.nanoTime() - sent);
        metrics.batch("complete", completes.size());
        completes.forEach(c -> c.done().complete(!fenced.contains(c.job().id())));
      } catch (RuntimeException e) {
        log.warn("complete_jobs for {} job(s) failed; their handlers fail or release them", completes.size(), e);
        completes.forEach(c -> c.done().completeExceptionally(e));
      }
    }
    if (!fails.isEmpty()) {
      try {
        Map<UUID, JobStatus> status = queue.failAll(fails.stream()
            .map(f -> new Failure(f.job().id(), f.job().leaseToken(), f.errorJson(), f.retryable())).toList());
        metrics.batch("fail", fails.size());
        fails.forEach(f -> f.done().complete(Optional.ofNullable(status.get(f.job().id()))));
      } catch (RuntimeException e) {
        fails.forEach(f -> f.done().completeExceptionally(e));
      }
    }
    releases.forEach((delay, group) -> {
      try {
        Set<UUID> fenced = queue.releaseAll(group.stream().map(r -> lease(r.job())).toList(), delay);
        metrics.batch("release", group.size());
        group.forEach(r -> r.done().complete(!fenced.contains(r.job().id())));
      } catch (RuntimeException e) {
        group.forEach(r -> r.done().completeExceptionally(e));
      }
    });
  }

  private static void fail(Request r, RuntimeException e) {
    switch (r) {
      case CompleteRequest c -> c.done().completeExceptionally(e);
      case FailRequest f -> f.done().completeExceptionally(e);
      case ReleaseRequest rel -> rel.done().completeExceptionally(e);
    }
  }

  /** Writes what is pending and stops the flusher (graceful shutdown). */
  void close(Duration max) {
    closed = true;
    try {
      flusher.join(max);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops at once, writing nothing more (kill). */
  void kill() {
    closed = true;
    flusher.interrupt();
  }
}
