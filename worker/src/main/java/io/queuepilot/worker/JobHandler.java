package io.queuepilot.worker;

/**
 * Does the work of one claimed job: reads its input, processes it and commits the result through
 * {@link JobContext#commit}. Throws {@link JobFailure} (or any exception, classified by
 * {@link FailureDecider}) when the job cannot be finished now.
 */
@FunctionalInterface
public interface JobHandler {

  void handle(JobContext context) throws Exception;
}
