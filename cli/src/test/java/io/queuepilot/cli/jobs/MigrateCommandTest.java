package io.queuepilot.cli.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.queuepilot.cli.CliRun;
import io.queuepilot.cli.Output;
import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@code queuepilot migrate} on an empty database, then again (nothing left to apply). */
class MigrateCommandTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension(false);

  @Test
  void migratesAnEmptyDatabaseAndIsIdempotent() throws Exception {
    Map<String, String> env = Map.of("QUEUEPILOT_DB_URL", pg.jdbcUrl(), "QUEUEPILOT_DB_USER", "postgres",
        "QUEUEPILOT_DB_PASSWORD", "postgres");

    CliRun info = CliRun.run(env, "migrate", "--info", "--json");
    assertThat(info.exitCode()).as(info.toString()).isZero();
    JsonNode pending = Output.JSON.readTree(info.out());
    assertThat(pending).isNotEmpty();
    pending.forEach(m -> assertThat(m.get("state").asText()).isEqualTo("Pending"));
    int migrations = pending.size();

    CliRun first = CliRun.run(env, "migrate");
    assertThat(first.exitCode()).as(first.toString()).isZero();
    assertThat(first.out()).startsWith("applied " + migrations + " migrations; schema version ");
    assertThat(first.out()).contains("job queue").contains("Success").doesNotContain("Pending");
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT to_regclass('public.job_queue') IS NOT NULL")) {
      rs.next();
      assertThat(rs.getBoolean(1)).isTrue();
    }

    CliRun again = CliRun.run(env, "migrate");
    assertThat(again.exitCode()).isZero();
    assertThat(again.out()).startsWith("applied 0 migrations");
  }
}
