package io.queuepilot.worker.store;

/** Where a document lives: the job payload's bucket and storage_path (references only, never bytes). */
public record DocumentRef(String bucket, String path) {}
