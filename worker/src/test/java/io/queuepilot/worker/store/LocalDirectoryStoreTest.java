package io.queuepilot.worker.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.queuepilot.worker.JobFailure;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local store reads inside its root only. */
class LocalDirectoryStoreTest {

  @TempDir Path root;
  @TempDir Path outside;

  private JobFailure failure(LocalDirectoryStore store, String bucket, String path) {
    try (FetchedDocument d = store.fetch(new DocumentRef(bucket, path))) {
      throw new AssertionError("expected a failure for " + path + ", got " + d.file());
    } catch (JobFailure f) {
      return f;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void readsFilesInPlaceAndRefusesEveryWayOut() throws Exception {
    Files.createDirectories(root.resolve("medical-docs/p1"));
    Files.writeString(root.resolve("medical-docs/p1/a.txt"), "hello");
    Files.writeString(root.resolve("secret.txt"), "not in the bucket");
    Files.writeString(outside.resolve("passwd"), "root:x:0:0");
    Files.createSymbolicLink(root.resolve("medical-docs/p1/link.txt"), outside.resolve("passwd"));
    LocalDirectoryStore store = new LocalDirectoryStore(root, 1000);
    store.checkReady();

    try (FetchedDocument d = store.fetch(new DocumentRef("medical-docs", "p1/a.txt"))) {
      assertThat(d.size()).isEqualTo(5);
      assertThat(Files.readString(d.file())).isEqualTo("hello");
    }
    assertThat(root.resolve("medical-docs/p1/a.txt")).exists(); // the original is never deleted

    assertThat(failure(store, "medical-docs", "../secret.txt").code()).isEqualTo("invalid_reference");
    assertThat(failure(store, "medical-docs", "p1/../../secret.txt").code()).isEqualTo("invalid_reference");
    assertThat(failure(store, "medical-docs", "/etc/passwd").code()).isEqualTo("invalid_reference");
    assertThat(failure(store, "..", "secret.txt").code()).isEqualTo("invalid_reference");
    assertThat(failure(store, "medical-docs", "p1/link.txt").code()).isEqualTo("invalid_reference");
    assertThat(failure(store, "medical-docs", "p1/missing.txt").code()).isEqualTo("object_not_found");
  }

  @Test
  void oversizedFilesArePermanentFailures() throws Exception {
    Files.createDirectories(root.resolve("b"));
    Files.write(root.resolve("b/big.bin"), new byte[2000]);
    JobFailure f = failure(new LocalDirectoryStore(root, 1000), "b", "big.bin");
    assertThat(f.code()).isEqualTo("document_too_large");
    assertThat(f.errorClass()).isEqualTo(JobFailure.ErrorClass.PERMANENT);
  }
}
