package io.queuepilot.queue.sql;

import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.postgresql.util.PGBinaryObject;
import org.postgresql.util.PGobject;

/**
 * A {@code uuid[]} statement parameter that pgjdbc sends in PostgreSQL's binary array format
 * (16 bytes per id) on connections that enable binary transfer for {@code uuid[]}
 * ({@link #BINARY_TRANSFER_OID}, set by {@code QueueDataSources}), and as a text array literal on
 * any other connection.
 *
 * <p>Why: {@code createArrayOf("uuid", …)} has no binary encoder in pgjdbc, so every id of a
 * batched completion was formatted, escaped character by character and re-encoded on the worker
 * (15 % of its settler thread's CPU in the batched profile), then parsed back by {@code array_in}
 * and {@code uuid_in} on the server. The binary form is copied on both sides.
 */
public final class UuidArray extends PGobject implements PGBinaryObject {

  /** The type oid of {@code uuid[]}: listed in pgjdbc's {@code binaryTransferEnable} so this parameter goes binary. */
  public static final String BINARY_TRANSFER_OID = "2951";

  private static final int UUID_OID = 2950;
  /** ndim, has-nulls flag, element type, then one dimension's length and lower bound. */
  private static final int HEADER_BYTES = 20;
  /** An empty array has no dimension: ndim 0, no nulls, the element type (as {@code array_send} writes it). */
  private static final int EMPTY_BYTES = 12;

  private final UUID[] ids;

  private UuidArray(UUID[] ids) {
    this.ids = ids;
    this.type = "uuid[]";
  }

  /** The ids in order (null elements are sent as SQL NULL). */
  public static UuidArray of(List<UUID> ids) {
    return new UuidArray(ids.toArray(new UUID[0]));
  }

  @Override
  public int lengthInBytes() {
    if (ids.length == 0) {
      return EMPTY_BYTES;
    }
    int length = HEADER_BYTES;
    for (UUID id : ids) {
      length += id == null ? 4 : 4 + 16;
    }
    return length;
  }

  @Override
  public void toBytes(byte[] bytes, int offset) {
    boolean nulls = false;
    for (UUID id : ids) {
      nulls |= id == null;
    }
    int at = offset;
    if (ids.length == 0) {
      at = int4(bytes, at, 0);
      at = int4(bytes, at, 0);
      int4(bytes, at, UUID_OID);
      return;
    }
    at = int4(bytes, at, 1);
    at = int4(bytes, at, nulls ? 1 : 0);
    at = int4(bytes, at, UUID_OID);
    at = int4(bytes, at, ids.length);
    at = int4(bytes, at, 1); // lower bound: PostgreSQL arrays start at 1
    for (UUID id : ids) {
      if (id == null) {
        at = int4(bytes, at, -1);
      } else {
        at = int4(bytes, at, 16);
        at = int8(bytes, at, id.getMostSignificantBits());
        at = int8(bytes, at, id.getLeastSignificantBits());
      }
    }
  }

  /** The text literal, for a connection that sends this parameter as text. */
  @Override
  public String getValue() {
    StringBuilder sb = new StringBuilder(2 + ids.length * 37);
    sb.append('{');
    for (int i = 0; i < ids.length; i++) {
      if (i > 0) {
        sb.append(',');
      }
      sb.append(ids[i] == null ? "NULL" : ids[i].toString());
    }
    return sb.append('}').toString();
  }

  /** Only ever a parameter: pgjdbc never builds one from a result. */
  @Override
  public void setByteValue(byte[] value, int offset) throws SQLException {
    throw new SQLException("UuidArray is a statement parameter only");
  }

  @Override
  public void setValue(String value) throws SQLException {
    throw new SQLException("UuidArray is a statement parameter only");
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof UuidArray other && java.util.Arrays.equals(ids, other.ids);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(ids);
  }

  @Override
  public UuidArray clone() {
    return new UuidArray(ids.clone());
  }

  private static int int4(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
    return at + 4;
  }

  private static int int8(byte[] b, int at, long v) {
    int4(b, at, (int) (v >>> 32));
    int4(b, at + 4, (int) v);
    return at + 8;
  }
}
