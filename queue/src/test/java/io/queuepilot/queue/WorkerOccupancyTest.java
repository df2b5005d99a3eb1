package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * jobs_held_by_workers (sql/V105), the count behind the controller's pod-deletion cost, read as
 * the controller's own login: it counts exactly the processing jobs with a live heartbeat per
 * worker id, answers 0 for idle workers, never counts another worker's or a finished or stale
 * job, and rejects bad arguments with a message naming them.
 */
class WorkerOccupancyTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void countsLiveProcessingJobsPerWorkerAndZeroForIdleOnes() throws SQLException {
    PostgresJobQueue q = new PostgresJobQueue(pg.superuser());
    Db su = new Db(pg.superuser());
    for (int i = 0; i < 8; i++) q.enqueue(NewJob.of("occupancy", "{}", "occupancy-" + i));
    List<ClaimedJob> busy = q.claim("worker-busy-7f9c", List.of("occupancy"), List.of(), 3);
    List<ClaimedJob> other = q.claim("worker-other-2b1d", List.of("occupancy"), List.of(), 2);
    List<ClaimedJob> finished = q.claim("worker-finished-91aa", List.of("occupancy"), List.of(), 1);
    List<ClaimedJob> stale = q.claim("worker-stale-5c3e", List.of("occupancy"), List.of(), 1);
    assertThat(busy).hasSize(3);
    assertThat(other).hasSize(2);
    q.complete(finished.get(0).id(), finished.get(0).leaseToken(), "{}", 10);
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?", stale.get(0).id());

    WorkerOccupancy controller = new PostgresWorkerOccupancy(pg.loginAs("occupancy_controller", "queue_controller"));
    Map<String, Integer> held = controller.jobsHeld(
        List.of("worker-busy-7f9c", "worker-finished-91aa", "worker-stale-5c3e", "worker-never-seen", "worker-busy-7f9c"),
        Duration.ofSeconds(60));

    assertThat(held).containsExactlyInAnyOrderEntriesOf(Map.of(
        "worker-busy-7f9c", 3, "worker-finished-91aa", 0, "worker-stale-5c3e", 0, "worker-never-seen", 0));
    // the same counts taken independently
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE worker_id = 'worker-busy-7f9c' AND status = 'processing'"))
        .isEqualTo(3);
    // a longer timeout than the stale heartbeat's age counts it again
    assertThat(controller.jobsHeld(List.of("worker-stale-5c3e"), Duration.ofMinutes(30)))
        .containsExactlyEntriesOf(Map.of("worker-stale-5c3e", 1));
    assertThat(controller.jobsHeld(List.of(), Duration.ofSeconds(60))).isEmpty();
  }

  @Test
  void badArgumentsAreRejectedNamingTheArgument() throws SQLException {
    DataSource controller = pg.loginAs("occupancy_controller_args", "queue_controller");
    SQLException noIds = Db.failure(controller, "SELECT * FROM public.jobs_held_by_workers(NULL)");
    assertThat(noIds.getMessage()).contains("p_worker_ids must not be NULL");
    assertThat(noIds.getSQLState()).isEqualTo("22004");
    SQLException zeroTimeout = Db.failure(controller, "SELECT * FROM public.jobs_held_by_workers('{a}', '0 seconds')");
    assertThat(zeroTimeout.getMessage()).contains("p_heartbeat_timeout must be positive");
    assertThat(zeroTimeout.getSQLState()).isEqualTo("22023");
    List<String> tooMany = IntStream.range(0, 5001).mapToObj(i -> "pod-" + i).toList();
    assertThatThrownBy(() -> new PostgresWorkerOccupancy(controller).jobsHeld(tooMany, Duration.ofSeconds(60)))
        .isInstanceOf(JobQueueException.class).hasMessageContaining("at most 5000 worker ids per call, got 5001");
  }

  @Test
  void theWorkerRoleMayNotReadOtherWorkersOccupancy() throws SQLException {
    DataSource worker = pg.loginAs("occupancy_worker", "queue_worker");
    assertThat(Db.failure(worker, "SELECT * FROM public.jobs_held_by_workers('{a}')").getSQLState()).isEqualTo("42501");
  }
}
