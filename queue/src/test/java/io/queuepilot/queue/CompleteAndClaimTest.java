package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.CompletedAndClaimed;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * complete_and_claim_jobs (V083) through {@link PostgresJobQueue#completeAndClaim}, as a real
 * worker login: the completions are lease-guarded per job (a fenced one changes nothing and is
 * reported), the claim takes only other ready jobs, and both happen in one transaction.
 */
class CompleteAndClaimTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static PostgresJobQueue worker;
  static Db su;

  @BeforeAll
  static void logins() throws Exception {
    worker = new PostgresJobQueue(pg.loginAs("cac_worker", "queue_worker"));
    su = new Db(pg.superuser());
  }

  static List<ClaimedJob> enqueueAndClaim(String type, int n, int claim) {
    for (int i = 0; i < n; i++) {
      worker.enqueue(NewJob.of(type, "{\"i\":" + i + "}", type + "-" + i));
    }
    return worker.claim("cac-worker", List.of(type), List.of(), claim);
  }

  static Completion done(ClaimedJob j, int tokens) {
    return new Completion(j.id(), j.leaseToken(), "{\"ok\":" + tokens + "}", tokens);
  }

  @Test
  void claimedJobsCarryTheirCreationTimeToTheMicrosecondOnBothClaimPaths() {
    String type = "cac.created";
    worker.enqueue(NewJob.of(type, "{}", type + "-a"));
    worker.enqueue(NewJob.of(type, "{}", type + "-b"));
    // the claim reads created_at as epoch seconds (a float8): these must still come back exact,
    // including one before 1970 (negative seconds) and one a microsecond short of a second
    Instant a = Instant.parse("2026-03-04T05:06:07.123457Z");
    Instant b = Instant.parse("1969-12-31T23:59:59.999999Z");
    su.exec("UPDATE public.job_queue SET created_at = ?::timestamptz WHERE idempotency_key = ?", a.toString(), type + "-a");
    su.exec("UPDATE public.job_queue SET created_at = ?::timestamptz WHERE idempotency_key = ?", b.toString(), type + "-b");

    List<ClaimedJob> first = worker.claim("cac-worker", List.of(type), List.of(), 1);
    List<ClaimedJob> second = worker.completeAndClaim(List.of(), "cac-worker", List.of(type), List.of(), 1).claimed();

    assertThat(first).hasSize(1);
    assertThat(second).hasSize(1);
    assertThat(java.util.stream.Stream.of(first.get(0), second.get(0)).map(ClaimedJob::createdAt))
        .containsExactlyInAnyOrder(a, b);
  }

  @Test
  void completesHeldLeasesReportsTheFencedOneAndClaimsTheNextJobs() {
    String type = "cac.main";
    List<ClaimedJob> held = enqueueAndClaim(type, 5, 3);
    assertThat(held).hasSize(3);
    // an operator takes the third job back (and parks it for an hour): its holder is fenced
    ClaimedJob fenced = held.get(2);
    su.exec("SELECT public.update_job_status(?, 'pending', NULL, now() + interval '1 hour')", fenced.id());

    CompletedAndClaimed out = worker.completeAndClaim(
        List.of(done(held.get(0), 10), done(held.get(1), 20), done(fenced, 30)), "cac-worker", List.of(type), List.of(), 5);

    assertThat(out.fenced()).containsExactly(fenced.id());
    for (int i = 0; i < 2; i++) {
      Map<String, Object> h = su.rows("SELECT status, lease_token, tokens_used, result::text AS result FROM public.job_history WHERE id = ?",
          held.get(i).id()).get(0);
      assertThat(h).containsEntry("status", "completed").containsEntry("lease_token", held.get(i).leaseToken())
          .containsEntry("tokens_used", 10 * (i + 1)).containsEntry("result", "{\"ok\": " + 10 * (i + 1) + "}");
    }
    assertThat(su.<String>value("SELECT status FROM public.job_queue WHERE id = ?", fenced.id()))
        .as("the fenced job keeps the operator's state").isEqualTo("pending");
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE id = ?", fenced.id())).isZero();
    // the two other ready jobs, not the parked one, not the completed ones
    assertThat(out.claimed()).hasSize(2).extracting(ClaimedJob::id)
        .doesNotContain(held.get(0).id(), held.get(1).id(), fenced.id()).doesNotHaveDuplicates();
    for (ClaimedJob c : out.claimed()) {
      assertThat(c.jobType()).isEqualTo(type);
      assertThat(c.attempt()).isEqualTo(1);
      assertThat(worker.heartbeat(c.id(), c.leaseToken())).as("the new lease is held").isTrue();
    }
  }

  @Test
  void justCompletedJobsAreNotClaimedAgainAndBatchZeroOnlyCompletes() {
    List<ClaimedJob> held = enqueueAndClaim("cac.drain", 2, 2);
    CompletedAndClaimed out = worker.completeAndClaim(List.of(done(held.get(0), 1)), "cac-worker", List.of("cac.drain"),
        List.of(), 0);
    assertThat(out.fenced()).isEmpty();
    assertThat(out.claimed()).isEmpty();
    out = worker.completeAndClaim(List.of(done(held.get(1), 1)), "cac-worker", List.of("cac.drain"), List.of(), 10);
    assertThat(out.claimed()).as("nothing ready: the completed jobs are not live any more").isEmpty();
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'cac.drain' AND status = 'completed'"))
        .isEqualTo(2);
    // claim only
    worker.enqueue(NewJob.of("cac.drain", "{}", "cac.drain-late"));
    out = worker.completeAndClaim(List.of(), "cac-worker", List.of("cac.drain"), List.of(), 10);
    assertThat(out.claimed()).hasSize(1);
  }

  @Test
  void aBadCompletionClaimsNothing() {
    List<ClaimedJob> held = enqueueAndClaim("cac.atomic", 3, 1);
    assertThatThrownBy(() -> worker.completeAndClaim(List.of(done(held.get(0), -5)), "cac-worker", List.of("cac.atomic"),
            List.of(), 2))
        .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.sqlState()).isEqualTo("22023"))
        .hasMessageContaining("p_tokens_used[1]");
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE job_type = 'cac.atomic' AND status = 'processing'"))
        .as("one transaction: the failed call claimed nothing and completed nothing").isEqualTo(1);
    assertThatThrownBy(() -> worker.completeAndClaim(List.of(), "cac-worker", List.of("cac.atomic"), List.of(), 1001))
        .hasMessageContaining("complete_and_claim_jobs: p_batch 1001 is out of range 0..1000");
    assertThatThrownBy(() -> worker.completeAndClaim(List.of(), "cac-worker", List.of("cac.atomic"), List.of(), -1))
        .hasMessageContaining("complete_and_claim_jobs: p_batch -1 is out of range 0..1000");
  }

  @Test
  void theContractsDefaultGivesTheSameOutcomeForOtherImplementations() {
    List<ClaimedJob> held = enqueueAndClaim("cac.default", 3, 2);
    UUID stolen = held.get(1).id();
    su.exec("SELECT public.update_job_status(?, 'pending', NULL, now() + interval '1 hour')", stolen);
    JobQueue viaDefault = new DelegatingQueue(worker);
    CompletedAndClaimed out = viaDefault.completeAndClaim(List.of(done(held.get(0), 1), done(held.get(1), 1)),
        "cac-worker", List.of("cac.default"), List.of(), 5);
    assertThat(out.fenced()).containsExactly(stolen);
    assertThat(out.claimed()).hasSize(1).extracting(ClaimedJob::id).doesNotContain(held.get(0).id(), stolen);
  }

  /** A JobQueue with only the abstract methods (forwarded): completeAndClaim is the interface's default. */
  record DelegatingQueue(JobQueue d) implements JobQueue {
    public UUID enqueue(NewJob job) { return d.enqueue(job); }
    public List<ClaimedJob> claim(String w, List<String> t, List<String> l, int b) { return d.claim(w, t, l, b); }
    public boolean heartbeat(UUID j, UUID l) { return d.heartbeat(j, l); }
    public boolean complete(UUID j, UUID l, String r, Integer t) { return d.complete(j, l, r, t); }
    public java.util.Optional<JobStatus> fail(UUID j, UUID l, String e, boolean r) { return d.fail(j, l, e, r); }
    public boolean release(UUID j, UUID l, java.time.Duration delay) { return d.release(j, l, delay); }
    public List<RequeuedJob> requeueStale(java.time.Duration t, List<String> ty, List<String> l) { return d.requeueStale(t, ty, l); }
    public QueueStats stats(List<String> t, List<String> l, java.time.Duration h) { return d.stats(t, l, h); }
    public void retry(UUID j, java.time.Instant n) { d.retry(j, n); }
    public void deadLetter(UUID j, String e) { d.deadLetter(j, e); }
    public void cancel(UUID j) { d.cancel(j); }
  }
}
