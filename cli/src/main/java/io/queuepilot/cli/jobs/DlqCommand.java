package io.queuepilot.cli.jobs;

import io.queuepilot.cli.CliException;
import io.queuepilot.cli.DbOptions;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.db.Database;
import io.queuepilot.cli.db.Queues;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.operator.JobRepository;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code queuepilot dlq ...}: the dead-letter queue — list it, send jobs back. */
@Command(name = "dlq", mixinStandardHelpOptions = true, description = "Inspect and drain the dead-letter queue.",
    subcommands = {DlqCommand.ListDead.class, DlqCommand.RetryDead.class})
public final class DlqCommand implements Runnable {

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List dead-lettered jobs with their last error.")
  static final class ListDead implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Option(names = "--type", description = "only jobs of this job_type")
    String jobType;

    @Option(names = "--limit", defaultValue = "50", description = "at most this many jobs (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      if (limit < 1) {
        throw CliException.usage("--limit must be at least 1, was " + limit);
      }
      List<JobRepository.JobRow> rows = new JobRepository(db.database()).list("dead_letter", jobType, null, limit);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, rows);
      } else {
        JobsCommand.printJobs(out, rows);
      }
      return 0;
    }
  }

  @Command(name = "retry", mixinStandardHelpOptions = true,
      description = "Send dead-lettered jobs back to pending: the ids given, or --all.")
  static final class RetryDead implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
      @Parameters(paramLabel = "JOB_ID", arity = "1..*", description = "dead-lettered job ids (UUID)")
      List<UUID> ids;

      @Option(names = "--all", required = true, description = "every dead-lettered job (with --type: of that type)")
      boolean all;
    }

    @Option(names = "--type", description = "with --all: only jobs of this job_type")
    String jobType;

    @Option(names = "--code", paramLabel = "CODE",
        description = "with --all: only dead letters whose last error code (error->>'code', see 'dlq list') is CODE")
    String code;

    @Option(names = "--dry-run", description = "print what would be retried and change nothing")
    boolean dryRun;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      Database database = db.database();
      JobRepository jobs = new JobRepository(database);
      List<UUID> ids = new ArrayList<>();
      if (which.all) {
        jobs.list("dead_letter", jobType, null, code, Integer.MAX_VALUE).forEach(r -> ids.add(r.id()));
      } else {
        if (jobType != null || code != null) {
          throw CliException.usage((jobType != null ? "--type" : "--code") + " only applies with --all");
        }
        ids.addAll(which.ids);
        for (UUID id : ids) {
          String status = jobs.status(id).orElseThrow(() -> CliException.notFound("job " + id + " not found"));
          if (!status.equals("dead_letter")) {
            throw CliException.notFound("job " + id + " is " + status + ", not dead_letter: use 'jobs retry' for it");
          }
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      if (dryRun) {
        List<Transitions.Result> wouldBe = ids.stream().map(id -> new Transitions.Result(id, "retry", "dead_letter", "pending"))
            .toList();
        if (json) {
          Output.json(out, wouldBe);
        } else {
          wouldBe.forEach(r -> out.println("would retry job " + r.jobId() + ": " + r.from() + " -> " + r.to()));
          out.println("dry run: " + ids.size() + " dead-lettered job" + (ids.size() == 1 ? "" : "s")
              + " would be retried; nothing was changed");
        }
        return 0;
      }
      JobQueue queue = Queues.open(database);
      Transitions transitions = new Transitions(database, queue, jobs);
      List<Transitions.Result> results = new ArrayList<>();
      Instant now = Instant.now();
      for (UUID id : ids) {
        results.add(transitions.apply(id, "retry", () -> queue.retry(id, now)));
      }
      if (json) {
        Output.json(out, results);
      } else {
        results.forEach(r -> out.println("job " + r.jobId() + ": " + r.from() + " -> " + r.to()));
        out.println("retried " + results.size() + " dead-lettered job" + (results.size() == 1 ? "" : "s"));
      }
      return 0;
    }
  }
}
