package io.queuepilot.worker.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A document available as a local file; closing it deletes the file when it is a temp copy. */
public final class FetchedDocument implements AutoCloseable {

  private final Path file;
  private final long size;
  private final String contentType;
  private final boolean temporary;

  public FetchedDocument(Path file, long size, String contentType, boolean temporary) {
    this.file = file;
    this.size = size;
    this.contentType = contentType;
    this.temporary = temporary;
  }

  public Path file() {
    return file;
  }

  public long size() {
    return size;
  }

  /** Content type the store reported (may be null). */
  public String contentType() {
    return contentType;
  }

  @Override
  public void close() {
    if (temporary) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        throw new UncheckedIOException("could not delete temp file " + file, e);
      }
    }
  }
}
