package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.JobQueue.ClaimedJob;
import io.queuepilot.queue.JobQueue.NewJob;
import io.queuepilot.queue.JobQueue.QueueStats;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.flywaydb.core.api.output.MigrateResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * V113 on a V112 database with jobs in it: queue_stats keeps its nine figures to the value and
 * adds the ready jobs' estimates (how many carry a tokens_estimated, their sum, the largest) —
 * only over jobs that are pending and due — and the function keeps what V005/V050 gave it: a
 * SECURITY DEFINER with search_path pg_catalog, pg_temp, executable by queue_controller and
 * service_role only, so the controller still sees aggregates and nothing of a job.
 */
class UpgradeToQueueStatsEstimatesTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  private static final String STATS = "SELECT * FROM public.queue_stats(ARRAY['est113'], NULL, interval '60 seconds')";

  @Test
  void aV112DatabaseWithJobsUpgradesAndQueueStatsReportsTheReadyJobsEstimates() throws Exception {
    pg.migrateTo("112");

    PostgresJobQueue q = new PostgresJobQueue(pg.superuser());
    Instant now = Instant.now();
    // claimed below (priority 1 first): in flight, so its estimate is not a ready job's
    q.enqueue(job("claimed", 1, null, 9_000));
    // ready: three estimated (1,000 + 3,000 + 2,000), two without
    q.enqueue(job("r1", 5, null, 1_000));
    q.enqueue(job("r2", 5, null, 3_000));
    q.enqueue(job("r3", 5, null, 2_000));
    q.enqueue(job("r4", 5, null, null));
    q.enqueue(job("r5", 5, null, null));
    // scheduled for later: not ready, whatever its estimate
    q.enqueue(job("later", 5, now.plusSeconds(600), 50_000));
    List<ClaimedJob> claimed = q.claim("w113", List.of("est113"), List.of(), 1);
    assertThat(claimed).extracting(ClaimedJob::tokensEstimated).containsExactly(9_000);

    DataSource controller = pg.loginAs("v112_controller", "queue_controller");
    List<Map<String, Object>> before = new Db(controller).rows(STATS);
    assertThat(before).hasSize(1);
    assertThat(before.get(0).keySet()).containsExactly("ready", "scheduled", "processing", "stale", "dead_letter",
        "oldest_ready_age_seconds", "avg_duration_seconds", "avg_tokens_per_job", "completed_recently");

    MigrateResult upgrade = Migrations.migrate(pg.migrationRole());
    assertThat(upgrade.success).isTrue();
    assertThat(Integer.parseInt(upgrade.targetSchemaVersion)).isGreaterThanOrEqualTo(113);

    List<Map<String, Object>> after = new Db(controller).rows(STATS);
    assertThat(after).hasSize(1);
    Map<String, Object> row = after.get(0);
    assertThat(row.keySet()).containsExactly("ready", "scheduled", "processing", "stale", "dead_letter",
        "oldest_ready_age_seconds", "avg_duration_seconds", "avg_tokens_per_job", "completed_recently",
        "ready_estimated", "ready_tokens_estimated", "max_ready_tokens_estimated");
    Map<String, Object> nine = new LinkedHashMap<>(row);
    nine.keySet().retainAll(before.get(0).keySet());
    // the age moves with the clock; every other figure is the same as before the upgrade
    nine.remove("oldest_ready_age_seconds");
    Map<String, Object> nineBefore = new LinkedHashMap<>(before.get(0));
    nineBefore.remove("oldest_ready_age_seconds");
    assertThat(nine).as("V112's figures").isEqualTo(nineBefore);
    assertThat(row).containsEntry("ready", 5L).containsEntry("scheduled", 1L).containsEntry("processing", 1L)
        .containsEntry("ready_estimated", 3L).containsEntry("ready_tokens_estimated", 6_000L)
        .containsEntry("max_ready_tokens_estimated", 3_000L);

    // the controller's client reads them
    QueueStats s = new PostgresJobQueue(controller).stats(List.of("est113"), List.of(), Duration.ofSeconds(60));
    assertThat(s.readyEstimated()).isEqualTo(3);
    assertThat(s.readyTokensEstimated()).isEqualTo(6_000L);
    assertThat(s.maxReadyTokensEstimated()).isEqualTo(3_000L);
    // no ready job estimated: 0 and NULLs, not zeros that would read as "0 tokens per job"
    QueueStats none = new PostgresJobQueue(controller).stats(List.of("nothing_here"), List.of(), Duration.ofSeconds(60));
    assertThat(none).isEqualTo(new QueueStats(0, 0, 0, 0, 0, 0.0, null, null, 0));

    // what V005 and V050 gave the function, again after DROP + CREATE
    Db su = new Db(pg.superuser());
    String fn = "public.queue_stats(text[], text[], interval)";
    for (String role : List.of("queue_controller", "service_role")) {
      assertThat((boolean) su.value("SELECT has_function_privilege(?, ?, 'EXECUTE')", role, fn)).as(role).isTrue();
    }
    for (String role : List.of("queue_worker", "anon", "authenticated")) {
      assertThat((boolean) su.value("SELECT has_function_privilege(?, ?, 'EXECUTE')", role, fn)).as(role).isFalse();
    }
    assertThat(su.rows("SELECT 1 FROM pg_proc p, aclexplode(p.proacl) a WHERE p.oid = ?::regprocedure AND a.grantee = 0",
        fn)).as("no grant to PUBLIC").isEmpty();
    assertThat((boolean) su.value("SELECT prosecdef FROM pg_proc WHERE oid = ?::regprocedure", fn)).isTrue();
    assertThat(su.rows("SELECT unnest(proconfig) AS setting FROM pg_proc WHERE oid = ?::regprocedure", fn))
        .extracting(m -> m.get("setting")).containsExactly("search_path=pg_catalog, pg_temp");
    assertThat((String) su.value("SELECT obj_description(?::regprocedure, 'pg_proc')", fn))
        .contains("tokens_estimated");

    // and the controller still sees aggregates only: no job row, no estimate of a single job
    for (String sql : List.of("SELECT tokens_estimated FROM public.job_queue", "SELECT count(*) FROM public.jobs",
        "SELECT count(*) FROM public.job_history")) {
      SQLException e = Db.failure(controller, sql);
      assertThat((Throwable) e).as(sql).isNotNull();
      assertThat(e.getSQLState()).as(sql).isEqualTo("42501");
    }
    List<String> types = new ArrayList<>();
    for (Map<String, Object> r : su.rows("SELECT format_type(t, NULL) AS t FROM pg_proc p, unnest(p.proallargtypes) t"
        + " WHERE p.oid = ?::regprocedure", fn)) {
      types.add((String) r.get("t"));
    }
    assertThat(types).as("arguments and result columns: counts, ages and averages only")
        .containsExactly("text[]", "text[]", "interval", "bigint", "bigint", "bigint", "bigint", "bigint",
            "double precision", "double precision", "double precision", "bigint", "bigint", "bigint", "bigint");
  }

  private static NewJob job(String key, int priority, Instant scheduledAt, Integer tokensEstimated) {
    return new NewJob("est113", null, "{}", "est113-" + key, null, null, null, priority, scheduledAt, null,
        tokensEstimated);
  }
}
