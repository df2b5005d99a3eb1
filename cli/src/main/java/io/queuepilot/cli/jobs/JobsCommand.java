package io.queuepilot.cli.jobs;

import io.queuepilot.cli.CliException;
import io.queuepilot.cli.DbOptions;
import io.queuepilot.cli.Output;
import io.queuepilot.cli.db.Database;
import io.queuepilot.cli.db.Queues;
import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.operator.JobRepository;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code queuepilot jobs ...}: list, inspect and move individual jobs. */
@Command(
    name = "jobs",
    mixinStandardHelpOptions = true,
    description = "List, show, retry, dead-letter or cancel jobs.",
    subcommands = {
      JobsCommand.ListJobs.class,
      JobsCommand.Show.class,
      JobsCommand.Retry.class,
      JobsCommand.DeadLetter.class,
      JobsCommand.Cancel.class
    })
public final class JobsCommand implements Runnable {

  static final List<String> STATUSES = List.of("pending", "processing", "completed", "dead_letter", "cancelled");

  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static String checkStatus(String status) {
    if (status != null && !STATUSES.contains(status)) {
      throw CliException.usage("--status must be one of " + String.join(", ", STATUSES) + ", was '" + status + "'");
    }
    return status;
  }

  static void printJobs(PrintWriter out, List<JobRepository.JobRow> rows) {
    Output.table(
        out,
        List.of("ID", "TYPE", "LANE", "STATUS", "PRIO", "ATTEMPT", "CREATED", "WORKER", "CODE", "LAST ERROR"),
        rows.stream()
            .map(
                r ->
                    List.of(
                        r.id().toString(),
                        r.jobType(),
                        r.lane(),
                        r.status(),
                        Integer.toString(r.priority()),
                        r.attempt() + "/" + r.maxAttempts(),
                        r.createdAt() == null ? "-" : r.createdAt().truncatedTo(ChronoUnit.SECONDS).toString(),
                        r.workerId() == null ? "-" : r.workerId(),
                        r.errorCode() == null ? "-" : r.errorCode(),
                        abbreviate(r.errorMessage(), 50)))
            .toList());
    if (rows.isEmpty()) {
      out.println("(no jobs)");
    }
  }

  static String abbreviate(String s, int max) {
    if (s == null) {
      return "-";
    }
    String one = s.replaceAll("\\s+", " ");
    return one.length() <= max ? one : one.substring(0, max - 1) + "…";
  }

  static void printResult(PrintWriter out, boolean json, Transitions.Result r) {
    if (json) {
      Output.json(out, r);
    } else {
      out.println("job " + r.jobId() + ": " + r.from() + " -> " + r.to());
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List jobs, newest first.")
  static final class ListJobs implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Option(names = "--status", description = "only jobs in this status: ${COMPLETION-CANDIDATES}",
        completionCandidates = StatusCandidates.class)
    String status;

    @Option(names = "--type", description = "only jobs of this job_type")
    String jobType;

    @Option(names = "--lane", description = "only jobs in this lane")
    String lane;

    @Option(names = "--limit", defaultValue = "50", description = "at most this many jobs (default: ${DEFAULT-VALUE})")
    int limit;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Override
    public Integer call() {
      if (limit < 1) {
        throw CliException.usage("--limit must be at least 1, was " + limit);
      }
      List<JobRepository.JobRow> rows =
          new JobRepository(db.database()).list(checkStatus(status), jobType, lane, limit);
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, rows);
      } else {
        printJobs(out, rows);
      }
      return 0;
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = "Show every field of one job (payload, errors, lease, tokens).")
  static final class Show implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Parameters(paramLabel = "JOB_ID", description = "the job's id (UUID)")
    UUID id;

    @Option(names = "--json", description = "print JSON instead of aligned fields")
    boolean json;

    @Override
    public Integer call() {
      Map<String, Object> job =
          new JobRepository(db.database()).show(id).orElseThrow(() -> CliException.notFound("job " + id + " not found"));
      PrintWriter out = spec.commandLine().getOut();
      if (json) {
        Output.json(out, job);
      } else {
        int width = job.keySet().stream().mapToInt(String::length).max().orElse(0);
        job.forEach(
            (k, v) -> {
              String value = v == null ? "-" : (v instanceof Map || v instanceof List) ? toJson(v) : v.toString();
              out.println(k + " ".repeat(width - k.length() + 2) + value);
            });
      }
      return 0;
    }

    private static String toJson(Object v) {
      try {
        return Output.JSON.writeValueAsString(v);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        return String.valueOf(v);
      }
    }
  }

  @Command(name = "retry", mixinStandardHelpOptions = true,
      description = "Put a dead-lettered, cancelled or scheduled job back to pending (retry_job).")
  static final class Retry implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Parameters(paramLabel = "JOB_ID", description = "the job's id (UUID)")
    UUID id;

    @Option(names = "--delay", paramLabel = "DURATION",
        description = "run it this much later, e.g. 10m or PT10M (default: now)")
    Duration delay;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      Database database = db.database();
      JobQueue queue = Queues.open(database);
      Instant at = Instant.now().plus(delay == null ? Duration.ZERO : delay);
      Transitions.Result r =
          new Transitions(database, queue, new JobRepository(database)).apply(id, "retry", () -> queue.retry(id, at));
      printResult(spec.commandLine().getOut(), json, r);
      return 0;
    }
  }

  @Command(name = "dead-letter", mixinStandardHelpOptions = true,
      description = "Move a job to the dead-letter queue with a reason (dead_letter_job).")
  static final class DeadLetter implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Parameters(paramLabel = "JOB_ID", description = "the job's id (UUID)")
    UUID id;

    @Option(names = "--reason", required = true, description = "why, stored in the job's error")
    String reason;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      Database database = db.database();
      JobQueue queue = Queues.open(database);
      String error = Output.JSON.createObjectNode()
          .put("message", reason)
          .put("kind", "operator")
          .put("source", "queuepilot-cli")
          .toString();
      Transitions.Result r =
          new Transitions(database, queue, new JobRepository(database))
              .apply(id, "dead-letter", () -> queue.deadLetter(id, error));
      printResult(spec.commandLine().getOut(), json, r);
      return 0;
    }
  }

  @Command(name = "cancel", mixinStandardHelpOptions = true, description = "Cancel a job that has not finished (cancel_job).")
  static final class Cancel implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin DbOptions db;

    @Parameters(paramLabel = "JOB_ID", description = "the job's id (UUID)")
    UUID id;

    @Option(names = "--json", description = "print JSON")
    boolean json;

    @Override
    public Integer call() {
      Database database = db.database();
      JobQueue queue = Queues.open(database);
      Transitions.Result r =
          new Transitions(database, queue, new JobRepository(database)).apply(id, "cancel", () -> queue.cancel(id));
      printResult(spec.commandLine().getOut(), json, r);
      return 0;
    }
  }

  /** The job statuses, for help text and completion. */
  static final class StatusCandidates implements Iterable<String> {
    @Override
    public java.util.Iterator<String> iterator() {
      return STATUSES.iterator();
    }
  }
}
