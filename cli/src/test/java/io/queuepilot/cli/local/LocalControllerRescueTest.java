package io.queuepilot.cli.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.scaling.CycleOutcome;
import io.queuepilot.scaling.testing.TestingScaleTarget;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Local mode's controller is the one rescuer of its run's stale jobs: it requeues the run's lane
 * and nothing else, so a shared database's other applications keep their jobs.
 */
class LocalControllerRescueTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();
  static JobQueue worker;
  static JobQueue controller;

  @BeforeAll
  static void logins() throws Exception {
    worker = new PostgresJobQueue(pg.loginAs("qp_local_rescue_worker", "queue_worker"));
    controller = new ObservingQueue(new PostgresJobQueue(pg.loginAs("qp_local_rescue_ctl", "queue_controller")));
  }

  @Test
  void requeuesTheRunsLaneOnly() throws Exception {
    UUID mine = staleJob("local-run-1");
    UUID otherApp = staleJob("another-app");

    CycleOutcome o = LocalRun.controllerScaler(controller, name -> java.util.Optional.empty(), LocalRun.localSpec(4, 2, "local-run-1"),
        new TestingScaleTarget(0), Clock.systemUTC()).runOnce();

    assertThat(o.rescue().jobs()).extracting(JobQueue.RequeuedJob::jobId).containsExactly(mine);
    assertThat(status(mine)).isEqualTo("pending");
    assertThat(status(otherApp)).as("another application's stale job is not local mode's to rescue")
        .isEqualTo("processing");
  }

  @Test
  void aRescueOverEveryLaneIsRefused() {
    assertThatThrownBy(() -> controller.requeueStale(Duration.ofSeconds(30), List.of("document_extraction"), List.of()))
        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("every lane");
  }

  /** A document_extraction job in {@code lane} whose worker stopped heartbeating ten minutes ago. */
  static UUID staleJob(String lane) throws Exception {
    worker.enqueue(new JobQueue.NewJob("document_extraction", lane, "{}", lane + ":" + UUID.randomUUID(), null, null,
        null, null, null, null, null));
    UUID id = worker.claim("worker-that-died", List.of("document_extraction"), List.of(lane), 1).get(0).id();
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement st = c.prepareStatement(
            "UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?")) {
      st.setObject(1, id);
      st.executeUpdate();
    }
    return id;
  }

  static String status(UUID id) throws Exception {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement st = c.prepareStatement("SELECT status FROM public.job_queue WHERE id = ?")) {
      st.setObject(1, id);
      try (ResultSet rs = st.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return rs.getString(1);
      }
    }
  }
}
