package io.queuepilot.queue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.queuepilot.queue.sql.UuidArray;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the HikariCP pool and the dedicated LISTEN connection from a {@link QueueConfig}, and
 * answers whether the main URL is a transaction pooler before the pool is built.
 */
public final class QueueDataSources {

  private static final Logger log = LoggerFactory.getLogger(QueueDataSources.class);

  private QueueDataSources() {}

  /**
   * Answers {@link QueueConfig#transactionPooler()} when it is {@code AUTO}: settings that already
   * say "pooler" (prepared statements off, port 6543) need no probe; otherwise {@link
   * TransactionPoolerProbe} watches the backends behind two connections. Logs the answer, and
   * what it changes, once. Throws {@link IllegalStateException} when the database cannot be
   * reached for the probe.
   */
  public static QueueConfig resolvePooler(QueueConfig config, String applicationName) {
    if (config.transactionPooler() != QueueConfig.TransactionPooler.AUTO) {
      return config;
    }
    if (config.mainUrlIsTransactionPooler()) {
      log.info("{}: treated as a transaction pooler ({}=false or port {}): no server-side prepared statements,"
          + " no LISTEN on it", redacted(config.url()), QueueConfig.DB_PREPARED_STATEMENTS,
          QueueConfig.SUPABASE_TRANSACTION_POOLER_PORT);
      return config.withTransactionPooler(QueueConfig.TransactionPooler.YES);
    }
    TransactionPoolerProbe.Result result;
    try {
      result = TransactionPoolerProbe.probe(() -> openProbeConnection(config.url(), config, applicationName + "-probe"));
    } catch (SQLException e) {
      throw new IllegalStateException("cannot reach the database at " + redacted(config.url())
          + " to check for a transaction pooler: " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""), e);
    }
    if (result.transactionPooler()) {
      log.warn("{} is a transaction pooler ({}): server-side prepared statements off (prepareThreshold=0), LISTEN"
          + " not on this URL; set {} to a direct or session-mode URL for notifications, {}=true to skip this probe",
          redacted(config.url()), result.evidence(), QueueConfig.DB_LISTEN_URL, QueueConfig.DB_TRANSACTION_POOLER);
      return config.withTransactionPooler(QueueConfig.TransactionPooler.YES);
    }
    log.info("{}: no transaction pooler ({})", redacted(config.url()), result.evidence());
    return config.withTransactionPooler(QueueConfig.TransactionPooler.NO);
  }

  /** Probes {@code url} (the LISTEN URL, say) with this config's credentials. */
  public static TransactionPoolerProbe.Result probe(String url, QueueConfig config, String applicationName)
      throws SQLException {
    return TransactionPoolerProbe.probe(() -> openProbeConnection(url, config, applicationName));
  }

  private static Connection openProbeConnection(String url, QueueConfig config, String applicationName)
      throws SQLException {
    Properties props = connectionProperties(config, applicationName);
    props.setProperty("prepareThreshold", "0");
    return DriverManager.getConnection(url, props);
  }

  /** {@code url} without a password parameter, for logs and errors. */
  static String redacted(String url) {
    return url.replaceAll("(?i)(password=)[^&]*", "$1***");
  }

  /**
   * A pool for the queue functions. With prepared statements off or behind a transaction pooler
   * ({@link QueueConfig#serverPreparedStatements()}), the driver never creates named server-side
   * statements ({@code prepareThreshold=0}), which a transaction pooler would hand to the wrong
   * backend. Pass a config answered by {@link #resolvePooler} so that the probe has run.
   */
  public static HikariDataSource pool(QueueConfig config, String poolName) {
    HikariConfig hc = new HikariConfig();
    hc.setPoolName(poolName);
    hc.setJdbcUrl(config.url());
    if (config.user() != null) {
      hc.setUsername(config.user());
    }
    if (config.password() != null) {
      hc.setPassword(config.password());
    }
    hc.setMaximumPoolSize(config.poolSize());
    hc.setMinimumIdle(Math.min(2, config.poolSize()));
    hc.setAutoCommit(true);
    hc.setConnectionTimeout(10_000);
    // fail start-up fast (and clearly) when the database is unreachable
    hc.setInitializationFailTimeout(10_000);
    hc.addDataSourceProperty("ApplicationName", poolName);
    hc.addDataSourceProperty("tcpKeepAlive", "true");
    // uuid[] parameters (UuidArray) go binary: no function returns a uuid[] column, so this changes
    // only how the batched statements' id and lease arrays are sent
    hc.addDataSourceProperty("binaryTransferEnable", UuidArray.BINARY_TRANSFER_OID);
    if (!config.serverPreparedStatements()) {
      hc.addDataSourceProperty("prepareThreshold", "0");
    }
    return new HikariDataSource(hc);
  }

  /** Opens a new direct (unpooled) connection to {@code url} for LISTEN. */
  static Connection openListenConnection(String url, QueueConfig config, String applicationName)
      throws SQLException {
    Properties props = connectionProperties(config, applicationName);
    // a notification reaches the caller as soon as it arrives, not 1 ms later (see the factory)
    props.setProperty("socketFactory", PromptPeekSocketFactory.class.getName());
    return DriverManager.getConnection(url, props);
  }

  private static Properties connectionProperties(QueueConfig config, String applicationName) {
    Properties props = new Properties();
    if (config.user() != null) {
      props.setProperty("user", config.user());
    }
    if (config.password() != null) {
      props.setProperty("password", config.password());
    }
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("tcpKeepAlive", "true");
    props.setProperty("connectTimeout", "10");
    return props;
  }
}
