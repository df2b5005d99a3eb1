package io.queuepilot.queue;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/** Builds the HikariCP pool and the dedicated LISTEN connection from a {@link QueueConfig}. */
public final class QueueDataSources {

  private QueueDataSources() {}

  /**
   * A pool for the queue functions. With prepared statements off, the driver never creates named
   * server-side statements ({@code prepareThreshold=0}), which a transaction pooler would hand to
   * the wrong backend.
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
    if (!config.preparedStatements()) {
      hc.addDataSourceProperty("prepareThreshold", "0");
    }
    return new HikariDataSource(hc);
  }

  /** Opens a new direct (unpooled) connection to {@code url} for LISTEN. */
  static Connection openListenConnection(String url, QueueConfig config, String applicationName)
      throws SQLException {
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
    return DriverManager.getConnection(url, props);
  }
}
