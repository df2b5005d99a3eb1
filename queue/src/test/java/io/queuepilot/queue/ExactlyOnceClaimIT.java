package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.testing.SingleConnectionDataSource;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Exactly-once claiming under contention: 8 threads, each with its own connection as a
 * queue_worker login, claim (batches of 1 to 4) and complete 20,000 jobs. Every job must be
 * claimed once, completed once, none lost and none left pending or processing. Prints the
 * figures (jobs, threads, seconds); the time is reported, never asserted.
 */
class ExactlyOnceClaimIT {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final int JOBS = 20_000;
  private static final int THREADS = 8;
  private static final Duration GIVE_UP_AFTER = Duration.ofMinutes(10);

  @Test
  void eightWorkersClaimAndCompleteTwentyThousandJobsExactlyOnce() throws Exception {
    Db su = new Db(pg.superuser());
    long enqueued =
        su.count("SELECT count(public.enqueue_job('exactly_once', jsonb_build_object('n', g), 'eo-' || g))"
            + " FROM generate_series(1, ?) g", JOBS);
    assertThat(enqueued).isEqualTo(JOBS);
    su.exec("ANALYZE public.job_queue");

    DataSource worker = pg.loginAs("eo_worker", "queue_worker");
    Map<UUID, AtomicInteger> claims = new ConcurrentHashMap<>();
    AtomicInteger completed = new AtomicInteger();
    AtomicInteger refusedCompletes = new AtomicInteger();
    AtomicLong emptyClaims = new AtomicLong();
    CountDownLatch ready = new CountDownLatch(THREADS);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    List<Future<Integer>> results = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      String workerId = "eo-worker-" + t;
      int batch = 1 + t % 4;
      results.add(
          pool.submit(
              () -> {
                try (Connection c = worker.getConnection()) {
                  PostgresJobQueue q = new PostgresJobQueue(new SingleConnectionDataSource(c));
                  ready.countDown();
                  go.await();
                  long deadline = System.nanoTime() + GIVE_UP_AFTER.toNanos();
                  int mine = 0;
                  while (completed.get() < JOBS && System.nanoTime() < deadline) {
                    List<ClaimedJob> got = q.claim(workerId, List.of("exactly_once"), null, batch);
                    if (got.isEmpty()) {
                      // the rest is locked by others right now (SKIP LOCKED): look again
                      emptyClaims.incrementAndGet();
                      continue;
                    }
                    for (ClaimedJob j : got) {
                      claims.computeIfAbsent(j.id(), k -> new AtomicInteger()).incrementAndGet();
                      if (q.complete(j.id(), j.leaseToken(), null, 1)) {
                        completed.incrementAndGet();
                        mine++;
                      } else {
                        refusedCompletes.incrementAndGet();
                      }
                    }
                  }
                  return mine;
                }
              }));
    }
    assertThat(ready.await(60, TimeUnit.SECONDS)).isTrue();
    long start = System.nanoTime();
    go.countDown();
    List<Integer> perThread = new ArrayList<>();
    for (Future<Integer> f : results) {
      perThread.add(f.get(GIVE_UP_AFTER.toMinutes() + 1, TimeUnit.MINUTES));
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    pool.shutdown();

    System.out.printf(
        "exactly-once: jobs=%d threads=%d seconds=%.2f jobs/s=%.0f per-thread=%s empty-claims=%d%n",
        JOBS, THREADS, seconds, JOBS / seconds, perThread, emptyClaims.get());

    assertThat(claims).hasSize(JOBS);
    assertThat(claims.values()).allSatisfy(n -> assertThat(n.get()).isEqualTo(1));
    assertThat(refusedCompletes.get()).isZero();
    assertThat(completed.get()).isEqualTo(JOBS);
    assertThat(perThread.stream().mapToInt(Integer::intValue).sum()).isEqualTo(JOBS);
    assertThat(su.rows("SELECT status, count(*) AS n, min(attempt) AS min_attempt, max(attempt) AS max_attempt"
        + " FROM public.job_queue WHERE job_type = 'exactly_once' GROUP BY status"))
        .containsExactly(Map.of("status", "completed", "n", (long) JOBS, "min_attempt", 1, "max_attempt", 1));
    assertThat(su.count("SELECT count(DISTINCT worker_id) FROM public.job_queue WHERE job_type = 'exactly_once'"))
        .as("the work was really shared").isEqualTo(THREADS);
  }
}
