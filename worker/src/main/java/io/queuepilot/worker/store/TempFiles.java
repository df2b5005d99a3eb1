package io.queuepilot.worker.store;

import io.queuepilot.worker.JobFailure;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Streams bytes to a temp file in the configured directory with a size cap, in small buffers
 * (never the whole document in heap); the file is deleted on any failure.
 */
public final class TempFiles {

  /** Prefix of every document temp file, so leftovers of a killed process can be recognised. */
  public static final String PREFIX = "qp-doc-";

  private final Path dir;
  private final long maxBytes;

  public TempFiles(Path dir, long maxBytes) {
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** Copies {@code in} to a new temp file; a document over the cap is a permanent failure. */
  public FetchedDocument copy(InputStream in, String contentType) throws IOException, JobFailure {
    Files.createDirectories(dir);
    Path file = Files.createTempFile(dir, PREFIX, ".bin");
    boolean ok = false;
    try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.TRUNCATE_EXISTING)) {
      byte[] buf = new byte[64 * 1024];
      long total = 0;
      int n;
      while ((n = in.read(buf)) >= 0) {
        total += n;
        if (total > maxBytes) {
          throw tooLarge(total);
        }
        out.write(buf, 0, n);
        if (Thread.currentThread().isInterrupted()) {
          throw new java.io.InterruptedIOException("download interrupted");
        }
      }
      ok = true;
      return new FetchedDocument(file, total, contentType, true);
    } finally {
      if (!ok) {
        Files.deleteIfExists(file);
      }
    }
  }

  /** The permanent failure for a document bigger than the cap. */
  public JobFailure tooLarge(long atLeast) {
    return JobFailure.permanent(
        "document_too_large",
        "document is larger than QUEUEPILOT_MAX_DOCUMENT_BYTES=" + maxBytes + " (at least " + atLeast + " bytes)",
        Map.of("max_bytes", maxBytes));
  }
}
