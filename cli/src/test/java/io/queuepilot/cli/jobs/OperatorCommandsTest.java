package io.queuepilot.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.cli.CliRun;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.cli.Output;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The operator commands against a real, migrated PostgreSQL: output, exit codes, and the state
 * the SQL functions leave behind. Each test makes its own jobs under its own job type.
 */
class OperatorCommandsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static Map<String, String> env() {
    return Map.of(
        "QUEUEPILOT_DB_URL", pg.jdbcUrl(),
        "QUEUEPILOT_DB_USER", "postgres",
        "QUEUEPILOT_DB_PASSWORD", "postgres");
  }

  private static CliRun cli(String... args) {
    return CliRun.run(env(), args);
  }

  // --- seeding through the real queue functions --------------------------------------------

  private static UUID enqueue(String type, String key, int maxAttempts) throws SQLException {
    return enqueue(type, key, maxAttempts, 5);
  }

  /** Priority 1 jobs are claimed before the default 5: the helpers below claim exactly their own job. */
  private static UUID enqueue(String type, String key, int maxAttempts, int priority) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT public.enqueue_job(?, '{\"shell_file_id\":null}'::jsonb, ?, p_max_attempts => ?, p_priority => ?)")) {
      ps.setString(1, type);
      ps.setString(2, key);
      ps.setInt(3, maxAttempts);
      ps.setInt(4, priority);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getObject(1, UUID.class);
      }
    }
  }

  /** Claims the one pending job of {@code type}; returns its lease token. */
  private static UUID claim(String type) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT lease_token FROM public.claim_next_job('test-worker', ARRAY[?]::text[])")) {
      ps.setString(1, type);
      try (ResultSet rs = ps.executeQuery()) {
        assertThat(rs.next()).isTrue();
        return rs.getObject(1, UUID.class);
      }
    }
  }

  private static void sql(String statement, Object... args) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(statement)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      ps.execute();
    }
  }

  private static String status(UUID id) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT status FROM public.jobs WHERE id = ?")) {
      ps.setObject(1, id);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static UUID deadLettered(String type, String key) throws SQLException {
    return deadLettered(type, key, null);
  }

  /** A dead letter through fail_job (permanent), its error {"code": code, "message": "unreadable scan"}. */
  private static UUID deadLettered(String type, String key, String code) throws SQLException {
    UUID id = enqueue(type, key, 1, 1);
    UUID lease = claim(type);
    sql("SELECT public.fail_job(?, ?, jsonb_strip_nulls(jsonb_build_object('code', ?::text, 'message', 'unreadable scan')),"
        + " false)", id, lease, code);
    assertThat(status(id)).isEqualTo("dead_letter");
    return id;
  }

  private static UUID completed(String type, String key) throws SQLException {
    UUID id = enqueue(type, key, 5, 1);
    UUID lease = claim(type);
    sql("SELECT public.complete_job(?, ?, '{}'::jsonb, 120)", id, lease);
    assertThat(status(id)).isEqualTo("completed");
    return id;
  }

  // --- jobs list / show ------------------------------------------------------------------------

  @Test
  void jobsListShowsTheJobsAndFiltersByStatusAndType() throws Exception {
    UUID pending = enqueue("list_test", "list-1", 5);
    UUID dead = deadLettered("list_test", "list-2");
    UUID done = completed("list_test", "list-3");

    CliRun all = cli("jobs", "list", "--type", "list_test");
    assertThat(all.exitCode()).as(all.toString()).isZero();
    assertThat(all.out().lines().findFirst().orElseThrow()).startsWith("ID").contains("STATUS").contains("LAST ERROR");
    assertThat(all.out()).contains(pending.toString(), dead.toString(), done.toString()).contains("unreadable scan");
    assertThat(all.out().lines().count()).isEqualTo(4);

    CliRun onlyDead = cli("jobs", "list", "--type", "list_test", "--status", "dead_letter", "--json");
    assertThat(onlyDead.exitCode()).as(onlyDead.toString()).isZero();
    JsonNode rows = Output.JSON.readTree(onlyDead.out());
    assertThat(rows).hasSize(1);
    assertThat(rows.get(0).get("id").asText()).isEqualTo(dead.toString());
    assertThat(rows.get(0).get("status").asText()).isEqualTo("dead_letter");
    assertThat(rows.get(0).get("attempt").asInt()).isEqualTo(1);
    assertThat(rows.get(0).get("errorMessage").asText()).isEqualTo("unreadable scan");

    CliRun none = cli("jobs", "list", "--type", "no_such_type");
    assertThat(none.exitCode()).isZero();
    assertThat(none.out()).contains("(no jobs)");

    CliRun badStatus = cli("jobs", "list", "--status", "done");
    assertThat(badStatus.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(badStatus.err()).contains("--status must be one of pending, processing, completed, dead_letter, cancelled");
  }

  @Test
  void jobsShowPrintsEveryFieldOrExplainsAWrongId() throws Exception {
    UUID dead = deadLettered("show_test", "show-1");

    CliRun text = cli("jobs", "show", dead.toString());
    assertThat(text.exitCode()).as(text.toString()).isZero();
    assertThat(text.out()).contains("idempotency_key").contains("show-1").contains("error_history")
        .contains("unreadable scan").contains("dead_letter");

    CliRun json = cli("jobs", "show", dead.toString(), "--json");
    assertThat(json.exitCode()).isZero();
    JsonNode job = Output.JSON.readTree(json.out());
    assertThat(job.get("id").asText()).isEqualTo(dead.toString());
    assertThat(job.get("status").asText()).isEqualTo("dead_letter");
    assertThat(job.get("error").get("message").asText()).isEqualTo("unreadable scan");

    UUID unknown = UUID.randomUUID();
    CliRun missing = cli("jobs", "show", unknown.toString());
    assertThat(missing.exitCode()).isEqualTo(ExitCode.NOT_FOUND_OR_ILLEGAL);
    assertThat(missing.err()).isEqualTo("error: job " + unknown + " not found\n");
    assertThat(missing.out()).isEmpty();

    CliRun malformed = cli("jobs", "show", "12345");
    assertThat(malformed.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(malformed.err()).contains("'12345' is not a job id: expected a UUID");
  }

  // --- transitions ------------------------------------------------------------------------------

  @Test
  void retryMovesADeadLetteredJobBackToPending() throws Exception {
    UUID dead = deadLettered("retry_test", "retry-1");

    CliRun r = cli("jobs", "retry", dead.toString());
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).isEqualTo("job " + dead + ": dead_letter -> pending\n");
    assertThat(status(dead)).isEqualTo("pending");

    CliRun later = cli("jobs", "retry", dead.toString(), "--delay", "PT10M", "--json");
    assertThat(later.exitCode()).as(later.toString()).isZero();
    JsonNode result = Output.JSON.readTree(later.out());
    assertThat(result.get("from").asText()).isEqualTo("pending");
    assertThat(result.get("to").asText()).isEqualTo("pending");
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT scheduled_at > now() + interval '9 minutes' FROM public.jobs WHERE id = ?")) {
      ps.setObject(1, dead);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getBoolean(1)).as("scheduled 10 minutes ahead").isTrue();
      }
    }
  }

  @Test
  void illegalTransitionsExitWithCode2AndChangeNothing() throws Exception {
    UUID done = completed("illegal_test", "illegal-1");

    CliRun cancel = cli("jobs", "cancel", done.toString());
    assertThat(cancel.exitCode()).isEqualTo(ExitCode.NOT_FOUND_OR_ILLEGAL);
    assertThat(cancel.err())
        .startsWith("error: cannot cancel job " + done + " (status completed): ")
        .contains("completed -> cancelled");
    assertThat(status(done)).isEqualTo("completed");

    CliRun retry = cli("jobs", "retry", done.toString());
    assertThat(retry.exitCode()).isEqualTo(ExitCode.NOT_FOUND_OR_ILLEGAL);
    assertThat(status(done)).isEqualTo("completed");

    UUID unknown = UUID.randomUUID();
    CliRun missing = cli("jobs", "cancel", unknown.toString());
    assertThat(missing.exitCode()).isEqualTo(ExitCode.NOT_FOUND_OR_ILLEGAL);
    assertThat(missing.err()).contains("job " + unknown + " not found");

    CliRun malformed = cli("jobs", "retry", "not-a-uuid");
    assertThat(malformed.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(malformed.err()).contains("'not-a-uuid' is not a job id");
  }

  @Test
  void deadLetterAndCancelGoThroughTheSqlFunctions() throws Exception {
    UUID a = enqueue("dl_test", "dl-1", 5);
    UUID b = enqueue("dl_test", "dl-2", 5);

    CliRun noReason = cli("jobs", "dead-letter", a.toString());
    assertThat(noReason.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(noReason.err()).contains("Missing required option: '--reason=<reason>'");
    assertThat(status(a)).isEqualTo("pending");

    CliRun dl = cli("jobs", "dead-letter", a.toString(), "--reason", "patient asked to withdraw the upload");
    assertThat(dl.exitCode()).as(dl.toString()).isZero();
    assertThat(dl.out()).isEqualTo("job " + a + ": pending -> dead_letter\n");
    CliRun shown = cli("jobs", "show", a.toString(), "--json");
    JsonNode job = Output.JSON.readTree(shown.out());
    assertThat(job.get("error").get("message").asText()).isEqualTo("patient asked to withdraw the upload");
    assertThat(job.get("error").get("source").asText()).isEqualTo("queuepilot-cli");

    CliRun cancel = cli("jobs", "cancel", b.toString());
    assertThat(cancel.exitCode()).as(cancel.toString()).isZero();
    assertThat(cancel.out()).isEqualTo("job " + b + ": pending -> cancelled\n");
    assertThat(status(b)).isEqualTo("cancelled");

    // every operator transition is audited by the SQL function
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT count(*) FROM public.audit_log WHERE job_id IN (?, ?) AND operation LIKE 'status:%'")) {
      ps.setObject(1, a);
      ps.setObject(2, b);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(2);
      }
    }
  }

  // --- queue stats, dlq ------------------------------------------------------------------------

  @Test
  void queueStatsReportsWhatTheControllerSees() throws Exception {
    enqueue("stats_test", "stats-1", 5);
    enqueue("stats_test", "stats-2", 5);
    enqueue("stats_test", "stats-3", 5);
    claim("stats_test");
    deadLettered("stats_test", "stats-4");

    CliRun json = cli("queue", "stats", "--type", "stats_test", "--json");
    assertThat(json.exitCode()).as(json.toString()).isZero();
    JsonNode s = Output.JSON.readTree(json.out());
    assertThat(s.get("ready").asLong()).isEqualTo(2);
    assertThat(s.get("processing").asLong()).isEqualTo(1);
    assertThat(s.get("deadLetter").asLong()).isEqualTo(1);
    assertThat(s.get("stale").asLong()).isZero();

    CliRun text = cli("queue", "stats", "--type", "stats_test");
    assertThat(text.exitCode()).isZero();
    assertThat(text.out()).containsPattern("ready\\s+2\n").containsPattern("processing\\s+1\n")
        .containsPattern("dead_letter\\s+1\n");
  }

  @Test
  void dlqListAndRetryAll() throws Exception {
    UUID d1 = deadLettered("dlq_test", "dlq-1");
    UUID d2 = deadLettered("dlq_test", "dlq-2");
    UUID pending = enqueue("dlq_test", "dlq-3", 5);

    CliRun list = cli("dlq", "list", "--type", "dlq_test");
    assertThat(list.exitCode()).as(list.toString()).isZero();
    assertThat(list.out()).contains(d1.toString(), d2.toString()).doesNotContain(pending.toString());

    CliRun notDead = cli("dlq", "retry", pending.toString());
    assertThat(notDead.exitCode()).isEqualTo(ExitCode.NOT_FOUND_OR_ILLEGAL);
    assertThat(notDead.err()).contains("is pending, not dead_letter");

    CliRun neither = cli("dlq", "retry");
    assertThat(neither.exitCode()).isEqualTo(ExitCode.USAGE);

    CliRun all = cli("dlq", "retry", "--all", "--type", "dlq_test");
    assertThat(all.exitCode()).as(all.toString()).isZero();
    assertThat(all.out()).contains("retried 2 dead-lettered jobs");
    assertThat(status(d1)).isEqualTo("pending");
    assertThat(status(d2)).isEqualTo("pending");

    CliRun empty = cli("dlq", "list", "--type", "dlq_test", "--json");
    assertThat(Output.JSON.readTree(empty.out())).isEmpty();
  }

  @Test
  void dlqRetryFiltersByErrorCodeAndADryRunChangesNothing() throws Exception {
    UUID timeout1 = deadLettered("code_test", "code-1", "upstream_timeout");
    UUID timeout2 = deadLettered("code_test", "code-2", "upstream_timeout");
    UUID unreadable = deadLettered("code_test", "code-3", "unreadable_document");
    String before = rowsOf("code_test");
    long auditBefore = auditRows();

    CliRun dry = cli("dlq", "retry", "--all", "--code", "upstream_timeout", "--dry-run");
    assertThat(dry.exitCode()).as(dry.toString()).isZero();
    assertThat(dry.out()).contains("would retry job " + timeout1, "would retry job " + timeout2)
        .doesNotContain(unreadable.toString())
        .contains("dry run: 2 dead-lettered jobs would be retried; nothing was changed");
    assertThat(rowsOf("code_test")).isEqualTo(before);
    assertThat(auditRows()).isEqualTo(auditBefore);

    CliRun dryIds = cli("dlq", "retry", unreadable.toString(), "--dry-run", "--json");
    assertThat(dryIds.exitCode()).as(dryIds.toString()).isZero();
    assertThat(Output.JSON.readTree(dryIds.out())).hasSize(1);
    assertThat(rowsOf("code_test")).isEqualTo(before);

    CliRun codeWithIds = cli("dlq", "retry", unreadable.toString(), "--code", "x");
    assertThat(codeWithIds.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(codeWithIds.err()).contains("--code only applies with --all");

    CliRun list = cli("dlq", "list", "--type", "code_test");
    assertThat(list.out()).contains("CODE").contains("upstream_timeout").contains("unreadable_document");

    CliRun retry = cli("dlq", "retry", "--all", "--code", "upstream_timeout");
    assertThat(retry.exitCode()).as(retry.toString()).isZero();
    assertThat(retry.out()).contains("retried 2 dead-lettered jobs");
    assertThat(status(timeout1)).isEqualTo("pending");
    assertThat(status(timeout2)).isEqualTo("pending");
    assertThat(status(unreadable)).isEqualTo("dead_letter");
  }


  private static String rowsOf(String type) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement(
            "SELECT string_agg(row_to_json(j)::text, E'\\n' ORDER BY id) FROM public.jobs j WHERE job_type = ?")) {
      ps.setString(1, type);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static long auditRows() throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT count(*) FROM public.audit_log");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  // --- connection and configuration errors ---------------------------------------------------

  @Test
  void anUnreachableDatabaseExitsWith3NamingTheUrl() {
    CliRun r = CliRun.run(Map.of("QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS", "2"),
        "jobs", "list", "--db-url", "jdbc:postgresql://127.0.0.1:1/queuepilot", "--db-user", "ops");
    assertThat(r.exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(r.err()).startsWith("error: database unreachable at jdbc:postgresql://127.0.0.1:1/queuepilot as ops: ");
    assertThat(r.out()).isEmpty();

    CliRun noDb = cli("queue", "stats", "--db-url", "jdbc:postgresql://localhost:" + pg.port() + "/no_such_db");
    assertThat(noDb.exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(noDb.err()).contains("no_such_db").contains("does not exist");

    CliRun noRole = CliRun.run(Map.of(), "dlq", "list", "--db-url", pg.jdbcUrl(), "--db-user", "nobody_here");
    assertThat(noRole.exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(noRole.err()).contains("nobody_here");

    CliRun migrate = CliRun.run(Map.of("QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS", "2"),
        "migrate", "--db-url", "jdbc:postgresql://127.0.0.1:1/queuepilot");
    assertThat(migrate.exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
  }

  @Test
  void missingOrMalformedConnectionSettingsAreUsageErrors() {
    CliRun none = CliRun.run(Map.of(), "jobs", "list");
    assertThat(none.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(none.err()).contains("no database given: pass --db-url or set QUEUEPILOT_DB_URL");

    CliRun notJdbc = CliRun.run(Map.of("QUEUEPILOT_DB_URL", "mysql://localhost/x"), "jobs", "list");
    assertThat(notJdbc.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(notJdbc.err()).contains(
        "QUEUEPILOT_DB_URL must be a JDBC URL (jdbc:postgresql://host:port/db) or a libpq URI");

    CliRun badEnv = CliRun.run(Map.of("QUEUEPILOT_DB_PREPARED_STATEMENTS", "maybe"), "jobs", "list");
    assertThat(badEnv.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(badEnv.err()).contains("QUEUEPILOT_DB_PREPARED_STATEMENTS must be true or false, was 'maybe'");
  }

  @Test
  void optionsOverrideTheEnvironment() throws Exception {
    enqueue("override_test", "override-1", 5);
    Map<String, String> wrongEnv = Map.of("QUEUEPILOT_DB_URL", "jdbc:postgresql://127.0.0.1:1/nowhere");
    CliRun r = CliRun.run(wrongEnv, "jobs", "list", "--type", "override_test", "--db-url", pg.jdbcUrl(),
        "--db-user", "postgres", "--db-password", "postgres");
    assertThat(r.exitCode()).as(r.toString()).isZero();
    assertThat(r.out()).contains("override_test");
  }

  @Test
  void everyCommandHasHelp() {
    for (String[] cmd : new String[][] {
        {"--help"}, {"jobs", "--help"}, {"jobs", "list", "--help"}, {"jobs", "show", "--help"},
        {"jobs", "retry", "--help"}, {"jobs", "dead-letter", "--help"}, {"jobs", "cancel", "--help"},
        {"queue", "stats", "--help"}, {"dlq", "list", "--help"}, {"dlq", "retry", "--help"},
        {"migrate", "--help"}, {"scaler", "simulate", "--help"}, {"local", "--help"}}) {
      CliRun r = CliRun.run(cmd);
      assertThat(r.exitCode()).as(String.join(" ", cmd)).isZero();
      assertThat(r.out()).as(String.join(" ", cmd)).startsWith("Usage: queuepilot").contains("Exit codes:");
    }
    assertThat(CliRun.run("--help").out()).contains("Exit codes:").contains("3   database unreachable");
    CliRun unknown = CliRun.run("jobs", "frobnicate");
    assertThat(unknown.exitCode()).isEqualTo(ExitCode.USAGE);
  }
}
