package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.CompletedAndClaimed;
import io.queuepilot.queue.JobQueue.Completion;
import io.queuepilot.queue.JobQueue.Failure;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V114 (issue 14): complete_jobs and complete_and_claim_jobs do less work per job — no per-job
 * PL/pgSQL checks, no input CTE, the duplicate test only when fewer jobs completed than were named,
 * and complete_and_claim_jobs runs the two statements itself — while every rule stays: per-job
 * fencing, the full history row, refused arguments change nothing.
 */
class LeanCompletionTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static PostgresJobQueue worker;
  static Db su;

  @BeforeAll
  static void logins() throws Exception {
    worker = new PostgresJobQueue(pg.loginAs("lean_worker", "queue_worker"));
    su = new Db(pg.superuser());
  }

  static List<ClaimedJob> claimed(String type, int n) {
    worker.enqueueAll(IntStream.range(0, n).mapToObj(i -> NewJob.of(type, "{\"i\":" + i + "}", type + "-" + i)).toList());
    List<ClaimedJob> jobs = worker.claim("lean-worker", List.of(type), List.of(), n);
    assertThat(jobs).hasSize(n);
    return jobs;
  }

  static String uuidArray(List<UUID> ids) {
    return "{" + String.join(",", ids.stream().map(u -> u == null ? "NULL" : u.toString()).toList()) + "}";
  }

  /** Which of our queue functions one call ran, counted by PostgreSQL itself (track_functions). */
  static Map<String, Long> functionsCalledBy(String sql, Object... params) throws Exception {
    try (Connection c = pg.superuser().getConnection()) {
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        s.execute("SET LOCAL track_functions = 'all'");
      }
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < params.length; i++) {
          ps.setObject(i + 1, params[i]);
        }
        ps.execute();
      }
      Map<String, Long> calls = new HashMap<>();
      try (Statement s = c.createStatement();
          ResultSet rs = s.executeQuery(
              "SELECT funcname, calls FROM pg_stat_xact_user_functions WHERE schemaname = 'public'")) {
        while (rs.next()) {
          calls.put(rs.getString(1), rs.getLong(2));
        }
      }
      c.commit();
      return calls;
    }
  }

  @Test
  void completeAndClaimRunsBothStatementsItselfAndSkipsTheDuplicateTestWhenEveryJobCompleted() throws Exception {
    List<ClaimedJob> held = claimed("lean.calls", 4);
    worker.enqueue(NewJob.of("lean.calls", "{}", "lean.calls-next"));
    Map<String, Long> calls = functionsCalledBy(
        "SELECT * FROM public.complete_and_claim_jobs(?::uuid[], ?::uuid[], NULL, NULL, 'lean-worker', ARRAY['lean.calls'], NULL, 5)",
        uuidArray(held.stream().map(ClaimedJob::id).toList()), uuidArray(held.stream().map(ClaimedJob::leaseToken).toList()));
    assertThat(calls).containsKey("complete_and_claim_jobs")
        .as("no nested complete_jobs / claim_next_job, no job_queue_check_batch when all completed")
        .doesNotContainKeys("complete_jobs", "claim_next_job", "job_queue_check_batch");
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'lean.calls'")).isEqualTo(4);
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE job_type = 'lean.calls' AND status = 'processing'"))
        .as("and it claimed the next job").isEqualTo(1);

    List<ClaimedJob> more = claimed("lean.calls2", 2);
    Map<String, Long> direct = functionsCalledBy("SELECT * FROM public.complete_jobs(?::uuid[], ?::uuid[])",
        uuidArray(more.stream().map(ClaimedJob::id).toList()), uuidArray(more.stream().map(ClaimedJob::leaseToken).toList()));
    assertThat(direct).containsKey("complete_jobs").doesNotContainKey("job_queue_check_batch");
  }

  @Test
  void aCompletionNamingAJobTwiceOrANullIdIsRefusedAndChangesNothing() {
    List<ClaimedJob> held = claimed("lean.dup", 2);
    ClaimedJob a = held.get(0);
    ClaimedJob b = held.get(1);
    // every lease is right: only the duplicate (or the NULL) is wrong
    for (List<Completion> bad : List.of(
        List.of(new Completion(a.id(), a.leaseToken(), null, 1), new Completion(a.id(), a.leaseToken(), null, 2)),
        List.of(new Completion(a.id(), a.leaseToken(), null, 1), new Completion(b.id(), b.leaseToken(), null, 1),
            new Completion(a.id(), a.leaseToken(), null, 1)))) {
      assertThatThrownBy(() -> worker.completeAll(bad))
          .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.isInvalidArgument()).isTrue())
          .hasMessageContaining("complete_jobs: p_job_ids must name each job once and contain no NULL");
      assertThatThrownBy(() -> worker.completeAndClaim(bad, "lean-worker", List.of("lean.dup"), List.of(), 1))
          .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.isInvalidArgument()).isTrue())
          .hasMessageContaining("complete_jobs: p_job_ids must name each job once and contain no NULL");
    }
    assertThatThrownBy(() -> su.exec("SELECT * FROM public.complete_jobs(?::uuid[], ?::uuid[])",
            uuidArray(java.util.Arrays.asList(a.id(), null)), uuidArray(List.of(a.leaseToken(), b.leaseToken()))))
        .hasMessageContaining("complete_jobs: p_job_ids must name each job once and contain no NULL");
    assertThatThrownBy(() -> su.exec(
            "SELECT * FROM public.complete_and_claim_jobs(?::uuid[], ?::uuid[], NULL, NULL, 'lean-worker', NULL, NULL, 0)",
            uuidArray(java.util.Arrays.asList(a.id(), null)), uuidArray(List.of(a.leaseToken(), b.leaseToken()))))
        .hasMessageContaining("complete_jobs: p_job_ids must name each job once and contain no NULL");

    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE job_type = 'lean.dup' AND status = 'processing'"))
        .as("nothing of a refused call is written").isEqualTo(2);
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'lean.dup'")).isZero();
    assertThat(worker.completeAll(List.of(new Completion(a.id(), a.leaseToken(), null, 1),
        new Completion(b.id(), b.leaseToken(), null, 1)))).as("the leases still hold").isEmpty();
  }

  @Test
  void theHistoryRowCarriesEveryFieldOfTheLiveRowPlusResultTokensAndTime() {
    // a job with some history of its own: an error, a second attempt, an estimate
    worker.enqueue(new NewJob("lean.fields", "fast", "{\"doc\":\"a\"}", "lean.fields-0", null, null, UUID.randomUUID(),
        3, null, 4, 70));
    ClaimedJob first = worker.claim("lean-worker", List.of("lean.fields"), List.of(), 1).get(0);
    assertThat(worker.failAll(List.of(new Failure(first.id(), first.leaseToken(), "{\"message\":\"boom\"}", true))))
        .containsKey(first.id());
    su.exec("UPDATE public.job_queue SET scheduled_at = now() WHERE id = ?", first.id());
    List<ClaimedJob> held = new ArrayList<>(worker.claim("lean-worker", List.of("lean.fields"), List.of(), 1));
    held.addAll(claimed("lean.fields2", 2));
    assertThat(held.get(0).attempt()).isEqualTo(2);

    Map<UUID, Map<String, Object>> live = new HashMap<>();
    for (ClaimedJob j : held) {
      live.put(j.id(), su.rows("SELECT * FROM public.job_queue WHERE id = ?", j.id()).get(0));
    }
    CompletedAndClaimed out = worker.completeAndClaim(List.of(
        new Completion(held.get(0).id(), held.get(0).leaseToken(), "{\"pages\":3}", 41),
        new Completion(held.get(1).id(), held.get(1).leaseToken(), null, null),
        new Completion(held.get(2).id(), held.get(2).leaseToken(), "{\"pages\":1}", 0)), "lean-worker", List.of(), List.of(), 0);
    assertThat(out.fenced()).isEmpty();

    for (int k = 0; k < 3; k++) {
      ClaimedJob j = held.get(k);
      Map<String, Object> h = su.rows("SELECT *, result::text AS result_text FROM public.job_history WHERE id = ?", j.id()).get(0);
      Map<String, Object> before = live.get(j.id());
      for (String col : before.keySet()) {
        switch (col) {
          case "status", "updated_at", "completed_at", "tokens_used", "result" -> { }
          default -> assertThat(h.get(col)).as(col + " of job " + k).isEqualTo(before.get(col));
        }
      }
      assertThat(h.get("status")).isEqualTo("completed");
      assertThat(h.get("lease_token")).as("the finishing lease").isEqualTo(j.leaseToken());
      assertThat(h.get("completed_at")).isNotNull().isEqualTo(h.get("finished_at")).isEqualTo(h.get("updated_at"));
      assertThat(h.get("dead_letter_at")).isNull();
    }
    Map<String, Object> h0 = su.rows("SELECT error_history::text AS eh, result::text AS r, tokens_used FROM public.job_history WHERE id = ?",
        held.get(0).id()).get(0);
    assertThat(h0.get("eh").toString()).contains("boom");
    assertThat(h0).containsEntry("r", "{\"pages\": 3}").containsEntry("tokens_used", 41);
    Map<String, Object> h1 = su.rows("SELECT result, tokens_used FROM public.job_history WHERE id = ?", held.get(1).id()).get(0);
    assertThat(h1.get("result")).isNull();
    assertThat(h1.get("tokens_used")).isNull();
    assertThat(su.<Integer>value("SELECT tokens_used FROM public.job_history WHERE id = ?", held.get(2).id())).isZero();
  }

  @Test
  void resultsAreBoundedPerJobNotPerCall() {
    String thirtyKb = "{\"text\":\"" + "x".repeat(30_000) + "\"}";
    List<ClaimedJob> held = claimed("lean.size", 3);
    // 90 kB of results in one call, each under 64 kB: completes
    assertThat(worker.completeAll(held.stream().map(j -> new Completion(j.id(), j.leaseToken(), thirtyKb, 1)).toList()))
        .isEmpty();
    assertThat(su.count("SELECT count(*) FROM public.job_history WHERE job_type = 'lean.size' AND length(result::text) > 30000"))
        .isEqualTo(3);

    String seventyKb = "{\"text\":\"" + "y".repeat(70_000) + "\"}";
    List<ClaimedJob> next = claimed("lean.size2", 3);
    List<Completion> oneTooBig = List.of(new Completion(next.get(0).id(), next.get(0).leaseToken(), thirtyKb, 1),
        new Completion(next.get(1).id(), next.get(1).leaseToken(), seventyKb, 1),
        new Completion(next.get(2).id(), next.get(2).leaseToken(), null, -3));
    assertThatThrownBy(() -> worker.completeAll(oneTooBig))
        .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.sqlState()).isEqualTo("54000"))
        .hasMessageContaining("complete_jobs: p_results[2] (job " + next.get(1).id() + ") is")
        .hasMessageContaining("at most 65536");
    assertThatThrownBy(() -> worker.completeAndClaim(oneTooBig, "lean-worker", List.of("lean.size2"), List.of(), 1))
        .isInstanceOfSatisfying(JobQueueException.class, e -> assertThat(e.sqlState()).isEqualTo("54000"))
        .hasMessageContaining("complete_jobs: p_results[2]");
    // the first bad element in order wins, as before: a negative count ahead of the big result
    assertThatThrownBy(() -> worker.completeAll(List.of(oneTooBig.get(2), oneTooBig.get(1))))
        .hasMessageContaining("complete_jobs: p_tokens_used[1]");
    assertThat(su.count("SELECT count(*) FROM public.job_queue WHERE job_type = 'lean.size2' AND status = 'processing'"))
        .as("nothing of a refused call is written").isEqualTo(3);
  }
}
