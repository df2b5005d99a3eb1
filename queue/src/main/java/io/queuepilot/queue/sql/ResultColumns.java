package io.queuepilot.queue.sql;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;
import org.postgresql.util.ByteConverter;

/**
 * Decoders for the hot result columns of the queue's statements (claimed rows, enqueued ids,
 * fenced ids, requeue results), from the column's raw bytes in either wire format: binary (pgjdbc
 * asks for it on a named statement, oids in its default binary set) or text (unnamed statements,
 * {@code prepareThreshold=0} behind a transaction pooler).
 *
 * <p>Why not {@code getObject(i, UUID.class)}: pgjdbc's typed {@code getObject} is one large
 * method branching over every supported class, and each claimed row calls it five times; in a
 * worker's first seconds the JIT spent more of its C2 time on the claimed-row mapper that inlined
 * it than on any other method (JFR {@code jdk.Compilation}, docs/benchmarks.md "The cold worker's
 * JIT"). {@code getBytes} hands over the column as received: 16 bytes for a binary {@code uuid}, 8
 * for a binary {@code int8}, ASCII digits otherwise.
 */
public final class ResultColumns {

  private ResultColumns() {}

  /** A {@code uuid} column, or null for SQL NULL. */
  public static UUID uuid(ResultSet rs, int column) throws SQLException {
    byte[] b = rs.getBytes(column);
    if (b == null) {
      return null;
    }
    if (b.length == 16) {
      return new UUID(ByteConverter.int8(b, 0), ByteConverter.int8(b, 8));
    }
    return UUID.fromString(new String(b, StandardCharsets.US_ASCII));
  }

  /** An {@code int4} column, or null for SQL NULL. */
  public static Integer nullableInt(ResultSet rs, int column) throws SQLException {
    int v = rs.getInt(column);
    return rs.wasNull() ? null : v;
  }

  /**
   * An {@code int8} column holding microseconds since the Unix epoch (the claim statements select
   * {@code (date_part('epoch', created_at) * 1000000)::int8}, exact: epoch microseconds stay below
   * 2^53, so the float8 in between holds them and the cast rounds back to the stored value), or
   * null for SQL NULL. Decoded without the calendar arithmetic pgjdbc spends on a
   * {@code timestamptz} or the decimal parsing of a text {@code float8}.
   */
  public static Instant epochMicros(ResultSet rs, int column) throws SQLException {
    long micros = rs.getLong(column);
    if (rs.wasNull()) {
      return null;
    }
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
  }
}
