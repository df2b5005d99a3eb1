package io.queuepilot.queue.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.queuepilot.queue.testing.PostgresExtension;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link ResultColumns} and its row reader against the real server in both wire formats: a
 * connection that names every statement at once (binary results) and one that never does (text,
 * as behind a transaction pooler). Each decodes the same ids, integers (int4's edges), UTF-8 text,
 * NULLs and creation times, to the microsecond, including times before the epoch and at a
 * second's last microsecond.
 */
class ResultColumnsTest {

  @RegisterExtension static PostgresExtension pg = new PostgresExtension();

  private static final String ROW = """
      SELECT ?::uuid, NULL::uuid, ?::int4, NULL::int4,
             (pg_catalog.date_part('epoch', ?::timestamptz) * 1000000)::int8, NULL::int8,
             ?::text, NULL::text
      """;

  /** Text the decoder must not mangle: multi-byte UTF-8, quotes, a JSON document. */
  private static final List<String> TEXTS = List.of("", "noop", "Größe – 检查 🩺", "{\"a\": [1, \"\\u0000\"]}");

  /** int4 values at and near the edges, for the text decoder's sign and digit handling. */
  private static final List<Integer> EDGES = List.of(Integer.MIN_VALUE, Integer.MIN_VALUE + 1, -1, 0, 1, 9, 10,
      Integer.MAX_VALUE);

  private static Connection connect(String prepareThreshold) throws Exception {
    pg.loginAs("result_columns", "queue_worker");
    Properties p = new Properties();
    p.setProperty("user", "result_columns");
    p.setProperty("password", "result_columns");
    p.setProperty("prepareThreshold", prepareThreshold);
    return DriverManager.getConnection(pg.jdbcUrl(), p);
  }

  private static List<Instant> times() {
    List<Instant> times = new ArrayList<>(List.of(
        Instant.parse("1970-01-01T00:00:00Z"),
        Instant.parse("1970-01-01T00:00:00.000001Z"),
        Instant.parse("1969-12-31T23:59:59.999999Z"),
        Instant.parse("2026-12-02T18:00:00.999999Z"),
        Instant.parse("2099-12-31T23:59:59.999999Z")));
    SplittableRandom random = new SplittableRandom(15);
    long from = Instant.parse("2000-01-01T00:00:00Z").getEpochSecond() * 1_000_000L;
    long to = Instant.parse("2100-01-01T00:00:00Z").getEpochSecond() * 1_000_000L;
    for (int i = 0; i < 2000; i++) {
      long micros = random.nextLong(from, to);
      times.add(Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L));
    }
    return times;
  }

  @Test
  void binaryResultsDecodeToTheStoredValues() throws Exception {
    try (Connection c = connect("-1")) {
      decodesEverything(c, 16);
    }
  }

  @Test
  void textResultsDecodeToTheStoredValues() throws Exception {
    try (Connection c = connect("0")) {
      decodesEverything(c, 36);
    }
  }

  private static void decodesEverything(Connection c, int uuidBytesOnTheWire) throws Exception {
    try (PreparedStatement ps = c.prepareStatement(ROW)) {
      int i = 0;
      for (Instant t : times()) {
        UUID id = i % 2 == 0 ? UUID.randomUUID() : new UUID(-1L, i);
        ps.setObject(1, id);
        int n = i < EDGES.size() ? EDGES.get(i) : i % 3 == 0 ? -i : i;
        String text = TEXTS.get(i % TEXTS.size());
        ps.setInt(2, n);
        ps.setObject(3, OffsetDateTime.ofInstant(t, ZoneOffset.UTC));
        ps.setString(4, text);
        try (ResultSet rs = ps.executeQuery()) {
          ResultColumns.RowBytes row = ResultColumns.RowBytes.of(rs, 1, 8);
          rs.next();
          assertThat(rs.getBytes(1)).as("the format this connection receives").hasSize(uuidBytesOnTheWire);
          assertThat(ResultColumns.uuid(rs, 1)).isEqualTo(id);
          assertThat(ResultColumns.uuid(rs, 2)).isNull();
          row.read(rs);
          assertThat(row.uuid(1)).isEqualTo(id);
          assertThat(row.uuid(2)).isNull();
          assertThat(row.int4(3)).isEqualTo(n);
          assertThat(row.nullableInt4(3)).isEqualTo(n);
          assertThat(row.nullableInt4(4)).isNull();
          assertThatThrownBy(() -> row.int4(4)).hasMessageContaining("column 4 is NULL");
          assertThat(row.epochMicros(5)).as("created at %s", t).isEqualTo(t);
          assertThat(row.epochMicros(6)).isNull();
          assertThat(row.text(7)).isEqualTo(text);
          assertThat(row.text(8)).isNull();
        }
        i++;
      }
    }
  }

  @Test
  void textUuidsParseAsTheJdkDoesAndAnythingElseIsRefused() {
    SplittableRandom random = new SplittableRandom(14);
    List<UUID> ids = new ArrayList<>(List.of(new UUID(0, 0), new UUID(-1L, -1L), new UUID(Long.MIN_VALUE, 1),
        new UUID(Long.MAX_VALUE, Long.MIN_VALUE)));
    for (int i = 0; i < 10_000; i++) {
      ids.add(new UUID(random.nextLong(), random.nextLong()));
    }
    for (UUID id : ids) {
      assertThat(ResultColumns.textUuid(ascii(id.toString()))).isEqualTo(id);
      assertThat(ResultColumns.textUuid(ascii(id.toString().toUpperCase(java.util.Locale.ROOT)))).isEqualTo(id);
    }
    // forms UUID.fromString accepts (signs, short groups) and forms nobody does: PostgreSQL never
    // sends them, so each is an error naming what came rather than some other id
    for (String bad : List.of("", "0", "+0000000-0000-0000-0000-000000000001", "1-1-1-1-1",
        "0000000g-0000-0000-0000-000000000000", "00000000-0000-0000-0000-00000000000 ",
        "00000000_0000-0000-0000-000000000000", "00000000-0000-0000-0000-0000000000000",
        "{00000000-0000-0000-0000-00000000000}", "00000000-00000-000-0000-000000000000")) {
      assertThatThrownBy(() -> ResultColumns.textUuid(ascii(bad)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("not a uuid in PostgreSQL's text form")
          .hasMessageContaining("\"" + bad + "\"");
    }
  }

  private static byte[] ascii(String s) {
    return s.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  }
}
