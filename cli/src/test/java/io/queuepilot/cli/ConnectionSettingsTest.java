package io.queuepilot.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.queue.testing.PostgresExtension;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * How the CLI finds its database, against a real PostgreSQL that checks passwords (SCRAM, a
 * pg_hba.conf line for this test's role): libpq URIs as Supabase and psql print them, JDBC URLs,
 * libpq's PG* variables, their precedence, and that no password ever reaches the output — not
 * for a host that does not resolve, not for a refused password, not for a malformed URL.
 */
class ConnectionSettingsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  static final String ROLE = "cli_uri_ops";
  /** Characters a URI must escape: '@', '/', ':' and '%'. */
  static final String PASSWORD = "Pw-Secret@9f3K/x:y%z";
  static final String WRONG = "Wrong-Secret-77c1";

  static String host;

  @BeforeAll
  static void aRoleWhosePasswordIsChecked() throws Exception {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement()) {
      s.execute("SET password_encryption = 'scram-sha-256'");
      s.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + ROLE + "') THEN "
          + "CREATE ROLE " + ROLE + " LOGIN; END IF; END $$");
      s.execute("ALTER ROLE " + ROLE + " PASSWORD '" + PASSWORD.replace("'", "''") + "'");
      s.execute("GRANT service_role TO " + ROLE);
      String hbaFile;
      try (ResultSet rs = s.executeQuery("SHOW hba_file")) {
        rs.next();
        hbaFile = rs.getString(1);
      }
      Path hba = Path.of(hbaFile);
      String rules = Files.readString(hba);
      String ours = "host all " + ROLE + " 127.0.0.1/32 scram-sha-256\nhost all " + ROLE + " ::1/128 scram-sha-256\n";
      if (!rules.startsWith(ours)) {
        Files.writeString(hba, ours + rules); // first match wins: only this role must show a password
      }
      s.execute("SELECT pg_reload_conf()");
    }
    host = "localhost:" + pg.port();
  }

  static String encoded(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static String uri(String scheme, String password) {
    return scheme + "://" + ROLE + ":" + encoded(password) + "@" + host + "/" + pg.databaseName();
  }

  @Test
  void theServerReallyChecksThePassword() {
    CliRun wrong = CliRun.run(Map.of(), "jobs", "list", "--db-url", pg.jdbcUrl(), "--db-user", ROLE,
        "--db-password", WRONG);
    assertThat(wrong.exitCode()).as(wrong.toString()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(wrong.err()).contains("database refused the login").contains("password authentication failed");
  }

  @Test
  void libpqUrisWithEitherSchemeConnect() {
    for (String scheme : new String[] {"postgresql", "postgres"}) {
      CliRun r = CliRun.run(Map.of(), "jobs", "list", "--db-url", uri(scheme, PASSWORD) + "?sslmode=disable");
      assertThat(r.exitCode()).as(r.toString()).isZero();
      assertThat(r.out()).contains("(no jobs)");
    }
    CliRun viaEnv = CliRun.run(Map.of("QUEUEPILOT_DB_URL", uri("postgresql", PASSWORD)), "queue", "stats");
    assertThat(viaEnv.exitCode()).as(viaEnv.toString()).isZero();
  }

  @Test
  void uriParametersReachTheDriver() {
    // the embedded server has no TLS: sslmode=require must fail, which proves it was passed on
    CliRun r = CliRun.run(Map.of(), "jobs", "list", "--db-url", uri("postgresql", PASSWORD) + "?sslmode=require");
    assertThat(r.exitCode()).as(r.toString()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(r.err()).containsIgnoringCase("ssl");

    CliRun unknown = CliRun.run(Map.of(), "jobs", "list", "--db-url", uri("postgresql", PASSWORD) + "?gssencmode=prefer");
    assertThat(unknown.exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(unknown.err()).contains("unsupported libpq URI parameter 'gssencmode'");
  }

  @Test
  void libpqEnvironmentVariablesAreHonoured() {
    Map<String, String> env = new HashMap<>(Map.of("PGHOST", "localhost", "PGPORT", Integer.toString(pg.port()),
        "PGDATABASE", pg.databaseName(), "PGUSER", ROLE, "PGPASSWORD", PASSWORD));
    CliRun r = CliRun.run(env, "jobs", "list");
    assertThat(r.exitCode()).as(r.toString()).isZero();
  }

  @Test
  void flagsBeatQueuepilotVariablesWhichBeatPgVariables() {
    // PG* are wrong; QUEUEPILOT_DB_* are right: QUEUEPILOT_DB_* win
    Map<String, String> env = new HashMap<>(Map.of("PGHOST", "127.0.0.1", "PGPORT", "1", "PGUSER", "nobody",
        "PGPASSWORD", WRONG, "QUEUEPILOT_DB_URL", pg.jdbcUrl(), "QUEUEPILOT_DB_USER", ROLE,
        "QUEUEPILOT_DB_PASSWORD", PASSWORD));
    CliRun r = CliRun.run(env, "jobs", "list");
    assertThat(r.exitCode()).as(r.toString()).isZero();

    // a wrong password flag beats the right variables
    CliRun flag = CliRun.run(env, "jobs", "list", "--db-password", WRONG);
    assertThat(flag.exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);

    // the URL's own credentials beat QUEUEPILOT_DB_USER/PASSWORD, the flags beat the URL's
    Map<String, String> wrongVars = Map.of("QUEUEPILOT_DB_USER", "nobody", "QUEUEPILOT_DB_PASSWORD", WRONG);
    assertThat(CliRun.run(wrongVars, "jobs", "list", "--db-url", uri("postgresql", PASSWORD)).exitCode()).isZero();
    assertThat(CliRun.run(Map.of(), "jobs", "list", "--db-url", uri("postgresql", WRONG), "--db-password", PASSWORD)
        .exitCode()).isZero();
  }

  @Test
  void noPasswordIsEverEchoed() {
    Map<String, String> timeout = Map.of("QUEUEPILOT_DB_CONNECT_TIMEOUT_SECONDS", "3");
    CliRun[] runs = {
        // a host that does not resolve, password in the URI, in the flag, in the environment
        CliRun.run(timeout, "jobs", "list", "--db-url", "postgresql://ops:" + encoded(PASSWORD) + "@nohost.invalid:5432/db"),
        CliRun.run(timeout, "jobs", "list", "--db-url", "jdbc:postgresql://nohost.invalid/db", "--db-user", "ops",
            "--db-password=" + PASSWORD),
        CliRun.run(Map.of("PGHOST", "nohost.invalid", "PGPASSWORD", PASSWORD, "PGUSER", "ops"), "migrate"),
        // a refused password, in the URI, in the flag, in the password= parameter of a JDBC URL
        CliRun.run(Map.of(), "jobs", "list", "--db-url", uri("postgresql", WRONG)),
        CliRun.run(Map.of(), "migrate", "--db-url", pg.jdbcUrl(), "--db-user", ROLE, "--db-password", WRONG),
        CliRun.run(Map.of(), "dlq", "list", "--db-url", pg.jdbcUrl() + "?user=" + ROLE + "&password=" + WRONG),
        // malformed URLs carrying a password
        CliRun.run(Map.of(), "jobs", "list", "--db-url", "mysql://ops:" + WRONG + "@db.example.org/x"),
        CliRun.run(Map.of(), "jobs", "list", "--db-url", "postgresql://ops:" + WRONG + "@/x"),
        CliRun.run(Map.of("QUEUEPILOT_DB_URL", "postgresql://ops:" + WRONG + "@h/x?sslmode=require&bogus=1"),
            "queue", "stats"),
    };
    for (CliRun r : runs) {
      assertThat(r.exitCode()).as(r.toString()).isNotZero();
      assertThat(r.err()).as(r.toString()).isNotBlank();
      for (String secret : new String[] {PASSWORD, encoded(PASSWORD), WRONG}) {
        assertThat(r.out() + r.err()).as(r.toString()).doesNotContain(secret);
      }
    }
    assertThat(runs[0].exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(runs[0].err()).contains("unknown host 'nohost.invalid'");
    assertThat(runs[1].err()).contains("unknown host 'nohost.invalid'");
    assertThat(runs[2].exitCode()).isEqualTo(ExitCode.DATABASE_UNREACHABLE);
    assertThat(runs[3].err()).contains("database refused the login").contains(ROLE);
    assertThat(runs[6].exitCode()).isEqualTo(ExitCode.USAGE);
    assertThat(runs[6].err()).contains("must be a JDBC URL (jdbc:postgresql://host:port/db) or a libpq URI")
        .contains("mysql://ops:***@db.example.org/x");
    assertThat(runs[7].err()).contains("names no host");
    assertThat(runs[8].err()).contains("unsupported libpq URI parameter 'bogus'");
  }

  @Test
  void versionComesFromTheBuild() throws Exception {
    String pom = Files.readString(Path.of("pom.xml"));
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("<parent>.*?<version>([^<]+)</version>",
        java.util.regex.Pattern.DOTALL).matcher(pom);
    assertThat(m.find()).isTrue();
    CliRun r = CliRun.run("--version");
    assertThat(r.exitCode()).isZero();
    assertThat(r.out()).startsWith("queuepilot " + m.group(1) + "\n");
  }

  static long count(String sql) throws SQLException {
    try (Connection c = pg.superuser().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
