package io.queuepilot.queue.sql;

import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.postgresql.util.ByteConverter;
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
  private final int nulls;

  private UuidArray(UUID[] ids) {
    this.ids = ids;
    this.type = "uuid[]";
    int n = 0;
    for (UUID id : ids) {
      if (id == null) {
        n++;
      }
    }
    this.nulls = n;
  }

  /** The ids in order (null elements are sent as SQL NULL). */
  public static UuidArray of(List<UUID> ids) {
    return new UuidArray(ids.toArray(new UUID[0]));
  }

  /** The ids in order, the array itself kept (the caller hands it over and does not change it). */
  public static UuidArray of(UUID[] ids) {
    return new UuidArray(ids);
  }

  @Override
  public int lengthInBytes() {
    return ids.length == 0 ? EMPTY_BYTES : HEADER_BYTES + 4 * ids.length + 16 * (ids.length - nulls);
  }

  @Override
  public void toBytes(byte[] bytes, int offset) {
    if (ids.length == 0) {
      ByteConverter.int4(bytes, offset, 0);
      ByteConverter.int4(bytes, offset + 4, 0);
      ByteConverter.int4(bytes, offset + 8, UUID_OID);
      return;
    }
    ByteConverter.int4(bytes, offset, 1);
    ByteConverter.int4(bytes, offset + 4, nulls > 0 ? 1 : 0);
    ByteConverter.int4(bytes, offset + 8, UUID_OID);
    ByteConverter.int4(bytes, offset + 12, ids.length);
    ByteConverter.int4(bytes, offset + 16, 1); // lower bound: PostgreSQL arrays start at 1
    int at = offset + HEADER_BYTES;
    for (UUID id : ids) {
      if (id == null) {
        ByteConverter.int4(bytes, at, -1);
        at += 4;
      } else {
        ByteConverter.int4(bytes, at, 16);
        ByteConverter.int8(bytes, at + 4, id.getMostSignificantBits());
        ByteConverter.int8(bytes, at + 12, id.getLeastSignificantBits());
        at += 20;
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
}
