package io.queuepilot.controller.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresWorkerOccupancy;
import io.queuepilot.queue.WorkerOccupancy;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import io.queuepilot.queue.TokenBudgetStatusRepository;
import javax.sql.DataSource;

/**
 * One small connection pool and {@link JobQueue} per distinct set of database credentials,
 * shared by every scaler that names the same database. Closing closes every pool.
 */
public final class QueueConnections implements AutoCloseable {

  private final Function<DataSource, JobQueue> queueFactory;
  private final Map<DatabaseCredentials, Entry> pools = new ConcurrentHashMap<>();

  private record Entry(
      HikariDataSource dataSource, JobQueue queue, WorkerOccupancy occupancy, TokenBudgetStatusRepository budgets) {}

  public QueueConnections(Function<DataSource, JobQueue> queueFactory) {
    this.queueFactory = queueFactory;
  }

  /** The queue for these credentials, opening its pool on first use. */
  public JobQueue queue(DatabaseCredentials c) throws DatabaseConfigException {
    try {
      return pools.computeIfAbsent(c, this::open).queue();
    } catch (RuntimeException e) {
      throw new DatabaseConfigException("cannot open a connection pool to " + c + ": " + e.getMessage(), e);
    }
  }

  /** The jobs-held-per-worker reader on the same pool (pod-deletion cost). */
  public WorkerOccupancy occupancy(DatabaseCredentials c) throws DatabaseConfigException {
    try {
      return pools.computeIfAbsent(c, this::open).occupancy();
    } catch (RuntimeException e) {
      throw new DatabaseConfigException("cannot open a connection pool to " + c + ": " + e.getMessage(), e);
    }
  }

  /** The shared-budget reader for these credentials, on the same pool as {@link #queue}. */
  public TokenBudgetStatusRepository budgets(DatabaseCredentials c) throws DatabaseConfigException {
    try {
      return pools.computeIfAbsent(c, this::open).budgets();
    } catch (RuntimeException e) {
      throw new DatabaseConfigException("cannot open a connection pool to " + c + ": " + e.getMessage(), e);
    }
  }

  private Entry open(DatabaseCredentials c) {
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(c.url());
    cfg.setUsername(c.username());
    cfg.setPassword(c.password());
    cfg.setPoolName("queuepilot-controller-" + pools.size());
    cfg.setMaximumPoolSize(2);
    cfg.setMinimumIdle(0);
    cfg.setConnectionTimeout(5_000);
    cfg.setValidationTimeout(2_000);
    // Do not fail construction when the database is down: queries fail and become conditions.
    cfg.setInitializationFailTimeout(-1);
    // No named server-side prepared statements, whatever the URL: the Secret may point at a
    // transaction pooler on any port (PgBouncer, Supavisor), where they land on the wrong
    // backend ("prepared statement S_1 does not exist"), and the controller runs a handful of
    // statements per cycle, so parsing each one costs nothing that matters.
    cfg.addDataSourceProperty("prepareThreshold", "0");
    HikariDataSource ds = new HikariDataSource(cfg);
    return new Entry(ds, queueFactory.apply(ds), new PostgresWorkerOccupancy(ds), new TokenBudgetStatusRepository(ds));
  }

  /** Closes the pool of credentials no scaler uses any more (a rotated password, a deleted scaler). */
  public void release(DatabaseCredentials c) {
    Entry e = pools.remove(c);
    if (e != null) e.dataSource().close();
  }

  /** Number of open pools (metrics, tests). */
  public int openPools() {
    return pools.size();
  }

  @Override
  public void close() {
    pools.values().forEach(e -> e.dataSource().close());
    pools.clear();
  }
}
