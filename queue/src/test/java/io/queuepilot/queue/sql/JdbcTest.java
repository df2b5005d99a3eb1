package io.queuepilot.queue.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.JobQueueException;
import io.queuepilot.queue.testing.PostgresExtension;
import io.queuepilot.queue.testing.RolledBackTransactionExtension;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link Jdbc} on the real server: parameters bound by type, rows mapped, failures named by
 * operation with their SQLSTATE, and transactions committed or rolled back as a whole. Each test
 * runs in a transaction rolled back at its end ({@link RolledBackTransactionExtension}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class JdbcTest {

  @RegisterExtension @Order(1) static PostgresExtension pg = new PostgresExtension();

  @RegisterExtension @Order(2) RolledBackTransactionExtension tx = new RolledBackTransactionExtension(pg);

  private Jdbc jdbc() {
    Jdbc jdbc = new Jdbc(tx.dataSource());
    jdbc.execute("creating the scratch table",
        "CREATE TABLE IF NOT EXISTS jdbc_scratch (id uuid PRIMARY KEY, n integer, at timestamptz, tags text[])");
    return jdbc;
  }

  @Test
  void bindsEveryParameterKindAndMapsRows() {
    Jdbc jdbc = jdbc();
    UUID id = UUID.randomUUID();
    Instant at = Instant.parse("2026-01-02T03:04:05.123456Z");
    assertThat(jdbc.update("inserting", "INSERT INTO jdbc_scratch VALUES (?, ?, ?, ?)",
        id, Jdbc.nullOf(Types.INTEGER), at, Jdbc.textArray(List.of("a", "b")))).isEqualTo(1);

    record Row(UUID id, Integer n, Instant at, String tags) {}
    Row row = jdbc.queryOne("reading", "SELECT id, n, at, array_to_string(tags, ',') AS tags FROM jdbc_scratch WHERE id = ?",
        rs -> new Row(rs.getObject("id", UUID.class), Jdbc.nullableInt(rs, "n"), Jdbc.instant(rs.getTimestamp("at")),
            rs.getString("tags")), id);
    assertThat(row).isEqualTo(new Row(id, null, at, "a,b"));

    // an untyped null is fine where the SQL casts it; an empty text array binds NULL
    assertThat(jdbc.<Boolean>queryOne("null check", "SELECT ?::integer IS NULL AND ?::text[] IS NULL",
        rs -> rs.getBoolean(1), null, Jdbc.textArray(List.of()))).isTrue();
    assertThat(jdbc.queryList("listing", "SELECT g FROM generate_series(1, ?) g ORDER BY g", rs -> rs.getInt(1), 3))
        .containsExactly(1, 2, 3);
    assertThat(jdbc.queryOptional("absent", "SELECT id FROM jdbc_scratch WHERE id = ?", rs -> rs.getObject(1),
        UUID.randomUUID())).isEmpty();
  }

  @Test
  void failuresNameTheOperationAndCarryTheSqlState() {
    Jdbc jdbc = jdbc();
    assertThatThrownBy(() -> jdbc.queryOne("reading job 42", "SELECT 1 WHERE false", rs -> rs.getInt(1)))
        .isInstanceOf(JobQueueException.class)
        .hasMessageStartingWith("reading job 42 failed: no row returned by: SELECT 1 WHERE false")
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo(JobQueueException.NOT_FOUND));
    assertThatThrownBy(() -> jdbc.update("dividing", "SELECT 1 / ?::integer", 0))
        .isInstanceOf(JobQueueException.class)
        .hasMessageStartingWith("dividing failed: ERROR: division by zero")
        .hasCauseInstanceOf(SQLException.class)
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo("22012"));
  }

  @Test
  void aTransactionIsAllOrNothing() {
    Jdbc jdbc = jdbc();
    UUID kept = UUID.randomUUID();
    UUID undone = UUID.randomUUID();
    jdbc.inTransaction("inserting two", t -> {
      t.update("INSERT INTO jdbc_scratch (id, n) VALUES (?, 1)", kept);
      return t.update("INSERT INTO jdbc_scratch (id, n) VALUES (?, 2)", UUID.randomUUID());
    });
    assertThatThrownBy(() -> jdbc.inTransaction("inserting then failing", t -> {
      t.update("INSERT INTO jdbc_scratch (id, n) VALUES (?, 3)", undone);
      return t.update("INSERT INTO jdbc_scratch (id, n) VALUES (?, 4)", kept); // duplicate key
    })).isInstanceOf(JobQueueException.class)
        .hasMessageStartingWith("inserting then failing failed:")
        .satisfies(e -> assertThat(((JobQueueException) e).sqlState()).isEqualTo("23505"));

    Optional<Integer> undoneRow = jdbc.queryOptional("reading", "SELECT n FROM jdbc_scratch WHERE id = ?",
        rs -> rs.getInt(1), undone);
    assertThat(undoneRow).as("the failed transaction's first insert is rolled back").isEmpty();
    assertThat(jdbc.<Long>queryOne("counting", "SELECT count(*) FROM jdbc_scratch", rs -> rs.getLong(1))).isEqualTo(2);
  }

  @Test
  @Order(99) // after the tests that create the table
  void eachTestStartsFromTheMigratedDatabaseAlone() {
    // the other tests' rows (and even the scratch table) were rolled back
    assertThat(new Jdbc(tx.dataSource()).<Boolean>queryOne("checking", "SELECT to_regclass('jdbc_scratch') IS NULL",
        rs -> rs.getBoolean(1))).isTrue();
  }
}
