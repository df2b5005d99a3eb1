package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.testing.SingleConnectionDataSource;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** 50 concurrent identical enqueue_job calls, each on its own connection, create exactly one job. */
class IdempotentEnqueueTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void fiftyConcurrentIdenticalEnqueuesMakeOneJob() throws Exception {
    int callers = 50;
    DataSource worker = pg.loginAs("idem_worker", "queue_worker");
    String key = UUID.randomUUID() + ":document_extraction";
    CountDownLatch connected = new CountDownLatch(callers);
    CountDownLatch go = new CountDownLatch(1);
    ExecutorService pool = Executors.newFixedThreadPool(callers);
    try {
      List<Future<UUID>> results = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        results.add(
            pool.submit(
                () -> {
                  // each caller holds its own connection and waits at the gate, so the calls overlap
                  try (var c = worker.getConnection()) {
                    PostgresJobQueue q = new PostgresJobQueue(new SingleConnectionDataSource(c));
                    connected.countDown();
                    go.await();
                    return q.enqueue(
                        new NewJob("document_extraction", "ai", "{\"shell_file_id\":\"x\"}", key, null, null, null,
                            null, null, null, null));
                  }
                }));
      }
      assertThat(connected.await(60, TimeUnit.SECONDS)).isTrue();
      go.countDown();
      Set<UUID> ids = new HashSet<>();
      for (Future<UUID> f : results) {
        ids.add(f.get(60, TimeUnit.SECONDS));
      }
      assertThat(ids).hasSize(1);
      Db su = new Db(pg.superuser());
      assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE idempotency_key = ?", key)).isEqualTo(1);
      assertThat((UUID) su.value("SELECT id FROM public.job_queue WHERE idempotency_key = ?", key))
          .isEqualTo(ids.iterator().next());
    } finally {
      pool.shutdownNow();
      Awaitility.await().until(() -> pool.awaitTermination(1, TimeUnit.SECONDS));
    }
  }
}
