package io.queuepilot.queue.testing;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import javax.sql.DataSource;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Runs each test on one connection inside one transaction that is rolled back after the test,
 * so single-connection tests share a class's migrated database without seeing each other's rows.
 *
 * <p>{@link #dataSource()} hands out that connection; the code under test may open its own
 * transactions on it: {@code setAutoCommit(false)} starts a savepoint, {@code commit()} releases
 * it and {@code rollback()} rolls back to it, so the code's own commit and rollback behave as
 * they do on a real connection while nothing outlives the test. Not for tests that need a second
 * connection to see the rows (use {@link PostgresExtension} alone).
 *
 * <p>Use as {@code @RegisterExtension static PostgresExtension pg = new PostgresExtension();}
 * and {@code @RegisterExtension RolledBackTransactionExtension tx = new RolledBackTransactionExtension(pg);}
 * (an instance field: it acts around each test).
 */
public final class RolledBackTransactionExtension implements BeforeEachCallback, AfterEachCallback {

  private final PostgresExtension database;
  private final String login;
  private final String groupRole;
  private Connection connection;
  private DataSource dataSource;

  /** Each test's transaction as the cluster's superuser (fixtures and checks). */
  public RolledBackTransactionExtension(PostgresExtension database) {
    this(database, null, null);
  }

  /** Each test's transaction as {@code login}, a member of {@code groupRole} ({@link PostgresExtension#loginAs}). */
  public RolledBackTransactionExtension(PostgresExtension database, String login, String groupRole) {
    this.database = Objects.requireNonNull(database, "database");
    this.login = login;
    this.groupRole = groupRole;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws SQLException {
    DataSource who = login == null ? database.superuser() : database.loginAs(login, groupRole);
    connection = who.getConnection();
    connection.setAutoCommit(false);
    dataSource = new SingleConnectionDataSource(nestedTransactions(connection));
  }

  @Override
  public void afterEach(ExtensionContext context) throws SQLException {
    try {
      connection.rollback();
    } finally {
      connection.close();
      connection = null;
      dataSource = null;
    }
  }

  /** The test's one connection (closing it is a no-op); its work is rolled back after the test. */
  public DataSource dataSource() {
    if (dataSource == null) {
      throw new IllegalStateException("no test is running (register this extension on an instance field)");
    }
    return dataSource;
  }

  /** The connection with the code's own transactions turned into savepoints of the test's transaction. */
  private static Connection nestedTransactions(Connection target) {
    Deque<Savepoint> open = new ArrayDeque<>();
    return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
        (proxy, method, args) -> {
          switch (method.getName()) {
            case "getAutoCommit":
              return open.isEmpty();
            case "setAutoCommit":
              boolean autoCommit = (Boolean) args[0];
              if (!autoCommit && open.isEmpty()) {
                open.push(target.setSavepoint());
              } else if (autoCommit && !open.isEmpty()) {
                target.releaseSavepoint(open.pop()); // JDBC: switching auto-commit on commits
              }
              return null;
            case "commit":
              if (!open.isEmpty()) {
                target.releaseSavepoint(open.pop());
                open.push(target.setSavepoint());
              }
              return null;
            case "rollback":
              if (args == null && !open.isEmpty()) {
                target.rollback(open.peek());
                return null;
              }
              break;
            default:
              break;
          }
          try {
            return method.invoke(target, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
