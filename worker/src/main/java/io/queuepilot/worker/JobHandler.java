package io.queuepilot.worker;

/**
 * Does the work of one claimed job: reads its input, processes it and commits the result through
 * {@link JobContext#commit}. Throws {@link JobFailure} (or any exception, classified by
 * {@link FailureDecider}) when the job cannot be finished now. It runs on a pooled job thread whose
 * MDC carries {@code worker_id}, {@code job_id}, {@code job_type} and {@code correlation_id}; an MDC
 * key the handler adds itself it removes before returning (the thread's map outlives the job).
 */
@FunctionalInterface
public interface JobHandler {

  void handle(JobContext context) throws Exception;
}
