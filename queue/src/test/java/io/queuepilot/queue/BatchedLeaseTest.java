package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.Failure;
import io.queuepilot.queue.JobQueue.JobStatus;
import io.queuepilot.queue.JobQueue.Lease;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.JobQueue.RequeuedJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The set-based lease-guarded functions (complete_jobs, heartbeat_jobs, fail_jobs, release_jobs)
 * through {@link PostgresJobQueue}'s batched methods, as a real worker login: each job of a batch
 * is guarded by its own lease. A job whose lease moved to another worker mid-batch is reported
 * fenced and keeps the new holder's state byte for byte, while the rest of the batch goes through.
 */
class BatchedLeaseTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static PostgresJobQueue worker;
  static PostgresJobQueue thief;
  static PostgresJobQueue controller;
  static Db su;

  @BeforeAll
  static void logins() throws Exception {
    worker = new PostgresJobQueue(pg.loginAs("batch_worker", "queue_worker"));
    thief = new PostgresJobQueue(pg.loginAs("batch_thief", "queue_worker"));
    controller = new PostgresJobQueue(pg.loginAs("batch_controller", "queue_controller"));
    su = new Db(pg.superuser());
  }

  /** Enqueues {@code n} jobs of a type of their own and claims them all for the worker. */
  static List<ClaimedJob> claimed(String type, int n) {
    for (int i = 0; i < n; i++) {
      worker.enqueue(NewJob.of(type, "{\"i\":" + i + "}", type + "-" + i));
    }
    List<ClaimedJob> jobs = worker.claim("batch-worker", List.of(type), List.of(), n);
    assertThat(jobs).hasSize(n);
    return jobs;
  }

  /** Moves the job to another worker the way production does: stale heartbeat, sweep, new claim. */
  static ClaimedJob steal(ClaimedJob job) {
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE id = ?", job.id());
    assertThat(controller.requeueStale(Duration.ofSeconds(60), List.of(job.jobType()), List.of()))
        .extracting(RequeuedJob::jobId).containsExactly(job.id());
    ClaimedJob stolen = thief.claim("batch-thief", List.of(job.jobType()), List.of(), 1).get(0);
    assertThat(stolen.id()).isEqualTo(job.id());
    return stolen;
  }

  static Map<String, Object> row(UUID id) {
    return su.rows("SELECT * FROM public.jobs WHERE id = ?", id).get(0);
  }

  @Test
  void theJobsOfOneClaimShareOneTokenAndEachIsFencedOnItsOwn() {
    List<ClaimedJob> jobs = claimed("batch_shared_token", 3);
    UUID token = jobs.get(0).leaseToken();
    assertThat(jobs).as("one token per claim statement (V112)").extracting(ClaimedJob::leaseToken).containsOnly(token);
    assertThat(claimed("batch_shared_token_other", 2).get(0).leaseToken()).as("the next claim draws its own")
        .isNotEqualTo(token);

    // job 0 is requeued and claimed by another worker: a new statement, a new token
    ClaimedJob stolen = steal(jobs.get(0));
    assertThat(stolen.leaseToken()).isNotEqualTo(token);
    Map<String, Object> thiefs = row(stolen.id());

    // the old token still opens the claim-mates, never job 0 again
    assertThat(worker.heartbeatAll(jobs.stream().map(j -> new Lease(j.id(), token)).toList()))
        .containsExactly(stolen.id());
    assertThat(worker.completeAll(List.of(new Completion(jobs.get(0).id(), token, "{\"stale\":true}", 9),
        new Completion(jobs.get(1).id(), token, null, 1)))).containsExactly(stolen.id());
    assertThat(row(stolen.id())).as("the new holder's job, byte for byte").isEqualTo(thiefs);
    assertThat(worker.fail(jobs.get(0).id(), token, "{\"message\":\"stale\"}", true)).isEmpty();
    assertThat(worker.release(jobs.get(0).id(), token, Duration.ZERO)).isFalse();
    assertThat(row(stolen.id())).isEqualTo(thiefs);
    assertThat(row(jobs.get(1).id())).containsEntry("status", "completed");

    // nor does another claim's token open a job it did not take
    assertThat(worker.complete(jobs.get(2).id(), stolen.leaseToken(), null, null)).isFalse();
    assertThat(thief.complete(jobs.get(2).id(), stolen.leaseToken(), null, null)).isFalse();
    assertThat(row(jobs.get(2).id())).containsEntry("status", "processing").containsEntry("lease_token", token);
    assertThat(worker.complete(jobs.get(2).id(), token, null, 2)).isTrue();
    assertThat(thief.complete(stolen.id(), stolen.leaseToken(), null, 3)).isTrue();
  }

  @Test
  void completeAllCompletesEveryHeldJobAndReportsTheFencedOne() {
    List<ClaimedJob> jobs = claimed("batch_complete", 4);
    ClaimedJob stolen = steal(jobs.get(2));
    Map<String, Object> thiefsRow = row(stolen.id());

    List<Completion> completions = new ArrayList<>();
    for (int i = 0; i < jobs.size(); i++) {
      ClaimedJob j = jobs.get(i);
      completions.add(new Completion(j.id(), j.leaseToken(), "{\"n\":" + i + "}", i == 0 ? null : 10 * i));
    }
    assertThat(worker.completeAll(completions)).containsExactly(stolen.id());

    for (int i : List.of(0, 1, 3)) {
      Map<String, Object> r = row(jobs.get(i).id());
      assertThat(r.get("status")).isEqualTo("completed");
      assertThat(r.get("lease_token")).as("the finishing lease, kept in job_history").isEqualTo(jobs.get(i).leaseToken());
      assertThat(r.get("finished_at")).isNotNull();
      assertThat(r.get("completed_at")).isNotNull();
      assertThat(r.get("result").toString()).isEqualTo("{\"n\": " + i + "}");
      assertThat(r.get("tokens_used")).isEqualTo(i == 0 ? null : 10 * i);
    }
    assertThat(row(stolen.id())).as("the new holder's job is untouched").isEqualTo(thiefsRow);
    assertThat(thief.complete(stolen.id(), stolen.leaseToken(), null, null)).isTrue();
    // a second completion of the same batch: everything is fenced now
    assertThat(worker.completeAll(completions)).containsExactlyInAnyOrderElementsOf(
        jobs.stream().map(ClaimedJob::id).toList());
  }

  @Test
  void heartbeatAllRenewsHeldLeasesOnly() {
    List<ClaimedJob> jobs = claimed("batch_heartbeat", 3);
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '30 seconds' WHERE job_type = 'batch_heartbeat'");
    ClaimedJob stolen = steal(jobs.get(0));
    Instant thiefsBeat = (Instant) row(stolen.id()).get("heartbeat_at");

    assertThat(worker.heartbeatAll(jobs.stream().map(j -> new Lease(j.id(), j.leaseToken())).toList()))
        .containsExactly(stolen.id());
    assertThat(su.count("""
        SELECT count(*) FROM public.job_queue
         WHERE job_type = 'batch_heartbeat' AND heartbeat_at > now() - interval '5 seconds' AND id <> ?""",
        stolen.id())).isEqualTo(2);
    assertThat(row(stolen.id()).get("heartbeat_at")).isEqualTo(thiefsBeat);
  }

  @Test
  void failAllRetriesOrDeadLettersEachJobAndAuditsTheDeadLetters() {
    List<ClaimedJob> jobs = claimed("batch_fail", 4);
    su.exec("UPDATE public.job_queue SET attempt = max_attempts WHERE id = ?", jobs.get(2).id());
    ClaimedJob stolen = steal(jobs.get(3));

    Map<UUID, JobStatus> outcome = worker.failAll(List.of(
        new Failure(jobs.get(0).id(), jobs.get(0).leaseToken(), "{\"message\":\"retry me\"}", true),
        new Failure(jobs.get(1).id(), jobs.get(1).leaseToken(), "{\"message\":\"permanent\"}", false),
        new Failure(jobs.get(2).id(), jobs.get(2).leaseToken(), "{\"message\":\"last attempt\"}", true),
        new Failure(stolen.id(), jobs.get(3).leaseToken(), "{\"message\":\"too late\"}", true)));

    assertThat(outcome).containsExactly(
        Map.entry(jobs.get(0).id(), JobStatus.PENDING),
        Map.entry(jobs.get(1).id(), JobStatus.DEAD_LETTER),
        Map.entry(jobs.get(2).id(), JobStatus.DEAD_LETTER));
    Map<String, Object> retried = row(jobs.get(0).id());
    assertThat((Instant) retried.get("scheduled_at")).isAfter(Instant.now().plusSeconds(5));
    assertThat(retried.get("error_history").toString()).contains("retry me", "batch-worker");
    assertThat(row(jobs.get(1).id()).get("dead_letter_at")).isNotNull();
    assertThat(su.rows("SELECT job_id, reason FROM public.audit_log WHERE operation = 'dead_letter' AND job_id IN (?, ?)",
            jobs.get(1).id(), jobs.get(2).id()))
        .extracting(r -> r.get("reason"))
        .containsExactlyInAnyOrder("permanent error", "attempts spent");
    Map<String, Object> thiefs = row(stolen.id());
    assertThat(thiefs.get("status")).isEqualTo("processing");
    assertThat(thiefs.get("lease_token")).isEqualTo(stolen.leaseToken());
    assertThat(thiefs.get("error_history").toString()).doesNotContain("too late");
  }

  @Test
  void releaseAllGivesTheAttemptBackAndReportsTheFencedOne() {
    List<ClaimedJob> jobs = claimed("batch_release", 3);
    ClaimedJob stolen = steal(jobs.get(1));
    assertThat(worker.releaseAll(jobs.stream().map(j -> new Lease(j.id(), j.leaseToken())).toList(),
            Duration.ofMinutes(2)))
        .containsExactly(stolen.id());
    for (ClaimedJob j : List.of(jobs.get(0), jobs.get(2))) {
      Map<String, Object> r = row(j.id());
      assertThat(r.get("status")).isEqualTo("pending");
      assertThat(r.get("attempt")).isEqualTo(0);
      assertThat((Instant) r.get("scheduled_at")).isAfter(Instant.now().plusSeconds(100));
    }
    assertThat(row(stolen.id()).get("lease_token")).isEqualTo(stolen.leaseToken());
  }

  @Test
  void emptyBatchesNeedNoRoundTripAndMalformedOnesAreRefusedByName() {
    assertThat(worker.completeAll(List.of())).isEmpty();
    assertThat(worker.failAll(List.of())).isEmpty();

    UUID id = UUID.randomUUID();
    assertThatThrownBy(() -> worker.heartbeatAll(List.of(new Lease(id, UUID.randomUUID()), new Lease(id, UUID.randomUUID()))))
        .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.isInvalidArgument()).isTrue())
        .hasMessageContaining("heartbeat_jobs: p_job_ids must name each job once");
    List<Lease> tooMany = IntStream.range(0, 1001).mapToObj(i -> new Lease(UUID.randomUUID(), UUID.randomUUID())).toList();
    assertThatThrownBy(() -> worker.releaseAll(tooMany, Duration.ZERO))
        .hasMessageContaining("release_jobs: 1001 jobs in one call; at most 1000");
    assertThatThrownBy(() -> new Db(pg.superuser()).exec(
            "SELECT * FROM public.complete_jobs(ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY[gen_random_uuid()])"))
        .hasMessageContaining("complete_jobs: 2 job ids but 1 lease tokens");
    assertThatThrownBy(() -> new Db(pg.superuser()).exec(
            "SELECT * FROM public.complete_jobs(ARRAY[gen_random_uuid()], ARRAY[gen_random_uuid()], NULL, ARRAY[1, 2])"))
        .hasMessageContaining("complete_jobs: 1 job ids but an argument array has 2 elements");
    List<ClaimedJob> jobs = claimed("batch_bad_tokens", 2);
    assertThatThrownBy(() -> worker.completeAll(List.of(
            new Completion(jobs.get(0).id(), jobs.get(0).leaseToken(), null, 5),
            new Completion(jobs.get(1).id(), jobs.get(1).leaseToken(), null, -1))))
        .hasMessageContaining("complete_jobs: p_tokens_used[2]")
        .hasMessageContaining("is negative");
    assertThat(row(jobs.get(0).id()).get("status")).as("nothing of a refused batch is written").isEqualTo("processing");
  }

  @Test
  void theScopedSweepRequeuesOnlyTheNamedTypesAndLanes() {
    for (String[] tl : new String[][] {{"scope_a", "default"}, {"scope_b", "default"}, {"scope_a", "ai"}}) {
      worker.enqueue(new NewJob(tl[0], tl[1], "{}", "scope-" + tl[0] + "-" + tl[1], null, null, null, null, null, null, null));
    }
    List<ClaimedJob> jobs = worker.claim("scope-worker", List.of("scope_a", "scope_b"), List.of(), 3);
    assertThat(jobs).hasSize(3);
    su.exec("UPDATE public.job_queue SET heartbeat_at = now() - interval '10 minutes' WHERE job_type LIKE 'scope\\_%'");
    UUID aDefault = idOf(jobs, "scope_a", "default");
    UUID bDefault = idOf(jobs, "scope_b", "default");
    UUID aAi = idOf(jobs, "scope_a", "ai");

    assertThat(controller.requeueStale(Duration.ofSeconds(60), List.of("scope_a"), List.of("default")))
        .extracting(RequeuedJob::jobId).containsExactly(aDefault);
    assertThat(controller.requeueStale(Duration.ofSeconds(60), List.of(), List.of("ai")))
        .extracting(RequeuedJob::jobId).containsExactly(aAi);
    assertThat(row(bDefault).get("status")).isEqualTo("processing");
    assertThat(controller.requeueStale(Duration.ofSeconds(60), List.of("scope_b"), List.of()))
        .extracting(RequeuedJob::jobId).containsExactly(bDefault);
  }

  private static UUID idOf(List<ClaimedJob> jobs, String type, String lane) {
    return jobs.stream().filter(j -> j.jobType().equals(type) && j.lane().equals(lane)).findFirst().orElseThrow().id();
  }
}
