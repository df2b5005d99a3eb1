package io.queuepilot.worker.process;

import io.queuepilot.worker.JobContext;

/**
 * Turns one document into an {@link Extraction}. Throws {@link io.queuepilot.worker.JobFailure}
 * for classified failures (corrupt file, unsupported type, rate limits, invalid model output).
 */
public interface Processor {

  Extraction process(JobContext context, DocumentInput document) throws Exception;
}
