package io.queuepilot.queue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;

/**
 * Finds out whether a database URL reaches PostgreSQL through a transaction (or statement)
 * pooler such as PgBouncer {@code pool_mode=transaction} or Supavisor's transaction port, on
 * any port, by watching which server backend answers.
 *
 * <p>One round, with two client connections A and B open at once: A runs {@code SELECT
 * pg_backend_pid()} (a transaction of its own), then B opens a transaction and reads its backend
 * pid and holds it, then A reads its pid again. On a direct connection or a session pooler every
 * client connection keeps one backend for its lifetime, so A sees the same pid twice and B a
 * different one. A transaction pooler hands a backend back after each transaction: B typically
 * gets the backend A just released (PgBouncer reuses the most recently released one), and A must
 * then be served by another. Either sign (A's pid changed, or B shared A's backend) is
 * impossible without a transaction pooler, so a positive answer is certain; the round is repeated
 * so that a busy pooler that happens to hand out other backends is still caught. A pooler in
 * statement mode refuses B's transaction block, which also counts as a transaction pooler.
 */
public final class TransactionPoolerProbe {

  /** Rounds before concluding "no transaction pooler". */
  static final int ROUNDS = 3;

  /** Opens one probe connection (a PostgreSQL JDBC connection; the probe switches off named statements). */
  @FunctionalInterface
  public interface ConnectionFactory {
    Connection open() throws SQLException;
  }

  /** What the probe saw: whether a transaction pooler is in the way, and the evidence. */
  public record Result(boolean transactionPooler, String evidence) {}

  private TransactionPoolerProbe() {}

  /** Probes with connections from {@code connections}; both are closed before returning. */
  public static Result probe(ConnectionFactory connections) throws SQLException {
    Objects.requireNonNull(connections, "connections");
    try (Connection a = connections.open();
        Connection b = connections.open()) {
      // The probe's own statements must not become named server-side statements either: behind
      // a transaction pooler those of other clients may already sit on the backend it lands on.
      for (Connection c : new Connection[] {a, b}) {
        c.unwrap(org.postgresql.PGConnection.class).setPrepareThreshold(0);
      }
      a.setAutoCommit(true);
      for (int round = 1; round <= ROUNDS; round++) {
        int before = backendPid(a);
        int shared;
        b.setAutoCommit(false);
        try {
          shared = backendPid(b);
        } catch (SQLException e) {
          if (refusesTransactionBlocks(e)) {
            return new Result(true, "the pooler refuses transaction blocks (statement pooling): " + firstLine(e));
          }
          throw e;
        }
        int after;
        try {
          after = backendPid(a);
        } finally {
          b.rollback();
          b.setAutoCommit(true);
        }
        if (before != after) {
          return new Result(true, "one client connection was served by backend " + before + ", then by backend " + after);
        }
        if (shared == before) {
          return new Result(true, "two client connections open at once were both served by backend " + before);
        }
      }
      return new Result(false, "each client connection kept its own backend over " + ROUNDS + " rounds");
    }
  }

  private static int backendPid(Connection c) throws SQLException {
    try (Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
      rs.next();
      return rs.getInt(1);
    }
  }

  private static boolean refusesTransactionBlocks(SQLException e) {
    return String.valueOf(e.getMessage()).contains("statement pool");
  }

  private static String firstLine(SQLException e) {
    return String.valueOf(e.getMessage()).lines().findFirst().orElse("");
  }
}
