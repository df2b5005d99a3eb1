package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Lease fencing: once a stale job is requeued and claimed by another worker, the first worker's
 * heartbeat, complete, fail and release are all refused and change nothing. Workers and the
 * controller log in as members of their real group roles.
 */
class FencingTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void aStaleHolderIsFencedOffAfterRequeueAndReclaim() throws Exception {
    PostgresJobQueue workerA = new PostgresJobQueue(pg.loginAs("fence_worker_a", "queue_worker"));
    PostgresJobQueue workerB = new PostgresJobQueue(pg.loginAs("fence_worker_b", "queue_worker"));
    PostgresJobQueue controller = new PostgresJobQueue(pg.loginAs("fence_controller", "queue_controller"));
    Db su = new Db(pg.superuser());

    UUID id = workerA.enqueue(NewJob.of("fencing", "{\"ref\":\"f1\"}", "fence-1"));
    ClaimedJob a = single(workerA.claim("worker-a", List.of("fencing"), List.of(), 1));
    assertThat(a.id()).isEqualTo(id);

    // Not stale yet: nothing to requeue, and A's heartbeat is accepted.
    assertThat(controller.requeueStale(Duration.ofSeconds(60))).isEmpty();
    assertThat(workerA.heartbeat(id, a.leaseToken())).isTrue();

    // A's heartbeat goes stale (set in the past rather than waiting).
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '5 minutes' WHERE id = ?", id);
    List<RequeuedJob> requeued = controller.requeueStale(Duration.ofSeconds(60));
    assertThat(requeued).containsExactly(new RequeuedJob(id, JobStatus.PENDING, "worker-a"));
    assertThat(su.rows("SELECT operation, reason FROM public.audit_log WHERE job_id = ?", id))
        .singleElement()
        .satisfies(r -> {
          assertThat(r.get("operation")).isEqualTo("requeue_stale");
          assertThat((String) r.get("reason")).startsWith("heartbeat older than");
        });

    // Between requeue and B's claim A is already fenced: its lease was cleared.
    assertThat(workerA.heartbeat(id, a.leaseToken())).isFalse();

    ClaimedJob b = single(workerB.claim("worker-b", List.of("fencing"), List.of(), 1));
    assertThat(b.id()).isEqualTo(id);
    assertThat(b.leaseToken()).isNotEqualTo(a.leaseToken());
    assertThat(b.attempt()).isEqualTo(2);

    Map<String, Object> before = row(su, id);
    assertThat(workerA.heartbeat(id, a.leaseToken())).isFalse();
    assertThat(workerA.complete(id, a.leaseToken(), "{\"from\":\"A\"}", 10)).isFalse();
    assertThat(workerA.fail(id, a.leaseToken(), "{\"message\":\"A failed\"}", true)).isEmpty();
    assertThat(workerA.fail(id, a.leaseToken(), "{\"message\":\"A failed\"}", false)).isEmpty();
    assertThat(workerA.release(id, a.leaseToken(), Duration.ZERO)).isFalse();
    assertThat(row(su, id)).as("A changed nothing").isEqualTo(before);
    assertThat(before.get("worker_id")).isEqualTo("worker-b");
    assertThat(before.get("status")).isEqualTo("processing");

    // B still owns it and completes.
    assertThat(workerB.heartbeat(id, b.leaseToken())).isTrue();
    assertThat(workerB.complete(id, b.leaseToken(), "{\"from\":\"B\"}", 7)).isTrue();
    Map<String, Object> done = row(su, id);
    assertThat(done.get("status")).isEqualTo("completed");
    assertThat(done.get("result").toString()).contains("\"B\"");
    assertThat(done.get("tokens_used")).isEqualTo(7);
    assertThat(workerA.complete(id, a.leaseToken(), "{\"from\":\"A\"}", 10)).isFalse();
  }

  @Test
  void aStaleJobWithAttemptsSpentIsDeadLetteredNotRequeued() throws Exception {
    PostgresJobQueue worker = new PostgresJobQueue(pg.loginAs("fence_worker_a", "queue_worker"));
    Db su = new Db(pg.superuser());
    UUID id = worker.enqueue(new NewJob("fencing_spent", null, "{}", "fence-spent", null, null, null, null, null, 1, null));
    ClaimedJob a = single(worker.claim("worker-a", List.of("fencing_spent"), List.of(), 1));
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '5 minutes' WHERE id = ?", id);
    // the worker role may requeue too (deployments without the controller still recover)
    assertThat(worker.requeueStale(Duration.ofSeconds(30)))
        .containsExactly(new RequeuedJob(id, JobStatus.DEAD_LETTER, "worker-a"));
    Map<String, Object> r = row(su, id);
    assertThat(r.get("status")).isEqualTo("dead_letter");
    assertThat(r.get("dead_letter_at")).isNotNull();
    assertThat(r.get("error").toString()).contains("heartbeat_timeout");
    assertThat(worker.complete(id, a.leaseToken(), null, null)).isFalse();
    assertThat(su.count("SELECT count(*) FROM public.audit_log WHERE job_id = ? AND operation = 'dead_letter'", id))
        .isEqualTo(1);
  }

  @Test
  void requeueStaleRejectsANonsenseTimeout() throws Exception {
    PostgresJobQueue controller = new PostgresJobQueue(pg.loginAs("fence_controller", "queue_controller"));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> controller.requeueStale(Duration.ZERO))
        .isInstanceOf(JobQueueException.class)
        .hasMessageContaining("p_heartbeat_timeout");
  }

  private static ClaimedJob single(List<ClaimedJob> claimed) {
    assertThat(claimed).hasSize(1);
    return claimed.get(0);
  }

  private static Map<String, Object> row(Db su, UUID id) {
    return su.rows("SELECT * FROM public.jobs WHERE id = ?", id).get(0);
  }
}
