package io.queuepilot.cli;

import io.queuepilot.cli.db.Database;
import io.queuepilot.cli.jobs.DlqCommand;
import io.queuepilot.cli.jobs.JobsCommand;
import io.queuepilot.cli.jobs.MigrateCommand;
import io.queuepilot.cli.jobs.QueueCommand;
import io.queuepilot.cli.local.LocalCommand;
import io.queuepilot.cli.sim.ScalerCommand;
import java.io.PrintWriter;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Entry point of the {@code queuepilot} command: wires the subcommands, configuration and exit codes. */
@Command(
    name = "queuepilot",
    mixinStandardHelpOptions = true,
    versionProvider = QueuePilotCli.Version.class,
    description = "Operate the QueuePilot job queue, tune QueueScaler specs, and run the whole pipeline locally.",
    subcommands = {
      JobsCommand.class,
      QueueCommand.class,
      DlqCommand.class,
      MigrateCommand.class,
      ScalerCommand.class,
      LocalCommand.class,
      CommandLine.HelpCommand.class
    },
    footerHeading = "%nEnvironment (options override it; QUEUEPILOT_DB_* override libpq's PG*):%n",
    footer = {
      "  QUEUEPILOT_DB_URL (JDBC URL or postgresql:// URI), QUEUEPILOT_DB_USER, QUEUEPILOT_DB_PASSWORD",
      "  PGHOST, PGPORT, PGDATABASE, PGSSLMODE, PGUSER, PGPASSWORD",
      "  QUEUEPILOT_DB_PREPARED_STATEMENTS (false behind a transaction pooler)",
      "  OPENAI_API_KEY (local mode: the openai processor)",
      "See docs/cli.md."
    })
public final class QueuePilotCli implements Runnable {

  private final CliConfig config;

  @Spec CommandSpec spec;

  QueuePilotCli(CliConfig config) {
    this.config = config;
  }

  /** The configuration read once at start-up. */
  public CliConfig config() {
    return config;
  }

  /** The CLI of the command that {@code spec} belongs to. */
  public static QueuePilotCli root(CommandSpec spec) {
    return (QueuePilotCli) spec.root().userObject();
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  public static void main(String[] args) {
    PrintWriter out = new PrintWriter(System.out, true);
    PrintWriter err = new PrintWriter(System.err, true);
    int code = run(args, System.getenv(), out, err);
    out.flush();
    err.flush();
    System.exit(code);
  }

  /** Runs one command line and returns its exit code; the whole CLI is testable through this. */
  public static int run(String[] args, Map<String, String> env, PrintWriter rawOut, PrintWriter rawErr) {
    List<String> secrets = new ArrayList<>(Redactor.secretsIn(args));
    for (String key : List.of("QUEUEPILOT_DB_PASSWORD", "PGPASSWORD", "OPENAI_API_KEY")) {
      secrets.add(env.get(key));
    }
    if (env.get("QUEUEPILOT_DB_URL") != null) {
      secrets.addAll(Redactor.passwordsIn(env.get("QUEUEPILOT_DB_URL")));
    }
    PrintWriter out = new PrintWriter(new Redactor(rawOut, secrets), true);
    PrintWriter err = new PrintWriter(new Redactor(rawErr, secrets), true);
    CliConfig config;
    try {
      config = CliConfig.fromEnvironment(env);
    } catch (CliException e) {
      err.println("error: " + e.getMessage());
      err.flush();
      return e.exitCode();
    }
    CommandLine cmd = commandLine(config);
    cmd.setOut(out);
    cmd.setErr(err);
    int code = cmd.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  /** The exit codes, shown in every command's --help. */
  static final java.util.Map<String, String> EXIT_CODES = exitCodes();

  private static java.util.Map<String, String> exitCodes() {
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    m.put("0", "success");
    m.put("1", "usage error (unknown option, malformed id, bad value or configuration)");
    m.put("2", "job not found, or its status does not allow the transition");
    m.put("3", "database unreachable or login refused");
    m.put("4", "any other failure (the message says what)");
    return java.util.Collections.unmodifiableMap(m);
  }

  private static void documentExitCodes(CommandLine c) {
    c.getCommandSpec().usageMessage().exitCodeListHeading("%nExit codes:%n").exitCodeList(EXIT_CODES);
    c.getSubcommands().values().forEach(QueuePilotCli::documentExitCodes);
  }

  static CommandLine commandLine(CliConfig config) {
    CommandLine cmd = new CommandLine(new QueuePilotCli(config));
    documentExitCodes(cmd);
    cmd.registerConverter(UUID.class, QueuePilotCli::jobId);
    cmd.registerConverter(Duration.class, QueuePilotCli::duration);
    cmd.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> {
          CliException failure = classify(ex);
          commandLine.getErr().println("error: " + failure.getMessage());
          return failure.exitCode();
        });
    cmd.setParameterExceptionHandler(
        (ex, args) -> {
          CommandLine c = ex.getCommandLine();
          c.getErr().println("error: " + ex.getMessage());
          c.getErr().println("Run '" + c.getCommandSpec().qualifiedName() + " --help' for usage.");
          return ExitCode.USAGE;
        });
    cmd.setExitCodeExceptionMapper(ex -> classify(ex).exitCode());
    return cmd;
  }

  /** Parses a job id, explaining what a valid one looks like. */
  static UUID jobId(String text) {
    try {
      if (text.length() != 36) {
        throw new IllegalArgumentException();
      }
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(
          "'" + text + "' is not a job id: expected a UUID such as 0b9f6a52-3c7e-4d1e-9a55-2f1e8d6c4b10");
    }
  }

  /** Parses a duration: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 2h}, {@code 0}, or ISO-8601 ({@code PT5M}). */
  static Duration duration(String text) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.startsWith("pt") || t.startsWith("p")) {
        return Duration.parse(t.toUpperCase(java.util.Locale.ROOT));
      }
      java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)(ms|s|m|h)?").matcher(t);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? (n == 0 ? "s" : "") : m.group(2);
        switch (unit) {
          case "ms": return Duration.ofMillis(n);
          case "s": return Duration.ofSeconds(n);
          case "m": return Duration.ofMinutes(n);
          case "h": return Duration.ofHours(n);
          default: break;
        }
      }
    } catch (java.time.format.DateTimeParseException | ArithmeticException e) {
      // fall through to the explanation below
    }
    throw new CommandLine.TypeConversionException(
        "'" + text + "' is not a duration: use e.g. 500ms, 30s, 5m, 2h or PT5M");
  }

  /** Finds the meaning of a failure: a CliException anywhere in the chain, or a connection failure. */
  static CliException classify(Throwable ex) {
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof CliException c) {
        return c;
      }
    }
    for (Throwable t = ex; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && Database.isConnectionFailure(s)) {
        return new CliException(ExitCode.DATABASE_UNREACHABLE, "database unreachable: " + Database.why(s), s);
      }
    }
    String message = ex.getMessage() == null ? ex.getClass().getName() : ex.getMessage();
    return new CliException(ExitCode.FAILURE, message, ex);
  }

  /** The version Maven wrote into version.properties at build time (resource filtering). */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() throws java.io.IOException {
      java.util.Properties p = new java.util.Properties();
      try (java.io.InputStream in = QueuePilotCli.class.getResourceAsStream("version.properties")) {
        if (in == null) {
          throw new java.io.IOException("version.properties is missing from the build");
        }
        p.load(in);
      }
      return new String[] {"queuepilot " + p.getProperty("version"), "Java " + Runtime.version()};
    }
  }
}
