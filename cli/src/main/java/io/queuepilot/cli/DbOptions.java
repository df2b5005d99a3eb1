package io.queuepilot.cli;

import io.queuepilot.cli.db.Database;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The connection options every database command shares; the environment fills what is not given. */
public final class DbOptions {

  @Spec(Spec.Target.MIXEE)
  CommandSpec mixee;

  @Option(names = "--db-url", paramLabel = "URL",
      description = "queue database: jdbc:postgresql://host:port/db or postgresql://user:password@host:port/db"
          + "?sslmode=require (default: $QUEUEPILOT_DB_URL, else PGHOST/PGPORT/PGDATABASE)")
  String url;

  @Option(names = "--db-user", paramLabel = "USER", description = "database user (default: the URL's, else $QUEUEPILOT_DB_USER, else $PGUSER)")
  String user;

  @Option(names = "--db-password", paramLabel = "PASSWORD",
      description = "database password (default: the URL's, else $QUEUEPILOT_DB_PASSWORD, else $PGPASSWORD)")
  String password;

  /** The settings from options and environment, not yet validated. */
  public CliConfig.DbSettings settings() {
    return QueuePilotCli.root(mixee).config().database(url, user, password);
  }

  /**
   * Whether a database was named on purpose: --db-url or QUEUEPILOT_DB_URL. libpq's PG*
   * variables left in a shell do not count, so {@code queuepilot local} never takes them as an
   * instruction to migrate and write into that database.
   */
  public boolean urlGiven() {
    return (url != null && !url.isBlank()) || QueuePilotCli.root(mixee).config().queuepilotDbUrlSet();
  }

  /** A validated database handle; fails with exit code 1 naming what is missing. */
  public Database database() {
    return new Database(settings());
  }
}
