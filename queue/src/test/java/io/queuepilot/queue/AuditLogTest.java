package io.queuepilot.queue;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** audit_log is append-only for everyone (superuser included) and records who acted. */
class AuditLogTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  @Test
  void updateDeleteAndTruncateAreRejectedEvenForTheSuperuser() {
    Db su = new Db(pg.superuser());
    long id = su.value("SELECT public.log_audit_event('job_queue', 'r1', 'test', NULL, '{\"a\":1}', 'why')");
    for (String sql :
        List.of(
            "UPDATE public.audit_log SET reason = 'rewritten'",
            "DELETE FROM public.audit_log",
            "TRUNCATE public.audit_log")) {
      SQLException e = Db.failure(pg.superuser(), sql);
      assertThat((Throwable) e).as(sql).isNotNull();
      assertThat(e.getMessage()).contains("audit_log is append-only");
    }
    assertThat(su.rows("SELECT reason FROM public.audit_log WHERE id = ?", id))
        .containsExactly(Map.of("reason", "why"));
  }

  @Test
  void serviceRoleMayReadButNotWriteDirectly() throws Exception {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      s.execute("SET ROLE service_role");
      s.executeQuery("SELECT count(*) FROM public.audit_log").close();
      for (String sql :
          List.of(
              "INSERT INTO public.audit_log (table_name, operation, actor, db_user) VALUES ('x', 'forged', 'x', 'x')",
              "UPDATE public.audit_log SET reason = 'x'",
              "DELETE FROM public.audit_log")) {
        try {
          s.execute(sql);
          throw new AssertionError("expected permission denied for " + sql);
        } catch (SQLException e) {
          assertThat(e.getSQLState()).as(sql).isEqualTo("42501");
        }
      }
    }
  }

  @Test
  void theActorIsTheJwtSubjectWhenPresentElseTheCallersRole() throws Exception {
    UUID user = UUID.randomUUID();
    UUID job = UUID.randomUUID();
    UUID corr = UUID.randomUUID();
    UUID patient = UUID.randomUUID();
    // the operator's session on Supabase: postgres, a member of service_role
    try (Connection c = pg.migrationRole().getConnection();
        Statement s = c.createStatement()) {
      s.execute("SELECT set_config('request.jwt.claims', '{\"sub\":\"" + user + "\",\"role\":\"service_role\"}', false)");
      s.execute("SET ROLE service_role");
      s.execute("SELECT public.log_audit_event('shell_files', 'f1', 'insert', NULL, '{}', 'upload', '"
          + job + "', '" + corr + "', '" + patient + "')");
      s.execute("RESET ROLE");
      s.execute("SELECT set_config('request.jwt.claims', '', false)");
      s.execute("SET ROLE service_role");
      s.execute("SELECT public.log_audit_event('shell_files', 'f2', 'insert', NULL, '{}', 'batch')");
    }
    Db su = new Db(pg.superuser());
    assertThat(su.rows("SELECT actor, db_user, job_id, correlation_id, patient_id FROM public.audit_log"
        + " WHERE record_id = 'f1'"))
        .singleElement()
        .satisfies(r -> {
          assertThat(r.get("actor")).isEqualTo(user.toString());
          assertThat(r.get("db_user")).isEqualTo("postgres");
          assertThat(r.get("job_id")).isEqualTo(job);
          assertThat(r.get("correlation_id")).isEqualTo(corr);
          assertThat(r.get("patient_id")).isEqualTo(patient);
        });
    assertThat((String) su.value("SELECT actor FROM public.audit_log WHERE record_id = 'f2'")).isEqualTo("service_role");
  }
}
