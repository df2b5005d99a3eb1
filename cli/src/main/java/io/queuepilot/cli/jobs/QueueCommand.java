package io.queuepilot.cli.jobs;

import io.queuepilot.queue.QueueDefaults;
import io.queuepilot.cli.DbOptions;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.db.Queues;
import io.queuepilot.queue.JobQueue;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code queuepilot queue stats}: the snapshot the controller scales on (queue_stats). */
@Command(name = "queue", mixinStandardHelpOptions = true, description = "Queue-wide views.",
    subcommands = QueueCommand.Stats.class)
public final class QueueCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "stats", mixinStandardHelpOptions = true,
      description = "Ready, scheduled, processing, stale and dead-lettered jobs, oldest ready age, "
          + "recent duration and tokens per job — exactly what the controller sees.")
  static final class Stats implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Option(names = "--type", split = ",", description = "only these job types (default: all)")
    List<String> jobTypes = new ArrayList<>();

    @Option(names = "--lane", split = ",", description = "only these lanes (default: all)")
    List<String> lanes = new ArrayList<>();

    @Option(names = "--heartbeat-timeout", defaultValue = QueueDefaults.HEARTBEAT_TIMEOUT_SECONDS + "s",
        description = "a processing job is stale after this long without heartbeat (default: ${DEFAULT-VALUE})")
    Duration heartbeatTimeout;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      JobQueue queue = Queues.open(db.database());
      JobQueue.QueueStats s = queue.stats(jobTypes, lanes, heartbeatTimeout);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, s);
        return 0;
      }
      Output.table(
          out,
          List.of("METRIC", "VALUE"),
          List.of(
              List.of("ready", Long.toString(s.ready())),
              List.of("scheduled", Long.toString(s.scheduled())),
              List.of("processing", Long.toString(s.processing())),
              List.of("stale", Long.toString(s.stale())),
              List.of("dead_letter", Long.toString(s.deadLetter())),
              List.of("oldest_ready_age_seconds", fmt(s.oldestReadyAgeSeconds())),
              List.of("avg_duration_seconds", fmt(s.avgDurationSeconds())),
              List.of("avg_tokens_per_job", fmt(s.avgTokensPerJob())),
              List.of("completed_recently", Long.toString(s.completedRecently()))));
      return 0;
    }

    private static String fmt(Double d) {
      return d == null ? "-" : String.format(Locale.ROOT, "%.1f", d);
    }
  }
}
