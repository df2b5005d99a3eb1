package io.queuepilot.queue;

import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/** Applies the sql/ migrations (packaged as classpath:db/migration) with Flyway. */
public final class Migrations {

  /** Where the sql/ files live inside the queue jar. */
  public static final String LOCATION = "classpath:db/migration";

  private Migrations() {}

  /** Migrates the database behind {@code dataSource} to the newest version and returns Flyway's result. */
  public static MigrateResult migrate(DataSource dataSource) {
    return flyway(dataSource).migrate();
  }

  /** A Flyway instance configured exactly as production uses it. */
  public static Flyway flyway(DataSource dataSource) {
    return Flyway.configure()
        .dataSource(dataSource)
        .locations(LOCATION)
        .schemas("public")
        // Supabase projects already contain objects in public; baseline at 0 so V1 still runs.
        .baselineOnMigrate(true)
        .baselineVersion("0")
        .table("queuepilot_schema_history")
        // Migration numbers are handed out in ranges per piece of work (docs/queue.md), and a
        // range below the newest applied version can land later (V093 after V105): apply such a
        // migration instead of refusing the whole upgrade ("resolved migration not applied").
        .outOfOrder(true)
        // Session-level advisory lock instead of one long transaction holding a lock on the
        // history table: with the transactional lock, V015 (ALTER TABLE on the history table)
        // waits forever for Flyway's own lock connection.
        .configuration(java.util.Map.of("flyway.postgresql.transactional.lock", "false"))
        .load();
  }
}
