package io.queuepilot.queue.writeback;

import java.util.UUID;

/**
 * Writes a document's extraction and completes its job in one transaction, guarded by the lease
 * ({@code write_back_extraction}); false when the lease was lost and nothing changed.
 */
@FunctionalInterface
public interface WriteBack {

  boolean writeBack(UUID jobId, UUID leaseToken, String documentJson, String eventsJson, Integer tokensUsed)
      throws Exception;
}
