package io.queuepilot.queue.sql;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;
import org.postgresql.PGResultSetMetaData;
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
 * it than on any other method (JFR {@code jdk.Compilation}, docs/benchmarks.md "the cold worker's
 * JIT"). {@code getBytes} hands over the column as received: 16 bytes for a binary {@code uuid}, 8
 * for a binary {@code int8}, ASCII digits otherwise.
 */
public final class ResultColumns {

  private ResultColumns() {}

  /** A {@code uuid} column, or null for SQL NULL. */
  public static UUID uuid(ResultSet rs, int column) throws SQLException {
    byte[] b = rs.getBytes(column);
    // a text uuid is 36 bytes, so the length alone tells the formats apart
    return b == null ? null : uuid(b, b.length == 16);
  }

  private static UUID uuid(byte[] b, boolean binary) {
    if (binary) {
      return new UUID(ByteConverter.int8(b, 0), ByteConverter.int8(b, 8));
    }
    return textUuid(b);
  }

  /**
   * A uuid in PostgreSQL's text output ({@code uuid_out}: always the 36-character 8-4-4-4-12 hex
   * form) parsed straight from the bytes. Behind a transaction pooler every claimed row arrives as
   * text, five uuids each; {@code UUID.fromString(new String(..))} built a String per uuid and
   * brought the String decoder and the general parser (signs, short groups) into the mapper's C2
   * compile. Anything else is refused naming what came, never misread.
   */
  static UUID textUuid(byte[] b) {
    if (b.length != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-') {
      throw badUuid(b);
    }
    long hi = hex(b, 0, 8) << 32 | hex(b, 9, 4) << 16 | hex(b, 14, 4);
    long lo = hex(b, 19, 4) << 48 | hex(b, 24, 12);
    return new UUID(hi, lo);
  }

  /** {@code digits} hex digits of {@code b} from {@code at}, as an unsigned value. */
  private static long hex(byte[] b, int at, int digits) {
    long v = 0;
    for (int i = at; i < at + digits; i++) {
      int c = b[i];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) {
        throw badUuid(b);
      }
      v = v << 4 | d;
    }
    return v;
  }

  private static IllegalArgumentException badUuid(byte[] b) {
    // a column of the queue's own statements (ids, leases): no patient text can reach it
    return new IllegalArgumentException("not a uuid in PostgreSQL's text form (8-4-4-4-12 hex digits): \""
        + new String(b, 0, Math.min(b.length, 64), StandardCharsets.US_ASCII) + "\"");
  }

  /**
   * A reader of the columns {@code first .. first + count - 1} of each row as the raw bytes
   * received, all fetched through one call site in a loop and decoded by the small methods below
   * per the result's wire format (asked once per result set).
   *
   * <p>Why a loop: the claimed-row mapper called a column getter a dozen times, and C2 inlined
   * pgjdbc's getter stack into every call site; under load its compile took 1.2–2.0 s of a compiler
   * thread per worker JVM inside a burn-down of a few seconds (JFR {@code jdk.Compilation},
   * docs/benchmarks.md "the cold worker's JIT"). One call site is compiled once.
   */
  public static final class RowBytes {

    private final int first;
    private final byte[][] columns;
    private final boolean[] binary;

    private RowBytes(int first, int count) {
      this.first = first;
      this.columns = new byte[count][];
      this.binary = new boolean[count];
    }

    /** A reader of {@code count} columns from {@code first} (1-based) of {@code rs}. */
    public static RowBytes of(ResultSet rs, int first, int count) throws SQLException {
      RowBytes r = new RowBytes(first, count);
      PGResultSetMetaData meta = rs.getMetaData().unwrap(PGResultSetMetaData.class);
      for (int i = 0; i < count; i++) {
        r.binary[i] = meta.getFormat(first + i) == 1;
      }
      return r;
    }

    /** Reads the current row's columns. */
    public RowBytes read(ResultSet rs) throws SQLException {
      for (int i = 0; i < columns.length; i++) {
        columns[i] = rs.getBytes(first + i);
      }
      return this;
    }

    private byte[] at(int column) {
      return columns[column - first];
    }

    private boolean binaryAt(int column) {
      return binary[column - first];
    }

    /** A {@code uuid} column, or null for SQL NULL. */
    public UUID uuid(int column) {
      byte[] b = at(column);
      return b == null ? null : ResultColumns.uuid(b, binaryAt(column));
    }

    /**
     * A {@code text} column, or null for SQL NULL (pgjdbc receives text columns in text format;
     * the connection's encoding is always UTF-8).
     */
    public String text(int column) {
      byte[] b = at(column);
      if (b == null) {
        return null;
      }
      if (binaryAt(column)) {
        throw new IllegalStateException("column " + column + " arrived in binary format; only text columns decode as text");
      }
      return new String(b, StandardCharsets.UTF_8);
    }

    /** A non-NULL {@code int4} column. */
    public int int4(int column) {
      byte[] b = at(column);
      if (b == null) {
        throw new IllegalStateException("column " + column + " is NULL where an int4 was expected");
      }
      return int4(b, column);
    }

    /** An {@code int4} column, or null for SQL NULL. */
    public Integer nullableInt4(int column) {
      byte[] b = at(column);
      return b == null ? null : int4(b, column);
    }

    private int int4(byte[] b, int column) {
      return binaryAt(column) ? ByteConverter.int4(b, 0) : Math.toIntExact(asciiLong(b, column));
    }

    /**
     * An {@code int8} column holding microseconds since the Unix epoch (the claim statements select
     * {@code (date_part('epoch', created_at) * 1000000)::int8}, exact: epoch microseconds stay below
     * 2^53, so the float8 in between holds them and the cast rounds back to the stored value), or
     * null for SQL NULL. Decoded without the calendar arithmetic pgjdbc spends on a
     * {@code timestamptz} or the decimal parsing of a text {@code float8}.
     */
    public Instant epochMicros(int column) {
      byte[] b = at(column);
      if (b == null) {
        return null;
      }
      long micros = binaryAt(column) ? ByteConverter.int8(b, 0) : asciiLong(b, column);
      return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
    }

    /** An integer in PostgreSQL's text output: an optional minus sign, then ASCII digits. */
    private static long asciiLong(byte[] b, int column) {
      int i = b.length > 0 && b[0] == '-' ? 1 : 0;
      if (i == b.length || b.length - i > 19) {
        throw new IllegalStateException("column " + column + " is not an integer: " + b.length + " bytes");
      }
      long v = 0;
      for (; i < b.length; i++) {
        int d = b[i] - '0';
        if (d < 0 || d > 9) {
          throw new IllegalStateException("column " + column + " is not an integer");
        }
        v = Math.subtractExact(Math.multiplyExact(v, 10), d); // negative accumulation holds Long.MIN_VALUE
      }
      return b[0] == '-' ? v : Math.negateExact(v);
    }
  }
}
