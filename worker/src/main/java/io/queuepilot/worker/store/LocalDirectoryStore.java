package io.queuepilot.worker.store;

import io.queuepilot.worker.JobFailure;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Documents in a local directory ({@code <root>/<bucket>/<storage_path>}), the embedded default.
 * References that would leave the root (absolute paths, {@code ..}, symlinks pointing out) are
 * refused as permanent failures. Files are read in place, not copied.
 */
public final class LocalDirectoryStore implements DocumentStore {

  private static final Pattern BUCKET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

  private final Path root;
  private final long maxBytes;

  public LocalDirectoryStore(Path root, long maxBytes) {
    this.root = root.toAbsolutePath().normalize();
    this.maxBytes = maxBytes;
  }

  @Override
  public void checkReady() throws IOException {
    Files.createDirectories(root);
    if (!Files.isDirectory(root) || !Files.isReadable(root)) {
      throw new IOException("QUEUEPILOT_STORE_DIR " + root + " is not a readable directory");
    }
  }

  /** The file a reference names, or a permanent failure when it would escape the root. */
  public Path resolve(DocumentRef ref) throws JobFailure {
    if (ref.bucket() == null || !BUCKET.matcher(ref.bucket()).matches()) {
      throw JobFailure.permanent("invalid_reference", "bucket name '" + ref.bucket() + "' is not valid");
    }
    String p = ref.path();
    if (p == null || p.isBlank() || p.startsWith("/") || p.startsWith("\\") || p.indexOf('\0') >= 0) {
      throw JobFailure.permanent("invalid_reference", "the job's storage_path must be a relative path");
    }
    Path bucketDir = root.resolve(ref.bucket());
    Path file;
    try {
      file = bucketDir.resolve(p).normalize();
    } catch (InvalidPathException e) {
      throw JobFailure.permanent("invalid_reference", "the job's storage_path is not a valid path");
    }
    if (!file.startsWith(bucketDir) || file.equals(bucketDir)) {
      throw JobFailure.permanent("invalid_reference", "the job's storage_path leaves the bucket directory");
    }
    return file;
  }

  @Override
  public FetchedDocument fetch(DocumentRef ref) throws JobFailure, IOException {
    Path file = resolve(ref);
    if (!Files.isRegularFile(file)) {
      throw JobFailure.permanent(
          "object_not_found", "no object at the job's storage_path in bucket '" + ref.bucket() + "' of the local store");
    }
    // a symlink inside the store must not lead outside it
    Path real = file.toRealPath();
    if (!real.startsWith(root.toRealPath(LinkOption.NOFOLLOW_LINKS))) {
      throw JobFailure.permanent("invalid_reference", "the job's storage_path resolves outside the store");
    }
    long size = Files.size(real);
    if (size > maxBytes) {
      throw new TempFiles(root, maxBytes).tooLarge(size);
    }
    return new FetchedDocument(real, size, null, false);
  }
}
