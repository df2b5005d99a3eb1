package io.queuepilot.cli.jobs;

import io.queuepilot.cli.DbOptions;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.CliException;
import io.queuepilot.cli.ExitCode;
import io.queuepilot.cli.db.Database;
import io.queuepilot.queue.Migrations;
import io.queuepilot.queue.TransactionPoolerProbe;
import java.sql.SQLException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.output.MigrateResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code queuepilot migrate}: applies the sql/ migrations (Flyway), as the schema owner. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
    description = "Apply the QueuePilot migrations (sql/) to the database; run as the schema owner. "
        + "Idempotent: applied migrations are skipped.")
public final class MigrateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;
  @Mixin DbOptions db;

  @Option(names = "--info", description = "only show which migrations are applied and pending")
  boolean info;

  @Option(names = "--json", description = "print JSON")
  boolean json;

  @Override
  public Integer call() {
    refuseTransactionPooler(db.database());
    var flyway = Migrations.flyway(db.database());
    PrintWriter out = spec.commandLine().getOut();
    if (!info) {
      MigrateResult result = flyway.migrate();
      if (!json) {
        out.println("applied " + result.migrationsExecuted + " migration" + (result.migrationsExecuted == 1 ? "" : "s")
            + "; schema version " + (result.targetSchemaVersion != null ? result.targetSchemaVersion
                : result.initialSchemaVersion));
      }
    }
    List<Map<String, Object>> rows =
        java.util.Arrays.stream(flyway.info().all())
            .map(MigrateCommand::row)
            .toList();
    if (json) {
      Output.json(out, rows);
    } else {
      Output.table(
          out,
          List.of("VERSION", "DESCRIPTION", "STATE", "INSTALLED"),
          rows.stream()
              .map(r -> List.of(
                  String.valueOf(r.get("version")),
                  String.valueOf(r.get("description")),
                  String.valueOf(r.get("state")),
                  String.valueOf(r.get("installedOn"))))
              .toList());
    }
    return 0;
  }

  /**
   * Flyway needs one database session for the whole run (its session-level advisory lock, the
   * schema-history reads between migrations); through a transaction pooler each statement may
   * land on another backend, so the lock is taken on one and released on another. Refuse before
   * touching anything, and say where to point instead.
   */
  private static void refuseTransactionPooler(Database database) {
    TransactionPoolerProbe.Result probe;
    try {
      probe = TransactionPoolerProbe.probe(database::getConnection);
    } catch (SQLException e) {
      throw database.failure("checking for a transaction pooler", e);
    }
    if (probe.transactionPooler()) {
      throw new CliException(ExitCode.USAGE, "refusing to migrate through a transaction pooler at "
          + database.settings().redactedUrl() + " (" + probe.evidence() + "): migrations need one session;"
          + " use the pooler's session port (Supabase: port 5432 of the pooler host) or the direct database"
          + " connection (db.<project>.supabase.co:5432)");
    }
  }

  private static Map<String, Object> row(MigrationInfo m) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("version", m.getVersion() == null ? null : m.getVersion().getVersion());
    r.put("description", m.getDescription());
    r.put("state", m.getState().getDisplayName());
    r.put("installedOn", m.getInstalledOn() == null ? null : m.getInstalledOn().toInstant().toString());
    return r;
  }
}
