package io.queuepilot.worker;

/**
 * One lease-guarded database write that finishes a job (e.g. {@code write_back_extraction}); returns
 * false when the lease was lost, in which case nothing was changed.
 */
@FunctionalInterface
public interface LeaseWrite {

  boolean write() throws Exception;
}
