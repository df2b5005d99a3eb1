package io.queuepilot.cli.db;

import io.queuepilot.queue.JobQueue;
import io.queuepilot.queue.PostgresJobQueue;

/** The CLI's way to the queue contract: the real {@link PostgresJobQueue} over the command's connection. */
public final class Queues {

  private Queues() {}

  public static JobQueue open(Database db) {
    return new PostgresJobQueue(db);
  }
}
