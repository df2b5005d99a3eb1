package io.queuepilot.worker.store;

import io.queuepilot.worker.JobFailure;
import java.io.IOException;

/**
 * Reads documents by reference into a local file the processors can stream from. Implementations
 * never hold a whole document in heap and cap its size.
 */
public interface DocumentStore {

  /** Start-up check: the store is reachable and safe to use (e.g. the bucket is private). Throws when not. */
  void checkReady() throws IOException;

  /**
   * Streams the document to a local file. The caller closes the result, which deletes any temp
   * file. Missing objects and oversized documents are permanent {@link JobFailure}s; transport
   * problems are retryable.
   */
  FetchedDocument fetch(DocumentRef ref) throws JobFailure, IOException, InterruptedException;
}
